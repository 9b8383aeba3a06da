"""Push, pull and sync of a working folder under the three-way rule (core/threeway.py).

One run: plan (scan and hash the folder, read the manifest, then list the server — in that order, so
the manifest's version guards everything listed after it), then carry the steps out:

1. conflicts and "changed on both sides" files: the server's version is fetched into a staging folder;
   the same bytes → only the base moves; else the folder's file is renamed to its conflicted copy
   name and the server's version takes the name;
2. downloads (pull, sync), each recorded as it lands: straight into place when the manifest knows the
   version's SHA-256 or the file is small; else (a large file another tool wrote) fetched into a staging
   folder, hashed, noted in the state, then put in place and recorded — so a run killed just after the
   rename leaves the next one knowing the content it finds there, and nothing is fetched again; server
   deletions applied to files unchanged here;
3. uploads (push, sync), each with If-Match on the base's ETag (If-None-Match: * for new names) and
   recorded as it lands; a precondition that fails means the server changed meanwhile: that file
   goes through step 1 again (at most a few rounds);
4. deletions on the server (push --delete, sync), each guarded by the base's ETag;
5. the manifest, written with If-Match on the version read at plan time; when another writer got
   there first it is rebuilt from a fresh listing and written again.

Every landed file is committed to the working folder's state at once (services/workfolders.py), so
a run killed at any moment, run again, sends and fetches only what did not land (a file that landed in
the instant before the kill is compared by its SHA-256 where the manifest or the state knows the server
version's; only a small file fetched straight into place may be fetched again). Unfinished multipart
uploads of the project begun before the run are aborted at its start; `.pd-tmp-*` files in the
folder are ours (a killed download's) and are removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

from projectdesk.cache.blobs import BlobStore
from projectdesk.cache.names import conflicted_copy_name
from projectdesk.core import links
from projectdesk.core.errors import Conflict, InvalidKey, LimitExceeded, NotFound, ProjectDeskError, StorageError
from projectdesk.core.ignore import DEFAULT_PATTERNS, IgnoreRules
from projectdesk.core.keys import PathGate, safe_relative_path
from projectdesk.core.limits import Limits
from projectdesk.core.models import FileEntry, Manifest
from projectdesk.core.sizes import human_bytes
from projectdesk.core.slugs import new_slug
from projectdesk.core.threeway import Action, Base, Direction, Step, does
from projectdesk.core.threeway import plan as plan_steps
from projectdesk.services.hashing import sha256_bytes, sha256_file, sha256_many
from projectdesk.services.scan import ScanResult, scan_folder
from projectdesk.services.workfolders import (
    BaseRow,
    Binding,
    BindingRecord,
    FolderStates,
    Signature,
    signature,
    trusted,
)
from projectdesk.storage.atomic import TEMP_PREFIX
from projectdesk.storage.repository import DownloadReport, Repository, UploadItem
from projectdesk.storage.transfer import ProgressCallback

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

MAX_ROUNDS = 4  # upload rounds: a precondition that fails sends the file through the conflict step again
DELETE_WORKERS = 8
MAX_COPY_NAMES = 1000
RECORD_BATCH = 256  # bases recorded in one transaction at most...
RECORD_EVERY = 0.5  # ...or after this many seconds, whichever comes first
# A download of at least this size whose SHA-256 the manifest does not know goes through a staging folder, to
# be hashed before it is put in place (hashing it in place, 40 MiB take ~0.1 s, left a kill landing meanwhile
# with a file in place but not recorded: fetched again by the next run). Smaller ones go straight into place:
# hashed in a few milliseconds, and cheap to fetch again in the rare kill that lands in between.
STAGED_MIN_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FolderConflict:
    """Both sides changed `path`: the server's version kept the name, the folder's is `copy_path`."""

    path: str
    copy_path: str

    @property
    def message(self) -> str:
        return f"{self.path}: changed here and on the server; yours is kept as {self.copy_path}"


@dataclass
class FolderPlan:
    """What a push, pull or sync of a folder would do, computed before a byte moves (the preview)."""

    direction: Direction
    folder: Path
    slug: str
    name: str
    is_new: bool  # no such project yet
    bound: bool  # the folder was bound to this project before (else: first time, nothing blind)
    scan: ScanResult
    local: dict[str, str]  # path -> SHA-256 of the folder's file
    signatures: dict[str, Signature | None]
    bases: dict[str, BaseRow]
    remote: dict[str, FileEntry]  # the server's files in the working set
    manifest: Manifest | None
    manifest_version: str | None
    steps: list[Step]
    outside: list[str] = field(default_factory=list)  # server files the folder's ignore rules leave out
    unsafe_remote: list[tuple[str, str]] = field(default_factory=list)  # (raw server name, why)
    limit_error: LimitExceeded | None = None
    moved_from: Path | None = None
    started: float = field(default_factory=time.time)
    remember: bool = True  # False: a temporary folder (a drop's staging, an unpacked zip): no binding is kept
    remote_links: dict[str, str] = field(default_factory=dict)  # server files that are symbolic links -> target
    # Server versions a killed run fetched, hashed and noted but did not record: path -> (ETag, SHA-256).
    fetched: dict[str, tuple[str, str]] = field(default_factory=dict)

    def _by(self, *actions: Action) -> list[Step]:
        return [s for s in self.steps if s.action in actions]

    def done_here(self, step: Step) -> bool:
        return does(self.direction, step.action)

    @property
    def uploads(self) -> list[Step]:
        return [s for s in self._by(Action.UPLOAD) if self.done_here(s)]

    @property
    def to_upload(self) -> list[UploadItem]:
        """What will be sent (conflicted copies are added while the run goes)."""
        return [self.upload_item(step) for step in self.uploads]

    @functools.cached_property
    def _scanned(self) -> dict[str, UploadItem]:
        """The scan's files by path (looked up once per upload: a list search made `to_upload` quadratic —
        0.34 s of the window's GUI thread for 2,000 files)."""
        return {item.path: item for item in self.scan.files}

    def upload_item(self, step: Step, *, path: str | None = None, local_path: Path | None = None) -> UploadItem:
        name = path or step.path
        item = self._scanned.get(step.path)
        if item is not None and local_path is None:
            source, size, link = item.local_path, item.size, item.link_target
        else:
            source = local_path or self.folder / name
            link = os.readlink(source) if source.is_symlink() else None
            size = len(link.encode("utf-8")) if link is not None else source.stat().st_size
        if step.remote_etag is None or path is not None:
            return UploadItem(name, source, size, if_none_match=True, link_target=link)
        return UploadItem(name, source, size, if_match=step.remote_etag, link_target=link)

    @property
    def downloads(self) -> list[Step]:
        return [s for s in self._by(Action.DOWNLOAD) if self.done_here(s)]

    @property
    def conflicts(self) -> list[Step]:
        return self._by(Action.CONFLICT, Action.COMPARE)

    @property
    def remote_deletions(self) -> list[Step]:
        return [s for s in self._by(Action.DELETE_REMOTE) if self.done_here(s)]

    @property
    def local_deletions(self) -> list[Step]:
        return [s for s in self._by(Action.DELETE_LOCAL) if self.done_here(s)]

    @property
    def left_for_other_direction(self) -> list[Step]:
        """Changes this command does not carry (e.g. a push leaves the server's changes to pull/sync)."""
        return [s for s in self.steps if not self.done_here(s)]

    @property
    def unchanged(self) -> list[str]:
        stepped = {s.path for s in self.steps}
        return [p for p in self.local if p not in stepped]

    @property
    def remote_only(self) -> list[FileEntry]:
        """Server files the folder deleted (a push removes them only with --delete)."""
        return [self.remote[s.path] for s in self._by(Action.DELETE_REMOTE) if s.path in self.remote]

    def summary(self) -> str:
        scan = self.scan
        where = f"{'new project' if self.is_new else 'project'} '{self.name}' ({self.slug})"
        parts = [f"{len(scan.files)} files here, {human_bytes(scan.total_bytes)}"]
        if self.direction != Direction.PULL:
            parts.append(f"{len(self.uploads)} to send")
        if self.direction != Direction.PUSH:
            parts.append(f"{len(self.downloads)} to fetch")
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} changed on both sides")
        deletions = len(self.remote_deletions) + len(self.local_deletions)
        if deletions:
            parts.append(f"{deletions} to delete")
        parts.append(f"{len(self.unchanged)} unchanged")
        if scan.ignored:
            parts.append(f"{len(scan.ignored)} skipped by ignore rules")
        if scan.problems:
            parts.append(f"{len(scan.problems)} unreadable or unsafe")
        first = "" if self.bound or self.is_new else " (first time for this folder: files that differ are conflicts)"
        return f"{', '.join(parts)} -> {where}{first}"


