"""The steps that finish or undo a save, shared by the cache's own saves (store.py) and by recovery after
a crash (recovery.py): one place, so both leave the index and the outbox alike."""

from __future__ import annotations

import sqlite3

from projectdesk.cache import files_table, outbox
from projectdesk.cache.blobs import BlobInfo, BlobStore
from projectdesk.cache.index import CLEAN, CONFLICT, DIRTY


def forget_intent(conn: sqlite3.Connection, user_id: str, slug: str, path: str) -> None:
    """A save that did not happen: drop its intent, and the row if the save had created it."""
    conn.execute(
        "UPDATE files SET pending_sha256 = NULL WHERE user_id = ? AND slug = ? AND path = ?", (user_id, slug, path)
    )
    conn.execute(
        "DELETE FROM files WHERE user_id = ? AND slug = ? AND path = ? AND state = ? AND blob_sha256 IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.user_id = files.user_id AND o.slug = files.slug"
        " AND o.path = files.path)",
        (user_id, slug, path, DIRTY),
    )


def finish_save(
    conn: sqlite3.Connection,
    blobs: BlobStore,
    user_id: str,
    slug: str,
    path: str,
    sha256: str,
    info: BlobInfo | None,
    *,
    if_match: str | None = None,
    unknown_base: str | None = None,
    conflict_copy: bool = False,
) -> None:
    """Mark the file dirty with the blob now on disk and queue (or update) its upload."""
    current = files_table.get(conn, user_id, slug, path)
    if current is None:
        return
    if info is None or current.pending_sha256 != sha256:
        info = blobs.hash(user_id, slug, path)  # another process saved meanwhile: record what is there
        if info is None:
            forget_intent(conn, user_id, slug, path)
            return
    item = outbox.get(conn, user_id, slug, path)
    override = True
    base: str | None
    if if_match is not None:
        # A page opened before our own upload of this file landed: it builds on what that upload made.
        base = current.sent_as if if_match == current.sent_over and current.sent_as else if_match
    elif item is not None:
        base, override = item.base_etag, False
    elif conflict_copy:
        base = None
    elif current.state in (CLEAN, CONFLICT):
        base = current.blob_etag
    elif current.remote_etag is not None:
        base = current.remote_etag
    else:
        base = unknown_base
    files_table.mark_dirty(conn, user_id, slug, path, info)
    outbox.enqueue(conn, user_id, slug, path, outbox.PUT, base, override_base=override, conflict_copy=conflict_copy)
