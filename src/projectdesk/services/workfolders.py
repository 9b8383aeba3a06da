"""Working folders: which local folder is bound to which project, and the base of each of its files.

A folder pushed or pulled once is bound to (store, project); one folder may be the working folder of
several projects (pushed to a staging and a production project, say): each binding has its own bases,
and a command that names no project uses the folder's most recent one. For each file the binding remembers the
base — the server version (ETag and SHA-256) that the folder last agreed with — and the file's stat
signature at that moment, so an unchanged file is recognised without reading it again.

The state lives in one SQLite database under the data directory (`working-folders.sqlite3`), never inside
the folder. Each landed upload or download is committed as it lands (WAL, no fsync per commit: a kill -9
loses nothing the OS has, a power cut at most the last few), so a killed push or pull resumes where it
stopped. A folder moved or renamed on the same disk keeps its inode: the binding follows it.

A server version fetched and hashed before it is put in place is noted first (`note_fetched`: its ETag and
SHA-256), so a run killed between the rename and the record leaves the next one knowing that version's
content: the file it finds is compared with it (SHA-256 equality, the same as a manifest's) instead of being
fetched again. A note goes when the path's base is recorded or forgotten.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from projectdesk.core.threeway import Base

DB_NAME = "working-folders.sqlite3"
Signature = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
# A signature is trusted only when the file's mtime lies clearly before the moment it was recorded: a
# change within the file system's timestamp granularity could otherwise keep size and mtime (git's
# "racily clean" files). Nanosecond file systems tick every few milliseconds; others by the second.
RACY_FINE_NS = 50_000_000
RACY_COARSE_NS = 2_000_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    store TEXT NOT NULL,
    slug TEXT NOT NULL,
    device INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    bound_at REAL NOT NULL,
    UNIQUE (path, store, slug)
);
CREATE TABLE IF NOT EXISTS bases (
    folder INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    etag TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER,
    mtime_ns INTEGER,
    ctime_ns INTEGER,
    inode INTEGER,
    PRIMARY KEY (folder, path)
);
CREATE TABLE IF NOT EXISTS fetched (
    folder INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    etag TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (folder, path)
);
"""


# Added after the first release: each binding's profile (for `projectdesk-cli folders`) and how its last sync
# ended. Columns are added in place, so an older database keeps its bindings.
_ADDED_COLUMNS = (
    ("profile", "TEXT NOT NULL DEFAULT ''"),
    ("last_sync", "REAL"),
    ("last_state", "TEXT NOT NULL DEFAULT ''"),
)


def _migrate(db: sqlite3.Connection) -> None:
    have = {row[1] for row in db.execute("PRAGMA table_info(folders)")}
    for name, decl in _ADDED_COLUMNS:
        if name not in have:
            with contextlib.suppress(sqlite3.OperationalError):  # another process added it just now
                db.execute(f"ALTER TABLE folders ADD COLUMN {name} {decl}")


def signature(stat: os.stat_result) -> Signature:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def trusted(stat: os.stat_result, now_ns: int) -> Signature | None:
    """The signature to remember, or None when the file is too fresh to be told apart by it."""
    margin = RACY_COARSE_NS if stat.st_mtime_ns % 1_000_000_000 == 0 else RACY_FINE_NS
    return signature(stat) if stat.st_mtime_ns < now_ns - margin else None


@dataclass(frozen=True, slots=True)
class Binding:
    id: int
    folder: Path
    store: str
    slug: str
    moved_from: Path | None = None  # set when the binding was found by the folder's inode


@dataclass(frozen=True, slots=True)
class BindingRecord:
    """A binding as `projectdesk-cli folders` and the window list it."""

    binding: Binding
    profile: str
    bound_at: float
    last_sync: float | None
    last_state: str


@dataclass(frozen=True, slots=True)
class BaseRow:
    base: Base
    signature: Signature | None


