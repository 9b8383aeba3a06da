"""The cache index: one SQLite database (WAL) per profile holding projects, files, the outbox and conflicts.

The schema is a list of numbered migrations applied in order, each in its own transaction, and
`schema_version` records the last one applied; an index written by a newer ProjectDesk is refused
rather than guessed at. Each thread gets its own connection, so the window's workers read at the same
time; writes take SQLite's write lock with `BEGIN IMMEDIATE`, which also serialises other processes.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from projectdesk.core.errors import StorageError
from projectdesk.core.models import ProjectInfo

# Local states of a file. `remote`: known from a listing, no copy here; `clean`: the copy is the remote
# version `blob_etag`; `dirty`: a local edit waiting in the outbox; `conflict`: a conflicted copy we
# made (kept until the conflict is dismissed); `deleted`: a delete waiting in the outbox.
REMOTE, CLEAN, DIRTY, CONFLICT, DELETED = "remote", "clean", "dirty", "conflict", "deleted"
BLOB_STATES = (CLEAN, DIRTY, CONFLICT)

Migration = Callable[[sqlite3.Connection], None]


def _statements(*sql: str) -> Migration:
    def apply(conn: sqlite3.Connection) -> None:
        for statement in sql:
            conn.execute(statement)

    return apply


_V1 = _statements(
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE projects (
        user_id TEXT NOT NULL,
        slug TEXT NOT NULL,
        name TEXT NOT NULL,
        created_date REAL NOT NULL DEFAULT 0,
        updated_date REAL NOT NULL DEFAULT 0,
        files_count INTEGER NOT NULL DEFAULT 0,
        total_bytes INTEGER NOT NULL DEFAULT 0,
        tech_stack TEXT NOT NULL DEFAULT '[]',
        has_frontend INTEGER NOT NULL DEFAULT 0,
        has_backend INTEGER NOT NULL DEFAULT 0,
        has_manifest INTEGER NOT NULL DEFAULT 0,
        keep_offline INTEGER NOT NULL DEFAULT 0,
        listed_at REAL,
        files_listed_at REAL,
        PRIMARY KEY (user_id, slug)
    )""",
    """CREATE TABLE files (
        user_id TEXT NOT NULL,
        slug TEXT NOT NULL,
        path TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('remote', 'clean', 'dirty', 'conflict', 'deleted')),
        remote_etag TEXT,
        remote_size INTEGER,
        remote_modified REAL,
        blob_etag TEXT,
        blob_sha256 TEXT,
        blob_size INTEGER,
        blob_mtime_ns INTEGER,
        blob_ino INTEGER,
        pending_sha256 TEXT,
        last_used REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, slug, path)
    )""",
    "CREATE INDEX files_by_use ON files (user_id, state, last_used)",
    """CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        slug TEXT NOT NULL,
        path TEXT NOT NULL,
        op TEXT NOT NULL CHECK (op IN ('put', 'delete')),
        base_etag TEXT,
        conflict_copy INTEGER NOT NULL DEFAULT 0,
        revision INTEGER NOT NULL DEFAULT 1,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        UNIQUE (user_id, slug, path)
    )""",
    """CREATE TABLE conflicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        slug TEXT NOT NULL,
        path TEXT NOT NULL,
        copy_path TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('edit', 'delete', 'deleted-remotely')),
        remote_etag TEXT,
        created REAL NOT NULL,
        resolved INTEGER NOT NULL DEFAULT 0
    )""",
)

# Our own landed upload: the version it replaced (`sent_over`) and the one it made (`sent_as`). An editor page
# opened before the upload landed still holds `sent_over`; its next save builds on `sent_as`, not on whatever
# the server holds by then (which may be someone else's version the page never showed).
_V2 = _statements(
    "ALTER TABLE files ADD COLUMN sent_over TEXT",
    "ALTER TABLE files ADD COLUMN sent_as TEXT",
)

MIGRATIONS: list[Migration] = [_V1, _V2]  # append, never edit: entry n brings the schema to version n + 1


class CacheIndexTooNew(StorageError):
    title = "Cache from a newer version"


