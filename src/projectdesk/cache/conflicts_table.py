"""The `conflicts` table of the cache index: changes that could not be applied as made (index.py's
ConflictRecord says what each kind means).

Each function runs its statements on the connection it is given and never opens or ends a transaction:
the caller (store.py) decides what one transaction holds.
"""

from __future__ import annotations

import sqlite3
import time

from projectdesk.cache.index import ConflictRecord


def add(
    conn: sqlite3.Connection,
    user_id: str,
    slug: str,
    path: str,
    copy_path: str | None,
    kind: str,
    remote_etag: str | None,
) -> ConflictRecord:
    cursor = conn.execute(
        "INSERT INTO conflicts (user_id, slug, path, copy_path, kind, remote_etag, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (user_id, slug, path, copy_path, kind, remote_etag, time.time()),
    )
    row = conn.execute("SELECT * FROM conflicts WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return ConflictRecord.from_row(row)


def get(conn: sqlite3.Connection, user_id: str, conflict_id: int) -> ConflictRecord | None:
    """The user's conflict `conflict_id`, resolved or not."""
    row = conn.execute("SELECT * FROM conflicts WHERE id = ? AND user_id = ?", (conflict_id, user_id)).fetchone()
    return ConflictRecord.from_row(row) if row else None


def unresolved(conn: sqlite3.Connection, user_id: str) -> list[ConflictRecord]:
    rows = conn.execute("SELECT * FROM conflicts WHERE user_id = ? AND resolved = 0 ORDER BY id", (user_id,)).fetchall()
    return [ConflictRecord.from_row(r) for r in rows]


def mark_resolved(conn: sqlite3.Connection, conflict_id: int) -> None:
    conn.execute("UPDATE conflicts SET resolved = 1 WHERE id = ?", (conflict_id,))


def resolve_copy(conn: sqlite3.Connection, user_id: str, slug: str, copy_path: str) -> None:
    """The conflicted copy `copy_path` is gone: the conflicts that made it are resolved."""
    conn.execute(
        "UPDATE conflicts SET resolved = 1 WHERE user_id = ? AND slug = ? AND copy_path = ?",
        (user_id, slug, copy_path),
    )


def rename_copy(conn: sqlite3.Connection, user_id: str, slug: str, copy_path: str, new_path: str) -> None:
    """The conflicted copy `copy_path` now goes by `new_path`."""
    conn.execute(
        "UPDATE conflicts SET copy_path = ? WHERE user_id = ? AND slug = ? AND copy_path = ?",
        (new_path, user_id, slug, copy_path),
    )