class FolderStates:
    """The bindings and bases of every working folder (one connection per thread; safe across processes)."""

    def __init__(self, data_dir: Path) -> None:
        self.file = Path(data_dir) / DB_NAME
        self._local = threading.local()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []  # as CacheIndex's
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.file, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(_SCHEMA)
            _migrate(db)
            self._local.db = db
            with self._lock:
                ended = [c for t, c in self._connections if not t.is_alive()]
                self._connections = [(t, c) for t, c in self._connections if t.is_alive()]
                self._connections.append((threading.current_thread(), db))
            for old in ended:  # a thread that ended (a plan's, each round of a watch) leaves its connection
                with contextlib.suppress(sqlite3.Error):
                    old.close()
        return db

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for _, db in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    db.close()
            self._connections.clear()
        self._local = threading.local()

    # ---- bindings --------------------------------------------------------------------------------

    def find(self, folder: Path, store: str, slug: str | None = None) -> Binding | None:
        """The folder's binding to `slug` (else its most recent one) on `store`: by the folder's path, else
        by its inode (a moved or renamed folder: the binding follows it).

        A folder deleted and made again at its path (another inode: a pull into it again), or a new folder given
        a deleted one's inode number (holding none of its files), is not the bound folder: it starts afresh, as
        a folder never bound. Else every recorded file would count as deleted here, a pull would bring none of
        them back, and a sync or push --delete would delete them all on the server."""
        folder = folder.resolve()
        match = "" if slug is None else " AND slug = ?"
        params: tuple[object, ...] = (store,) if slug is None else (store, slug)
        row = (
            self._db()
            .execute(
                f"SELECT id, slug, device, inode FROM folders WHERE path = ? AND store = ?{match}"
                " ORDER BY bound_at DESC LIMIT 1",
                (os.fsdecode(folder), *params),
            )
            .fetchone()
        )
        try:
            stat: os.stat_result | None = folder.stat()
        except OSError:
            stat = None
        if row is not None:
            if stat is None or (row[2], row[3]) == (stat.st_dev, stat.st_ino):
                return Binding(row[0], folder, store, row[1])
            with self._transaction() as db:  # made again since: what the old one held says nothing of it
                db.execute("DELETE FROM folders WHERE id = ?", (row[0],))
            return None
        if stat is None:
            return None
        rows = (
            self._db()
            .execute(
                f"SELECT id, path, slug FROM folders WHERE device = ? AND inode = ? AND store = ?{match}"
                " ORDER BY bound_at DESC",
                (stat.st_dev, stat.st_ino, *params),
            )
            .fetchall()
        )
        for folder_id, old_path, found_slug in rows:
            old = Path(old_path)
            if old.exists():
                continue  # still there (seen through a link, or another folder now has that inode number)
            if not self._holds_any(folder_id, folder):
                continue  # a new folder given a deleted one's inode number, not that folder moved
            with self._transaction() as db:
                db.execute("UPDATE folders SET path = ? WHERE id = ?", (os.fsdecode(folder), folder_id))
            return Binding(folder_id, folder, store, found_slug, moved_from=old)
        return None

    def _holds_any(self, folder_id: int, folder: Path) -> bool:
        """Whether `folder` holds any of the files binding `folder_id` recorded (True when it recorded none)."""
        rows = self._db().execute("SELECT path FROM bases WHERE folder = ?", (folder_id,))
        empty = True
        for (path,) in rows:
            empty = False
            if os.path.lexists(folder / path):
                return True
        return empty

    def bind(self, folder: Path, store: str, slug: str, profile: str = "") -> Binding:
        """Bind `folder` to project `slug` (kept with its bases if it was bound already; made the most recent)."""
        folder = folder.resolve()
        stat = folder.stat()
        with self._transaction() as db:
            row = db.execute(
                "SELECT id FROM folders WHERE path = ? AND store = ? AND slug = ?", (os.fsdecode(folder), store, slug)
            ).fetchone()
            if row is not None:
                db.execute(
                    "UPDATE folders SET device = ?, inode = ?, bound_at = ?, profile = ? WHERE id = ?",
                    (stat.st_dev, stat.st_ino, time.time(), profile, row[0]),
                )
                return Binding(row[0], folder, store, slug)
            cursor = db.execute(
                "INSERT INTO folders (path, store, slug, device, inode, bound_at, profile)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (os.fsdecode(folder), store, slug, stat.st_dev, stat.st_ino, time.time(), profile),
            )
            assert cursor.lastrowid is not None
            return Binding(cursor.lastrowid, folder, store, slug)

    def bindings(self, store: str | None = None) -> list[Binding]:
        return [record.binding for record in self.records(store)]

    def records(self, store: str | None = None) -> list[BindingRecord]:
        """Every binding (of `store`, when given), by folder path, with its profile and last sync."""
        where, params = ("WHERE store = ?", (store,)) if store is not None else ("", ())
        rows = self._db().execute(
            f"SELECT id, path, store, slug, profile, bound_at, last_sync, last_state FROM folders {where}"
            " ORDER BY path, bound_at DESC",
            params,
        )
        return [BindingRecord(Binding(r[0], Path(r[1]), r[2], r[3]), r[4], r[5], r[6], r[7]) for r in rows.fetchall()]

    def note_sync(self, binding: Binding, state: str, when: float | None = None) -> None:
        """How the binding's latest sync ended ("in sync", "2 conflicts", "offline: …"), and when."""
        with self._transaction() as db:
            db.execute(
                "UPDATE folders SET last_sync = ?, last_state = ? WHERE id = ?",
                (time.time() if when is None else when, state, binding.id),
            )

    def unbind(self, binding: Binding) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM folders WHERE id = ?", (binding.id,))

    def forget_project(self, store: str, slug: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM folders WHERE store = ? AND slug = ?", (store, slug))

    # ---- bases -----------------------------------------------------------------------------------

    def bases(self, binding: Binding) -> dict[str, BaseRow]:
        rows = (
            self._db()
            .execute(
                "SELECT path, etag, sha256, size, mtime_ns, ctime_ns, inode FROM bases WHERE folder = ?", (binding.id,)
            )
            .fetchall()
        )
        result: dict[str, BaseRow] = {}
        for path, etag, sha, size, mtime_ns, ctime_ns, inode in rows:
            sig = (size, mtime_ns, ctime_ns, inode) if size is not None else None
            result[path] = BaseRow(Base(etag, sha), sig)
        return result

    def record(self, binding: Binding, path: str, base: Base, sig: Signature | None) -> None:
        """The folder's `path` (with stat signature `sig`) now agrees with server version `base`."""
        self.record_many(binding, [(path, base, sig)])

    def record_many(self, binding: Binding, rows: Iterable[tuple[str, Base, Signature | None]]) -> None:
        with self._transaction() as db:
            for path, base, sig in rows:
                size, mtime_ns, ctime_ns, inode = sig if sig is not None else (None, None, None, None)
                db.execute(
                    "INSERT OR REPLACE INTO bases (folder, path, etag, sha256, size, mtime_ns, ctime_ns, inode)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (binding.id, path, base.etag, base.sha256, size, mtime_ns, ctime_ns, inode),
                )
                db.execute("DELETE FROM fetched WHERE folder = ? AND path = ?", (binding.id, path))

    def forget(self, binding: Binding, paths: Iterable[str]) -> None:
        rows = [(binding.id, p) for p in paths]
        with self._transaction() as db:
            db.executemany("DELETE FROM bases WHERE folder = ? AND path = ?", rows)
            db.executemany("DELETE FROM fetched WHERE folder = ? AND path = ?", rows)

    # ---- server versions fetched, not yet recorded -----------------------------------------------

    def note_fetched(self, binding: Binding, path: str, etag: str, sha256: str) -> None:
        """The server's version `etag` of `path` has content `sha256` (fetched whole and hashed, about to be
        put in place): committed before the rename, so it outlives a kill between the rename and `record`."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO fetched (folder, path, etag, sha256) VALUES (?, ?, ?, ?)",
                (binding.id, path, etag, sha256),
            )

    def fetched(self, binding: Binding) -> dict[str, tuple[str, str]]:
        """path -> (ETag, SHA-256) of the server versions noted by `note_fetched` and not recorded since."""
        rows = self._db().execute("SELECT path, etag, sha256 FROM fetched WHERE folder = ?", (binding.id,))
        return {path: (etag, sha) for path, etag, sha in rows}
