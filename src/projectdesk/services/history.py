"""File history and point-in-time restore, from the bucket's versioning (S3 keeps every version of a key).

Everything the window and the CLI need is a function here taking the project service (a `ProjectService`
or the `CachedProjectService` the CLI and the window use); every call to the store goes through
`service.remote`, so the cached service keeps track of the connection, and a restore ends with
`service.server_changed`, so the cache learns it like any server change. Working folders need nothing
special: a restore is a server change, and their three-way rule carries it (or reports a conflict).

- One file: `file_history` (versions newest first, delete markers included), `version_writers` (who wrote
  which version, one HEAD each: only on request), `read_version`, `version_pair` (two versions' bytes, for
  a diff), `restore_file` (a server-side copy of the version over the current one, only over the version
  the history showed: If-Match; a copy is a new version, so a restore is undone by restoring the version it
  replaced), `deleted_files` and `undelete` (the newest version with content).
- The whole project as of a moment: `moments` (the manifest's versions: one per push or save),
  `plan_restore` (one listing of the project's versions gives the state at T: for each path, the newest
  version stamped no later than T), `run_restore` (copies and conditional deletes in parallel, then a new
  manifest), `download_as_of` / `export_as_of` / `pull_as_of` (the state at T written locally; the store is
  not changed).

A store without versioning raises `NoHistory` with one sentence that says how to turn it on; a suspended
one still shows history but refuses restores (a write while suspended replaces the "null" version).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast

from projectdesk.core.errors import Conflict, InvalidInput, InvalidKey, NotFound, ProjectDeskError
from projectdesk.core.keys import MANIFEST_NAME, PathGate, is_safe_relative_path, safe_relative_path, safe_segment
from projectdesk.core.models import FileEntry, FileVersion, Manifest
from projectdesk.services import archive
from projectdesk.services.hashing import sha256_bytes
from projectdesk.services.projects import ProjectService
from projectdesk.storage.atomic import write_atomic
from projectdesk.storage.repository import DownloadReport, FolderMaker
from projectdesk.storage.transfer import ProgressCallback, run_parallel

log = logging.getLogger(__name__)

ENABLED = "Enabled"
SUSPENDED = "Suspended"
WRITER_WORKERS = 8  # HEADs asking who wrote each version
UNDO_WAIT_MAX = 1.5  # seconds a restore may wait so that "as of just before it" is a moment of its own
Action = Literal["restore", "undelete", "delete"]


# ---- availability ---------------------------------------------------------------------------------


def versioning_status(service: ProjectService) -> str:
    """What the store says of versioning: "Enabled", "Suspended", "" (never enabled) or "unsupported"."""
    return service.remote(service.repo.versioning)


def enable_versioning(service: ProjectService) -> None:
    """Turn versioning on: from now on every version is kept (and billed until a lifecycle rule removes it)."""
    status = versioning_status(service)
    if status == "unsupported":
        raise service.repo.history_unavailable(status, service.profile_name)
    if status != ENABLED:
        service.remote(service.repo.enable_versioning)


def require_history(service: ProjectService, *, writing: bool = False) -> None:
    """Raise NoHistory (one sentence saying how to turn versioning on) unless the store keeps versions;
    `writing`: a restore, refused while versioning is suspended too."""
    status = versioning_status(service)
    if status == ENABLED or (status == SUSPENDED and not writing):
        return
    raise service.repo.history_unavailable(status, service.profile_name)


# ---- one file -------------------------------------------------------------------------------------


def file_history(service: ProjectService, slug: str, path: str, *, limit: int | None = None) -> list[FileVersion]:
    """The file's versions, newest first (delete markers included; the current one `is_latest`)."""
    safe_segment(slug, "project slug")
    safe_relative_path(path)
    require_history(service)
    versions = service.remote(service.repo.list_versions, slug, path, limit=limit)
    if not versions:
        raise NotFound(f"{path} has no history in '{slug}': no version of it was ever stored.")
    return versions