class FileRow(NamedTuple):
    """One row of the `files` table. A named tuple: made straight from SQLite's tuples (a frozen dataclass
    took ≈6 µs a row, a third of reading a 20,000-file project)."""

    slug: str
    path: str
    state: str
    remote_etag: str | None
    remote_size: int | None
    remote_modified: float | None
    blob_etag: str | None
    blob_sha256: str | None
    blob_size: int | None
    blob_mtime_ns: int | None
    blob_ino: int | None
    pending_sha256: str | None
    last_used: float
    sent_over: str | None
    sent_as: str | None

    @property
    def has_blob(self) -> bool:
        return self.state in BLOB_STATES and self.blob_sha256 is not None

    @property
    def edited(self) -> bool:
        """A local edit waiting in the outbox."""
        return self.state == DIRTY

    @property
    def fresh(self) -> bool:
        """The copy here is the newest remote version we know of."""
        return self.state in (CLEAN, CONFLICT) and self.blob_etag is not None and self.blob_etag == self.remote_etag

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> FileRow:
        return cls(*(row[name] for name in cls._fields))


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One pending write or delete. `base_etag` is the remote version the change was made against
    (None: the file must not exist remotely)."""

    id: int
    slug: str
    path: str
    op: str
    base_etag: str | None
    conflict_copy: bool
    revision: int
    created: float
    attempts: int
    last_error: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> OutboxItem:
        values = {name: row[name] for name in cls.__slots__}
        values["conflict_copy"] = bool(values["conflict_copy"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "slug": self.slug,
            "path": self.path,
            "op": self.op,
            "queued": self.created,
            "attempts": self.attempts,
            "last_error": self.last_error,
        }


@dataclass(frozen=True, slots=True)
class ConflictRecord:
    """A change that could not be applied as made; both versions were kept.

    kinds: `edit` (the remote file changed: the remote version keeps the name, ours is `copy_path`),
    `deleted-remotely` (the remote file was deleted meanwhile: our edit was restored under the name),
    `delete` (our queued delete was skipped because the remote file changed since we saw it).
    """

    id: int
    slug: str
    path: str
    copy_path: str | None
    kind: str
    remote_etag: str | None
    created: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ConflictRecord:
        return cls(**{name: row[name] for name in cls.__slots__})

    @property
    def message(self) -> str:
        where = f"{self.slug}/{self.path}"
        if self.kind == "edit":
            return (
                f"{where} changed on the server while you edited it: the server's version keeps the name, "
                f"yours was saved as '{self.copy_path}'. Nothing was overwritten."
            )
        if self.kind == "deleted-remotely":
            return f"{where} was deleted on the server while you edited it: your version was saved again."
        return f"{where} changed on the server since you deleted it: it was not deleted, the new version is kept."

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "slug": self.slug,
            "path": self.path,
            "copy_path": self.copy_path,
            "kind": self.kind,
            "created": self.created,
            "message": self.message,
        }


def project_from_row(row: sqlite3.Row) -> ProjectInfo:
    try:
        stack = [str(t) for t in json.loads(row["tech_stack"])]
    except (ValueError, TypeError):
        stack = []
    return ProjectInfo(
        name=row["name"],
        slug=row["slug"],
        user_id=row["user_id"],
        created_date=row["created_date"],
        updated_date=row["updated_date"],
        files_count=row["files_count"],
        total_bytes=row["total_bytes"],
        tech_stack=stack,
        has_frontend=bool(row["has_frontend"]),
        has_backend=bool(row["has_backend"]),
        has_manifest=bool(row["has_manifest"]),
    )


def project_values(info: ProjectInfo) -> tuple[Any, ...]:
    return (
        info.user_id,
        info.slug,
        info.name,
        info.created_date,
        info.updated_date,
        info.files_count,
        info.total_bytes,
        json.dumps(info.tech_stack),
        int(info.has_frontend),
        int(info.has_backend),
        int(info.has_manifest),
    )


class CacheIndex:
    """The SQLite file at `path`, migrated to the current schema on open."""

    def __init__(self, path: Path, migrations: Sequence[Migration] | None = None) -> None:
        self.path = Path(path)
        self._migrations = list(MIGRATIONS if migrations is None else migrations)
        self._local = threading.local()
        # Each thread's connection, with its thread: a thread that ended leaves its connection here, closed
        # when the next one is opened (a watch plans every round on a new thread: one leaked per round).
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._guard = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._errors():
            self._migrate(self.connection())

    @property
    def schema_version(self) -> int:
        return len(self._migrations)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise StorageError(f"The offline cache index {self.path} could not be used: {exc}.") from None

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a save that returned is on disk even after a power cut, not only after a kill -9.
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
            self._local.depth = 0
            with self._guard:
                ended = [c for t, c in self._connections if not t.is_alive()]
                self._connections = [(t, c) for t, c in self._connections if t.is_alive()]
                self._connections.append((threading.current_thread(), conn))
            for old in ended:
                with contextlib.suppress(sqlite3.Error):
                    old.close()
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (`BEGIN IMMEDIATE`); nested use joins the outer one."""
        conn = self.connection()
        if self._local.depth:
            self._local.depth += 1
            try:
                yield conn
            finally:
                self._local.depth -= 1
            return
        with self._errors():
            conn.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        try:
            yield conn
        except BaseException:
            self._local.depth = 0
            conn.execute("ROLLBACK")
            raise
        self._local.depth = 0
        with self._errors():
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection for reads outside a transaction; SQLite's errors become StorageError."""
        with self._errors():
            yield self.connection()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self.reading() as conn:
            return conn.execute(sql, params).fetchall()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            current = int(row[0]) if row else 0
            if current > len(self._migrations):
                raise CacheIndexTooNew(
                    f"The offline cache at {self.path.parent.parent} was written by a newer ProjectDesk "
                    f"(schema {current}, this one knows {len(self._migrations)}): update ProjectDesk."
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        for number in range(current + 1, len(self._migrations) + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Read again inside the write lock: another process may have migrated meanwhile.
                row = conn.execute("SELECT version FROM schema_version").fetchone()
                if (int(row[0]) if row else 0) < number:
                    self._migrations[number - 1](conn)
                    conn.execute("DELETE FROM schema_version")
                    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._guard:
            connections, self._connections = [c for _, c in self._connections], []
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()
