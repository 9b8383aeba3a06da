"""Sending the outbox: queued writes and deletes go out in order, each guarded by the remote version it
was made against, and a remote change met on the way is never overwritten.

A write carries `If-Match: <etag we saw>` (or `If-None-Match: *` for a new file). Servers that ignore
preconditions get a HEAD just before the PUT instead (`conditional_writes=False` on the profile),
which leaves a window of one round trip. When the remote changed, both versions are kept: the remote
one under the original name (the cache is refreshed to it) and ours as a conflicted copy, uploaded
with `If-None-Match: *` so it cannot replace anything either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, Protocol, TypeVar

from projectdesk.cache import outbox
from projectdesk.cache.index import DIRTY, ConflictRecord, OutboxItem
from projectdesk.cache.names import conflicted_copy_name
from projectdesk.cache.store import CacheStore
from projectdesk.core.errors import Conflict, NotFound, Offline, ProjectDeskError, StorageError
from projectdesk.core.models import FileEntry, Manifest
from projectdesk.services.hashing import sha256_bytes
from projectdesk.storage.repository import Repository

P = ParamSpec("P")
T = TypeVar("T")


class OutboxService(Protocol):
    """What sending the outbox needs of the cached service (services/offline.py's CachedProjectService)."""

    cache: CacheStore
    repo: Repository
    conditional_writes: bool

    def remote(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T: ...

    def record_manifest(self, slug: str, changes: Mapping[str, tuple[str, str] | None]) -> Manifest: ...


log = logging.getLogger(__name__)

MAX_COPY_NAMES = 1000


@dataclass
class FlushReport:
    """What one pass over the outbox did. Paths are `slug/path`."""

    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    conflicts: list[ConflictRecord] = field(default_factory=list)
    failed: list[tuple[str, ProjectDeskError]] = field(default_factory=list)
    remaining: int = 0  # items still queued afterwards
    offline: bool = False  # stopped because the server could not be reached

    @property
    def clean(self) -> bool:
        return not self.conflicts and not self.failed and self.remaining == 0

    def summary(self) -> str:
        parts = [f"{len(self.uploaded)} uploaded", f"{len(self.deleted)} deleted"]
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} conflict(s), both versions kept")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.remaining:
            parts.append(f"{self.remaining} still queued" + (" (offline)" if self.offline else ""))
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "uploaded": self.uploaded,
            "deleted": self.deleted,
            "conflicts": [c.to_json() for c in self.conflicts],
            "failed": [{"path": p, "error": e.message} for p, e in self.failed],
            "remaining": self.remaining,
            "offline": self.offline,
        }


