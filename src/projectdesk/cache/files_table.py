"""The `files` table of the cache index: one row per file of a project this cache knows of.

Each function runs its statements on the connection it is given and never opens or ends a transaction:
the caller (store.py, saves.py) decides what one transaction holds. The states are index.py's.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from projectdesk.cache.blobs import BlobInfo
from projectdesk.cache.index import BLOB_STATES, CLEAN, CONFLICT, DELETED, DIRTY, REMOTE, FileRow
from projectdesk.core.models import FileEntry

_KEY = "user_id = ? AND slug = ? AND path = ?"
# The columns in FileRow's order: a row is read as a plain tuple and becomes a FileRow as it is (by name, through
# sqlite3.Row, it took ~20 µs a row).
_FIELDS = ", ".join(FileRow._fields)
_IN_BATCH = 500  # paths per IN (...): well under SQLite's limit on bound parameters


def _rows(conn: sqlite3.Connection, sql: str, parameters: tuple[object, ...]) -> sqlite3.Cursor:
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: sqlite3.Row costs ≈3 µs a row more
    return cursor.execute(sql, parameters)


def get(conn: sqlite3.Connection, user_id: str, slug: str, path: str) -> FileRow | None:
    row = _rows(conn, f"SELECT {_FIELDS} FROM files WHERE {_KEY}", (user_id, slug, path)).fetchone()
    return FileRow._make(row) if row else None


def of_project(conn: sqlite3.Connection, user_id: str, slug: str) -> dict[str, FileRow]:
    """The project's rows by path."""
    cursor = _rows(conn, f"SELECT {_FIELDS} FROM files WHERE user_id = ? AND slug = ?", (user_id, slug))
    return {row.path: row for row in map(FileRow._make, cursor)}


def of_paths(conn: sqlite3.Connection, user_id: str, slug: str, paths: Sequence[str]) -> dict[str, FileRow]:
    """The rows of these paths of the project, by path (a batch of a long pull need not read all of them)."""
    found: dict[str, FileRow] = {}
    for start in range(0, len(paths), _IN_BATCH):
        chunk = paths[start : start + _IN_BATCH]
        marks = ", ".join("?" * len(chunk))
        cursor = _rows(conn, f"SELECT {_FIELDS} FROM files WHERE user_id = ? AND slug = ? AND path IN ({marks})",
                       (user_id, slug, *chunk))  # fmt: skip
        found.update((row.path, row) for row in map(FileRow._make, cursor))
    return found


def of_project_by_path(conn: sqlite3.Connection, user_id: str, slug: str) -> list[FileRow]:
    """The project's rows, sorted by path."""
    cursor = _rows(conn, f"SELECT {_FIELDS} FROM files WHERE user_id = ? AND slug = ? ORDER BY path", (user_id, slug))
    return list(map(FileRow._make, cursor))


def of_project_changed(conn: sqlite3.Connection, user_id: str, slug: str) -> list[FileRow]:
    """The project's rows holding a local edit or delete waiting to be sent."""
    cursor = _rows(conn, f"SELECT {_FIELDS} FROM files WHERE user_id = ? AND slug = ? AND state IN (?, ?)",
                   (user_id, slug, DIRTY, DELETED))  # fmt: skip
    return list(map(FileRow._make, cursor))


def record_remote(conn: sqlite3.Connection, user_id: str, slug: str, entry: FileEntry) -> None:
    """What a listing or a HEAD said of the file: a new row knows only the remote version, a known row
    takes the remote fields and keeps its copy and state."""
    conn.execute(
        "INSERT INTO files (user_id, slug, path, state, remote_etag, remote_size, remote_modified)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, slug, path) DO UPDATE SET"
        " remote_etag = excluded.remote_etag, remote_size = excluded.remote_size,"
        " remote_modified = excluded.remote_modified",
        (user_id, slug, entry.path, REMOTE, entry.etag, entry.size, entry.last_modified),
    )


def ensure(conn: sqlite3.Connection, user_id: str, slug: str, path: str) -> None:
    """A row for the file (state `remote`) unless it has one."""
    conn.execute(
        "INSERT INTO files (user_id, slug, path, state) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (user_id, slug, path) DO NOTHING",
        (user_id, slug, path, REMOTE),
    )


