"""Start-up repair of the cache after a crash: afterwards the index and the files on disk agree.

Runs when a CacheStore opens and no other process has the cache open. After clean exits only the
index-side checks run (saves caught mid-way, the outbox). After a session that did not close (its
marker is still there) every copy is checked by (size, mtime_ns, inode), which every atomic replace
changes, and hashed only when those differ, and the folders are walked for leftovers.
What a kill -9 can leave, and what happens to it:
- temp files of interrupted writes, and the staging area of interrupted downloads: removed;
- a save with its intent committed: completed if the blob has the intended content, else forgotten;
- a clean copy that does not match the index (a download replaced it but did not commit): removed,
  the file is fetched again when needed;
- a local edit whose copy changed on disk: the disk wins (it is the newest edit);
- files the index does not know (orphans of interrupted evictions or downloads): removed.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from dataclasses import dataclass, field

from projectdesk.cache import outbox
from projectdesk.cache.blobs import BlobStore
from projectdesk.cache.index import BLOB_STATES, DELETED, DIRTY, REMOTE, CacheIndex, FileRow
from projectdesk.cache.saves import finish_save, forget_intent
from projectdesk.storage.atomic import TEMP_PREFIX

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    ran: bool = True
    full: bool = False  # every copy re-checked (after a session that did not close)
    temp_files_removed: int = 0
    orphans_removed: int = 0
    saves_completed: int = 0
    saves_undone: int = 0
    copies_dropped: int = 0
    edits_adopted: int = 0
    edits_lost: list[str] = field(default_factory=list)
    stats_refreshed: int = 0

    @property
    def repaired(self) -> bool:
        return any(
            (self.temp_files_removed, self.orphans_removed, self.saves_completed, self.saves_undone,
             self.copies_dropped, self.edits_adopted, self.edits_lost)
        )  # fmt: skip


def recover_store(blobs: BlobStore, index: CacheIndex, *, full: bool = True) -> RecoveryReport:
    """Repair what interrupted sessions left. Without `full` (every session before closed cleanly)
    only the index-side checks run: every copy on disk was then written by a finished operation."""
    report = RecoveryReport(full=full)
    shutil.rmtree(blobs.staging_dir, ignore_errors=True)

    # 1. Saves caught between their intent and their completion.
    for row in index.query("SELECT * FROM files WHERE pending_sha256 IS NOT NULL"):
        user_id, slug, path, pending = row["user_id"], row["slug"], row["path"], row["pending_sha256"]
        info = blobs.hash(user_id, slug, path)
        with index.transaction() as conn:
            if info is not None and info.sha256 == pending:
                finish_save(conn, blobs, user_id, slug, path, pending, info)
                report.saves_completed += 1
            else:
                forget_intent(conn, user_id, slug, path)
                report.saves_undone += 1

    if full:
        _check_copies(blobs, index, report)
    _check_outbox(index)
    if report.repaired:
        log.warning("offline cache repaired after an interrupted session: %s", report)
    return report


def _check_copies(blobs: BlobStore, index: CacheIndex, report: RecoveryReport) -> None:
    # 2. Every copy the index describes must be on disk with the recorded content.
    described = index.query("SELECT * FROM files WHERE state IN (?, ?, ?)", BLOB_STATES)
    for user_id, file_row in [(str(r["user_id"]), FileRow.from_row(r)) for r in described]:
        on_disk = blobs.stat(user_id, file_row.slug, file_row.path)
        recorded = (file_row.blob_size, file_row.blob_mtime_ns, file_row.blob_ino)
        if on_disk is not None and on_disk == recorded:
            continue
        info = blobs.hash(user_id, file_row.slug, file_row.path) if on_disk is not None else None
        with index.transaction() as conn:
            where = (user_id, file_row.slug, file_row.path)
            if info is not None and info.sha256 == file_row.blob_sha256:
                conn.execute(
                    "UPDATE files SET blob_mtime_ns = ?, blob_ino = ?, blob_size = ?"
                    " WHERE user_id = ? AND slug = ? AND path = ?",
                    (info.mtime_ns, info.ino, info.size, *where),
                )
                report.stats_refreshed += 1
            elif info is not None and file_row.state == DIRTY:
                conn.execute(
                    "UPDATE files SET blob_sha256 = ?, blob_size = ?, blob_mtime_ns = ?, blob_ino = ?"
                    " WHERE user_id = ? AND slug = ? AND path = ?",
                    (info.sha256, info.size, info.mtime_ns, info.ino, *where),
                )
                report.edits_adopted += 1
            elif file_row.state == DIRTY:  # the copy of a local edit is gone: nothing left to upload
                lost = f"{file_row.slug}/{file_row.path}"
                log.error("the cached edit of %s is missing from disk; it cannot be uploaded", lost)
                report.edits_lost.append(lost)
                item = outbox.get(conn, user_id, file_row.slug, file_row.path)
                if item is not None:
                    outbox.remove(conn, item.id)
                _drop_copy(conn, where, keep_row=file_row.remote_etag is not None)
            else:
                _drop_copy(conn, where, keep_row=True)
                report.copies_dropped += 1
                if info is not None:
                    blobs.remove(*where)

    # 3. Files on disk that the index does not describe as copies.
    known = {
        (r["user_id"], r["slug"], r["path"])
        for r in index.query("SELECT user_id, slug, path FROM files WHERE state IN (?, ?, ?)", BLOB_STATES)
    }
    for user_id, slug, path, full in list(blobs.walk()):
        if (user_id, slug, path) in known:
            continue
        full.unlink(missing_ok=True)
        if full.name.startswith(TEMP_PREFIX):
            report.temp_files_removed += 1
        else:
            report.orphans_removed += 1

    blobs.prune_empty_dirs()


def _check_outbox(index: CacheIndex) -> None:
    # 4. Outbox items must match their files: a put needs a dirty copy, a delete a deleted row.
    with index.transaction() as conn:
        for item_row in conn.execute("SELECT * FROM outbox").fetchall():
            state = conn.execute(
                "SELECT state FROM files WHERE user_id = ? AND slug = ? AND path = ?",
                (item_row["user_id"], item_row["slug"], item_row["path"]),
            ).fetchone()
            wanted = DIRTY if item_row["op"] == outbox.PUT else DELETED
            mismatched = state is None or state[0] != wanted
            if mismatched and (item_row["op"] == outbox.PUT or state is not None):
                log.warning("dropping outbox item for %s/%s: its file is gone", item_row["slug"], item_row["path"])
                outbox.remove(conn, item_row["id"])


def _drop_copy(conn: sqlite3.Connection, where: tuple[str, str, str], *, keep_row: bool) -> None:
    if keep_row:
        conn.execute(
            "UPDATE files SET state = ?, blob_etag = NULL, blob_sha256 = NULL, blob_size = NULL, blob_mtime_ns = NULL,"
            " blob_ino = NULL WHERE user_id = ? AND slug = ? AND path = ?",
            (REMOTE, *where),
        )
    else:
        conn.execute("DELETE FROM files WHERE user_id = ? AND slug = ? AND path = ?", where)
