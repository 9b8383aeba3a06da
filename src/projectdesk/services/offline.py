"""CachedProjectService: ProjectService through the offline cache — what the window and the CLI use.

A drop-in for ProjectService (same methods, same signatures) that also works without a network:
- Listing, browsing and reading use the server when it answers and the cache when it does not; a file
  is read from the cache when its copy is the current remote version (one HEAD) or when offline.
- Saves and deletes go to the cache first and into the outbox; online they are sent at once (through
  the outbox, so in order and with preconditions), offline they wait for `flush_outbox`.
- Connection errors (`Offline`) switch the service offline; while offline, calls do not touch the
  network until a retry is due (backoff 1 s doubling to 60 s), so nothing waits on dead connections.
  `check_online()` retries at once and, when the server answers, sends the outbox.

Thread safety: every method may be called from any worker thread at the same time. The cache keeps
one SQLite connection per thread; sending the outbox is serialised by a lock (and a file lock across
processes).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

from projectdesk.cache.index import CLEAN, CONFLICT, DELETED, DIRTY, REMOTE, ConflictRecord, FileRow, OutboxItem
from projectdesk.cache.listing_memo import SqliteListingMemo
from projectdesk.cache.store import CacheStore, ProjectUsage
from projectdesk.config.paths import Paths
from projectdesk.config.profiles import DEFAULT_CACHE_MAX_BYTES, Profile
from projectdesk.core.errors import (
    Conflict,
    InvalidInput,
    InvalidKey,
    NotFound,
    Offline,
    ProjectDeskError,
    StorageError,
)
from projectdesk.core.keys import PathGate, is_safe_relative_path, safe_relative_path, safe_segment, user_path
from projectdesk.core.limits import Limits
from projectdesk.core.models import FileEntry, Manifest, ProjectInfo
from projectdesk.core.threeway import Direction
from projectdesk.services.conflicts import KEEP_BOTH, KEEP_MINE, KEEP_THEIRS, Choice, ConflictedCopy
from projectdesk.services.listing import OnBatch
from projectdesk.services.projects import OnPage, ProjectService, PushPlan, PushResult
from projectdesk.services.sync import FlushReport, OutboxFlusher
from projectdesk.storage.atomic import copy_replace
from projectdesk.storage.repository import DownloadReport, FolderMaker, Repository, TopLevel, top_level
from projectdesk.storage.s3client import Credentials
from projectdesk.storage.transfer import ProgressCallback

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
FileState = Literal["clean", "dirty", "conflict", "remote"]

COPY_WORKERS = 4  # giving a pull's destination its files: links and copies, bound by the disk
ADOPT_BATCH = 256  # a pull links what landed into the cache this many files at a time, while the rest arrives
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0

__all__ = [
    "KEEP_BOTH",
    "KEEP_MINE",
    "KEEP_THEIRS",
    "CachedProjectService",
    "ConflictRecord",
    "ConflictVersions",
    "ConflictedCopy",
    "FlushReport",
    "NotAvailableOffline",
    "OutboxItem",
    "ProjectUsage",
    "ServiceRecipe",
    "open_cached_service",
]


class NotAvailableOffline(Offline):
    """Offline, and the cache has no copy of what was asked for."""

    title = "Not available offline"


@dataclass(frozen=True)
class ConflictVersions:
    """Both sides of a conflict, for a side-by-side view. A side is None when that version is a deletion.

    `mine_path` holds our version (the conflicted copy for an edit), `theirs_path` the server's.
    """

    record: ConflictRecord
    mine_path: str
    theirs_path: str
    mine: bytes | None
    theirs: bytes | None


@dataclass(frozen=True)
class ServiceRecipe:
    """How to open a profile's cached service again in another process (services/transfer_worker.py): picklable,
    sent only over the worker's pipe. `credentials` are the keys the service was opened with when they came from
    the caller or the keyring (session-only keys included); None: the profile's source resolves them there."""

    profile: Profile
    paths: Paths
    offline: bool = False
    credentials: Credentials | None = field(default=None, repr=False)

    def open(self) -> CachedProjectService:
        return open_cached_service(self.profile, self.paths, offline=self.offline, credentials=self.credentials)


