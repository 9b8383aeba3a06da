"""ProjectService: list, inspect, push, pull, edit, delete, export and import projects on one repository.

The window and the CLI both go through this class; it never imports Qt or boto3.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from projectdesk.config.paths import Paths
from projectdesk.core import techstack
from projectdesk.core.errors import Conflict, InvalidInput, LimitExceeded, NotFound, ProjectDeskError
from projectdesk.core.keys import safe_relative_path, safe_segment
from projectdesk.core.limits import Limits
from projectdesk.core.models import FileEntry, Manifest, ProjectInfo
from projectdesk.core.sizes import human_bytes
from projectdesk.core.slugs import new_slug
from projectdesk.services.hashing import hash_files, sha256_bytes
from projectdesk.services.scan import ScanResult, scan_folder
from projectdesk.storage.repository import DownloadReport, Repository, UploadItem
from projectdesk.storage.transfer import ProgressCallback

log = logging.getLogger(__name__)

MAX_SHARE_SECONDS = 7 * 24 * 3600  # a SigV4 presigned URL lives at most 7 days


@dataclass(frozen=True)
class ShareLink:
    """A presigned download link of one file: anyone holding `url` can fetch it until `expires_at`."""

    slug: str
    path: str
    url: str
    expires_at: float  # epoch seconds


@dataclass
class PushPlan:
    """What a push would do, computed before a byte is sent (the preview)."""

    slug: str
    name: str
    is_new: bool
    scan: ScanResult
    hashes: dict[str, str]
    to_upload: list[UploadItem]
    unchanged: list[str]
    remote_only: list[FileEntry]  # removed only when the push is told to delete
    previous: Manifest | None
    limit_error: LimitExceeded | None = None
    remote: list[FileEntry] = field(default_factory=list)  # the listing the plan was made from

    def summary(self) -> str:
        scan = self.scan
        skipped = f", {len(scan.ignored)} skipped by ignore rules" if scan.ignored else ""
        problems = f", {len(scan.problems)} unreadable or unsafe" if scan.problems else ""
        changes = "" if self.is_new else f" ({len(self.to_upload)} new or changed, {len(self.unchanged)} unchanged)"
        return (
            f"{len(scan.files)} files, {human_bytes(scan.total_bytes)}{changes}{skipped}{problems}"
            f" -> {'new project' if self.is_new else 'project'} '{self.name}' ({self.slug})"
        )


@dataclass
class PushResult:
    slug: str
    uploaded: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: list[tuple[str, ProjectDeskError]] = field(default_factory=list)
    manifest: Manifest | None = None
    entries: list[FileEntry] = field(default_factory=list)  # what the bucket holds now (no second listing)


class ProjectService:
    """Project operations on one repository, with the profile's limits and ignore rules."""

    def __init__(
        self,
        repo: Repository,
        *,
        limits: Limits | None = None,
        ignore_patterns: Sequence[str] = (),
        hash_index_dir: Path | None = None,
    ) -> None:
        self.repo = repo
        self.limits = limits or Limits()
        self.ignore_patterns = tuple(ignore_patterns)
        # SHA-256 of pushed files by (size, mtime, ctime, inode), so a re-push reads only changed files
        self.hash_index_dir = hash_index_dir or Paths.default().data_dir / "push-index"

    # ---- reading -------------------------------------------------------------------------------

    def list_projects(self) -> list[ProjectInfo]:
        return self.repo.list_projects()

    def info(self, slug: str) -> ProjectInfo:
        safe_segment(slug, "project slug")
        return self.repo.project_info(slug)

    def list_files(self, slug: str) -> list[FileEntry]:
        safe_segment(slug, "project slug")
        entries = self.repo.list_files(slug)
        if not entries and self.repo.read_manifest_bytes(slug) is None:
            raise NotFound(f"There is no project '{slug}'.")
        return sorted(entries, key=lambda e: e.path)

    def read_file(self, slug: str, path: str) -> bytes:
        return self.repo.read_file(slug, safe_relative_path(path))

    # ---- writing one file ----------------------------------------------------------------------

    def write_file(self, slug: str, path: str, data: bytes, *, if_match: str | None = None) -> FileEntry:
        """Store one file and bring the manifest up to date."""
        safe_relative_path(path)
        if len(data) > self.limits.max_file_bytes:
            self.limits.check([(path, len(data))])
        previous = self.repo.get_manifest(slug)
        name = previous.name if previous else slug
        entry = self.repo.write_file(slug, path, data, if_match=if_match, project_name=name)
        hashes = dict(previous.files) if previous else {}
        hashes[path] = sha256_bytes(data)
        self._write_manifest(slug, name, hashes, previous, local_contents={path: data})
        return entry

    def delete_file(self, slug: str, path: str, *, if_match: str | None = None) -> None:
        safe_relative_path(path)
        self.repo.delete_file(slug, path, if_match=if_match)
        previous = self.repo.get_manifest(slug)
        if previous is not None:
            hashes = {p: h for p, h in previous.files.items() if p != path}
            self._write_manifest(slug, previous.name, hashes, previous)

    def delete_files(self, slug: str, paths: Sequence[str]) -> int:
        """Delete several files (a folder's) with one manifest update; returns how many."""
        for path in paths:
            safe_relative_path(path)
        if not paths:
            return 0
        count = self.repo.delete_paths(slug, list(paths))
        previous = self.repo.get_manifest(slug)
        if previous is not None:
            gone = set(paths)
            hashes = {p: h for p, h in previous.files.items() if p not in gone}
            self._write_manifest(slug, previous.name, hashes, previous)
        return count

    def check_new_path(self, slug: str, path: str) -> None:
        """Raise InvalidInput when `path` cannot be a new file of the project: taken by a file or a folder,
        or under a name that is a file."""
        safe_relative_path(path)
        parents = {path.rsplit("/", i)[0] for i in range(1, path.count("/") + 1)}
        for entry in self.list_files(slug):
            if entry.path == path:
                raise InvalidInput(f"{path} exists already in this project.")
            if entry.path.startswith(path + "/"):
                raise InvalidInput(f"{path} is a folder of this project already.")
            if entry.path in parents:
                raise InvalidInput(f"{entry.path} is a file, so it cannot hold {path}.")

    def create_file(self, slug: str, path: str, data: bytes = b"") -> FileEntry:
        """A new file; it never replaces one (the write carries If-None-Match: *)."""
        self.check_new_path(slug, path)
        if len(data) > self.limits.max_file_bytes:
            self.limits.check([(path, len(data))])
        previous = self.repo.get_manifest(slug)
        name = previous.name if previous else slug
        try:
            entry = self.repo.write_file(slug, path, data, if_none_match=True, project_name=name)
        except Conflict:
            raise InvalidInput(f"{path} was just created elsewhere; nothing was overwritten.") from None
        hashes = dict(previous.files) if previous else {}
        hashes[path] = sha256_bytes(data)
        self._write_manifest(slug, name, hashes, previous, local_contents={path: data})
        return entry

    def rename_file(self, slug: str, old: str, new: str) -> FileEntry:
        """Give a file a new name: stores have no rename, so it is copied (never over another file), then
        the old name is deleted."""
        safe_relative_path(old)
        safe_relative_path(new)
        if old == new:
            raise InvalidInput(f"{old} already has that name.")
        data = self.read_file(slug, old)
        entry = self.create_file(slug, new, data)
        self.delete_file(slug, old)
        return entry

    # ---- S3 addresses --------------------------------------------------------------------------

    def s3_uri(self, slug: str, path: str = "") -> str:
        """The `s3://` address of a file, or of the project's folder (S3 stores only)."""
        safe_segment(slug, "project slug")
        if path:
            safe_relative_path(path)
        return self.repo.s3_uri(slug, path)

    def share_link(self, slug: str, path: str, expires_seconds: int) -> ShareLink:
        """A presigned download link valid for `expires_seconds` (at most 7 days); signed locally."""
        safe_segment(slug, "project slug")
        safe_relative_path(path)
        if not 60 <= expires_seconds <= MAX_SHARE_SECONDS:
            raise InvalidInput("A share link can last from one minute to 7 days.")
        now = time.time()
        url = self.repo.presign_url(slug, path, expires_seconds)
        return ShareLink(slug, path, url, now + expires_seconds)

    def delete_project(self, slug: str) -> int:
        safe_segment(slug, "project slug")
        if not self.repo.project_exists(slug):
            raise NotFound(f"There is no project '{slug}'.")
        return self.repo.delete_project(slug)

    # ---- push ----------------------------------------------------------------------------------

    def plan_push(self, local_dir: Path, *, name: str | None = None, slug: str | None = None) -> PushPlan:
        """Scan `local_dir` and compare it with the project `slug` (a new project when None or absent).

        The server is asked (manifest, listing) on two threads while the folder is scanned and hashed
        here: the round trips and the disk work overlap instead of adding up."""
        if slug is not None:
            safe_segment(slug, "project slug")
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="plan") as pool:
            if slug is None:
                slugs = pool.submit(self.repo.list_slugs)
            else:
                manifest_asked = pool.submit(self.repo.get_manifest, slug)
                listing_asked = pool.submit(self.repo.list_files, slug)
            scan = scan_folder(local_dir, ignore_patterns=self.ignore_patterns, limits=self.limits)
            limit_error: LimitExceeded | None = None
            try:
                self.limits.check((item.path, item.size) for item in scan.files)
            except LimitExceeded as exc:
                limit_error = exc
            hashes: dict[str, str] = {}
            if limit_error is None:
                files = ((item.path, item.local_path) for item in scan.files)
                hashes = hash_files(Path(local_dir), files, self.hash_index_dir)
            previous: Manifest | None = None
            remote: list[FileEntry] = []
            if slug is None:
                slug = new_slug(name or Path(local_dir).resolve().name, set(slugs.result()))
                is_new = True
            else:
                previous = manifest_asked.result()
                remote = listing_asked.result()
                is_new = previous is None and not remote
        project_name = name or (previous.name if previous else "") or Path(local_dir).resolve().name
        remote_by_path = {entry.path: entry for entry in remote}
        known = previous.files if previous else {}
        to_upload: list[UploadItem] = []
        unchanged: list[str] = []
        for item in scan.files:
            there = remote_by_path.get(item.path)
            if there is not None and there.size == item.size and known.get(item.path) == hashes.get(item.path):
                unchanged.append(item.path)
            else:
                to_upload.append(item)
        local_paths = {item.path for item in scan.files}
        remote_only = [entry for entry in remote if entry.path not in local_paths]
        return PushPlan(
            slug, project_name, is_new, scan, hashes, to_upload, unchanged, remote_only, previous, limit_error, remote
        )

    def push(
        self,
        plan: PushPlan,
        *,
        delete: bool = False,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> PushResult:
        """Send what the plan says, then (with `delete`) remove remote-only files, then write the manifest."""
        if plan.limit_error is not None:
            raise plan.limit_error
        report = self.repo.upload_tree(
            plan.slug, plan.to_upload, project_name=plan.name, progress=progress, cancel=cancel
        )
        result = PushResult(plan.slug, uploaded=len(report.uploaded), unchanged=len(plan.unchanged))
        result.failed = list(report.failed)
        failed_paths = {path for path, _ in report.failed}
        hashes = {p: h for p, h in plan.hashes.items() if p not in failed_paths}
        # What the bucket holds now: the plan's listing plus what was sent, less what was deleted
        # (no second listing of the whole project just to count it).
        present = {entry.path: entry for entry in plan.remote}
        present.update(report.uploaded)
        if plan.remote_only:
            if delete:
                result.deleted = self.repo.delete_paths(plan.slug, [entry.path for entry in plan.remote_only])
                for entry in plan.remote_only:
                    present.pop(entry.path, None)
            elif plan.previous is not None:
                for entry in plan.remote_only:  # kept on the server: keep what we knew of them
                    if entry.path in plan.previous.files:
                        hashes[entry.path] = plan.previous.files[entry.path]
        local_contents = {
            item.path: item.local_path.read_bytes()
            for item in plan.scan.files
            if techstack.is_interesting(item.path) and item.path not in failed_paths
        }
        result.entries = list(present.values())
        result.manifest = self._write_manifest(
            plan.slug, plan.name, hashes, plan.previous, local_contents, entries=result.entries
        )
        return result

    def _write_manifest(
        self,
        slug: str,
        name: str,
        hashes: dict[str, str],
        previous: Manifest | None,
        local_contents: dict[str, bytes] | None = None,
        *,
        entries: Sequence[FileEntry] | None = None,
    ) -> Manifest:
        """Write the manifest from the listing as it is now (so counts match what the bucket holds), or
        from `entries` when the caller knows them already."""
        if entries is None:
            entries = self.repo.list_files(slug)
        present = {entry.path for entry in entries}
        contents = dict(local_contents or {})
        for entry in entries:
            if techstack.is_interesting(entry.path) and entry.path not in contents:
                try:
                    contents[entry.path] = self.repo.read_file(slug, entry.path)
                except ProjectDeskError as exc:
                    log.warning("could not read %s for the tech stack: %s", entry.path, exc)
        stack = techstack.detect(present, {p: c for p, c in contents.items() if p in present})
        now = time.time()
        manifest = Manifest(
            name=name,
            slug=slug,
            user_id=self.repo.user_id,
            created_date=previous.created_date if previous and previous.created_date else now,
            updated_date=now,
            files_count=len(entries),
            total_bytes=sum(entry.size for entry in entries),
            tech_stack=stack.tech_stack,
            has_frontend=stack.has_frontend,
            has_backend=stack.has_backend,
            files={p: h for p, h in sorted(hashes.items()) if p in present},
        )
        self.repo.put_manifest(manifest)
        return manifest

    # ---- pull, export, import ------------------------------------------------------------------

    def pull(
        self,
        slug: str,
        dest: Path,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> DownloadReport:
        entries = self.list_files(slug)
        return self.repo.download_tree(slug, Path(dest), entries=entries, progress=progress, cancel=cancel)

    def export_zip(
        self,
        slug: str,
        out: Path,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> DownloadReport:
        """Download the project and pack it into `out` (written atomically: a failed export leaves nothing)."""
        out = Path(out)
        with tempfile.TemporaryDirectory(prefix="projectdesk-export-") as temp:
            report = self.pull(slug, Path(temp), progress=progress, cancel=cancel)
            if report.failed:
                return report
            partial = out.with_name(out.name + ".partial")
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for entry in sorted(report.downloaded, key=lambda e: e.path):
                    archive.write(Path(temp, *entry.path.split("/")), entry.path)
            partial.replace(out)
        return report

    def import_zip(
        self,
        archive_path: Path,
        *,
        name: str | None = None,
        slug: str | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> tuple[PushPlan, PushResult]:
        """Unpack a zip safely (no path escapes, sizes checked before extracting) and push it as a project."""
        archive_path = Path(archive_path)
        try:
            archive = zipfile.ZipFile(archive_path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise InvalidInput(f"{archive_path.name} is not a readable zip file ({exc}).") from None
        with archive, tempfile.TemporaryDirectory(prefix="projectdesk-import-") as temp:
            members = [m for m in archive.infolist() if not m.is_dir()]
            prefix = _common_folder([m.filename for m in members])
            self.limits.check((m.filename, m.file_size) for m in members)
            for member in members:
                relative = safe_relative_path(member.filename[len(prefix) :])
                target = Path(temp, *relative.split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, open(target, "wb") as sink:
                    copied = 0
                    while chunk := source.read(1024 * 1024):
                        copied += len(chunk)
                        if copied > self.limits.max_file_bytes:  # the header lied (zip bomb)
                            raise LimitExceeded(f"{member.filename} unpacks larger than it claims; not imported.")
                        sink.write(chunk)
            default_name = prefix.rstrip("/") or archive_path.stem
            plan = self.plan_push(Path(temp), name=name or default_name, slug=slug)
            return plan, self.push(plan, progress=progress, cancel=cancel)


def _common_folder(names: list[str]) -> str:
    """'site/' when every member lies in one top folder (as zips of a folder do), else ''."""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names):
        return tops.pop() + "/"
    return ""