def set_remote(
    conn: sqlite3.Connection, user_id: str, slug: str, path: str, etag: str, size: int, modified: float
) -> None:
    conn.execute(
        f"UPDATE files SET remote_etag = ?, remote_size = ?, remote_modified = ? WHERE {_KEY}",
        (etag, size, modified, user_id, slug, path),
    )


def clear_remote(conn: sqlite3.Connection, user_id: str, slug: str, path: str, *, modified: bool = True) -> None:
    """The file is not (or no longer) on the server as far as we know; `modified` False keeps remote_modified."""
    columns = "remote_etag = NULL, remote_size = NULL" + (", remote_modified = NULL" if modified else "")
    conn.execute(f"UPDATE files SET {columns} WHERE {_KEY}", (user_id, slug, path))


def forget_file(conn: sqlite3.Connection, user_id: str, slug: str, path: str, *, state: str | None = None) -> None:
    """Drop the file's row (only if it is in `state`, when given)."""
    if state is None:
        conn.execute(f"DELETE FROM files WHERE {_KEY}", (user_id, slug, path))
    else:
        conn.execute(f"DELETE FROM files WHERE {_KEY} AND state = ?", (user_id, slug, path, state))


def store_copy(conn: sqlite3.Connection, user_id: str, slug: str, entry: FileEntry, info: BlobInfo, state: str) -> None:
    """The blob `info` on disk is the remote version `entry.etag` of the file, in `state` (clean or conflict)."""
    conn.execute(
        "INSERT INTO files (user_id, slug, path, state, remote_etag, remote_size, remote_modified, blob_etag,"
        " blob_sha256, blob_size, blob_mtime_ns, blob_ino, pending_sha256, last_used)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT (user_id, slug, path) DO UPDATE SET"
        " state = excluded.state, remote_etag = excluded.remote_etag, remote_size = excluded.remote_size,"
        " remote_modified = excluded.remote_modified, blob_etag = excluded.blob_etag,"
        " blob_sha256 = excluded.blob_sha256, blob_size = excluded.blob_size,"
        " blob_mtime_ns = excluded.blob_mtime_ns, blob_ino = excluded.blob_ino, pending_sha256 = NULL,"
        " last_used = excluded.last_used",
        (user_id, slug, entry.path, state, entry.etag, entry.size, entry.last_modified, entry.etag,
         info.sha256, info.size, info.mtime_ns, info.ino, time.time()),
    )  # fmt: skip


def mark_remote_only(conn: sqlite3.Connection, user_id: str, slug: str, path: str) -> None:
    """No copy here any more (and no save under way): the file is known only from the server."""
    conn.execute(
        "UPDATE files SET state = ?, blob_etag = NULL, blob_sha256 = NULL, blob_size = NULL, blob_mtime_ns = NULL,"
        f" blob_ino = NULL, pending_sha256 = NULL WHERE {_KEY}",
        (REMOTE, user_id, slug, path),
    )


def drop_copy(conn: sqlite3.Connection, user_id: str, slug: str, path: str) -> None:
    """The clean copy is evicted: the file is known only from the server (a save's intent, which eviction never
    meets, is left alone)."""
    conn.execute(
        "UPDATE files SET state = ?, blob_etag = NULL, blob_sha256 = NULL, blob_size = NULL,"
        f" blob_mtime_ns = NULL, blob_ino = NULL WHERE {_KEY}",
        (REMOTE, user_id, slug, path),
    )


def mark_used(conn: sqlite3.Connection, user_id: str, slug: str, path: str) -> None:
    conn.execute(f"UPDATE files SET last_used = ? WHERE {_KEY}", (time.time(), user_id, slug, path))


def record_intent(conn: sqlite3.Connection, user_id: str, slug: str, path: str, sha256: str) -> None:
    """A save of content `sha256` is about to write the blob (a new file gets a dirty row without one)."""
    if get(conn, user_id, slug, path) is None:
        conn.execute(
            "INSERT INTO files (user_id, slug, path, state, pending_sha256, last_used) VALUES (?, ?, ?, ?, ?, ?)",
            (user_id, slug, path, DIRTY, sha256, time.time()),
        )
    else:
        conn.execute(f"UPDATE files SET pending_sha256 = ? WHERE {_KEY}", (sha256, user_id, slug, path))


