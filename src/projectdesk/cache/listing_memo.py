"""What the project listing remembers between runs (services/listing.py): the catalog object as last read
(its ETag and bytes, so an unchanged catalog is one 304), the info derived for projects without a manifest
keyed by the ETags of their files, and when each catalog entry's manifest was last checked.

`ListingMemo` keeps it in memory (one process); `SqliteListingMemo` in `listing.sqlite3` beside the cache
index (its own small database: nothing in it is precious — deleting it costs one slower listing).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from projectdesk.core.catalog import Catalog

log = logging.getLogger(__name__)

MEMO_NAME = "listing.sqlite3"


@dataclass(frozen=True, slots=True)
class Derived:
    """A manifest-less project's tech stack, as detected from files whose ETags hash to `fingerprint`."""

    fingerprint: str
    tech_stack: list[str]
    has_frontend: bool
    has_backend: bool


class ListingMemo:
    """In memory: what one process learns stays for its next listing."""

    def __init__(self) -> None:
        self._catalog: tuple[str, bytes] | None = None
        self._parsed: tuple[str, Catalog] | None = None
        self._derived: dict[str, Derived] = {}
        self._checked: dict[str, float] = {}
        self._lock = threading.Lock()

    def catalog(self) -> tuple[str, bytes] | None:
        """(etag, bytes) of the catalog as last read or written, or None."""
        return self._catalog

    def catalog_version(self) -> str | None:
        """The ETag of the catalog held (without reading its bytes), or None."""
        held = self._catalog
        return held[0] if held is not None else None

    def put_catalog(self, etag: str | None, data: bytes | None) -> None:
        self._catalog = None if etag is None or data is None else (etag, data)

    def parsed_catalog(self, etag: str, user_id: str) -> Catalog | None:
        """The catalog of version `etag` as parsed and checked before (None: not kept), a new copy each time."""
        held = self._parsed
        if held is None or held[0] != etag:
            return None
        return Catalog(user_id, dict(held[1].entries))

    def put_parsed_catalog(self, etag: str, catalog: Catalog) -> None:
        self._parsed = (etag, Catalog(catalog.user_id, dict(catalog.entries)))

    def catalog_outline(self, etag: str) -> dict[str, str] | None:
        """slug -> manifest ETag of the catalog of version `etag` as parsed before (None: not kept): enough to
        start the slug listing and the manifest checks before the whole copy is loaded."""
        held = self._parsed
        if held is None or held[0] != etag:
            return None
        return {slug: entry.manifest_etag for slug, entry in held[1].entries.items()}

    def derived(self, slugs: Iterable[str]) -> dict[str, Derived]:
        with self._lock:
            return {slug: self._derived[slug] for slug in slugs if slug in self._derived}

    def put_derived(self, items: dict[str, Derived]) -> None:
        with self._lock:
            self._derived.update(items)

    def least_checked(self, slugs: Sequence[str], count: int) -> list[str]:
        """The `count` slugs whose manifests were checked longest ago (never: first)."""
        with self._lock:
            return sorted(slugs, key=lambda slug: (self._checked.get(slug, 0.0), slug))[:count]

    def mark_checked(self, slugs: Iterable[str], when: float) -> None:
        with self._lock:
            self._checked.update(dict.fromkeys(slugs, when))

    def close(self) -> None:
        """Nothing to release in memory."""


