"""The per-user project catalog: every project with a manifest, its listed info and the manifest's ETag.

Stored as `projects/{user_id}/.projectdesk-catalog.json` (a key directly under the user prefix, beside
the project folders: a listing with Delimiter "/" never sees it as a project). Pure: parsing, checking and
serialising only; reading, writing and checking it against the slug listing is `services/listing.py`.

A catalog is hostile input like a manifest: `Catalog.from_bytes` refuses more than `MAX_CATALOG_BYTES`,
a wrong shape or version (`CatalogInvalid`), and drops single entries with wrong types (they are then read
from their manifests, and the catalog repaired).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import cast

from projectdesk.core import keys
from projectdesk.core.models import (
    MAX_COUNT,
    MAX_DATE,
    MAX_ETAG_CHARS,
    MAX_STACK_CHARS,
    MAX_STACK_ITEMS,
    MAX_TEXT_CHARS,
    ProjectInfo,
)

log = logging.getLogger(__name__)

CATALOG_NAME = ".projectdesk-catalog.json"
CATALOG_FORMAT = 1
MAX_CATALOG_BYTES = 64 * 1000 * 1000  # ~200,000 projects; a larger one is refused unread
MAX_CATALOG_ENTRIES = 500_000


class CatalogInvalid(ValueError):
    """A catalog object that is not JSON, too large, or not shaped like one."""


def catalog_key(user_id: str) -> str:
    return f"{keys.user_prefix(user_id)}{CATALOG_NAME}"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One project as its manifest said at version `manifest_etag`."""

    info: ProjectInfo
    manifest_etag: str

    def to_json(self) -> dict[str, object]:
        info = self.info
        return {
            "etag": self.manifest_etag,
            "name": info.name,
            "created_date": info.created_date,
            "updated_date": info.updated_date,
            "files_count": info.files_count,
            "total_bytes": info.total_bytes,
            "tech_stack": list(info.tech_stack),
            "has_frontend": info.has_frontend,
            "has_backend": info.has_backend,
        }