def writer_of(metadata: Mapping[str, str]) -> str:
    """Who wrote a version, as its metadata says: "projectdesk", or "" when another tool did (no mark)."""
    return metadata.get("written-by", "")


def version_writers(service: ProjectService, slug: str, path: str, versions: Sequence[FileVersion]) -> dict[str, str]:
    """version id -> writer (`writer_of`) for the versions with content: one HEAD each, in parallel."""
    wanted = [v for v in versions if not v.is_delete_marker]

    def ask(version: FileVersion) -> str:
        return writer_of(service.remote(service.repo.version_metadata, slug, path, version.version_id))

    with ThreadPoolExecutor(max_workers=max(1, min(WRITER_WORKERS, len(wanted)))) as pool:
        return dict(zip((v.version_id for v in wanted), pool.map(ask, wanted), strict=True))


def read_version(service: ProjectService, slug: str, path: str, version_id: str) -> bytes:
    """The bytes of one version (NotFound for an unknown version or a delete marker)."""
    safe_segment(slug, "project slug")
    safe_relative_path(path)
    require_history(service)
    try:
        return service.remote(service.repo.read_version, slug, path, version_id)
    except NotFound:  # servers answer 404 or 405 for a delete marker, 404 or 400 for an unknown id
        raise NotFound(
            f"{path} has no version '{version_id}' with content in '{slug}': it is unknown, or a deletion."
        ) from None


def version_pair(
    service: ProjectService, slug: str, path: str, older: str, newer: str | None = None
) -> tuple[bytes, bytes]:
    """Two versions' bytes for a diff: `older`, and `newer` (None: the current file)."""
    before = read_version(service, slug, path, older)
    after = (
        service.remote(service.repo.read_file, slug, path)
        if newer is None
        else read_version(service, slug, path, newer)
    )
    return before, after


def restore_file(service: ProjectService, slug: str, path: str, version_id: str | None = None) -> FileEntry:
    """Make a version current again (None: the newest version with content — an undelete).

    A server-side copy over the version the history shows as current (If-Match; If-None-Match while the file
    is deleted): a file changed meanwhile is never overwritten (Conflict). The copy is a new version, so
    nothing is lost and the restore is undone by restoring the version it replaced."""
    safe_segment(slug, "project slug")
    safe_relative_path(path)
    require_history(service, writing=True)
    versions = service.remote(service.repo.list_versions, slug, path)
    if not versions:
        raise NotFound(f"{path} has no history in '{slug}': no version of it was ever stored.")
    current = versions[0]
    live = None if current.is_delete_marker else current
    if version_id is None:
        target = next((v for v in versions if not v.is_delete_marker), None)
        if target is None:
            raise NotFound(f"{path} has no version with content in '{slug}'.")
        if live is not None:
            raise InvalidInput(f"{path} is not deleted: name the version to restore (see its history).")
    else:
        target = next((v for v in versions if v.version_id == version_id), None)
        if target is None:
            raise NotFound(f"{path} has no version '{version_id}' in '{slug}'.")
        if target.is_delete_marker:
            raise InvalidInput(f"Version '{version_id}' of {path} is a deletion: choose a version with content.")
        if live is not None and live.version_id == target.version_id:
            raise InvalidInput(f"Version '{version_id}' is already the current version of {path}.")
    try:
        entry = service.remote(
            service.repo.restore_version, slug, path, target.version_id,
            if_match=live.etag if live is not None else None, if_none_match=live is None, size=target.size,
        )  # fmt: skip
    except Conflict:
        raise Conflict(f"{path} changed on the server since its history was read; nothing was overwritten.") from None
    manifest = service.update_manifest(slug, {})  # hashed from what the manifest knows of this version, else read
    service.server_changed(slug, manifest)
    return entry


@dataclass(frozen=True)
class DeletedFile:
    """A file whose current version is a delete marker; `last` is what an undelete brings back."""

    path: str
    deleted_at: float
    last: FileVersion | None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "deleted_at": self.deleted_at,
            "last_version": None if self.last is None else self.last.to_json(),
        }