def mark_dirty(conn: sqlite3.Connection, user_id: str, slug: str, path: str, info: BlobInfo) -> None:
    """The blob `info` on disk is a local edit (the save's intent is done)."""
    conn.execute(
        "UPDATE files SET state = ?, blob_sha256 = ?, blob_size = ?, blob_mtime_ns = ?, blob_ino = ?,"
        f" pending_sha256 = NULL, last_used = ? WHERE {_KEY}",
        (DIRTY, info.sha256, info.size, info.mtime_ns, info.ino, time.time(), user_id, slug, path),
    )


def mark_deleted(conn: sqlite3.Connection, user_id: str, slug: str, path: str, base_etag: str | None) -> None:
    """A local delete of the remote version `base_etag`, waiting in the outbox: the copy is gone."""
    conn.execute(
        "INSERT INTO files (user_id, slug, path, state, remote_etag) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (user_id, slug, path) DO UPDATE SET state = excluded.state, blob_etag = NULL,"
        " blob_sha256 = NULL, blob_size = NULL, blob_mtime_ns = NULL, blob_ino = NULL,"
        " pending_sha256 = NULL",
        (user_id, slug, path, DELETED, base_etag),
    )


def mark_uploaded(
    conn: sqlite3.Connection,
    user_id: str,
    slug: str,
    path: str,
    state: str,
    entry: FileEntry,
    sent_over: str | None,
) -> None:
    """Our upload of the copy landed as `entry.etag` over `sent_over`: the copy is that remote version, in
    `state` (clean, or conflict for a conflicted copy)."""
    conn.execute(
        "UPDATE files SET state = ?, blob_etag = ?, remote_etag = ?, remote_size = ?, remote_modified = ?,"
        f" sent_over = ?, sent_as = ? WHERE {_KEY}",
        (state, entry.etag, entry.etag, entry.size, entry.last_modified, sent_over, entry.etag, user_id, slug, path),
    )


def record_upload(
    conn: sqlite3.Connection, user_id: str, slug: str, path: str, entry: FileEntry, sent_over: str | None
) -> None:
    """Our upload landed as `entry.etag` over `sent_over`, but the file changed meanwhile and stays queued."""
    conn.execute(
        f"UPDATE files SET remote_etag = ?, remote_size = ?, remote_modified = ?, sent_over = ?, sent_as = ?"
        f" WHERE {_KEY}",
        (entry.etag, entry.size, entry.last_modified, sent_over, entry.etag, user_id, slug, path),
    )


def mark_copy_clean(conn: sqlite3.Connection, user_id: str, slug: str, path: str) -> None:
    """A conflicted copy becomes an ordinary clean file (evictable again)."""
    conn.execute(f"UPDATE files SET state = ? WHERE {_KEY} AND state = ?", (CLEAN, user_id, slug, path, CONFLICT))


def blob_bytes(conn: sqlite3.Connection) -> int:
    """The size of every copy in the index, whoever's."""
    row = conn.execute("SELECT COALESCE(SUM(blob_size), 0) FROM files WHERE state IN (?, ?, ?)", BLOB_STATES).fetchone()
    return int(row[0])


def eviction_candidates(conn: sqlite3.Connection) -> list[tuple[str, str, str, int | None]]:
    """(user_id, slug, path, blob_size) of every copy eviction may remove, least recently used first: clean,
    no save under way, not of a keep-offline project, not queued, not part of an open conflict."""
    rows = conn.execute(
        "SELECT f.user_id, f.slug, f.path, f.blob_size FROM files f JOIN projects p"
        " ON p.user_id = f.user_id AND p.slug = f.slug"
        " WHERE f.state = ? AND f.pending_sha256 IS NULL AND p.keep_offline = 0"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.user_id = f.user_id AND o.slug = f.slug"
        " AND o.path = f.path)"
        " AND NOT EXISTS (SELECT 1 FROM conflicts c WHERE c.resolved = 0 AND c.user_id = f.user_id"
        " AND c.slug = f.slug AND (c.path = f.path OR c.copy_path = f.path))"
        " ORDER BY f.last_used, f.path",
        (CLEAN,),
    ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]
