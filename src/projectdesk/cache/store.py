"""CacheStore: one profile's cache for one user — blobs and index kept in agreement, crash or no crash.

The orderings that make a kill -9 at any moment harmless (recovery.py repairs what each leaves):
- Filling the cache (a download): the blob is replaced inside the index transaction that records it.
  A crash before COMMIT leaves a blob the index does not describe; recovery removes it (it was only
  a copy of the remote).
- Saving a local edit: the new content's SHA-256 is committed first (`pending_sha256`), then the blob
  is written, then the file is marked dirty and queued. Recovery completes the save when the blob on
  disk has the intended content and forgets the intent otherwise, so a save is never half-applied.
- Removing (eviction, deletes, clearing): the index changes first, then the file goes.

In-process, an RLock serialises the multi-step sequences; across processes, SQLite's write lock
serialises each transaction and a shared/exclusive file lock decides who may run recovery.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import sqlite3
import sys
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from projectdesk.cache import conflicts_table, files_table, outbox, projects_table
from projectdesk.cache.blobs import BlobInfo, BlobStore, etag_mismatch
from projectdesk.cache.index import CLEAN, CONFLICT, DELETED, DIRTY, CacheIndex, ConflictRecord, FileRow, OutboxItem
from projectdesk.cache.peek import INDEX_NAME, META_DIR
from projectdesk.cache.recovery import RecoveryReport, recover_store
from projectdesk.cache.saves import finish_save, forget_intent
from projectdesk.core.errors import InvalidInput, InvalidKey, StorageError
from projectdesk.core.keys import PathGate, is_safe_relative_path, safe_segment
from projectdesk.core.models import FileEntry, ProjectInfo

if sys.platform != "win32":
    import fcntl

log = logging.getLogger(__name__)

SESSIONS_DIR = "sessions"
ROWS_READ_WHOLE = 1000  # adopt_downloads: from this many files on, the project's rows are read in one scan


@dataclass(frozen=True, slots=True)
class ProjectUsage:
    slug: str
    name: str
    files: int  # files with a copy here
    bytes: int
    pending: int  # queued writes and deletes
    keep_offline: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "files": self.files,
            "bytes": self.bytes,
            "pending": self.pending,
            "keep_offline": self.keep_offline,
        }


class CacheStore:
    """The cache of `profile` under `cache_root`, seen as `user_id`.

    Opening it runs recovery (recovery.py) when no other process has the cache open: the cheap checks
    always, the full check of every copy only after a session that did not close.
    """

    def __init__(self, cache_root: Path, profile: str, user_id: str, *, recover: bool = True) -> None:
        safe_segment(user_id, "user id")
        if user_id == META_DIR:
            raise InvalidInput(f"The user id '{META_DIR}' is reserved for the offline cache's own files.")
        self.user_id = user_id
        self.blobs = BlobStore(cache_root, profile)
        self.blobs.meta_dir.mkdir(parents=True, exist_ok=True)
        self._mutex = threading.RLock()
        self._lock_file: IO[str] | None = None
        exclusive = self._lock_shared_or_exclusive()
        self.index = self._open_index(exclusive)
        sessions = self.blobs.meta_dir / SESSIONS_DIR
        # Every open leaves a marker that a clean close removes. Holding the lock alone, markers on disk
        # are those of sessions that ended without closing (kill -9, power cut): only then is every copy
        # re-checked and the folders walked; after clean exits opening stays O(1) however big the cache.
        left_behind = sorted(sessions.glob("*")) if exclusive and sessions.is_dir() else []
        if exclusive and recover:
            self.recovery = recover_store(self.blobs, self.index, full=bool(left_behind))
            for marker in left_behind:
                marker.unlink(missing_ok=True)
        else:
            self.recovery = RecoveryReport(ran=False)
        sessions.mkdir(exist_ok=True)
        self._session_marker = sessions / f"{os.getpid()}-{secrets.token_hex(4)}"
        self._session_marker.touch()
        self._downgrade_lock()

    # ---- opening and closing ---------------------------------------------------------------------

    def _lock_shared_or_exclusive(self) -> bool:
        """True when we are the only process with the cache open (then recovery may run)."""
        if sys.platform == "win32":  # no flock: recovery runs on every open
            return True
        self._lock_file = open(self.blobs.meta_dir / "lock", "a")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_SH)
            return False

    def _downgrade_lock(self) -> None:
        if sys.platform != "win32" and self._lock_file is not None:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_SH)

    def _open_index(self, exclusive: bool) -> CacheIndex:
        path = self.blobs.meta_dir / INDEX_NAME
        try:
            return CacheIndex(path)
        except sqlite3.DatabaseError as exc:
            if not exclusive:
                raise StorageError(f"The offline cache index {path} is damaged ({exc}).") from None
        # Damaged beyond SQLite's own recovery: keep everything aside (edits included) and start afresh.
        aside = self.blobs.meta_dir / time.strftime("damaged-%Y%m%d-%H%M%S")
        aside.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                (self.blobs.meta_dir / (INDEX_NAME + suffix)).rename(aside / (INDEX_NAME + suffix))
        for child in list(self.blobs.root.iterdir()):
            if child.name != META_DIR:
                child.rename(aside / child.name)
        log.error("the offline cache index was damaged; its files were moved to %s", aside)
        return CacheIndex(path)

    def close(self) -> None:
        self.index.close()
        self._session_marker.unlink(missing_ok=True)
        if self._lock_file is not None:
            self._lock_file.close()  # releases the flock
            self._lock_file = None

    @contextlib.contextmanager
    def flush_lock(self) -> Iterator[None]:
        """Held while the outbox is sent, so two processes never send the same item twice."""
        if sys.platform == "win32":
            yield
            return
        with open(self.blobs.meta_dir / "flush.lock", "a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # ---- projects --------------------------------------------------------------------------------

    def projects(self) -> list[ProjectInfo]:
        with self.index.reading() as conn:
            infos = projects_table.of_user(conn, self.user_id)
        return projects_table.newest_first(infos)

    def project(self, slug: str) -> ProjectInfo | None:
        with self.index.reading() as conn:
            return projects_table.get(conn, self.user_id, slug)

    def put_projects(self, infos: Sequence[ProjectInfo], *, complete: bool) -> None:
        """Record listed projects; with `complete`, forget cached projects the listing no longer has
        (unless they hold local changes)."""
        now = time.time()
        doomed: list[str] = []
        with self.index.transaction() as conn:
            for info in infos:
                projects_table.record_listed(conn, info, now)
            if complete:
                projects_table.mark_list_complete(conn, self.user_id, now)
                listed = {info.slug for info in infos}
                for slug in projects_table.slugs(conn, self.user_id):
                    if slug not in listed and not projects_table.has_local_changes(conn, self.user_id, slug):
                        projects_table.forget_project(conn, self.user_id, slug)
                        doomed.append(slug)
        for slug in doomed:
            self.blobs.remove_project(self.user_id, slug)

    def projects_listed(self) -> bool:
        """Whether a complete project list was ever recorded (an empty one included)."""
        with self.index.reading() as conn:
            return projects_table.list_complete(conn, self.user_id)

    def has_local_changes(self, slug: str) -> bool:
        return projects_table.has_local_changes(self.index.connection(), self.user_id, slug)

    def forget_project(self, slug: str) -> None:
        """Drop everything cached of a project (after it was deleted on the server)."""
        with self._mutex:
            with self.index.transaction() as conn:
                projects_table.forget_project(conn, self.user_id, slug)
            self.blobs.remove_project(self.user_id, slug)

    def set_keep_offline(self, slug: str, keep: bool) -> None:
        with self.index.transaction() as conn:
            projects_table.ensure(conn, self.user_id, slug)
            projects_table.set_keep_offline(conn, self.user_id, slug, keep)

    def keep_offline_slugs(self) -> list[str]:
        with self.index.reading() as conn:
            return projects_table.keep_offline_slugs(conn, self.user_id)

    # ---- files -----------------------------------------------------------------------------------

    def file(self, slug: str, path: str) -> FileRow | None:
        return files_table.get(self.index.connection(), self.user_id, slug, path)

    def edit_base(self, slug: str, path: str) -> str | None:
        """The server version a queued change of the file replaces (None: it must not exist there)."""
        item = outbox.get(self.index.connection(), self.user_id, slug, path)
        return item.base_etag if item is not None else None

    def edit_bases(self, slug: str) -> dict[str, str | None]:
        """`edit_base` of every queued change of the project, in one query."""
        return outbox.bases(self.index.connection(), self.user_id, slug)

    def files(self, slug: str) -> list[FileRow]:
        with self.index.reading() as conn:
            return files_table.of_project_by_path(conn, self.user_id, slug)

    def changed_files(self, slug: str) -> list[FileRow]:
        """The project's files with a local edit or delete waiting to be sent (few, however big the project)."""
        with self.index.reading() as conn:
            return files_table.of_project_changed(conn, self.user_id, slug)

    def files_listed(self, slug: str) -> bool:
        with self.index.reading() as conn:
            return projects_table.files_listed(conn, self.user_id, slug)

    def apply_listing(self, slug: str, entries: Sequence[FileEntry]) -> None:
        """Record a fresh listing of the project: new files appear, gone ones are forgotten (local
        changes excepted), copies of files that changed remotely become stale."""
        doomed: list[str] = []
        with self._mutex:
            with self.index.transaction() as conn:
                projects_table.ensure(conn, self.user_id, slug)
                rows = files_table.of_project(conn, self.user_id, slug)
                seen: set[str] = set()
                for entry in entries:
                    if not is_safe_relative_path(entry.path):
                        continue  # hostile names are never cached
                    seen.add(entry.path)
                    known = rows.get(entry.path)
                    if known is not None and (known.remote_etag, known.remote_size, known.remote_modified) == (
                        entry.etag,
                        entry.size,
                        entry.last_modified,
                    ):
                        continue  # as listed before: no write (a sync of 2,000 unchanged files writes nothing)
                    files_table.record_remote(conn, self.user_id, slug, entry)
                for path, row in rows.items():
                    if path in seen:
                        continue
                    if (
                        row.state in (DIRTY, DELETED)
                        or row.pending_sha256
                        or outbox.get(conn, self.user_id, slug, path)
                    ):
                        files_table.clear_remote(conn, self.user_id, slug, path)
                    else:
                        files_table.forget_file(conn, self.user_id, slug, path)
                        if row.has_blob:
                            doomed.append(path)
                projects_table.mark_files_listed(conn, self.user_id, slug)
            for path in doomed:
                self.blobs.remove(self.user_id, slug, path)

    def note_remote(self, slug: str, entry: FileEntry) -> None:
        """Record what a HEAD said of one file (without touching its copy)."""
        with self.index.transaction() as conn:
            projects_table.ensure(conn, self.user_id, slug)
            files_table.record_remote(conn, self.user_id, slug, entry)

    def forget_remote_file(self, slug: str, path: str) -> None:
        """The server says the file does not exist: forget it unless it has local changes."""
        with self._mutex:
            with self.index.transaction() as conn:
                row = files_table.get(conn, self.user_id, slug, path)
                if row is None or row.state in (DIRTY, DELETED) or row.pending_sha256:
                    return
                if outbox.get(conn, self.user_id, slug, path) is not None:
                    return
                files_table.forget_file(conn, self.user_id, slug, path)
            self.blobs.remove(self.user_id, slug, path)

    def _store_row(self, conn: sqlite3.Connection, slug: str, entry: FileEntry, info: BlobInfo, state: str) -> None:
        files_table.store_copy(conn, self.user_id, slug, entry, info, state)

    @staticmethod
    def _holds_local_change(
        conn: sqlite3.Connection, row: FileRow | None, user_id: str, queued: Collection[str] | None = None
    ) -> bool:
        """True when the file has an edit or delete not yet sent (`queued`: the project's outbox paths,
        read once by bulk callers; else the outbox is asked for this file)."""
        if row is None:
            return False
        if row.state in (DIRTY, DELETED) or row.pending_sha256 is not None:
            return True
        if queued is not None:
            return row.path in queued
        return outbox.get(conn, user_id, row.slug, row.path) is not None

    def store_remote(self, slug: str, entry: FileEntry, data: bytes) -> bool:
        """Keep `data`, the remote version `entry.etag`, as the file's copy — unless the file has a
        local change (never overwritten) or the data is not that version. True when kept."""
        if etag_mismatch(entry.etag, hashlib.md5(data, usedforsecurity=False).hexdigest()):
            return False
        with self._mutex, self.index.transaction() as conn:
            row = files_table.get(conn, self.user_id, slug, entry.path)
            if self._holds_local_change(conn, row, self.user_id):
                return False
            projects_table.ensure(conn, self.user_id, slug)
            info = self.blobs.write(self.user_id, slug, entry.path, data)  # inside the transaction: see module doc
            self._store_row(conn, slug, entry, info, CONFLICT if row and row.state == CONFLICT else CLEAN)
            return True

    def adopt_downloads(
        self,
        slug: str,
        files: Sequence[tuple[FileEntry, Path]],
        *,
        hashes: Mapping[str, str] | None = None,
        move: bool = True,
    ) -> list[tuple[str, str]]:
        """Keep downloaded files as the cache's copies (those without local changes), in one transaction.
        Moved from the staging area, or linked from a pull's destination (`move` False); `hashes` are
        SHA-256s the download computed. The downloads were pinned to their listed versions (If-Match), so
        each copy is its entry's version.

        Returns (path, why) of each file the cache could not take (its disk full, a file where a folder
        must be, any failure to link, copy or record it), for the caller to tell the user; a file kept
        back for a local change is no failure."""
        refused: list[tuple[str, str]] = []
        placed: list[str] = []  # blobs put in place by this transaction
        kept: set[str] = set()  # files left alone for a local change
        hashes = hashes or {}
        try:
            with self._mutex, self.index.transaction() as conn:
                projects_table.ensure(conn, self.user_id, slug)
                if len(files) < ROWS_READ_WHOLE:  # a batch of a pull in progress: only its own rows
                    rows = files_table.of_paths(conn, self.user_id, slug, [entry.path for entry, _ in files])
                else:
                    rows = files_table.of_project(conn, self.user_id, slug)
                gate = self.blobs.gate(self.user_id, slug)
                queued = outbox.queued_paths(conn, self.user_id, slug)
                for entry, source in files:
                    row = rows.get(entry.path)
                    if self._holds_local_change(conn, row, self.user_id, queued):
                        kept.add(entry.path)
                        continue  # a local change is never replaced by a download
                    state = CONFLICT if row and row.state == CONFLICT else CLEAN
                    try:  # only clean copies are ever linked (see blobs.py)
                        info = self.blobs.adopt(
                            source, self.user_id, slug, entry.path, move=move, link=state == CLEAN,
                            sha256=hashes.get(entry.path), gate=gate,
                        )  # fmt: skip
                    except (StorageError, InvalidKey) as exc:
                        log.warning("not cached: %s", exc)
                        refused.append((entry.path, exc.message))
                        continue
                    placed.append(entry.path)
                    self._store_row(conn, slug, entry, info, state)
        except (StorageError, sqlite3.Error) as exc:  # the index could not record them (its disk full, most likely)
            why = self._index_failure(exc)
            log.warning("not cached: %s", why)
            for path in placed:  # in place but not recorded: removed, so they neither take room nor look cached
                with contextlib.suppress(OSError, InvalidKey):
                    self.blobs.remove(self.user_id, slug, path)
            done = kept | {path for path, _ in refused}
            refused += [(entry.path, why) for entry, _ in files if entry.path not in done]
        return refused

    def _index_failure(self, exc: StorageError | sqlite3.Error) -> str:
        """Why a write to the index failed, in a sentence (a full disk names its folder); the connection
        is left with no transaction open (a failed COMMIT may leave one)."""
        conn = self.index.connection()
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, sqlite3.Error):
            cause = cause.__cause__ or cause.__context__
        if isinstance(cause, sqlite3.Error) and getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            from projectdesk.storage.errors import disk_full_error  # loads botocore: only when a disk is full

            return disk_full_error(self.index.path, None).message
        if isinstance(exc, StorageError):
            return exc.message
        return f"The offline cache index {self.index.path} could not be written: {exc}."

    def verified(self, row: FileRow, gate: PathGate | None = None) -> Path | None:
        """The copy of `row` on disk if it is still what the index recorded, else None (`gate`: the
        project's key gate, when many files are checked in one go).

        A clean copy that changed on disk (its hard-linked twin edited in place by the user, or a hand
        edit in the cache folder) is dropped — the file is fetched again when needed — so a changed
        copy is never taken for the server's version. Local edits and conflicted copies are never
        linked anywhere: what is on disk is the newest of them, as recovery also holds.
        """
        if not row.has_blob:
            return None
        path = self.blobs.path(self.user_id, row.slug, row.path, gate)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            st = None
        recorded = (row.blob_size, row.blob_mtime_ns, row.blob_ino)
        if st is not None and (row.state != CLEAN or (st.st_size, st.st_mtime_ns, st.st_ino) == recorded):
            return path
        if row.state == CLEAN:
            log.info("the cached copy of %s/%s changed on disk; it will be fetched again", row.slug, row.path)
            with self._mutex, self.index.transaction() as conn:
                current = files_table.get(conn, self.user_id, row.slug, row.path)
                if current is not None and current.state == CLEAN and current.blob_ino == row.blob_ino:
                    files_table.mark_remote_only(conn, self.user_id, row.slug, row.path)
            if st is not None:
                self.blobs.remove(self.user_id, row.slug, row.path)
        return None

    def read_blob(self, slug: str, path: str) -> bytes | None:
        """The cached copy if it is still what the index recorded (and marks it used), or None."""
        row = self.file(slug, path)
        source = self.verified(row) if row is not None else None
        if source is None:
            return None
        try:
            data = source.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        with self.index.transaction() as conn:
            files_table.mark_used(conn, self.user_id, slug, path)
        return data

    # ---- local edits -----------------------------------------------------------------------------

    def save(
        self,
        slug: str,
        path: str,
        data: bytes,
        *,
        if_match: str | None = None,
        unknown_base: str | None = None,
        conflict_copy: bool = False,
    ) -> FileRow:
        """Keep a local edit and queue its upload.

        The upload will carry a precondition on the remote version the edit was made against: `if_match`
        when given, else the version of our copy, else the last listed one, else `unknown_base` (None:
        the file must not exist remotely).
        """
        sha = hashlib.sha256(data).hexdigest()
        with self._mutex:
            with self.index.transaction() as conn:
                projects_table.ensure(conn, self.user_id, slug)
                files_table.record_intent(conn, self.user_id, slug, path, sha)
            try:
                info: BlobInfo | None = self.blobs.write(self.user_id, slug, path, data)
            except BaseException:
                with self.index.transaction() as conn:
                    forget_intent(conn, self.user_id, slug, path)
                raise
            with self.index.transaction() as conn:
                finish_save(
                    conn, self.blobs, self.user_id, slug, path, sha, info,
                    if_match=if_match, unknown_base=unknown_base, conflict_copy=conflict_copy,
                )  # fmt: skip
                row = files_table.get(conn, self.user_id, slug, path)
            assert row is not None
            return row

    def delete(self, slug: str, path: str, *, if_match: str | None = None, unknown_base: str | None = None) -> bool:
        """Remove the file here and queue its deletion on the server (guarded by the version we saw).
        False when the file never reached the server, so there is nothing to delete there."""
        with self._mutex:
            with self.index.transaction() as conn:
                row = files_table.get(conn, self.user_id, slug, path)
                item = outbox.get(conn, self.user_id, slug, path)
                if if_match is not None:
                    base: str | None = if_match
                elif item is not None:
                    base = item.base_etag
                elif row is not None:
                    base = row.blob_etag if row.state in (CLEAN, CONFLICT) else row.remote_etag
                else:
                    base = unknown_base
                queued = base is not None
                if not queued:
                    if item is not None:
                        outbox.remove(conn, item.id)
                    files_table.forget_file(conn, self.user_id, slug, path)
                else:
                    projects_table.ensure(conn, self.user_id, slug)
                    files_table.mark_deleted(conn, self.user_id, slug, path, base)
                    outbox.enqueue(conn, self.user_id, slug, path, outbox.DELETE, base, override_base=True)
                conflicts_table.resolve_copy(conn, self.user_id, slug, path)
            self.blobs.remove(self.user_id, slug, path)
            return queued

    # ---- outbox ----------------------------------------------------------------------------------

    def pending(self) -> list[OutboxItem]:
        return outbox.pending(self.index.connection(), self.user_id)

    def next_item(self, after_id: int) -> OutboxItem | None:
        return outbox.next_after(self.index.connection(), self.user_id, after_id)

    def item(self, item_id: int) -> OutboxItem | None:
        return outbox.by_id(self.index.connection(), item_id)

    def complete_put(self, item: OutboxItem, entry: FileEntry, sha256: str) -> bool:
        """The upload of `item` (content `sha256`) succeeded as remote version `entry.etag`.
        True when the file is now clean; False when it changed meanwhile and stays queued."""
        with self._mutex, self.index.transaction() as conn:
            current = outbox.by_id(conn, item.id)
            row = files_table.get(conn, self.user_id, item.slug, item.path)
            if (
                current is not None
                and current.revision == item.revision
                and row is not None
                and row.state == DIRTY
                and row.blob_sha256 == sha256
                and row.pending_sha256 is None
            ):
                outbox.remove(conn, item.id)
                state = CONFLICT if item.conflict_copy else CLEAN
                files_table.mark_uploaded(conn, self.user_id, item.slug, item.path, state, entry, item.base_etag)
                return True
            # Saved or deleted again during the upload: the next attempt builds on what we just sent.
            if current is not None:
                outbox.rebase(conn, current.id, entry.etag)
            files_table.record_upload(conn, self.user_id, item.slug, item.path, entry, item.base_etag)
            return False

    def complete_delete(self, item: OutboxItem) -> None:
        with self._mutex, self.index.transaction() as conn:
            current = outbox.by_id(conn, item.id)
            if current is not None and current.revision == item.revision:
                outbox.remove(conn, item.id)
                files_table.forget_file(conn, self.user_id, item.slug, item.path, state=DELETED)
            elif current is not None:
                outbox.rebase(conn, current.id, None)  # saved again meanwhile: the put now creates the file
                files_table.clear_remote(conn, self.user_id, item.slug, item.path, modified=False)

    def record_failure(self, item: OutboxItem, message: str) -> None:
        with self.index.transaction() as conn:
            outbox.record_failure(conn, item.id, message)

    def discard(self, item_id: int) -> bool:
        """Undo a queued change: the local edit or delete is dropped and the server's version counts again."""
        with self._mutex:
            with self.index.transaction() as conn:
                item = outbox.by_id(conn, item_id)
                if item is None or item not in outbox.pending(conn, self.user_id):
                    return False
                outbox.remove(conn, item.id)
                row = files_table.get(conn, self.user_id, item.slug, item.path)
                if row is not None:
                    if row.remote_etag is None:
                        files_table.forget_file(conn, self.user_id, item.slug, item.path)
                    else:
                        files_table.mark_remote_only(conn, self.user_id, item.slug, item.path)
            self.blobs.remove(self.user_id, item.slug, item.path)
            return True

    # ---- conflicts -------------------------------------------------------------------------------

    def taken(self, slug: str, path: str) -> bool:
        return self.file(slug, path) is not None

    def split_conflict(
        self, item: OutboxItem, remote: FileEntry, remote_data: bytes, copy_path: str
    ) -> ConflictRecord | None:
        """Our edit of `item.path` met a changed remote file: our (latest) content goes to `copy_path`
        and is queued as a new file; the remote version takes the original name here."""
        with self._mutex:
            ours = self.blobs.read(self.user_id, item.slug, item.path)
            if ours is not None:
                self.save(item.slug, copy_path, ours, conflict_copy=True)
            with self.index.transaction() as conn:
                current = outbox.get(conn, self.user_id, item.slug, item.path)
                if current is not None:
                    outbox.remove(conn, current.id)
                files_table.mark_remote_only(conn, self.user_id, item.slug, item.path)
                files_table.set_remote(
                    conn, self.user_id, item.slug, item.path, remote.etag, remote.size, remote.last_modified
                )
                record = (
                    conflicts_table.add(conn, self.user_id, item.slug, item.path, copy_path, "edit", remote.etag)
                    if ours is not None
                    else None
                )
            if not self.store_remote(item.slug, remote, remote_data):
                self.blobs.remove(self.user_id, item.slug, item.path)
            return record

    def take_remote(self, item: OutboxItem, remote: FileEntry, remote_data: bytes | None, kind: str) -> ConflictRecord:
        """Our queued change is dropped in favour of the remote version (a delete that met a changed
        file), and the conflict is recorded."""
        with self._mutex:
            with self.index.transaction() as conn:
                current = outbox.get(conn, self.user_id, item.slug, item.path)
                if current is not None:
                    outbox.remove(conn, current.id)
                projects_table.ensure(conn, self.user_id, item.slug)
                files_table.ensure(conn, self.user_id, item.slug, item.path)
                files_table.mark_remote_only(conn, self.user_id, item.slug, item.path)
                files_table.set_remote(
                    conn, self.user_id, item.slug, item.path, remote.etag, remote.size, remote.last_modified
                )
                record = conflicts_table.add(conn, self.user_id, item.slug, item.path, None, kind, remote.etag)
            if remote_data is None or not self.store_remote(item.slug, remote, remote_data):
                self.blobs.remove(self.user_id, item.slug, item.path)
            return record

    def note_conflict(self, slug: str, path: str, kind: str, etag: str | None) -> ConflictRecord:
        with self.index.transaction() as conn:
            return conflicts_table.add(conn, self.user_id, slug, path, None, kind, etag)

    def rename_copy(self, item: OutboxItem, new_path: str) -> None:
        """A conflicted copy's name was taken on the server meanwhile: move it to `new_path`."""
        with self._mutex:
            data = self.blobs.read(self.user_id, item.slug, item.path)
            if data is not None:
                self.save(item.slug, new_path, data, conflict_copy=True)
            with self.index.transaction() as conn:
                outbox.remove(conn, item.id)
                files_table.forget_file(conn, self.user_id, item.slug, item.path)
                conflicts_table.rename_copy(conn, self.user_id, item.slug, item.path, new_path)
            self.blobs.remove(self.user_id, item.slug, item.path)

    def conflicts(self) -> list[ConflictRecord]:
        with self.index.reading() as conn:
            return conflicts_table.unresolved(conn, self.user_id)

    def resolve_conflict(self, conflict_id: int) -> None:
        """The person has seen it: the copy becomes an ordinary file (evictable again)."""
        with self.index.transaction() as conn:
            record = conflicts_table.get(conn, self.user_id, conflict_id)
            if record is None:
                return
            conflicts_table.mark_resolved(conn, conflict_id)
            if record.copy_path:
                files_table.mark_copy_clean(conn, self.user_id, record.slug, record.copy_path)

    # ---- size ------------------------------------------------------------------------------------

    def usage(self) -> list[ProjectUsage]:
        with self.index.reading() as conn:
            rows = projects_table.usage(conn, self.user_id)
        return [
            ProjectUsage(r["slug"], r["name"], r["files"], r["bytes"], r["pending"], bool(r["keep_offline"]))
            for r in rows
        ]

    def total_bytes(self) -> int:
        """All copies of this profile (every user), as the size cap counts them."""
        with self.index.reading() as conn:
            return files_table.blob_bytes(conn)

    def evict(self, cap_bytes: int, protect: Collection[tuple[str, str]] = ()) -> tuple[int, int]:
        """Remove clean copies, least recently used first, until the cache fits `cap_bytes`.

        Never removed: local edits, conflicted copies, queued files, copies of keep-offline projects
        and `protect` ((slug, path) of this user). Returns (files, bytes) removed.
        """
        with self._mutex:
            total = self.total_bytes()
            if total <= cap_bytes:
                return 0, 0
            chosen: list[tuple[str, str, str, int]] = []
            with self.index.transaction() as conn:
                for user_id, slug, path, size in files_table.eviction_candidates(conn):
                    if user_id == self.user_id and (slug, path) in protect:
                        continue
                    chosen.append((user_id, slug, path, int(size or 0)))
                    total -= int(size or 0)
                    if total <= cap_bytes:
                        break
                for user_id, slug, path, _ in chosen:
                    files_table.drop_copy(conn, user_id, slug, path)
            for user_id, slug, path, _ in chosen:
                self.blobs.remove(user_id, slug, path)
            return len(chosen), sum(size for *_, size in chosen)

    def clear_project(self, slug: str) -> tuple[int, int]:
        """Remove the project's clean copies; local edits and conflicted copies stay.
        Returns (removed, kept)."""
        with self._mutex:
            with self.index.transaction() as conn:
                rows = list(files_table.of_project(conn, self.user_id, slug).values())
                removable = [
                    row.path
                    for row in rows
                    if row.state == CLEAN and row.pending_sha256 is None
                    and outbox.get(conn, self.user_id, slug, row.path) is None
                ]  # fmt: skip
                kept = sum(1 for row in rows if row.has_blob) - len(removable)
                for path in removable:
                    files_table.mark_remote_only(conn, self.user_id, slug, path)
            for path in removable:
                self.blobs.remove(self.user_id, slug, path)
            return len(removable), kept