def deleted_files(service: ProjectService, slug: str) -> list[DeletedFile]:
    """The project's deleted files (newest deletion first), from one listing of its versions."""
    safe_segment(slug, "project slug")
    require_history(service)
    found: list[DeletedFile] = []
    for path, versions in _by_path(service.remote(service.repo.list_versions, slug)).items():
        if path == MANIFEST_NAME or not versions[0].is_delete_marker or not is_safe_relative_path(path):
            continue
        last = next((v for v in versions if not v.is_delete_marker), None)
        found.append(DeletedFile(path, versions[0].last_modified, last))
    return sorted(found, key=lambda d: (-d.deleted_at, d.path))


def undelete(service: ProjectService, slug: str, path: str) -> FileEntry:
    """Bring a deleted file back as its newest version with content."""
    return restore_file(service, slug, path, None)


# ---- the whole project as of a moment ---------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """A push or save of the project: a version of its manifest."""

    at: float
    version_id: str
    is_latest: bool

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "version_id": self.version_id, "is_latest": self.is_latest}


def moments(service: ProjectService, slug: str, *, limit: int | None = None) -> list[Moment]:
    """The project's pushes and saves, newest first (for a picker): its manifest's versions."""
    safe_segment(slug, "project slug")
    require_history(service)
    versions = service.remote(service.repo.list_versions, slug, MANIFEST_NAME, limit=limit)
    return [Moment(v.last_modified, v.version_id, v.is_latest) for v in versions if not v.is_delete_marker]


def parse_moment(text: str) -> float:
    """A moment as people write it: "2026-12-01 14:00" (local time, seconds optional) or ISO 8601 with an
    offset ("2026-12-01T14:00:00+01:00", "…Z"); epoch seconds."""
    cleaned = text.strip()
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise InvalidInput(
            f"'{text}' is not a moment: write it as '2026-12-01 14:00' (local time) or in ISO 8601 with an offset."
        ) from None
    return moment.timestamp()  # naive: local time


def state_at(versions: Iterable[FileVersion], at: float) -> dict[str, FileVersion]:
    """For each path, its version at moment `at`: the newest stamped no later than `at` (a delete marker
    when the file was deleted then). Paths that did not exist yet are absent. `versions` come as listed:
    each key's newest first."""
    state: dict[str, FileVersion] = {}
    for version in versions:
        if version.path not in state and version.last_modified <= at:
            state[version.path] = version
    return state


def _by_path(versions: Iterable[FileVersion]) -> dict[str, list[FileVersion]]:
    grouped: dict[str, list[FileVersion]] = {}
    for version in versions:
        grouped.setdefault(version.path, []).append(version)
    return grouped


@dataclass(frozen=True)
class RestoreStep:
    """One path of a restore: `target` is its version at the moment (None: it did not exist, so it is
    deleted), `current` the version the plan saw as current (None: deleted or absent now)."""

    path: str
    target: FileVersion | None
    current: FileVersion | None

    @property
    def action(self) -> Action:
        if self.target is None:
            return "delete"
        return "undelete" if self.current is None else "restore"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "action": self.action,
            "version_id": None if self.target is None else self.target.version_id,
            "current_version_id": None if self.current is None else self.current.version_id,
        }


@dataclass
class RestorePlan:
    """What restoring the project as of `at` would do (the preview); nothing is written by making it."""

    slug: str
    at: float
    changed: list[RestoreStep] = field(default_factory=list)  # exist then and now, other content: copied back
    added: list[RestoreStep] = field(default_factory=list)  # made since: deleted
    deleted: list[RestoreStep] = field(default_factory=list)  # deleted since: copied back
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (raw path, why): unsafe names
    manifest_then: FileVersion | None = None  # the manifest's version at the moment
    newest_seen: float = 0.0  # the newest version stamp in the listing: "just before" this restore

    @property
    def steps(self) -> list[RestoreStep]:
        return [*self.changed, *self.deleted, *self.added]

    @property
    def is_empty(self) -> bool:
        return not self.steps

    def summary(self) -> str:
        return (
            f"{len(self.changed)} changed since (restored), {len(self.added)} added since (deleted), "
            f"{len(self.deleted)} deleted since (restored), {len(self.unchanged)} unchanged"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "at": self.at,
            "changed": [s.to_json() for s in self.changed],
            "added": [s.to_json() for s in self.added],
            "deleted": [s.to_json() for s in self.deleted],
            "unchanged": len(self.unchanged),
            "skipped": [{"path": p, "why": why} for p, why in self.skipped],
        }