@dataclass(slots=True)
class Catalog:
    """slug -> entry. `dropped`: how many entries `from_bytes` refused (their projects are read directly)."""

    user_id: str
    entries: dict[str, CatalogEntry] = field(default_factory=dict)
    dropped: int = 0

    def to_bytes(self) -> bytes:
        data = {
            "format": CATALOG_FORMAT,
            "user_id": self.user_id,
            "projects": {slug: entry.to_json() for slug, entry in sorted(self.entries.items())},
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def same_entries(self, other: Catalog) -> bool:
        return self.entries == other.entries

    def to_rows(self) -> bytes:
        """The entries as checked, compact (one JSON list per entry), for this computer's memo of the catalog
        (`cache/listing_memo.py`): read back by `from_rows` ≈3× faster than the catalog object by `from_bytes`."""
        rows = [[slug, e.manifest_etag, e.info.name, e.info.created_date, e.info.updated_date, e.info.files_count,
                 e.info.total_bytes, e.info.tech_stack, e.info.has_frontend, e.info.has_backend]
                for slug, e in self.entries.items()]  # fmt: skip
        return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_rows(cls, data: bytes, user_id: str) -> Catalog:
        """What `to_rows` wrote, already checked by `from_bytes` before it was kept: only its shape is checked
        again (ValueError / TypeError when the file is damaged; the caller then parses the catalog itself)."""
        rows = json.loads(data)
        if not isinstance(rows, list):
            raise TypeError("catalog rows are not a list")
        entries: dict[str, CatalogEntry] = {}
        for slug, etag, name, created, updated, files, size, stack, frontend, backend in rows:
            if not (type(slug) is str and type(etag) is str and type(name) is str and type(stack) is list):
                raise TypeError("a catalog row of the wrong shape")
            info = ProjectInfo(name or slug, slug, user_id, created, updated, files, size, stack, frontend, backend)
            entries[slug] = CatalogEntry(info, etag)
        return cls(user_id, entries)

    @classmethod
    def from_bytes(cls, data: bytes, user_id: str) -> Catalog:
        if len(data) > MAX_CATALOG_BYTES:
            raise CatalogInvalid(f"larger than {MAX_CATALOG_BYTES // 1000 // 1000} MB")
        try:
            parsed = json.loads(data)
        except RecursionError:
            raise CatalogInvalid("nested too deeply") from None
        except ValueError as exc:
            raise CatalogInvalid(f"not JSON: {str(exc)[:100]}") from None
        if not isinstance(parsed, dict):
            raise CatalogInvalid("not a JSON object")
        if parsed.get("format") != CATALOG_FORMAT:
            raise CatalogInvalid(f"format {str(parsed.get('format'))[:20]!r} is not {CATALOG_FORMAT}")
        projects = parsed.get("projects")
        if not isinstance(projects, dict):
            raise CatalogInvalid("projects is not an object")
        if len(projects) > MAX_CATALOG_ENTRIES:
            raise CatalogInvalid(f"more than {MAX_CATALOG_ENTRIES:,} projects")
        catalog = cls(user_id)
        for slug, raw in projects.items():
            entry = _entry(slug, raw, user_id)
            if entry is None:
                catalog.dropped += 1
            else:
                catalog.entries[slug] = entry
        return catalog


def _entry(slug: object, raw: object, user_id: str) -> CatalogEntry | None:
    """One entry checked as a manifest's fields are (types and ranges); None (logged) when anything is off.
    Written out rather than through `Manifest.from_json`: 10,000 entries are read on every listing."""
    if not isinstance(slug, str) or not (_PLAIN_SLUG.fullmatch(slug) or _safe_slug(slug)):
        log.warning("catalog entry with an unsafe slug ignored: %r", str(slug)[:80])
        return None
    if not isinstance(raw, dict):
        log.warning("catalog entry of %s ignored: not an object", slug)
        return None
    etag, name, stack = raw.get("etag"), raw.get("name", ""), raw.get("tech_stack", [])
    created, updated = raw.get("created_date", 0.0), raw.get("updated_date", 0.0)
    files, size = raw.get("files_count", 0), raw.get("total_bytes", 0)
    frontend, backend = raw.get("has_frontend", False), raw.get("has_backend", False)
    why = ""
    if not isinstance(etag, str) or not 0 < len(etag) <= MAX_ETAG_CHARS:
        why = "no usable manifest ETag"
    elif not isinstance(name, str) or len(name) > MAX_TEXT_CHARS:
        why = "name is not a short string"
    elif not (_number(created) and _number(updated) and 0 <= created <= MAX_DATE and 0 <= updated <= MAX_DATE):
        why = "a date is not between 1970 and 9999"
    elif not (type(files) is int and type(size) is int and 0 <= files <= MAX_COUNT and 0 <= size <= MAX_COUNT):
        why = "a count is not a whole number in range"
    elif not isinstance(stack, list) or len(stack) > MAX_STACK_ITEMS:
        why = f"tech_stack is not a list of at most {MAX_STACK_ITEMS} names"
    elif not all(isinstance(t, str) and len(t) <= MAX_STACK_CHARS for t in stack):
        why = "tech_stack holds something other than short names"
    elif not (isinstance(frontend, bool) and isinstance(backend, bool)):
        why = "has_frontend / has_backend are not true or false"
    if why:
        log.warning("catalog entry of %s ignored: %s", slug, why)
        return None
    info = ProjectInfo(name or slug, slug, user_id, float(created), float(updated), files, size,
                       list(cast(list[str], stack)), frontend, backend)  # fmt: skip
    return CatalogEntry(info, cast(str, etag))


def _number(value: object) -> bool:
    return type(value) is float or type(value) is int  # not bool, whose type is bool


def _safe_slug(slug: str) -> bool:
    return "/" not in slug and keys.is_safe_relative_path(slug)


_PLAIN_SLUG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")  # the usual slugs, checked fast; others in full
