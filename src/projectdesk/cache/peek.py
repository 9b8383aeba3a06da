"""A read-only look at a profile's cache index, without opening the cache (no lock, no recovery, no Qt, no S3).

For a command that only needs to know whether a project holds changes made here that the server has not
seen yet — `projectdesk-cli grep` on the local store searches the store's own folder when it holds none. Anything
unusual (no index yet aside) answers "yes, maybe": the caller then takes the ordinary path through the cache.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

META_DIR = ".projectdesk"  # the cache's index, lock and staging area, beside the user folders; never a user id
INDEX_NAME = "index.sqlite3"
# index.py's DIRTY and DELETED: a local edit or delete waiting in the outbox (tests/unit/test_cache_peek.py).
CHANGED_STATES = ("dirty", "deleted")

LOCAL_CHANGES_SQL = (
    "SELECT (SELECT COUNT(*) FROM outbox WHERE user_id = ? AND slug = ?)"
    " + (SELECT COUNT(*) FROM files WHERE user_id = ? AND slug = ? AND (state IN (?, ?)"
    " OR pending_sha256 IS NOT NULL))"
)


def index_file(cache_root: Path, profile: str) -> Path:
    """Where a profile's cache index lives (the profile name is checked by whoever built the cache)."""
    return Path(cache_root) / profile / META_DIR / INDEX_NAME


def open_read_only(cache_root: Path, profile: str, *, timeout: float) -> sqlite3.Connection | None:
    """The profile's cache index opened read-only (no lock, no recovery), or None when it cannot be opened."""
    uri = f"{index_file(cache_root, profile).resolve().as_uri()}?mode=ro"
    try:
        return sqlite3.connect(uri, uri=True, timeout=timeout)
    except sqlite3.Error:
        return None


def count_local_changes(conn: sqlite3.Connection, user_id: str, slug: str) -> int:
    """Queued changes, local edits or deletes, and saves under way of one project."""
    row = conn.execute(LOCAL_CHANGES_SQL, (user_id, slug, user_id, slug, *CHANGED_STATES)).fetchone()
    return int(row[0])


def may_hold_local_changes(cache_root: Path, profile: str, user_id: str, slug: str) -> bool:
    """False only when the index is readable and says the project holds no change made here."""
    path = index_file(cache_root, profile)
    if not path.exists():
        return False  # no cache yet: nothing was ever changed through it
    conn = open_read_only(cache_root, profile, timeout=5.0)
    if conn is None:
        return True
    try:
        return count_local_changes(conn, user_id, slug) > 0
    except sqlite3.Error:
        return True  # an index from before the outbox, damaged, or locked for long: ask the cache itself
    finally:
        conn.close()
