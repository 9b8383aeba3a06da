"""The outbox: pending writes and deletes, in order, one item per file, in the cache index.

Items survive restarts because they are rows of the index, committed in the same transaction that
marks the file dirty. A second change to a file that is still queued updates its item in place
(keeping its place in the queue and the remote version it was based on) and bumps its revision, so
an upload that raced a newer save knows not to mark the file clean.
"""

from __future__ import annotations

import sqlite3
import time

from projectdesk.cache.index import OutboxItem

PUT, DELETE = "put", "delete"


def get(conn: sqlite3.Connection, user_id: str, slug: str, path: str) -> OutboxItem | None:
    row = conn.execute(
        "SELECT * FROM outbox WHERE user_id = ? AND slug = ? AND path = ?", (user_id, slug, path)
    ).fetchone()
    return OutboxItem.from_row(row) if row else None


def by_id(conn: sqlite3.Connection, item_id: int) -> OutboxItem | None:
    row = conn.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone()
    return OutboxItem.from_row(row) if row else None


def enqueue(
    conn: sqlite3.Connection,
    user_id: str,
    slug: str,
    path: str,
    op: str,
    base_etag: str | None,
    *,
    override_base: bool = False,
    conflict_copy: bool = False,
) -> None:
    """Queue `op` for the file, or turn its queued item into `op` (the base stays unless overridden)."""
    now = time.time()
    existing = get(conn, user_id, slug, path)
    if existing is None:
        conn.execute(
            "INSERT INTO outbox (user_id, slug, path, op, base_etag, conflict_copy, created, updated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (user_id, slug, path, op, base_etag, int(conflict_copy), now, now),
        )
        return
    conn.execute(
        "UPDATE outbox SET op = ?, base_etag = ?, conflict_copy = ?, revision = revision + 1, updated = ?,"
        " attempts = 0, last_error = NULL WHERE id = ?",
        (
            op,
            base_etag if override_base else existing.base_etag,
            int(existing.conflict_copy or conflict_copy),
            now,
            existing.id,
        ),
    )


def remove(conn: sqlite3.Connection, item_id: int) -> None:
    conn.execute("DELETE FROM outbox WHERE id = ?", (item_id,))


def rebase(conn: sqlite3.Connection, item_id: int, base_etag: str | None) -> None:
    """The remote now holds `base_etag` (an earlier upload of ours): later uploads build on it."""
    conn.execute("UPDATE outbox SET base_etag = ?, conflict_copy = 0 WHERE id = ?", (base_etag, item_id))


def record_failure(conn: sqlite3.Connection, item_id: int, message: str) -> None:
    conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?", (message, item_id))


def bases(conn: sqlite3.Connection, user_id: str, slug: str) -> dict[str, str | None]:
    """The project's queued paths and the server version each change replaces."""
    rows = conn.execute("SELECT path, base_etag FROM outbox WHERE user_id = ? AND slug = ?", (user_id, slug))
    return {path: base for path, base in rows}


def queued_paths(conn: sqlite3.Connection, user_id: str, slug: str) -> set[str]:
    """The paths of the project's queued items."""
    return {r[0] for r in conn.execute("SELECT path FROM outbox WHERE user_id = ? AND slug = ?", (user_id, slug))}


def pending(conn: sqlite3.Connection, user_id: str) -> list[OutboxItem]:
    rows = conn.execute("SELECT * FROM outbox WHERE user_id = ? ORDER BY id", (user_id,)).fetchall()
    return [OutboxItem.from_row(row) for row in rows]


def next_after(conn: sqlite3.Connection, user_id: str, after_id: int) -> OutboxItem | None:
    row = conn.execute(
        "SELECT * FROM outbox WHERE user_id = ? AND id > ? ORDER BY id LIMIT 1", (user_id, after_id)
    ).fetchone()
    return OutboxItem.from_row(row) if row else None