class CachedProjectService(ProjectService):
    """ProjectService with the offline cache `cache` in front of `repo`.

    Args:
        offline: start in forced offline mode (no network until `go_online`).
        conditional_writes: the server honours If-Match / If-None-Match on PUT (SeaweedFS, MinIO, AWS and
            moto do); False switches to a HEAD just before each PUT.
        cache_max_bytes: the size cap; clean copies are evicted beyond it, least recently used first.
        clock: monotonic seconds, for the retry backoff (tests pass a fake).

    Attributes:
        on_offline_changed: called with the new `is_offline` whenever it changes (from the calling thread).
        last_flush: the report of the latest pass over the outbox.
    """

    def __init__(
        self,
        repo: Repository,
        cache: CacheStore,
        *,
        limits: Limits | None = None,
        ignore_patterns: Sequence[str] = (),
        offline: bool = False,
        conditional_writes: bool = True,
        cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
        data_dir: Path | None = None,
    ) -> None:
        super().__init__(repo, limits=limits, ignore_patterns=ignore_patterns, data_dir=data_dir)
        self.cache = cache
        self.listing_memo = SqliteListingMemo(cache.blobs.meta_dir, repo.user_id)
        self.conditional_writes = conditional_writes
        self.cache_max_bytes = cache_max_bytes
        self.on_offline_changed: Callable[[bool], None] | None = None
        self.last_flush: FlushReport | None = None
        self._clock = clock
        self._forced = offline
        self._offline = False
        self._offline_reason = ""
        self._failures = 0
        self._retry_at = 0.0
        self._state_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        # Set by open_cached_service: how another process opens this service (None: built by hand, e.g. a test's).
        self.recipe: ServiceRecipe | None = None
        # slug -> path -> (ETag, SHA-256) as the manifest server_view read last recorded them: a download of that
        # very version is not hashed again for the cache (a 200 MB pull read back its file to hash it).
        self._manifest_sha: dict[str, dict[str, tuple[str, str]]] = {}

    def transfer_recipe(self) -> ServiceRecipe | None:
        """The recipe with the forced-offline state as it is now, or None when this service cannot be rebuilt."""
        return None if self.recipe is None else replace(self.recipe, offline=self.forced_offline)

    def close(self) -> None:
        self.listing_memo.close()
        self.cache.close()
        self.folder_states.close()

    # ---- online and offline ----------------------------------------------------------------------

    @property
    def is_offline(self) -> bool:
        return self._forced or self._offline

    @property
    def forced_offline(self) -> bool:
        return self._forced

    def retry_in(self) -> float:
        """Seconds until the next automatic attempt to reach the server (0 when online)."""
        if not self._offline or self._forced:
            return 0.0
        return max(0.0, self._retry_at - self._clock())

    def go_offline(self) -> None:
        """Work from the cache only until `go_online` (the window's "work offline")."""
        changed = not self.is_offline
        self._forced = True
        if changed:
            self._notify()

    def go_online(self) -> bool:
        """Leave forced offline mode and try the server now; True when it answers."""
        self._forced = False
        with self._state_lock:
            self._retry_at = 0.0
        return self.check_online()

    def check_online(self) -> bool:
        """Try the server now (whatever the backoff says); when it answers, send the outbox.

        Returns True when online. The flush result is in `last_flush`.
        """
        if self._forced:
            return False
        with self._state_lock:
            self._retry_at = 0.0
        probe = getattr(self.repo, "check_bucket", None) or self.repo.list_slugs
        try:
            self.remote(probe)
        except Offline:
            return False
        except ProjectDeskError as exc:  # the server answered, with an error: we are online
            log.warning("server answered the online check with an error: %s", exc)
        if self.cache.pending():
            self.flush_outbox()
        return not self.is_offline

    def _network_usable(self) -> bool:
        if self._forced:
            return False
        with self._state_lock:
            return not self._offline or self._clock() >= self._retry_at

    def remote(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one repository call, keeping track of whether the server can be reached."""
        if self._forced:
            raise Offline("Working offline (--offline): the server is not contacted.")
        with self._state_lock:
            if self._offline and self._clock() < self._retry_at:
                raise Offline(self._offline_reason)
        try:
            result = call(*args, **kwargs)
        except Offline as exc:
            self._went_offline(exc)
            raise
        self._came_online()
        return result

    def _went_offline(self, exc: Offline) -> None:
        with self._state_lock:
            changed = not self._offline
            self._offline = True
            self._offline_reason = exc.message
            self._failures += 1
            self._retry_at = self._clock() + min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self._failures - 1))
        if changed:
            log.warning("offline: %s", exc.message)
            self._notify()

    def _came_online(self) -> None:
        with self._state_lock:
            changed = self._offline
            self._offline = False
            self._failures = 0
        if changed:
            log.info("back online")
            self._notify()

    def _notify(self) -> None:
        listener = self.on_offline_changed  # read once: the window may unset it from another thread
        if listener is not None:
            listener(self.is_offline)

    # ---- reading ---------------------------------------------------------------------------------

    def cached_projects(self) -> list[ProjectInfo]:
        """The projects as last listed, from the index (instant, no network)."""
        return self.cache.projects()

    def list_projects(
        self, on_batch: OnBatch | None = None, cancel: threading.Event | None = None, *, check_all: bool = False
    ) -> list[ProjectInfo]:
        """The server's list (recorded in the cache), or the cached list when offline — unless the
        cache knows no project at all, when the connection error says more than an empty list."""
        try:
            projects = self.remote(super().list_projects, on_batch, cancel, check_all=check_all)
        except Offline:
            cached = self.cached_projects()
            if not cached and not self.cache.projects_listed():
                raise
            return cached
        if not (self.lister.unchanged and self.cache.projects_listed()):  # 10,000 rows: 0.2 s to rewrite as they were
            self.cache.put_projects(projects, complete=True)
        return projects

    def info(self, slug: str) -> ProjectInfo:
        safe_segment(slug, "project slug")
        try:
            info = self.remote(self.repo.project_info, slug)
        except Offline:
            cached = self.cache.project(slug)
            if cached is None:
                raise NotAvailableOffline(f"'{slug}' is not available offline: it was never opened here.") from None
            return cached
        self.cache.put_projects([info], complete=False)
        return info

    def list_files(self, slug: str) -> list[FileEntry]:
        """The project's files as we see them: the server's listing with our queued changes applied."""
        safe_segment(slug, "project slug")
        try:
            entries = self.remote(self.repo.list_files, slug)
            self._check_exists(slug, entries)
        except Offline:
            return self._cached_entries(self._listed_offline(slug))
        self.cache.apply_listing(slug, entries)
        return self._merged_entries(slug, entries)

    def _check_exists(self, slug: str, entries: Sequence[FileEntry]) -> None:
        """NotFound (and the cache forgets it) when the server has neither files nor a manifest of `slug` and
        nothing made here waits to be sent to it."""
        missing = not entries and self.remote(self.repo.read_manifest_bytes, slug) is None
        if missing and not self.cache.has_local_changes(slug):
            self.cache.forget_project(slug)
            raise NotFound(f"There is no project '{slug}'.")

    def _listed_offline(self, slug: str) -> str:
        """`slug`, when its files were listed here once; else NotAvailableOffline."""
        if not self.cache.files_listed(slug):
            raise NotAvailableOffline(
                f"The files of '{slug}' are not available offline: open the project once while online."
            ) from None
        return slug

    def _unsent(
        self, listed: Sequence[FileEntry], local: Mapping[str, FileRow], bases: Mapping[str, str | None]
    ) -> list[FileEntry]:
        """Our new files not yet sent: the queued edits (`local`) of paths the listing does not have."""
        paths = {entry.path for entry in listed} if local else set()
        return [self._local_entry(r, bases) for p, r in local.items() if r.state == DIRTY and p not in paths]

    def list_top(self, slug: str) -> TopLevel:
        """The project's top level as we see it (the server's with our queued changes); offline, the cached rows'."""
        safe_segment(slug, "project slug")
        try:
            top = self.remote(self.repo.list_top, slug)
        except Offline:
            return top_level(self._cached_entries(self._listed_offline(slug)))
        local = {row.path: row for row in self.cache.changed_files(slug)}
        if not local:
            return top
        bases = self.cache.edit_bases(slug)
        files = self._as_seen(top.files, local, bases)
        seen = top_level(self._unsent(top.files, local, bases))
        return TopLevel(sorted({*top.folders, *seen.folders}), files + seen.files)

    def list_files_paged(
        self, slug: str, on_page: OnPage | None = None, cancel: threading.Event | None = None
    ) -> list[FileEntry]:
        """`list_files` heard page by page: each page with our queued changes applied (queued deletes left out,
        queued edits as we see them), our new files not yet sent in a last one. The cache records the listing
        once it is complete: a cancelled one (Cancelled) records nothing, as files it never reached are not gone."""
        safe_segment(slug, "project slug")
        local = {row.path: row for row in self.cache.changed_files(slug)}
        bases = self.cache.edit_bases(slug) if local else {}
        try:
            entries = self._listed_pages(slug, on_page, cancel, lambda page: self._as_seen(page, local, bases))
            self._check_exists(slug, entries)
        except Offline:
            return self._cached_entries(self._listed_offline(slug))
        self.cache.apply_listing(slug, entries)
        added = self._unsent(entries, local, bases)
        if added and on_page is not None:
            on_page(added)
        return self._merged_entries(slug, entries)

    def _as_seen(
        self, entries: list[FileEntry], local: Mapping[str, FileRow], bases: Mapping[str, str | None]
    ) -> list[FileEntry]:
        """Listed entries with our queued changes (`local`: the changed rows by path) applied."""
        if not local:
            return entries
        seen: list[FileEntry] = []
        for entry in entries:
            row = local.get(entry.path)
            if row is None:
                seen.append(entry)
            elif row.state == DIRTY:
                seen.append(self._local_entry(row, bases))
            elif row.state != DELETED:
                seen.append(entry)
        return seen

    def _local_entry(self, row: FileRow, bases: Mapping[str, str | None] | None = None) -> FileEntry:
        """The file as we see it. A queued edit's etag is the version the edit replaces (its outbox
        base), so a page opened on it saves over that version and no other. `bases`: the project's outbox
        bases when many rows are turned into entries (one query instead of one per row)."""
        if row.state == DIRTY:
            base = bases.get(row.path) if bases is not None else self.cache.edit_base(row.slug, row.path)
            return FileEntry(row.path, int(row.blob_size or 0), base or "", (row.blob_mtime_ns or 0) / 1e9)
        return FileEntry(row.path, int(row.remote_size or row.blob_size or 0), row.remote_etag or "",
                         row.remote_modified or 0.0)  # fmt: skip

    def _merged_entries(self, slug: str, entries: Sequence[FileEntry]) -> list[FileEntry]:
        by_path = {row.path: row for row in self.cache.changed_files(slug)}
        if not by_path:
            return sorted(entries, key=lambda e: e.path)
        bases = self.cache.edit_bases(slug)
        merged = self._as_seen(list(entries), by_path, bases) + self._unsent(entries, by_path, bases)
        return sorted(merged, key=lambda e: e.path)

    def cached_entries(self, slug: str) -> list[FileEntry]:
        """The project's files as the cache last listed them, with our queued changes (no network)."""
        return self._cached_entries(slug)

    def _cached_entries(self, slug: str) -> list[FileEntry]:
        rows = self.cache.files(slug)
        bases = self.cache.edit_bases(slug)
        return [
            self._local_entry(row, bases)
            for row in rows
            if row.state != DELETED and not (row.state == REMOTE and row.remote_etag is None)
        ]

    def read_file(self, slug: str, path: str) -> bytes:
        """The file's bytes: our local edit if there is one, else the cached copy when it is the
        current version (or when offline), else downloaded (and cached)."""
        return self.open_file(slug, path)[0]

    def open_file(self, slug: str, path: str) -> tuple[bytes, FileEntry]:
        """The file's bytes (as `read_file`) and the version they are: the etag a save of an edit of
        these bytes must replace (for a queued edit, the version that edit replaces)."""
        safe_segment(slug, "project slug")
        safe_relative_path(path)
        row = self.cache.file(slug, path)
        if row is not None and row.state == DELETED:
            raise NotFound(f"{slug}/{path} was deleted here (the deletion is waiting to be sent).")
        if row is not None and row.state == DIRTY:
            data = self.cache.read_blob(slug, path)
            if data is not None:
                return data, self._local_entry(row)
        try:
            current = self.remote(self.repo.stat_file, slug, path)
            if row is not None and row.has_blob and row.blob_etag == current.etag:
                cached = self.cache.read_blob(slug, path)
                if cached is not None:
                    return cached, current
            data = self.remote(self.repo.read_file, slug, path)  # if replaced since the stat: a save conflicts
        except Offline:
            cached = self.cache.read_blob(slug, path) if row is not None and row.has_blob else None
            if row is None or cached is None:
                raise NotAvailableOffline(
                    f"{slug}/{path} is not available offline: it was not downloaded while online."
                ) from None
            return cached, FileEntry(path, len(cached), row.blob_etag or "", row.remote_modified or 0.0)
        except NotFound:
            self.cache.forget_remote_file(slug, path)
            raise
        entry = FileEntry(path, len(data), current.etag, current.last_modified)
        try:
            if self.cache.store_remote(slug, entry, data):
                self._evict(protect=[(slug, path)])
        except (StorageError, InvalidKey) as exc:
            log.warning("not cached: %s", exc)
        return data, entry

    def file_states(self, slug: str) -> dict[str, FileState]:
        """Per file: `clean` (the copy here is current), `dirty` (a local change waits to be sent),
        `conflict` (part of an unresolved conflict), `remote` (only on the server, or our copy is old)."""
        states: dict[str, FileState] = {}
        for row in self.cache.files(slug):
            if row.state == DELETED or (row.state == REMOTE and row.remote_etag is None):
                continue
            if row.state == DIRTY:
                states[row.path] = "dirty"
            elif row.state == CONFLICT:
                states[row.path] = "conflict"
            elif row.state == CLEAN and row.fresh:
                states[row.path] = "clean"
            else:
                states[row.path] = "remote"
        for record in self.cache.conflicts():
            if record.slug == slug:
                for path in (record.path, record.copy_path):
                    if path is not None and path in states:
                        states[path] = "conflict"
        return states

    # ---- writing ---------------------------------------------------------------------------------

    def write_file(self, slug: str, path: str, data: bytes, *, if_match: str | None = None) -> FileEntry:
        """Save a file: into the cache and the outbox at once, then (online) sent before returning.

        Raises ConflictedCopy when the server's file changed since we saw it (both versions are kept),
        or the upload's error (the save stays queued). Offline it returns after queueing.
        """
        safe_segment(slug, "project slug")
        user_path(path)
        if len(data) > self.limits.max_file_bytes:
            self.limits.check([(path, len(data))])
        unknown_base: str | None = None
        if if_match is None and self.cache.file(slug, path) is None and self._network_usable():
            # Never seen here: the version to replace is whatever the server has now.
            with contextlib.suppress(NotFound, Offline):
                unknown_base = self.remote(self.repo.stat_file, slug, path).etag
        row = self.cache.save(slug, path, data, if_match=if_match, unknown_base=unknown_base)
        self._evict()
        if not self._network_usable():
            return self._local_entry(row)
        self._raise_for(self.flush_outbox(), slug, path)
        after = self.cache.file(slug, path)
        if after is None or after.state == DIRTY:  # still queued (went offline) or saved again meanwhile
            return self._local_entry(after or row)
        return FileEntry(path, len(data), after.remote_etag or "", time.time())

    def delete_file(self, slug: str, path: str, *, if_match: str | None = None) -> None:
        """Delete a file: gone from the cache at once; on the server (online: now) only if it is still
        the version we saw — else the server's version is kept and Conflict raised."""
        safe_segment(slug, "project slug")
        user_path(path)
        row = self.cache.file(slug, path)
        unknown_base: str | None = None
        if row is None and if_match is None:
            if not self._network_usable():
                raise NotAvailableOffline(f"{slug}/{path} is not known here; it can be deleted only online.")
            try:
                unknown_base = self.remote(self.repo.stat_file, slug, path).etag
            except Offline:
                raise NotAvailableOffline(f"{slug}/{path} is not known here; it can be deleted only online.") from None
        elif row is not None and row.state == DELETED and if_match is None:
            return
        queued = self.cache.delete(slug, path, if_match=if_match, unknown_base=unknown_base)
        if queued and self._network_usable():
            self._raise_for(self.flush_outbox(), slug, path)

    @staticmethod
    def _raise_for(report: FlushReport, slug: str, path: str) -> None:
        for record in report.conflicts:
            if record.slug == slug and record.path == path:
                if record.copy_path is not None:
                    raise ConflictedCopy(record)
                if record.kind == "delete":
                    raise Conflict(record.message)
        for where, error in report.failed:
            if where == f"{slug}/{path}":
                raise error

    def delete_files(self, slug: str, paths: Sequence[str]) -> int:
        """Delete several files (a folder's): each queued as `delete_file` queues it, then one pass
        over the outbox (online) — so one manifest update, not one per file."""
        safe_segment(slug, "project slug")
        for path in paths:
            user_path(path)
        for path in paths:
            row = self.cache.file(slug, path)
            if row is not None and row.state == DELETED:
                continue
            unknown_base: str | None = None
            if row is None:
                if not self._network_usable():
                    raise NotAvailableOffline(f"{slug}/{path} is not known here; it can be deleted only online.")
                try:
                    unknown_base = self.remote(self.repo.stat_file, slug, path).etag
                except NotFound:
                    continue
            self.cache.delete(slug, path, unknown_base=unknown_base)
        if self._network_usable():
            report = self.flush_outbox()
            for path in paths:
                self._raise_for(report, slug, path)
        return len(paths)

    def create_file(self, slug: str, path: str, data: bytes = b"") -> FileEntry:
        """A new file (cache first, queued like a save); offline it is created here and sent later. The
        upload carries If-None-Match: *, so a file made meanwhile elsewhere is never replaced."""
        safe_segment(slug, "project slug")
        self.check_new_path(slug, path)
        return self.write_file(slug, path, data)

    def delete_project(self, slug: str) -> int:
        count = self.remote(super().delete_project, slug)
        self.cache.forget_project(slug)
        return count

    def record_manifest(self, slug: str, changes: Mapping[str, tuple[str, str] | None]) -> Manifest:
        """After sending changes: bring the manifest up to date and remember it. `changes` maps each
        path to the (ETag, SHA-256) it was written with, or None when deleted."""
        manifest = self.update_manifest(slug, changes)
        self.cache.put_projects([self._info_from(manifest)], complete=False)
        return manifest

    def server_changed(self, slug: str, manifest: Manifest | None) -> None:
        """A restore (or another change made around the cache) landed: apply the server's new listing, as a
        listing learns any server change, and remember the new manifest."""
        self.cache.apply_listing(slug, self.remote(self.repo.list_files, slug))
        if manifest is not None:
            self.cache.put_projects([self._info_from(manifest)], complete=False)

    def _info_from(self, manifest: Manifest) -> ProjectInfo:
        return ProjectInfo.from_manifest(manifest, self.repo.user_id)

    # ---- push and pull ---------------------------------------------------------------------------

    def push(
        self,
        plan: PushPlan,
        *,
        delete: bool = False,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> PushResult:
        result = super().push(plan, delete=delete, progress=progress, cancel=cancel)
        if result.manifest is not None:
            self.cache.put_projects([self._info_from(result.manifest)], complete=False)
        if plan.direction != Direction.PULL:
            self.cache.apply_listing(plan.slug, result.entries)  # the plan's listing plus what was sent
        return result

    run_folder = push

    def server_view(self, slug: str) -> tuple[Manifest | None, str | None, list[FileEntry]]:
        """Online, the server's; offline, the files as last listed here (with our queued edits), so a pull
        still gives a folder what the cache holds."""
        try:
            manifest, version, entries = super().server_view(slug)
        except Offline:
            if not self.cache.files_listed(slug):
                raise NotAvailableOffline(
                    f"The files of '{slug}' are not available offline: open the project once while online."
                ) from None
            return None, None, self._cached_entries(slug)
        self.cache.apply_listing(slug, entries)
        if manifest is not None:
            etags = manifest.file_etags
            self._manifest_sha[slug] = {
                path: (etags[path], sha) for path, sha in manifest.files.items() if etags.get(path)
            }
        else:
            self._manifest_sha.pop(slug, None)
        return manifest, version, entries

    def deliver(
        self,
        slug: str,
        dest: Path,
        entries: Sequence[FileEntry],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        on_done: Callable[[FileEntry, Path], None] | None = None,
    ) -> DownloadReport:
        """Give `dest` these server versions and keep them in the cache.

        What the cache lacks is downloaded straight into `dest` and hard-linked into the cache where the
        file systems allow (one download, one copy on disk; cache/blobs.py says why that is safe), else
        copied. What the cache has is linked (a clean copy not yet linked elsewhere) or copied into
        `dest`. Offline, what is cached is given and the rest reported as failed."""
        dest = Path(dest)
        report = DownloadReport()
        safe: list[FileEntry] = []
        for entry in entries:
            try:
                safe_relative_path(entry.path)
            except InvalidKey as exc:
                log.warning("skipping unsafe name in %s: %r (%s)", slug, entry.path, exc)
                report.skipped.append((entry.path, exc.message))
            else:
                safe.append(entry)
        dest.mkdir(parents=True, exist_ok=True)
        fetched = self._fill(slug, safe, into=dest, progress=progress, cancel=cancel, on_done=on_done)
        report.downloaded += fetched.downloaded
        report.skipped += fetched.skipped
        report.failed += fetched.failed
        done = {entry.path for entry in fetched.downloaded} | {path for path, _ in fetched.failed}
        done |= {path for path, _ in fetched.skipped}
        rest = [entry for entry in safe if entry.path not in done]
        if rest:
            out = _CopyOut(self, slug, dest)
            outcomes: dict[str, ProjectDeskError | None] = {}
            with ThreadPoolExecutor(max_workers=COPY_WORKERS, thread_name_prefix="pull-copy") as pool:
                given = {pool.submit(out.give, entry): entry for entry in rest}
                for future in as_completed(given):  # each told as it is in place, not after those before it
                    entry = given[future]
                    outcomes[entry.path] = error = future.result()
                    if error is None and on_done is not None:
                        on_done(entry, out.target(entry))
            for entry in rest:
                error = outcomes[entry.path]
                if error is None:
                    report.downloaded.append(entry)
                elif isinstance(error, InvalidKey):
                    report.skipped.append((entry.path, error.message))
                else:
                    report.failed.append((entry.path, error))
        self._evict(protect=[(slug, entry.path) for entry in safe])
        return report

    def fill_cache(
        self,
        slug: str,
        entries: Sequence[FileEntry],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> DownloadReport:
        """Fetch into the cache every entry it holds no current copy of (a search reads them there), then keep
        the cache within its cap (the least recently used clean copies go first)."""
        report = self._fill(slug, entries, progress=progress, cancel=cancel)
        self._evict(protect=[(slug, entry.path) for entry in entries])
        return report

    def _fill(
        self,
        slug: str,
        entries: Sequence[FileEntry],
        *,
        into: Path | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        on_done: Callable[[FileEntry, Path], None] | None = None,
    ) -> DownloadReport:
        """Download every entry without a current copy here (local changes are kept) and keep it in the
        cache: into the staging area and moved into place, or (a pull) into `into` and linked from there."""
        rows = {row.path: row for row in self.cache.files(slug)}
        gate = self.cache.blobs.gate(self.cache.user_id, slug)
        wanted = []
        for entry in entries:
            row = rows.get(entry.path)
            if row is None:
                wanted.append(entry)
            elif row.state in (REMOTE, CLEAN, CONFLICT) and not (row.fresh and self.cache.verified(row, gate)):
                wanted.append(entry)  # no copy, an old one, or one changed on disk (then dropped)
        if not wanted or not self._network_usable():
            return DownloadReport()
        staging = self.cache.blobs.new_staging() if into is None else None
        folder = into if into is not None else staging
        assert folder is not None
        recorded = self._manifest_sha.get(slug, {})
        hashes: dict[str, str] = {}  # filled as files land; the SHA-256s the manifest records for these versions first
        for entry in wanted:
            known = recorded.get(entry.path)
            if known is not None and entry.etag and known[0] == entry.etag:
                hashes[entry.path] = known[1]
        batch: list[tuple[FileEntry, Path]] = []
        refused: list[tuple[str, str]] = []
        landed = on_done

        if into is not None:  # a pull: each batch is linked into the cache while the rest is still arriving

            def landed(entry: FileEntry, where: Path) -> None:
                if on_done is not None:
                    on_done(entry, where)
                batch.append((entry, where))
                if len(batch) >= ADOPT_BATCH:
                    refused.extend(self.cache.adopt_downloads(slug, batch, hashes=hashes, move=False))
                    batch.clear()

        try:
            fetched = self.remote(
                self.repo.download_tree, slug, folder, entries=wanted, progress=progress, cancel=cancel,
                on_done=landed, hashes=hashes,
            )  # fmt: skip
            offline = [error for _, error in fetched.failed if isinstance(error, Offline)]
            if offline:
                self._went_offline(offline[0])
            if into is not None:
                refused.extend(self.cache.adopt_downloads(slug, batch, hashes=hashes, move=False))
            else:
                files = [(entry, fetched.written[entry.path]) for entry in fetched.downloaded]
                refused = self.cache.adopt_downloads(slug, files, hashes=fetched.sha256, move=True)
            kept = f"kept in {into} but not" if into is not None else "not kept"
            fetched.skipped += [(path, f"{kept} in the offline cache: {why}") for path, why in refused]
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        return fetched

    # ---- sync ------------------------------------------------------------------------------------

    def flush_outbox(self) -> FlushReport:
        """Send queued changes in order. Offline (or forced offline) nothing is sent."""
        if not self._network_usable():
            report = FlushReport(remaining=len(self.cache.pending()), offline=True)
            self.last_flush = report
            return report
        with self._flush_lock, self.cache.flush_lock():
            report = OutboxFlusher(self).run()
        self.last_flush = report
        return report

    def sync(self) -> FlushReport:
        """Send the outbox, then bring the keep-offline projects up to date."""
        report = self.flush_outbox()
        if not report.offline:
            self.refresh_keep_offline()
        return report

    def pending(self) -> list[OutboxItem]:
        return self.cache.pending()

    def discard_pending(self, item_id: int) -> bool:
        """Drop a queued change (its local edit or delete is lost; the server's version counts)."""
        return self.cache.discard(item_id)

    def conflicts(self) -> list[ConflictRecord]:
        return self.cache.conflicts()

    def dismiss_conflict(self, conflict_id: int) -> None:
        self.cache.resolve_conflict(conflict_id)

    def _conflict(self, conflict_id: int) -> ConflictRecord:
        record = next((c for c in self.cache.conflicts() if c.id == conflict_id), None)
        if record is None:
            raise NotFound("This conflict was resolved already.")
        return record

    def conflict_versions(self, conflict_id: int) -> ConflictVersions:
        """Our version and the server's, as the cache (or, online, the server) has them."""
        record = self._conflict(conflict_id)
        if record.kind == "edit" and record.copy_path:
            mine = self._read_or_none(record.slug, record.copy_path)
            return ConflictVersions(
                record, record.copy_path, record.path, mine, self._read_or_none(record.slug, record.path)
            )
        if record.kind == "deleted-remotely":  # ours was put back; theirs is the deletion
            return ConflictVersions(
                record, record.path, record.path, self._read_or_none(record.slug, record.path), None
            )
        # our queued delete met a changed file: ours is the deletion, theirs the new version
        return ConflictVersions(record, record.path, record.path, None, self._read_or_none(record.slug, record.path))

    def _read_or_none(self, slug: str, path: str) -> bytes | None:
        try:
            return self.read_file(slug, path)
        except NotFound:
            return None

    def resolve_conflict(self, conflict_id: int, choice: Choice) -> ConflictRecord:
        """Settle a conflict as the person chose; returns the record.

        - edit (the server's version kept the name, ours is the conflicted copy):
          `mine` puts our version back under the name (guarded by the server's version we showed, so a
          newer change is never overwritten) and deletes the copy; `theirs` deletes the copy; `both`
          keeps the two files.
        - deleted-remotely (ours was put back): `theirs` deletes it as the server had; `mine`/`both` keep it.
        - delete (our delete met a changed file): `mine` deletes it after all (if still that version);
          `theirs`/`both` keep the server's file.
        Offline, the changes wait in the outbox like any other.
        """
        if choice not in (KEEP_MINE, KEEP_THEIRS, KEEP_BOTH):
            raise InvalidInput(f"Unknown choice '{choice}': keep mine, theirs or both.")
        record = self._conflict(conflict_id)
        slug = record.slug
        if record.kind == "edit" and record.copy_path:
            if choice == KEEP_MINE:
                data = self.read_file(slug, record.copy_path)
                self.write_file(slug, record.path, data)
                self.delete_file(slug, record.copy_path)
            elif choice == KEEP_THEIRS:
                self.delete_file(slug, record.copy_path)
        elif record.kind == "deleted-remotely":
            if choice == KEEP_THEIRS:
                self.delete_file(slug, record.path)
        elif choice == KEEP_MINE:
            self.delete_file(slug, record.path)
        self.cache.resolve_conflict(record.id)
        return record

    def kept_offline(self, slug: str) -> bool:
        return slug in self.cache.keep_offline_slugs()

    def cache_folder(self, slug: str | None = None) -> Path:
        """Where the cached copies live: the project's folder, or the profile's (created if need be)."""
        folder = self.cache.blobs.project_dir(self.cache.user_id, slug) if slug else self.cache.blobs.root
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def set_keep_offline(self, slug: str, keep: bool) -> DownloadReport | None:
        """Mark a project to be kept whole in the cache (and never evicted); online, download it now."""
        safe_segment(slug, "project slug")
        self.cache.set_keep_offline(slug, keep)
        if keep and self._network_usable():
            return self._refresh_project(slug)
        return None

    def refresh_keep_offline(self) -> None:
        for slug in self.cache.keep_offline_slugs():
            try:
                self._refresh_project(slug)
            except Offline:
                return
            except ProjectDeskError as exc:
                log.warning("could not refresh %s for offline use: %s", slug, exc)

    def _refresh_project(self, slug: str) -> DownloadReport:
        entries = [e for e in self.list_files(slug) if is_safe_relative_path(e.path)]
        return self._fill(slug, entries)

    # ---- size ------------------------------------------------------------------------------------

    def cache_usage(self) -> list[ProjectUsage]:
        return self.cache.usage()

    def clear_cache(self, slug: str) -> tuple[int, int]:
        """Remove the project's clean copies; returns (removed, kept: local edits and conflicted copies)."""
        safe_segment(slug, "project slug")
        return self.cache.clear_project(slug)

    def _evict(self, protect: Sequence[tuple[str, str]] = ()) -> None:
        if self.cache.total_bytes() > self.cache_max_bytes:
            files, size = self.cache.evict(self.cache_max_bytes, protect=set(protect))
            log.info("evicted %d cached file(s), %d bytes", files, size)


class _CopyOut:
    """Gives a pull's destination the files the cache already holds: a verified clean copy not linked
    anywhere yet as a hard link (a copy where links are not possible), anything else as a copy."""

    def __init__(self, service: CachedProjectService, slug: str, dest: Path) -> None:
        self._cache = service.cache
        self._offline = service.is_offline
        self._slug = slug
        self._rows = {row.path: row for row in service.cache.files(slug)}
        self._blobs = service.cache.blobs.gate(service.cache.user_id, slug)
        self._dest = PathGate(dest)
        self._folders = FolderMaker()

    def give(self, entry: FileEntry) -> ProjectDeskError | None:
        try:
            self._give(entry)
        except ProjectDeskError as exc:
            return exc
        return None

    def target(self, entry: FileEntry) -> Path:
        return self._dest.join(entry.path)

    def _give(self, entry: FileEntry) -> None:
        target = self._dest.join(entry.path)
        row = self._rows.get(entry.path)
        source = self._cache.verified(row, self._blobs) if row is not None else None
        if source is None:
            if self._offline:
                raise NotAvailableOffline(f"{self._slug}/{entry.path} is not available offline.")
            raise StorageError(f"{self._slug}/{entry.path} could not be downloaded.")
        self._folders.ensure(entry.path, target.parent)
        try:
            # A link only when the copy is not linked yet: two folders a user pulled into never share a
            # file (an editor that writes in place, as vim does to linked files, would change both).
            if row is not None and row.state == CLEAN and source.stat().st_nlink == 1:
                self._cache.blobs.link_or_copy(source, target)
            else:
                copy_replace(source, target)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            raise StorageError(f"{entry.path}: a file stands where its folder should be.") from None
        except OSError as exc:
            raise StorageError(f"{entry.path}: {exc.strerror or exc}") from None


def open_cached_service(
    profile: Profile,
    paths: Paths,
    *,
    offline: bool = False,
    credentials: Credentials | None = None,
    **repository_options: Any,
) -> CachedProjectService:
    """The service for a profile, with its cache under `paths.cache_root/{profile}/{user_id}/`.
    `repository_options` go to `connect.open_repository` (e.g. the secret store)."""
    from projectdesk.services.connect import open_repository, resolve_credentials

    if credentials is None:  # keyring keys (session-only ones live in the secret store given), kept for the recipe
        credentials = resolve_credentials(profile, repository_options.get("secrets"))
    repo = open_repository(profile, paths, credentials=credentials, **repository_options)
    cache = CacheStore(paths.cache_root, profile.name, profile.user_id)
    service = CachedProjectService(
        repo,
        cache,
        limits=profile.limits,
        ignore_patterns=profile.ignore_patterns,
        offline=offline,
        conditional_writes=profile.conditional_writes,
        cache_max_bytes=profile.cache_max_bytes,
        data_dir=paths.data_dir,
    )
    service.profile_name = profile.name
    service.recipe = ServiceRecipe(profile, paths, offline, credentials)
    return service