def plan_restore(service: ProjectService, slug: str, at: float) -> RestorePlan:
    """Compare the project as of `at` with the project now, from one listing of its versions."""
    safe_segment(slug, "project slug")
    if not math.isfinite(at):
        raise InvalidInput("That moment is not a date.")
    require_history(service, writing=True)
    versions = service.remote(service.repo.list_versions, slug)
    if not versions:
        raise NotFound(f"There is no project '{slug}'.")
    then = state_at(versions, at)
    plan = RestorePlan(slug, at, newest_seen=max(v.last_modified for v in versions))
    plan.manifest_then = then.get(MANIFEST_NAME)
    for path, history in _by_path(versions).items():
        if path == MANIFEST_NAME:
            continue
        if not is_safe_relative_path(path):
            plan.skipped.append((path, "unsafe name: left as it is"))
            continue
        now = None if history[0].is_delete_marker else history[0]
        was = then.get(path)
        was = None if was is None or was.is_delete_marker else was
        if now is None and was is None:
            continue
        step = RestoreStep(path, was, now)
        if now is None:
            plan.deleted.append(step)
        elif was is None:
            plan.added.append(step)
        elif was.version_id == now.version_id or (was.etag and was.etag == now.etag and was.size == now.size):
            plan.unchanged.append(path)
        else:
            plan.changed.append(step)
    for steps in (plan.changed, plan.added, plan.deleted):
        steps.sort(key=lambda s: s.path)
    return plan


@dataclass
class RestoreReport:
    """What a restore did. `undo_at`: restoring as of that moment undoes it (the newest version the plan saw;
    the restore waited until the clock had passed its second)."""

    plan: RestorePlan
    restored: dict[str, FileEntry] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # changed by another writer meanwhile
    failed: list[tuple[str, ProjectDeskError]] = field(default_factory=list)
    manifest: Manifest | None = None
    undo_at: float = 0.0

    def summary(self) -> str:
        parts = [f"{len(self.restored)} file(s) restored", f"{len(self.deleted)} deleted"]
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} left as another writer changed them")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.plan.slug,
            "at": self.plan.at,
            "restored": sorted(self.restored),
            "deleted": sorted(self.deleted),
            "conflicts": [{"path": p, "message": m} for p, m in self.conflicts],
            "failed": [{"path": p, "message": e.message} for p, e in self.failed],
            "undo_at": self.undo_at,
        }