@dataclass
class FolderReport:
    """What a run did. Paths are the project's."""

    slug: str
    name: str
    direction: Direction
    uploaded: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    deleted_remote: list[str] = field(default_factory=list)
    deleted_local: list[str] = field(default_factory=list)
    conflicts: list[FolderConflict] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (path, why a deletion did not happen)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (path, what was done differently, and why)
    left: list[Step] = field(default_factory=list)  # changes for the other direction
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why) never transferred
    failed: list[tuple[str, ProjectDeskError]] = field(default_factory=list)
    unchanged: int = 0
    manifest: Manifest | None = None
    entries: list[FileEntry] = field(default_factory=list)  # the server's files afterwards
    moved_from: Path | None = None

    @property
    def deleted(self) -> int:
        return len(self.deleted_remote)

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "direction": self.direction.value,
            "uploaded": self.uploaded,
            "downloaded": self.downloaded,
            "deleted_remote": self.deleted_remote,
            "deleted_local": self.deleted_local,
            "conflicts": [{"path": c.path, "copy": c.copy_path} for c in self.conflicts],
            "kept": [{"path": p, "why": w} for p, w in self.kept],
            "notes": [{"path": p, "note": n} for p, n in self.notes],
            "not_carried": [{"path": s.path, "why": s.why} for s in self.left],
            "skipped": [{"path": p, "why": w} for p, w in self.skipped],
            "failed": [{"path": p, "error": e.message} for p, e in self.failed],
            "unchanged": self.unchanged,
        }

    @property
    def clean(self) -> bool:
        return not self.conflicts and not self.failed

    def state(self) -> str:
        """How the folder stands after this run, in a few words (kept with the binding)."""
        if self.failed:
            return f"{len(self.failed)} failed"
        if self.conflicts:
            return f"{len(self.conflicts)} conflict{'s' if len(self.conflicts) != 1 else ''}"
        if self.left:
            return f"{len(self.left)} change{'s' if len(self.left) != 1 else ''} not carried"
        return "in sync"

    def summary(self) -> str:
        parts = []
        if self.direction != Direction.PULL:
            parts.append(f"{len(self.uploaded)} sent")
        if self.direction != Direction.PUSH:
            parts.append(f"{len(self.downloaded)} fetched")
        deleted = len(self.deleted_remote) + len(self.deleted_local)
        parts += [f"{self.unchanged} unchanged", f"{deleted} deleted"]
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} conflict(s), both versions kept")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts)