class OutboxFlusher:
    """One pass over the outbox of `service` (call `run` with the service's flush locks held)."""

    def __init__(self, service: OutboxService) -> None:
        self._service = service
        self._cache = service.cache
        self._repo = service.repo
        self._report = FlushReport()
        self._touched: dict[str, dict[str, tuple[str, str] | None]] = {}

    def run(self) -> FlushReport:
        report = self._report
        after = 0
        while (item := self._cache.next_item(after)) is not None:
            after = item.id
            try:
                self._send(item)
            except Offline:
                report.offline = True
                break
            except ProjectDeskError as exc:
                log.warning("could not send %s/%s: %s", item.slug, item.path, exc)
                self._cache.record_failure(item, exc.message)
                report.failed.append((f"{item.slug}/{item.path}", exc))
        for slug, changes in self._touched.items():
            try:
                self._service.record_manifest(slug, changes)
            except Offline:
                report.offline = True
            except ProjectDeskError as exc:
                log.warning("could not update the manifest of %s: %s", slug, exc)
        report.remaining = len(self._cache.pending())
        return report

    # ---- one item --------------------------------------------------------------------------------

    def _send(self, item: OutboxItem) -> None:
        if item.op == outbox.PUT:
            self._send_put(item)
        else:
            self._send_delete(item)

    def _send_put(self, item: OutboxItem) -> None:
        row = self._cache.file(item.slug, item.path)
        data = self._cache.blobs.read(self._cache.user_id, item.slug, item.path)
        if row is None or row.state != DIRTY or data is None:
            log.warning("outbox item for %s/%s has no local copy any more; dropped", item.slug, item.path)
            self._cache.discard(item.id)
            return
        sha = sha256_bytes(data)
        try:
            entry = self._put(item.slug, item.path, data, item.base_etag)
        except (Conflict, NotFound):
            if item.conflict_copy:
                self._rename_copy(item)
            else:
                self._resolve_put(item, data, sha)
            return
        self._cache.complete_put(item, entry, sha)
        self._touched.setdefault(item.slug, {})[item.path] = (entry.etag, sha)
        self._report.uploaded.append(f"{item.slug}/{item.path}")

    def _send_delete(self, item: OutboxItem) -> None:
        if item.base_etag is not None:
            try:
                self._service.remote(self._repo.delete_file, item.slug, item.path, if_match=item.base_etag)
            except NotFound:
                pass  # already gone: what we wanted
            except Conflict:
                self._resolve_delete(item)
                return
            self._touched.setdefault(item.slug, {})[item.path] = None
            self._report.deleted.append(f"{item.slug}/{item.path}")
        self._cache.complete_delete(item)

    def _put(self, slug: str, path: str, data: bytes, base: str | None) -> FileEntry:
        project = self._cache.project(slug)
        name = project.name if project else slug
        remote = self._service.remote
        if self._service.conditional_writes:
            return remote(
                self._repo.write_file, slug, path, data, if_match=base, if_none_match=base is None, project_name=name
            )
        # The server ignores preconditions: compare just before the PUT instead.
        try:
            current: str | None = remote(self._repo.stat_file, slug, path).etag
        except NotFound:
            current = None
        if current != base:
            raise Conflict(f"{slug}/{path} changed on the server since it was last read; nothing was overwritten.")
        return remote(self._repo.write_file, slug, path, data, project_name=name)

    # ---- conflicts -------------------------------------------------------------------------------

    def _resolve_put(self, item: OutboxItem, data: bytes, sha: str) -> None:
        remote = self._service.remote
        for _ in range(3):
            try:
                current = remote(self._repo.stat_file, item.slug, item.path)
            except NotFound:
                # Deleted on the server while we edited it: put ours back (there is nothing to overwrite).
                try:
                    entry = self._put(item.slug, item.path, data, None)
                except Conflict:
                    continue  # created again meanwhile: look again
                self._cache.complete_put(item, entry, sha)
                self._report.conflicts.append(
                    self._cache.note_conflict(item.slug, item.path, "deleted-remotely", entry.etag)
                )
                self._touched.setdefault(item.slug, {})[item.path] = (entry.etag, sha)
                return
            remote_data = remote(self._repo.read_file, item.slug, item.path)
            entry = FileEntry(item.path, len(remote_data), current.etag, current.last_modified)
            if sha256_bytes(remote_data) == sha:  # the same change made on both sides: nothing to keep twice
                self._cache.complete_put(item, entry, sha)
                return
            copy = self._free_copy_name(item.slug, item.path)
            record = self._cache.split_conflict(item, entry, remote_data, copy)
            if record is not None:
                log.warning("%s", record.message)
                self._report.conflicts.append(record)
            return
        raise StorageError(f"{item.slug}/{item.path} keeps changing on the server; it stays queued.")

    def _resolve_delete(self, item: OutboxItem) -> None:
        remote = self._service.remote
        try:
            current = remote(self._repo.stat_file, item.slug, item.path)
            data: bytes | None = remote(self._repo.read_file, item.slug, item.path)
        except NotFound:
            self._cache.complete_delete(item)
            return
        entry = FileEntry(item.path, len(data or b""), current.etag, current.last_modified)
        record = self._cache.take_remote(item, entry, data, "delete")
        log.warning("%s", record.message)
        self._report.conflicts.append(record)

    def _free_copy_name(self, slug: str, path: str) -> str:
        when = datetime.now()
        for counter in range(1, MAX_COPY_NAMES):
            candidate = conflicted_copy_name(path, when, counter)
            if self._cache.taken(slug, candidate):
                continue
            try:
                self._service.remote(self._repo.stat_file, slug, candidate)
            except NotFound:
                return candidate
        raise StorageError(f"No free name for a conflicted copy of {slug}/{path}.")

    def _rename_copy(self, item: OutboxItem) -> None:
        """A conflicted copy's name was taken on the server after we chose it: choose the next one."""
        original = next(
            (c.path for c in self._cache.conflicts() if c.slug == item.slug and c.copy_path == item.path), item.path
        )
        self._cache.rename_copy(item, self._free_copy_name(item.slug, original))