class SqliteListingMemo(ListingMemo):
    """The same, kept in `folder/listing.sqlite3` per user id (a damaged file is started afresh)."""

    def __init__(self, folder: Path, user_id: str) -> None:
        super().__init__()
        self.user_id = user_id
        self.path = folder / MEMO_NAME
        self._db_lock = threading.Lock()
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError as exc:
            log.warning("the listing memo %s was unreadable (%s); starting afresh", self.path, exc)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(str(self.path) + suffix).unlink()
            self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(
            "CREATE TABLE IF NOT EXISTS catalog (user_id TEXT PRIMARY KEY, etag TEXT NOT NULL, data BLOB NOT NULL);"
            "CREATE TABLE IF NOT EXISTS derived (user_id TEXT NOT NULL, slug TEXT NOT NULL,"
            " fingerprint TEXT NOT NULL, stack TEXT NOT NULL, frontend INTEGER NOT NULL, backend INTEGER NOT NULL,"
            " PRIMARY KEY (user_id, slug));"
            "CREATE TABLE IF NOT EXISTS checked (user_id TEXT NOT NULL, slug TEXT NOT NULL, at REAL NOT NULL,"
            " PRIMARY KEY (user_id, slug));"
            "CREATE TABLE IF NOT EXISTS catalog_rows (user_id TEXT PRIMARY KEY, etag TEXT NOT NULL,"
            " rows BLOB NOT NULL, outline BLOB NOT NULL);"
        )
        return conn

    def catalog(self) -> tuple[str, bytes] | None:
        with self._db_lock:
            row = self._conn.execute("SELECT etag, data FROM catalog WHERE user_id = ?", (self.user_id,)).fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))

    def catalog_version(self) -> str | None:
        with self._db_lock:
            row = self._conn.execute("SELECT etag FROM catalog WHERE user_id = ?", (self.user_id,)).fetchone()
        return None if row is None else str(row[0])

    def put_catalog(self, etag: str | None, data: bytes | None) -> None:
        with self._db_lock, self._conn:
            if etag is None or data is None:
                self._conn.execute("DELETE FROM catalog WHERE user_id = ?", (self.user_id,))
            else:
                self._conn.execute(
                    "INSERT OR REPLACE INTO catalog (user_id, etag, data) VALUES (?, ?, ?)", (self.user_id, etag, data)
                )

    def parsed_catalog(self, etag: str, user_id: str) -> Catalog | None:
        """Read back from `Catalog.to_rows`' form (a damaged one: None, and the caller parses the catalog)."""
        with self._db_lock:
            row = self._conn.execute(
                "SELECT rows FROM catalog_rows WHERE user_id = ? AND etag = ?", (self.user_id, etag)
            ).fetchone()
        if row is None:
            return None
        try:
            return Catalog.from_rows(bytes(row[0]), user_id)
        except (ValueError, TypeError) as exc:
            log.info("the listing memo's copy of the catalog is unreadable (%s); parsing the catalog", exc)
            return None

    def put_parsed_catalog(self, etag: str, catalog: Catalog) -> None:
        rows = catalog.to_rows()
        outline = json.dumps({slug: entry.manifest_etag for slug, entry in catalog.entries.items()}).encode()
        with self._db_lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO catalog_rows (user_id, etag, rows, outline) VALUES (?, ?, ?, ?)",
                (self.user_id, etag, rows, outline),
            )

    def catalog_outline(self, etag: str) -> dict[str, str] | None:
        with self._db_lock:
            row = self._conn.execute(
                "SELECT outline FROM catalog_rows WHERE user_id = ? AND etag = ?", (self.user_id, etag)
            ).fetchone()
        if row is None:
            return None
        try:
            outline = json.loads(bytes(row[0]))
        except ValueError:
            return None
        if not isinstance(outline, dict) or not all(type(k) is str and type(v) is str for k, v in outline.items()):
            return None
        return outline

    def derived(self, slugs: Iterable[str]) -> dict[str, Derived]:
        wanted = set(slugs)
        with self._db_lock:
            rows = self._conn.execute(
                "SELECT slug, fingerprint, stack, frontend, backend FROM derived WHERE user_id = ?", (self.user_id,)
            ).fetchall()
        found: dict[str, Derived] = {}
        for slug, fingerprint, stack, frontend, backend in rows:
            if slug in wanted:
                with contextlib.suppress(ValueError, TypeError):
                    found[slug] = Derived(fingerprint, [str(t) for t in json.loads(stack)], bool(frontend),
                                          bool(backend))  # fmt: skip
        return found

    def put_derived(self, items: dict[str, Derived]) -> None:
        if not items:
            return
        with self._db_lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO derived (user_id, slug, fingerprint, stack, frontend, backend)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(self.user_id, slug, d.fingerprint, json.dumps(d.tech_stack), int(d.has_frontend),
                  int(d.has_backend)) for slug, d in items.items()],
            )  # fmt: skip

    def least_checked(self, slugs: Sequence[str], count: int) -> list[str]:
        """As the in-memory memo's: never checked first (by name), then the oldest checks, read in that order
        from the database until `count` are found (not all 10,000 sorted in Python)."""
        wanted = set(slugs)
        with self._db_lock:
            rows = self._conn.execute("SELECT slug FROM checked WHERE user_id = ?", (self.user_id,))
            known = {row[0] for row in rows}
            chosen = sorted(wanted - known)[:count]
            if len(chosen) < count:
                rows = self._conn.execute(
                    "SELECT slug FROM checked WHERE user_id = ? ORDER BY at, slug", (self.user_id,)
                )
                for (slug,) in rows:
                    if slug in wanted:
                        chosen.append(slug)
                        if len(chosen) >= count:
                            break
        return chosen

    def mark_checked(self, slugs: Iterable[str], when: float) -> None:
        with self._db_lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO checked (user_id, slug, at) VALUES (?, ?, ?)",
                [(self.user_id, slug, when) for slug in slugs],
            )

    def close(self) -> None:
        with self._db_lock:
            self._conn.close()
