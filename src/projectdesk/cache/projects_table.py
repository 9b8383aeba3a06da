"""The `projects` table of the cache index (and the `meta` row saying a complete list was recorded).

Each function runs its statements on the connection it is given and never opens or ends a transaction:
the caller (store.py) decides what one transaction holds.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from projectdesk.cache import peek
from projectdesk.cache.index import BLOB_STATES, project_from_row, project_values
from projectdesk.core.models import ProjectInfo


def _listed_key(user_id: str) -> str:
    return f"projects-listed:{user_id}"


def ensure(conn: sqlite3.Connection, user_id: str, slug: str) -> None:
    """A row for the project (named after its slug) unless it has one."""
    conn.execute("INSERT OR IGNORE INTO projects (user_id, slug, name) VALUES (?, ?, ?)", (user_id, slug, slug))


def of_user(conn: sqlite3.Connection, user_id: str) -> list[ProjectInfo]:
    rows = conn.execute("SELECT * FROM projects WHERE user_id = ?", (user_id,)).fetchall()
    return [project_from_row(r) for r in rows]


def newest_first(infos: list[ProjectInfo]) -> list[ProjectInfo]:
    """The order the project list shows: the most recently updated first, then by slug."""
    return sorted(infos, key=lambda p: (-p.updated_date, p.slug))


def get(conn: sqlite3.Connection, user_id: str, slug: str) -> ProjectInfo | None:
    rows = conn.execute("SELECT * FROM projects WHERE user_id = ? AND slug = ?", (user_id, slug)).fetchall()
    return project_from_row(rows[0]) if rows else None


def slugs(conn: sqlite3.Connection, user_id: str) -> list[str]:
    return [r["slug"] for r in conn.execute("SELECT slug FROM projects WHERE user_id = ?", (user_id,))]


def record_listed(conn: sqlite3.Connection, info: ProjectInfo, listed_at: float) -> None:
    """A project as a listing gave it (its keep-offline choice and files listing stay)."""
    conn.execute(
        "INSERT INTO projects (user_id, slug, name, created_date, updated_date, files_count,"
        " total_bytes, tech_stack, has_frontend, has_backend, has_manifest, listed_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (user_id, slug) DO UPDATE SET name = excluded.name,"
        " created_date = excluded.created_date, updated_date = excluded.updated_date,"
        " files_count = excluded.files_count, total_bytes = excluded.total_bytes,"
        " tech_stack = excluded.tech_stack, has_frontend = excluded.has_frontend,"
        " has_backend = excluded.has_backend, has_manifest = excluded.has_manifest,"
        " listed_at = excluded.listed_at",
        (*project_values(info), listed_at),
    )


def mark_list_complete(conn: sqlite3.Connection, user_id: str, when: float) -> None:
    """A complete list of the user's projects was recorded (an empty one included)."""
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_listed_key(user_id), when))


def list_complete(conn: sqlite3.Connection, user_id: str) -> bool:
    return bool(conn.execute("SELECT 1 FROM meta WHERE key = ?", (_listed_key(user_id),)).fetchall())


def has_local_changes(conn: sqlite3.Connection, user_id: str, slug: str) -> bool:
    """Whether the project has queued changes, local edits or deletes, or a save under way."""
    return peek.count_local_changes(conn, user_id, slug) > 0


def forget_project(conn: sqlite3.Connection, user_id: str, slug: str) -> None:
    """Drop every row of the project: its files, queued changes, conflicts and the project itself."""
    for table in ("files", "outbox", "conflicts", "projects"):
        conn.execute(f"DELETE FROM {table} WHERE user_id = ? AND slug = ?", (user_id, slug))


def set_keep_offline(conn: sqlite3.Connection, user_id: str, slug: str, keep: bool) -> None:
    conn.execute("UPDATE projects SET keep_offline = ? WHERE user_id = ? AND slug = ?", (int(keep), user_id, slug))


def keep_offline_slugs(conn: sqlite3.Connection, user_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT slug FROM projects WHERE user_id = ? AND keep_offline = 1 ORDER BY slug", (user_id,)
    ).fetchall()
    return [r["slug"] for r in rows]


def files_listed(conn: sqlite3.Connection, user_id: str, slug: str) -> bool:
    """Whether the project's files were ever listed."""
    rows = conn.execute(
        "SELECT files_listed_at FROM projects WHERE user_id = ? AND slug = ?", (user_id, slug)
    ).fetchall()
    return bool(rows) and rows[0]["files_listed_at"] is not None


def mark_files_listed(conn: sqlite3.Connection, user_id: str, slug: str) -> None:
    conn.execute("UPDATE projects SET files_listed_at = ? WHERE user_id = ? AND slug = ?", (time.time(), user_id, slug))


def usage(conn: sqlite3.Connection, user_id: str) -> list[sqlite3.Row]:
    """Per project of the user, largest first: slug, name, keep_offline, files (copies here), bytes (their
    size) and pending (queued changes)."""
    return conn.execute(
        "SELECT p.slug, p.name, p.keep_offline,"
        " COUNT(CASE WHEN f.state IN (?, ?, ?) THEN 1 END) AS files,"
        " COALESCE(SUM(CASE WHEN f.state IN (?, ?, ?) THEN f.blob_size END), 0) AS bytes,"
        " (SELECT COUNT(*) FROM outbox o WHERE o.user_id = p.user_id AND o.slug = p.slug) AS pending"
        " FROM projects p LEFT JOIN files f ON f.user_id = p.user_id AND f.slug = p.slug"
        " WHERE p.user_id = ? GROUP BY p.slug ORDER BY bytes DESC, p.slug",
        (*BLOB_STATES, *BLOB_STATES, user_id),
    ).fetchall()


def last_listed_projects(cache_root: Path, profile: str, user_id: str) -> list[ProjectInfo]:
    """The user's projects as the cache last recorded them, newest first as `CacheStore.projects` gives them, read
    without opening the cache (read-only: no lock, no recovery) — for the window, which shows them while the store
    itself still opens (importing botocore and making its client take longer than this whole read). Empty when
    there is no index yet or it cannot be read: the store's own listing follows anyway."""
    if not peek.index_file(cache_root, profile).exists():
        return []
    conn = peek.open_read_only(cache_root, profile, timeout=1.0)
    if conn is None:
        return []
    try:
        conn.row_factory = sqlite3.Row
        return newest_first(of_user(conn, user_id))
    except (sqlite3.Error, KeyError, IndexError, TypeError, ValueError):
        return []  # an index from another version, damaged, or locked for long
    finally:
        conn.close()