def run_restore(
    service: ProjectService,
    plan: RestorePlan,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> RestoreReport:
    """Carry a plan out: server-side copies of the versions then (only over the version the plan saw: If-Match,
    If-None-Match for deleted ones) and deletes of files added since (only of the version seen), in parallel;
    then a new manifest. A file another writer changed meanwhile is left as that writer made it and reported
    in `conflicts`. Nothing is deleted for good: every step is a new version or a delete marker."""
    slug = plan.slug
    require_history(service, writing=True)
    report = RestoreReport(plan, undo_at=plan.newest_seen)
    wait = math.floor(plan.newest_seen) + 1 - time.time()
    if 0 < wait <= UNDO_WAIT_MAX:  # so no version of ours shares a second with the state before it
        time.sleep(wait)
    repo = service.repo

    def work(step: RestoreStep) -> FileEntry | None:
        if step.target is None:
            assert step.current is not None
            service.remote(repo.delete_file, slug, step.path, if_match=step.current.etag)
            return None
        return service.remote(
            repo.restore_version, slug, step.path, step.target.version_id,
            if_match=step.current.etag if step.current is not None else None, if_none_match=step.current is None,
            size=step.target.size,
        )  # fmt: skip

    result = run_parallel(
        plan.steps,
        work,
        name_of=lambda step: step.path,
        size_of=lambda step: step.target.size if step.target is not None else 0,
        workers=repo.workers,
        progress=progress,
        cancel=cancel,
    )
    for step, entry in result.done:
        if entry is None:
            report.deleted.append(step.path)
        else:
            report.restored[step.path] = entry
    for step, error in result.failed:
        if isinstance(error, Conflict):
            report.conflicts.append(
                (step.path, f"{step.path} changed on the server after the preview; it was left as it is now.")
            )
        else:
            report.failed.append((step.path, error))
    if report.restored or report.deleted:
        report.manifest = _commit_after_restore(service, plan)
        service.server_changed(slug, report.manifest)
    return report


def _commit_after_restore(service: ProjectService, plan: RestorePlan) -> Manifest:
    """The new manifest: SHA-256 of restored files from the manifest as of the moment where it recorded that
    very ETag (the manifest is versioned too), else from the current one, else read."""
    slug = plan.slug
    then = _manifest_version(service, slug, plan.manifest_then)
    previous, version = service.remote(service.repo.get_manifest_versioned, slug)
    entries = service.remote(service.repo.list_files, slug)
    known: dict[str, tuple[str, str]] = {}
    links: dict[str, str] = {}
    etags = {entry.path: entry.etag for entry in entries}
    for path, etag in etags.items():
        for manifest in (then, previous):  # the first that recorded this very version
            if manifest is not None and manifest.file_etags.get(path) == etag:
                if path in manifest.files:
                    known[path] = (etag, manifest.files[path])
                if path in manifest.links:
                    links[path] = manifest.links[path]
                break
    name = previous.name if previous is not None else (then.name if then is not None else slug)
    return service.commit_manifest(slug, name, previous, version, entries, known=known, links=links)


def _manifest_version(service: ProjectService, slug: str, version: FileVersion | None) -> Manifest | None:
    if version is None or version.is_delete_marker:
        return None
    try:
        data = service.remote(service.repo.read_version, slug, MANIFEST_NAME, version.version_id)
    except NotFound:
        return None
    return service.repo.parse_manifest(slug, data)


# ---- the project as of a moment, written locally (the store is not changed) --------------------------


def files_at(service: ProjectService, slug: str, at: float) -> list[FileVersion]:
    """The project's files as of `at` (versions with content, manifest left out), by path."""
    return _project_at(service, slug, at)[0]


def _project_at(service: ProjectService, slug: str, at: float) -> tuple[list[FileVersion], FileVersion | None]:
    """`files_at`, and the manifest's version of that moment (from the same listing of versions)."""
    safe_segment(slug, "project slug")
    require_history(service)
    versions = service.remote(service.repo.list_versions, slug)
    state = state_at(versions, at)
    found = [v for p, v in state.items() if p != MANIFEST_NAME and not v.is_delete_marker]
    if not found and not versions:
        raise NotFound(f"There is no project '{slug}'.")
    return sorted(found, key=lambda v: v.path), state.get(MANIFEST_NAME)


def links_at(
    service: ProjectService, slug: str, manifest_version: FileVersion | None, files: Sequence[FileVersion]
) -> dict[str, str]:
    """The symbolic links among `files`, as the manifest version of their moment records them for them."""
    manifest = _manifest_version(service, slug, manifest_version)
    if manifest is None:
        return {}
    return {
        f.path: manifest.links[f.path]
        for f in files
        if f.path in manifest.links and manifest.file_etags.get(f.path) == f.etag
    }


def download_as_of(
    service: ProjectService,
    slug: str,
    at: float,
    dest: Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> DownloadReport:
    """Write the project as of `at` under `dest` (each file atomically; unsafe names skipped, never written)."""
    return _write_versions(service, slug, files_at(service, slug, at), Path(dest), progress, cancel)


def _write_versions(
    service: ProjectService,
    slug: str,
    files: Sequence[FileVersion],
    dest: Path,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> DownloadReport:
    report = DownloadReport()
    dest.mkdir(parents=True, exist_ok=True)
    gate = PathGate(dest)
    wanted: list[tuple[FileVersion, Path]] = []
    for version in files:
        try:
            wanted.append((version, gate.join(version.path)))
        except InvalidKey as exc:
            report.skipped.append((version.path, exc.message))
    folders = FolderMaker()

    def fetch(pair: tuple[FileVersion, Path]) -> FileEntry:
        version, target = pair
        data = service.remote(service.repo.read_version, slug, version.path, version.version_id)
        folders.ensure(version.path, target.parent)
        write_atomic(target, data)
        report.sha256[version.path] = sha256_bytes(data)
        return FileEntry(version.path, len(data), version.etag, version.last_modified)

    result = run_parallel(
        wanted,
        fetch,
        name_of=lambda pair: pair[0].path,
        size_of=lambda pair: pair[0].size,
        workers=service.repo.workers,
        progress=progress,
        cancel=cancel,
    )
    report.downloaded = [entry for _, entry in result.done]
    report.written = {entry.path: target for (_, target), entry in result.done}
    report.failed = [(pair[0].path, error) for pair, error in result.failed]
    return report


def pull_as_of(
    service: ProjectService,
    slug: str,
    at: float,
    dest: Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> DownloadReport:
    """The project as of `at` into a new or empty folder that is no working folder: it is not bound (a
    working folder's bases name the server's current versions; an old state would corrupt them)."""
    dest = Path(dest)
    if service.folders.binding(dest, None) is not None:
        raise InvalidInput(
            f"{dest} is a working folder: pull an earlier state only into a new or empty folder (its bases stay "
            "those of the server's current files)."
        )
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidInput(f"{dest} is not empty: pull an earlier state only into a new or empty folder.")
    return download_as_of(service, slug, at, dest, progress=progress, cancel=cancel)


class _AsOf:
    """The part of the service a zip export uses (`archive.ArchiveService`), serving the state at a moment."""

    def __init__(self, service: ProjectService, at: float) -> None:
        self.service = service
        self.at = at
        self.limits = service.limits
        self._state: tuple[list[FileVersion], FileVersion | None] | None = None

    def _project(self, slug: str) -> tuple[list[FileVersion], FileVersion | None]:
        if self._state is None:  # one listing of versions serves the files and their links
            self._state = _project_at(self.service, slug, self.at)
        return self._state

    def download_project(
        self, slug: str, dest: Path, *, progress: ProgressCallback | None = None, cancel: threading.Event | None = None
    ) -> DownloadReport:
        return _write_versions(self.service, slug, self._project(slug)[0], Path(dest), progress, cancel)

    def links(self, slug: str) -> dict[str, str]:
        files, manifest = self._project(slug)
        return links_at(self.service, slug, manifest, files)


def export_as_of(
    service: ProjectService,
    slug: str,
    at: float,
    out: Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> DownloadReport:
    """A zip of the project as of `at` (written atomically, as `export_zip`)."""
    adapter = cast("archive.ArchiveService", _AsOf(service, at))
    return archive.export_zip(adapter, slug, Path(out), progress=progress, cancel=cancel)


__all__ = [
    "DeletedFile",
    "Moment",
    "RestorePlan",
    "RestoreReport",
    "RestoreStep",
    "deleted_files",
    "download_as_of",
    "enable_versioning",
    "export_as_of",
    "file_history",
    "files_at",
    "moments",
    "parse_moment",
    "plan_restore",
    "pull_as_of",
    "read_version",
    "require_history",
    "restore_file",
    "run_restore",
    "state_at",
    "undelete",
    "version_pair",
    "version_writers",
    "versioning_status",
]
