"""Project slugs: `{slugified-name}-{5 digits}`, as the web backend makes them (`portfolio-site-12345`)."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Container

MAX_BASE_LENGTH = 48
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(name: str) -> str:
    """'My Café App!' -> 'my-cafe-app'; a name with no usable letters becomes 'project'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    base = base[:MAX_BASE_LENGTH].rstrip("-")
    return base or "project"


def new_slug(name: str, taken: Container[str] = (), rng: random.Random | None = None) -> str:
    """A fresh slug for `name` that is not in `taken`."""
    pick = rng or random.SystemRandom()
    base = slugify(name)
    for _ in range(1000):
        slug = f"{base}-{pick.randint(10000, 99999)}"
        if slug not in taken:
            return slug
    raise RuntimeError("no free slug found")  # 90,000 numbers per name: practically unreachable


def is_valid_slug(slug: str) -> bool:
    """Slugs we create match this; slugs made by other tools need only be safe path segments."""
    return bool(_SLUG.match(slug)) and len(slug) <= 100