class FolderService(Protocol):
    """What working folders need of the project service (services/projects.py's ProjectService)."""

    repo: Repository
    limits: Limits
    ignore_patterns: tuple[str, ...]
    conditional_writes: bool

    def remote(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T: ...

    def server_view(self, slug: str) -> tuple[Manifest | None, str | None, list[FileEntry]]: ...

    def deliver(
        self,
        slug: str,
        dest: Path,
        entries: Sequence[FileEntry],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        on_done: Callable[[FileEntry, Path], None] | None = None,
    ) -> DownloadReport: ...

    def commit_manifest(
        self,
        slug: str,
        name: str,
        previous: Manifest | None,
        version: str | None,
        entries: Sequence[FileEntry],
        *,
        known: Mapping[str, tuple[str, str]] | None = None,
        contents: Mapping[str, bytes] | None = None,
        folder: Path | None = None,
        links: Mapping[str, str] | None = None,
    ) -> Manifest: ...


class FolderSync:
    """Plans and runs push, pull and sync of working folders for one project service."""

    def __init__(self, service: FolderService, states: FolderStates) -> None:
        self._service = service
        self._repo = service.repo
        self._states = states

    @property
    def profile(self) -> str:
        """The profile the service was opened for: recorded with each binding, for `folders`."""
        return str(getattr(self._service, "profile_name", ""))

    @property
    def store_key(self) -> str:
        return f"{self._repo.description}|{self._repo.user_id}"

    def binding(self, folder: Path, slug: str | None = None) -> Binding | None:
        return self._states.find(Path(folder), self.store_key, slug)

    # ---- planning --------------------------------------------------------------------------------

    def plan(
        self,
        folder: Path,
        direction: Direction,
        *,
        name: str | None = None,
        slug: str | None = None,
        remember: bool = True,
        follow_links: bool = False,
        bridges: Collection[str] = (),
    ) -> FolderPlan:
        """Compare `folder` with the project (`slug`; else the folder's binding; else a new project)."""
        folder = Path(folder)
        service = self._service
        if direction == Direction.PULL:
            folder.mkdir(parents=True, exist_ok=True)
        binding = self._states.find(folder, self.store_key, slug) if folder.is_dir() else None
        if slug is None and binding is not None:
            slug = binding.slug
        bound = binding is not None
        started = time.time()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan") as pool:
            slugs_asked = pool.submit(service.remote, self._repo.list_slugs) if slug is None else None
            server_asked = pool.submit(service.server_view, slug) if slug is not None else None
            scan = scan_folder(
                folder,
                ignore_patterns=service.ignore_patterns,
                limits=service.limits,
                follow_links=follow_links,
                bridges=bridges,
            )
            limit_error: LimitExceeded | None = None
            try:
                service.limits.check((item.path, item.size) for item in scan.files)
            except LimitExceeded as exc:
                limit_error = exc
            bases = self._states.bases(binding) if binding is not None else {}
            fetched = self._states.fetched(binding) if binding is not None else {}
            local, sigs = self._hash_local(scan, bases)
            manifest: Manifest | None = None
            version: str | None = None
            listing: list[FileEntry] = []
            if slugs_asked is not None:
                slug = new_slug(name or folder.resolve().name, set(slugs_asked.result()))
                is_new = True
            else:
                assert server_asked is not None and slug is not None
                manifest, version, listing = server_asked.result()
                is_new = manifest is None and not listing
        project_name = name or (manifest.name if manifest else "") or (folder.resolve().name if is_new else slug)
        rules = _rules(scan, service.ignore_patterns)
        problems = {path for path, _ in scan.problems}
        ignored = _IgnoredHere(rules, set(local))
        remote: dict[str, FileEntry] = {}
        outside: list[str] = []
        unsafe: list[tuple[str, str]] = []
        for entry in listing:
            try:
                safe_relative_path(entry.path)
            except InvalidKey as exc:
                unsafe.append((entry.path, exc.message))
                continue
            if entry.path in problems or ignored(entry.path):
                outside.append(entry.path)
            else:
                remote[entry.path] = entry
        working_bases = {p: b for p, b in bases.items() if p not in problems and not ignored(p)}
        known = _known_remote(manifest)
        links = manifest.links if manifest is not None else {}
        remote_links = {
            p: target for p, target in links.items() if p in remote and known(p, remote[p].etag) is not None
        }
        steps = plan_steps(
            local,
            {p: row.base for p, row in working_bases.items()},
            {p: e.etag for p, e in remote.items()},
            _known_remote(manifest, fetched),
        )
        return FolderPlan(
            direction, folder, slug, project_name, is_new, bound, scan, local, sigs, working_bases, remote,
            manifest, version, steps, outside, unsafe, limit_error,
            moved_from=binding.moved_from if binding is not None else None, started=started, remember=remember,
            remote_links=remote_links, fetched=fetched,
        )  # fmt: skip

    def _hash_local(
        self, scan: ScanResult, bases: dict[str, BaseRow]
    ) -> tuple[dict[str, str], dict[str, Signature | None]]:
        """SHA-256 of each file: the base's where the stat signature is the one recorded with it."""
        now_ns = time.time_ns()
        local: dict[str, str] = {}
        sigs: dict[str, Signature | None] = {}
        missing: list[UploadItem] = []
        for item in scan.files:
            try:
                stat = os.lstat(item.local_path)
            except OSError:
                missing.append(item)
                continue
            if item.link_target is not None:  # a link: its target text is its content
                local[item.path] = sha256_bytes(item.link_target.encode("utf-8"))
                sigs[item.path] = trusted(stat, now_ns)
                continue
            row = bases.get(item.path)
            if row is not None and row.signature is not None and row.signature == signature(stat):
                local[item.path] = row.base.sha256
                sigs[item.path] = row.signature
            else:
                missing.append(item)
                sigs[item.path] = trusted(stat, now_ns)
        for item, digest in zip(missing, sha256_many([i.local_path for i in missing]), strict=True):
            if digest is None:
                scan.problems.append((item.path, "the file could not be read"))
                sigs.pop(item.path, None)
            else:
                local[item.path] = digest
        scan.files = [item for item in scan.files if item.path in local]
        return local, sigs

    # ---- running ---------------------------------------------------------------------------------

    def run(
        self,
        plan: FolderPlan,
        *,
        delete: bool = False,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> FolderReport:
        if plan.limit_error is not None and plan.direction != Direction.PULL:
            raise plan.limit_error
        with _folder_lock(self._states.file.parent, plan.folder):
            job = _Run(self, plan, delete=delete, progress=progress, cancel=cancel)
            try:
                report = job.go()
            finally:
                if not plan.remember and job.binding is not None:
                    self._states.unbind(job.binding)
            if plan.remember and job.binding is not None:
                self._states.note_sync(job.binding, report.state())
            return report

    def note_state(self, folder: Path, slug: str, state: str) -> None:
        """Record how a folder's sync stands when no run did (offline: its changes wait)."""
        binding = self.binding(folder, slug)
        if binding is not None:
            self._states.note_sync(binding, state)

    def bases_of(self, binding: Binding) -> dict[str, BaseRow]:
        return self._states.bases(binding)

    def records(self) -> list[BindingRecord]:
        """This store's working folders."""
        return self._states.records(self.store_key)

    def unbind(self, folder: Path, slug: str) -> bool:
        """Stop treating `folder` as `slug`'s working folder (its files stay). False when it was not bound."""
        binding = self.binding(folder, slug)
        if binding is None or binding.slug != slug:
            return False
        self._states.unbind(binding)
        return True


class _Run:
    """One push, pull or sync being carried out."""

    def __init__(
        self,
        sync: FolderSync,
        plan: FolderPlan,
        *,
        delete: bool,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ) -> None:
        self.sync = sync
        self.service = sync._service
        self.repo = sync._repo
        self.states = sync._states
        self.plan = plan
        self.delete = delete or plan.direction == Direction.SYNC
        self.progress = progress
        self.cancel = cancel
        self.folder = plan.folder
        self.gate = PathGate(plan.folder)
        self.report = FolderReport(plan.slug, plan.name, plan.direction, moved_from=plan.moved_from)
        self.binding: Binding | None = None
        self.present: dict[str, FileEntry] = dict(plan.remote)  # what the server holds, as we know it
        self.known_sha: dict[str, tuple[str, str]] = {}  # path -> (etag, sha) we wrote or fetched
        self.changed_server = False
        self.new_copies: list[tuple[str, Path]] = []  # conflicted copies to send (path, local file)
        # What files agree with, recorded in batches: a transaction per file was a third of a 20,000-file push's
        # bookkeeping. Written before anything else touches the states and when the run ends, however it ends;
        # a run killed meanwhile loses at most RECORD_BATCH files' bases, which the next run settles by content.
        self._unrecorded: list[tuple[str, Base, Signature | None]] = []
        self._recorded_at = time.monotonic()
        # The server's symbolic links as we know them: path -> (etag, target), for the manifest.
        self.links: dict[str, tuple[str, str]] = {
            p: (plan.remote[p].etag, target) for p, target in plan.remote_links.items()
        }

    def go(self) -> FolderReport:
        try:
            return self._go()
        finally:
            self._flush_records()

    def _go(self) -> FolderReport:
        plan = self.plan
        report = self.report
        self._clean_temp_files()
        self.binding = self.states.bind(self.folder, self.sync.store_key, plan.slug, self.sync.profile)
        if plan.direction != Direction.PULL:
            with contextlib.suppress(ProjectDeskError):
                self.service.remote(self.repo.abort_stale_uploads, plan.slug, plan.started)
        report.skipped += [(p, why) for p, why in plan.scan.problems]
        report.skipped += plan.unsafe_remote
        report.left = plan.left_for_other_direction
        report.unchanged = len(plan.unchanged)
        self._refresh_signatures()
        for step in plan.steps:
            if step.action == Action.ADOPT:
                self._adopt(step.path, step.remote_etag)
            elif step.action == Action.FORGET:
                self._forget(step.path)
        self._resolve([(s.path, s.remote_etag) for s in plan.conflicts if s.remote_etag is not None])
        if plan.direction != Direction.PUSH:
            self._download(plan.downloads)
            self._delete_local(plan.local_deletions)
        if plan.direction != Direction.PULL:
            self._upload([plan.upload_item(step) for step in plan.uploads])
            if self.delete:
                self._delete_remote(plan.remote_deletions)
            if self.changed_server or not _manifest_matches(plan.manifest, self.present):
                # The bases know the SHA-256 of every version the folder agreed with (a killed run's uploads and
                # downloads among them): nothing is read back from the server to be hashed for the manifest.
                assert self.binding is not None
                self._flush_records()
                known = {p: (row.base.etag, row.base.sha256) for p, row in self.states.bases(self.binding).items()}
                known.update(self.known_sha)
                report.manifest = self.service.commit_manifest(
                    plan.slug, plan.name, plan.manifest, plan.manifest_version, list(self.present.values()),
                    known=known, folder=self.folder,
                    links={p: target for p, (etag, target) in self.links.items()
                           if p in self.present and self.present[p].etag == etag},
                )  # fmt: skip
        report.entries = list(self.present.values())
        return report

    # ---- steps -----------------------------------------------------------------------------------

    def _clean_temp_files(self) -> None:
        for temp in self.plan.scan.temp_files:
            with contextlib.suppress(OSError):
                if temp.is_dir() and not temp.is_symlink():
                    shutil.rmtree(temp)
                else:
                    temp.unlink()

    def _refresh_signatures(self) -> None:
        """Unchanged files that had to be read (touched, copied back, or racily fresh last time) are
        remembered by their signature as it is now, so the next run need not read them again."""
        assert self.binding is not None
        rows = []
        for path in self.plan.unchanged:
            sig = self.plan.signatures.get(path)
            row = self.plan.bases.get(path)
            if sig is not None and row is not None and row.signature != sig:
                rows.append((path, row.base, sig))
        if rows:
            self._flush_records()
            self.states.record_many(self.binding, rows)

    def _record(
        self, path: str, etag: str, sha: str, *, hashed_as: Signature | bool | None = True, local: Path | None = None
    ) -> None:
        """The folder's `path` now agrees with server version `etag` (content `sha`).

        The file's stat signature is remembered with it so it need not be read again — for a file we
        sent, only if it is still the one that was hashed (`hashed_as`: the plan's signature; a save during
        the upload must not pass for the version sent); for a file we wrote, as it is now (`local`: where the
        download wrote it, the path the gate gave for it)."""
        assert self.binding is not None
        try:
            stat = os.lstat(local if local is not None else self._local_path(path))
        except (OSError, ProjectDeskError):
            sig = None
        else:
            sig = trusted(stat, time.time_ns())
            if hashed_as is not True and (hashed_as is None or hashed_as != signature(stat)):
                sig = None
        self._unrecorded.append((path, Base(etag, sha), sig))
        self.known_sha[path] = (etag, sha)
        if len(self._unrecorded) >= RECORD_BATCH or time.monotonic() - self._recorded_at >= RECORD_EVERY:
            self._flush_records()

    def _flush_records(self) -> None:
        if self._unrecorded and self.binding is not None:
            rows, self._unrecorded = self._unrecorded, []
            self.states.record_many(self.binding, rows)
        self._recorded_at = time.monotonic()

    def _forget(self, path: str) -> None:
        assert self.binding is not None
        self._flush_records()  # a base recorded earlier in this run must not come back after it was forgotten
        self.states.forget(self.binding, [path])

    def _adopt(self, path: str, etag: str | None) -> None:
        if etag is not None:
            self._record(path, etag, self.plan.local[path], hashed_as=self.plan.signatures.get(path))

    def _resolve(self, pairs: Sequence[tuple[str, str]], *, sent: bool = False) -> None:
        """Both sides changed: fetch the server's version; the same bytes → agree, else keep both. `sent`:
        these are files whose upload met a precondition failure — the same bytes there are ours (a retried
        PUT whose first attempt had landed), so they count as sent."""
        if not pairs:
            return
        entries = [self.present[path] for path, _ in pairs]
        with tempfile.TemporaryDirectory(prefix=".pd-tmp-compare-", dir=self.folder) as staging:
            fetched = self._fetch(entries, Path(staging))
            for entry, staged in fetched:
                self._settle(entry, staged, sha256_file(staged), compare=True, sent=sent)

    def _settle(
        self, entry: FileEntry, staged: Path, theirs: str, *, compare: bool, sent: bool = False, keep: bool = False
    ) -> None:
        """Give the folder the server's version `entry`, fetched whole to `staged` (content `theirs`).

        `compare`: the folder's file changed too — the same bytes only move the base, else it becomes a
        conflicted copy and the server's version takes the name (`sent`: as in `_resolve`). `keep`: `staged`
        keeps its name (a hard link, else a copy, goes into place): the offline cache links it after the batch.
        The version's SHA-256 is noted before anything is renamed, so a run killed between the rename and the
        record leaves the next one comparing the file it finds with it, not fetching it again."""
        assert self.binding is not None
        target = self._local_path(entry.path)
        ours: str | None = None
        if compare:
            try:
                ours = _content_sha(target)
            except FileNotFoundError:
                ours = None
            except OSError as exc:
                self.report.failed.append((entry.path, StorageError(f"{entry.path}: {exc.strerror}")))
                return
            if ours == theirs:
                self._record(entry.path, entry.etag, theirs)
                if sent:
                    self.changed_server = True
                    self.report.uploaded.append(entry.path)
                return
        self._flush_records()
        self.states.note_fetched(self.binding, entry.path, entry.etag, theirs)
        if ours is not None:
            copy = self._free_copy_name(entry.path)
            copy_target = self.gate.join(copy)
            os.replace(target, copy_target)
            self.new_copies.append((copy, copy_target))
            self.report.conflicts.append(FolderConflict(entry.path, copy))
            log.warning("conflict: %s", self.report.conflicts[-1].message)
        self._place(entry, staged, target, keep=keep)
        self._record(entry.path, entry.etag, theirs)
        self.report.downloaded.append(entry.path)

    def _fetch(self, entries: Sequence[FileEntry], into: Path) -> list[tuple[FileEntry, Path]]:
        """Download `entries` (the versions listed) under `into`; failures are reported."""
        done: list[tuple[FileEntry, Path]] = []
        report = self.service.deliver(
            self.plan.slug, into, entries, progress=self.progress, cancel=self.cancel,
            on_done=lambda entry, where: done.append((entry, where)),
        )  # fmt: skip
        self._note_failures(report.failed)
        self.report.skipped += report.skipped
        return done

    def _note_failures(self, failed: Sequence[tuple[str, ProjectDeskError]]) -> None:
        for path, error in failed:
            if isinstance(error, Conflict):  # replaced on the server since it was listed: next run
                error = Conflict(f"{path} changed on the server while it was being fetched; run again.")
            self.report.failed.append((path, error))

    def _download(self, steps: Sequence[Step]) -> None:
        """Server changes into the folder, each file recorded as it lands: straight into place where its SHA-256
        is known (the manifest's) or it is small, else through a staging folder (`_download_staged`)."""
        known = _known_remote(self.plan.manifest, self.plan.fetched)
        wanted: list[FileEntry] = []
        large: list[FileEntry] = []
        links: list[FileEntry] = []
        for step in steps:
            if not self._unchanged_since_plan(step.path):  # edited here while we planned: both changed
                self._resolve([(step.path, self.plan.remote[step.path].etag)])
                continue
            entry = self.plan.remote[step.path]
            if entry.path in self.plan.remote_links:
                links.append(entry)
            elif entry.size >= STAGED_MIN_BYTES and known(entry.path, entry.etag) is None:
                large.append(entry)
            else:
                wanted.append(entry)
        if links:  # a few small objects: fetched into a staging folder, then made links (or plain files)
            with tempfile.TemporaryDirectory(prefix=".pd-tmp-links-", dir=self.folder) as staging:
                for entry, staged in self._fetch(links, Path(staging)):
                    self._place(entry, staged, self._local_path(entry.path))
                    self._record(entry.path, entry.etag, _content_sha(self._local_path(entry.path)))
                    self.report.downloaded.append(entry.path)
        if wanted:

            def landed(entry: FileEntry, where: Path) -> None:
                sha = known(entry.path, entry.etag) or sha256_file(where)
                self._record(entry.path, entry.etag, sha, local=where)
                self.report.downloaded.append(entry.path)

            report = self.service.deliver(
                self.plan.slug, self.folder, wanted, progress=self.progress, cancel=self.cancel, on_done=landed
            )
            self._note_failures(report.failed)
            self.report.skipped += report.skipped
        if large:
            self._download_staged(large)

    def _download_staged(self, entries: Sequence[FileEntry]) -> None:
        """Large server versions of unknown content: each fetched whole into a staging folder in the working
        folder, hashed there, then noted, put in place and recorded as it lands (`_settle`). A file edited here
        since the plan is not overwritten: both versions are kept, as for any change on both sides."""

        def landed(entry: FileEntry, staged: Path) -> None:
            theirs = sha256_file(staged)
            self._settle(entry, staged, theirs, compare=not self._unchanged_since_plan(entry.path), keep=True)

        with tempfile.TemporaryDirectory(prefix=".pd-tmp-fetch-", dir=self.folder) as staging:
            report = self.service.deliver(
                self.plan.slug, Path(staging), entries, progress=self.progress, cancel=self.cancel, on_done=landed
            )
        self._note_failures(report.failed)
        # the cache's notes name where the bytes arrived: the staging folder, gone now; the files are in the folder
        self.report.skipped += [(path, why.replace(staging, str(self.folder))) for path, why in report.skipped]

    def _local_path(self, path: str) -> Path:
        """Where `path` lives in the folder (a link itself, not what it points at)."""
        return self.gate.entry(path)

    def _place(self, entry: FileEntry, staged: Path, target: Path, *, keep: bool = False) -> None:
        """Put a fetched server version in place: a link where the manifest says so and it is safe, else the
        bytes as a file (moved; `keep`: `staged` keeps its name, a hard link or a copy of it takes `target`'s)."""
        link = self.plan.remote_links.get(entry.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if link is None or staged.read_bytes() != link.encode("utf-8"):
            _put(staged, target, keep=keep)
            return
        if not links.restorable(entry.path, link):
            _put(staged, target, keep=keep)
            self.report.notes.append((entry.path, links.why_not_restored(entry.path, link)))
            return
        temp = target.parent / f"{TEMP_PREFIX}link-{os.getpid()}-{threading.get_ident()}"
        temp.unlink(missing_ok=True)
        os.symlink(link, temp)
        os.replace(temp, target)
        if not keep:
            staged.unlink(missing_ok=True)

    def _unchanged_since_plan(self, path: str) -> bool:
        """The folder's file is still what the plan saw (absent then, absent now; or the same stat)."""
        try:
            stat = os.lstat(self._local_path(path))
        except FileNotFoundError:
            return path not in self.plan.local
        except (OSError, ProjectDeskError):
            return False
        if path not in self.plan.local:
            return False
        recorded = self.plan.signatures.get(path)
        if recorded is not None and recorded == signature(stat):
            return True
        return _content_sha(self._local_path(path)) == self.plan.local[path]

    def _delete_local(self, steps: Sequence[Step]) -> None:
        assert self.binding is not None
        for step in steps:
            if not self._unchanged_since_plan(step.path):
                self.report.kept.append((step.path, "deleted on the server but changed here: kept"))
                self._forget(step.path)
                continue
            target = self._local_path(step.path)
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            _prune_empty(target.parent, self.folder)
            self._forget(step.path)
            self.report.deleted_local.append(step.path)

    def _upload(self, items: list[UploadItem]) -> None:
        """Send `items` with their preconditions; files the server changed meanwhile are resolved and
        their conflicted copies sent in the next round."""
        rounds = 0
        items = [fresh for item in items if (fresh := self._as_it_is_now(item)) is not None]
        items = items + [self.plan.upload_item(Step(p, Action.UPLOAD, ""), path=p, local_path=f)
                         for p, f in self._take_copies()]  # fmt: skip
        while items and rounds < MAX_ROUNDS:
            rounds += 1
            lost_race = self._send(items)
            again = self._after_lost_race(lost_race)
            items = again + [self.plan.upload_item(Step(p, Action.UPLOAD, ""), path=p, local_path=f)
                             for p, f in self._take_copies()]  # fmt: skip
        for item in items:
            self.report.failed.append((item.path, Conflict(f"{item.path} keeps changing on the server; run again.")))

    def _as_it_is_now(self, item: UploadItem) -> UploadItem | None:
        """A file saved or deleted since the plan is sent as it is now (its size and hash taken again), or not
        at all: the base must name what was sent, and an upload must never be cut to an old size."""
        if item.link_target is not None:
            return item
        try:
            stat = os.lstat(item.local_path)
        except FileNotFoundError:
            self.report.notes.append((item.path, "deleted here while the push ran: not sent"))
            return None
        except OSError:
            return item  # the upload reports it
        planned = self.plan.signatures.get(item.path)
        if planned is not None and planned == signature(stat):
            return item
        try:
            sha = sha256_file(item.local_path)
        except OSError:
            return item
        now = os.lstat(item.local_path)
        self.plan.local[item.path] = sha
        self.plan.signatures[item.path] = trusted(now, time.time_ns()) if signature(now) == signature(stat) else None
        return dataclasses.replace(item, size=now.st_size)

    def _take_copies(self) -> list[tuple[str, Path]]:
        copies, self.new_copies = self.new_copies, []
        return copies

    def _send(self, items: list[UploadItem]) -> list[UploadItem]:
        """Upload; returns the items whose precondition failed."""
        if not items:
            return []

        def landed(item: UploadItem, entry: FileEntry) -> None:
            if item.link_target is not None:
                self.links[item.path] = (entry.etag, item.link_target)
            else:
                self.links.pop(item.path, None)
            planned = self.plan.local.get(item.path)
            if planned is not None:
                self._record(item.path, entry.etag, planned, hashed_as=self.plan.signatures.get(item.path))
            else:  # a conflicted copy made during this run
                self._record(item.path, entry.etag, sha256_file(item.local_path))
            self.present[item.path] = entry
            self.changed_server = True
            self.report.uploaded.append(item.path)

        if self.service.conditional_writes:
            sendable, lost = items, []
        else:
            fresh = [self._still_as_planned(item) for item in items]
            sendable = [item for item, ok in zip(items, fresh, strict=True) if ok]
            lost = [item for item, ok in zip(items, fresh, strict=True) if not ok]
        upload = self.service.remote(
            self.repo.upload_tree, self.plan.slug, [i for i in sendable if i.link_target is None],
            project_name=self.plan.name, progress=self.progress, cancel=self.cancel, on_done=landed,
        )  # fmt: skip
        failed = list(upload.failed)
        for item in sendable:
            if item.link_target is not None:  # a link's target text, in one small write
                try:
                    entry = self.service.remote(
                        self.repo.write_file, self.plan.slug, item.path, item.link_target.encode("utf-8"),
                        if_match=item.if_match, if_none_match=item.if_none_match, project_name=self.plan.name,
                    )  # fmt: skip
                except ProjectDeskError as exc:
                    failed.append((item.path, exc))
                else:
                    landed(item, entry)
        by_path = {item.path: item for item in items}
        for path, error in failed:
            if isinstance(error, Conflict):
                lost.append(by_path[path])
            else:
                self.report.failed.append((path, error))
        return lost

    def _still_as_planned(self, item: UploadItem) -> bool:
        """For servers that ignore preconditions: compare just before the PUT instead (one round trip)."""
        try:
            current: str | None = self.service.remote(self.repo.stat_file, self.plan.slug, item.path).etag
        except NotFound:
            current = None
        return not ((item.if_none_match and current is not None) or (item.if_match and current != item.if_match))

    def _after_lost_race(self, lost: list[UploadItem]) -> list[UploadItem]:
        """The server changed these files between plan and write: look again."""
        again: list[UploadItem] = []
        resolve: list[tuple[str, str]] = []
        for item in lost:
            try:
                current = self.service.remote(self.repo.stat_file, self.plan.slug, item.path)
            except NotFound:
                self.present.pop(item.path, None)
                again.append(UploadItem(item.path, item.local_path, item.size, if_none_match=True))
                continue
            self.present[item.path] = current
            if item.path in self.plan.local:
                resolve.append((item.path, current.etag))
            else:  # a conflicted copy whose name was taken meanwhile: the next counter of the original's
                conflicts = self.report.conflicts
                at = next((i for i, c in enumerate(conflicts) if c.copy_path == item.path), None)
                copy = self._free_copy_name(conflicts[at].path if at is not None else item.path)
                target = self._local_path(copy)
                os.replace(item.local_path, target)
                if at is not None:
                    conflicts[at] = FolderConflict(conflicts[at].path, copy)
                again.append(UploadItem(copy, target, item.size, if_none_match=True, link_target=item.link_target))
        self._resolve(resolve, sent=True)
        return again

    def _delete_remote(self, steps: Sequence[Step]) -> None:
        def delete(step: Step) -> ProjectDeskError | None:
            try:
                self.service.remote(self.repo.delete_file, self.plan.slug, step.path, if_match=step.remote_etag)
            except NotFound:
                return None
            except ProjectDeskError as exc:
                return exc
            return None

        with ThreadPoolExecutor(DELETE_WORKERS, thread_name_prefix="delete") as pool:
            outcomes = list(pool.map(delete, steps))
        for step, error in zip(steps, outcomes, strict=True):
            if isinstance(error, Conflict):
                self.report.kept.append((step.path, "deleted here but changed on the server: the server's is kept"))
                continue
            if error is not None:
                self.report.failed.append((step.path, error))
                continue
            self.present.pop(step.path, None)
            self.links.pop(step.path, None)
            self._forget(step.path)
            self.changed_server = True
            self.report.deleted_remote.append(step.path)

    def _free_copy_name(self, path: str) -> str:
        when = datetime.now()
        for counter in range(1, MAX_COPY_NAMES):
            candidate = conflicted_copy_name(path, when, counter)
            if candidate in self.present or candidate in self.plan.local:
                continue
            with contextlib.suppress(ProjectDeskError):
                if self.gate.join(candidate).exists():
                    continue
            return candidate
        raise StorageError(f"No free name for a conflicted copy of {path}.")


# ---- helpers ---------------------------------------------------------------------------------------


def _content_sha(path: Path) -> str:
    """SHA-256 of what the folder holds at `path`: a link's target text, else the file's bytes."""
    if path.is_symlink():
        return sha256_bytes(os.readlink(path).encode("utf-8"))
    return sha256_file(path)


def _put(staged: Path, target: Path, *, keep: bool) -> None:
    """`staged`'s file at `target`, in one step: moved, or (`keep`) hard-linked, else copied, so `staged` stays."""
    if keep:
        BlobStore.link_or_copy(staged, target)
    else:
        os.replace(staged, target)


def _known_remote(
    manifest: Manifest | None, fetched: Mapping[str, tuple[str, str]] | None = None
) -> Callable[[str, str], str | None]:
    """The SHA-256 of a server version, where the manifest recorded it with that ETag, or where a run fetched
    and hashed that version (`fetched`: path -> (ETag, SHA-256), the state's notes)."""
    files = manifest.files if manifest is not None else {}
    etags = manifest.file_etags if manifest is not None else {}
    noted = fetched or {}

    def known(path: str, etag: str) -> str | None:
        if not etag:
            return None
        sha = files.get(path) if etags.get(path) == etag else None
        if sha is None and path in noted and noted[path][0] == etag:
            sha = noted[path][1]
        return sha

    return known


def _manifest_matches(manifest: Manifest | None, present: dict[str, FileEntry]) -> bool:
    """The manifest names exactly the server's files, each with the ETag it has now."""
    if manifest is None:
        return False
    return set(manifest.files) == set(present) and all(
        manifest.file_etags.get(path) == entry.etag for path, entry in present.items()
    )


def _rules(scan: ScanResult, patterns: Sequence[str]) -> IgnoreRules:
    return scan.rules if scan.rules is not None else IgnoreRules(patterns=tuple(patterns) or DEFAULT_PATTERNS)


class _IgnoredHere:
    """Whether the folder's ignore rules leave a path out (a folder of it, or the file itself). A path the
    scan found is not; folders are decided once each."""

    def __init__(self, rules: IgnoreRules, found: set[str]) -> None:
        self._rules = rules
        self._found = found
        self._folders: dict[str, bool] = {"": False}

    def _folder(self, folder: str) -> bool:
        decided = self._folders.get(folder)
        if decided is None:
            parent = folder.rpartition("/")[0]
            decided = self._folder(parent) or self._rules.is_ignored(folder, is_dir=True)
            self._folders[folder] = decided
        return decided

    def __call__(self, path: str) -> bool:
        if path in self._found:
            return False
        return self._folder(path.rpartition("/")[0]) or self._rules.is_ignored(path)


def _prune_empty(directory: Path, stop: Path) -> None:
    stop = stop.resolve()
    directory = directory.resolve()
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


@contextlib.contextmanager
def _folder_lock(state_dir: Path, folder: Path) -> Iterator[None]:
    """One run per working folder at a time, across processes (a second waits for the first)."""
    if sys.platform == "win32":
        yield
        return
    import fcntl
    import hashlib

    locks = state_dir / "working-folder-locks"
    locks.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(os.fsencode(folder.resolve()), usedforsecurity=False).hexdigest()
    with open(locks / f"{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ignore_check(plan: FolderPlan, patterns: Sequence[str]) -> Callable[[str], bool]:
    """The folder's ignore rules as `plan` read them: path (relative, '/'-separated) -> left out."""
    return _IgnoredHere(_rules(plan.scan, patterns), set())
