"""Slugs: `{slugified-name}-{5 digits}`, as the web backend makes them."""

from __future__ import annotations

import random
import re

import pytest

from projectdesk.core.slugs import MAX_BASE_LENGTH, is_valid_slug, new_slug, slugify

SLUG_SHAPE = re.compile(r"^[a-z0-9-]+-\d{5}$")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Portfolio Site", "portfolio-site"),
        ("My Café App!", "my-cafe-app"),
        ("Crème Brûlée", "creme-brulee"),
        ("  --Hello,   World--  ", "hello-world"),
        ("snake_case_name", "snake-case-name"),
        ("v2.0 Release", "v2-0-release"),
        ("ALLCAPS", "allcaps"),
        ("😀🎉", "project"),
        ("日本語", "project"),
        ("", "project"),
        ("---", "project"),
    ],
)
def test_slugify_examples(name: str, expected: str) -> None:
    assert slugify(name) == expected


def test_slugify_caps_length_without_trailing_dash() -> None:
    long_name = "word " * 40
    slug = slugify(long_name)
    assert len(slug) <= MAX_BASE_LENGTH
    assert slug.startswith("word-word")
    assert not slug.endswith("-")
    # A cut landing exactly on a separator must not leave a dash behind.
    name = "a" * (MAX_BASE_LENGTH - 1) + " tail"
    assert slugify(name) == "a" * (MAX_BASE_LENGTH - 1)


def test_new_slug_shape_and_base() -> None:
    slug = new_slug("Portfolio Site", rng=random.Random(1))
    assert SLUG_SHAPE.match(slug)
    assert slug.startswith("portfolio-site-")
    assert is_valid_slug(slug)
    assert 10000 <= int(slug.rsplit("-", 1)[1]) <= 99999


def test_new_slug_default_rng_works() -> None:
    assert SLUG_SHAPE.match(new_slug("x"))


def test_new_slug_avoids_taken() -> None:
    first = new_slug("Portfolio Site", rng=random.Random(42))
    taken = {first}
    second = new_slug("Portfolio Site", taken=taken, rng=random.Random(42))
    assert second != first
    assert second not in taken
    assert SLUG_SHAPE.match(second)


def test_new_slug_for_unusable_name() -> None:
    assert re.match(r"^project-\d{5}$", new_slug("🎉", rng=random.Random(0)))


@pytest.mark.parametrize("slug", ["Portfolio-12345", "a--b", "-a", "a-", "a b", "a" * 101, ""])
def test_is_valid_slug_rejects(slug: str) -> None:
    assert not is_valid_slug(slug)
