"""ProjectService: list, inspect, push, pull, edit, delete, export and import projects on one repository.

The window and the CLI both go through this class; it never imports Qt or boto3.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

from projectdesk.cache.listing_memo import ListingMemo
from projectdesk.config.paths import Paths
from projectdesk.core import techstack
from projectdesk.core.errors import Cancelled, Conflict, InvalidInput, NotFound, Offline, ProjectDeskError, StorageError
from projectdesk.core.keys import is_safe_relative_path, safe_relative_path, safe_segment, user_path
from projectdesk.core.limits import Limits
from projectdesk.core.models import FileEntry, Manifest, ProjectInfo
from projectdesk.core.threeway import Direction
from projectdesk.services import archive
from projectdesk.services.folder_sync import FolderPlan, FolderReport, FolderSync
from projectdesk.services.hashing import sha256_bytes
from projectdesk.services.listing import OnBatch, ProjectLister
from projectdesk.services.workfolders import FolderStates
from projectdesk.storage.repository import DownloadReport, Repository, TopLevel
from projectdesk.storage.transfer import ProgressCallback

log = logging.getLogger(__name__)

OnPage = Callable[[list[FileEntry]], None]  # a page of a project's listing, as it arrives
P = ParamSpec("P")
T = TypeVar("T")

MAX_SHARE_SECONDS = 7 * 24 * 3600  # a SigV4 presigned URL lives at most 7 days


@dataclass(frozen=True)
class ShareLink:
    """A presigned download link of one file: anyone holding `url` can fetch it until `expires_at`."""

    slug: str
    path: str
    url: str
    expires_at: float  # epoch seconds


PushPlan = FolderPlan  # a push's preview is the working-folder plan
PushResult = FolderReport
MANIFEST_ATTEMPTS = 8  # writers racing for the manifest: each loser re-reads and writes again
Change = tuple[str, str] | None  # (etag, sha256) of a file written, or None for one deleted


class ProjectService:
    """Project operations on one repository, with the profile's limits and ignore rules."""

    def __init__(
        self,
        repo: Repository,
        *,
        limits: Limits | None = None,
        ignore_patterns: Sequence[str] = (),
        data_dir: Path | None = None,
    ) -> None:
        self.repo = repo
        self.limits = limits or Limits()
        self.ignore_patterns = tuple(ignore_patterns)
        # The server honours If-Match / If-None-Match on PUT (SeaweedFS, MinIO, AWS and moto do); False: a
        # HEAD just before each write instead.
        self.conditional_writes = True
        self.profile_name = ""  # the profile this store was opened for (recorded with working folders)
        # Working folders: bindings and per-file bases (services/workfolders.py), under the data directory.
        self.folder_states = FolderStates(data_dir or Paths.default().data_dir)
        self.folders = FolderSync(self, self.folder_states)
        # What the project listing remembers between runs (services/listing.py); the cached service keeps it
        # on disk. Replace it before the first listing.
        self.listing_memo = ListingMemo()
        self._lister: ProjectLister | None = None

    @property
    def lister(self) -> ProjectLister:
        """The project listing and the catalog's writer (services/listing.py)."""
        if self._lister is None:
            self._lister = ProjectLister(self.repo, self.listing_memo)
        return self._lister

    def remote(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one repository call (the cached service also tracks whether the server answers)."""
        return call(*args, **kwargs)

    def server_changed(self, slug: str, manifest: Manifest | None) -> None:
        """The project was changed on the server by a path of ours that bypasses the cache (a restore from
        history, services/history.py); the cached service learns it here like any server change."""

    # ---- reading -------------------------------------------------------------------------------

    def list_projects(
        self, on_batch: OnBatch | None = None, cancel: threading.Event | None = None, *, check_all: bool = False
    ) -> list[ProjectInfo]:
        """Every project, newest first (services/listing.py); `on_batch` hears them as they arrive."""
        return self.lister.list_projects(on_batch, cancel, check_all=check_all)

    def info(self, slug: str) -> ProjectInfo:
        safe_segment(slug, "project slug")
        return self.repo.project_info(slug)

    def list_files(self, slug: str) -> list[FileEntry]:
        safe_segment(slug, "project slug")
        entries = self.repo.list_files(slug)
        if not entries and self.repo.read_manifest_bytes(slug) is None:
            raise NotFound(f"There is no project '{slug}'.")
        return sorted(entries, key=lambda e: e.path)

    def list_top(self, slug: str) -> TopLevel:
        """The project's top level from one folder-style listing (the window shows it before the rest)."""
        safe_segment(slug, "project slug")
        return self.remote(self.repo.list_top, slug)

    def list_files_paged(
        self, slug: str, on_page: OnPage | None = None, cancel: threading.Event | None = None
    ) -> list[FileEntry]:
        """`list_files`, heard page by page: `on_page` gets each page as it arrives (and may raise Cancelled to
        stop the listing); `cancel`, once set, stops it before the next page with Cancelled."""
        safe_segment(slug, "project slug")
        entries = self._listed_pages(slug, on_page, cancel, lambda page: page)
        if not entries and self.repo.read_manifest_bytes(slug) is None:
            raise NotFound(f"There is no project '{slug}'.")
        return sorted(entries, key=lambda e: e.path)

    def _listed_pages(
        self,
        slug: str,
        on_page: OnPage | None,
        cancel: threading.Event | None,
        shown: Callable[[list[FileEntry]], list[FileEntry]],
    ) -> list[FileEntry]:
        """Every page of the store's listing, each handed to `on_page` as `shown` makes it; the raw entries."""
        pages = self.repo.iter_files(slug)
        entries: list[FileEntry] = []
        try:
            while True:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("Listing the files was cancelled.")
                page = self.remote(next, pages, None)
                if page is None:
                    return entries
                entries += page
                if on_page is not None:
                    on_page(shown(page))
        finally:
            pages.close()

    def read_file(self, slug: str, path: str) -> bytes:
        return self.repo.read_file(slug, safe_relative_path(path))

    def open_file(self, slug: str, path: str) -> tuple[bytes, FileEntry]:
        """The file's bytes and the version a save of an edit of them must replace. The version is asked
        first: if the file is replaced between the two requests, the save conflicts (never the reverse)."""
        entry = self.repo.stat_file(slug, safe_relative_path(path))
        data = self.repo.read_file(slug, path)
        return data, FileEntry(entry.path, len(data), entry.etag, entry.last_modified)

    # ---- writing one file ----------------------------------------------------------------------

    def write_file(self, slug: str, path: str, data: bytes, *, if_match: str | None = None) -> FileEntry:
        """Store one file and bring the manifest up to date."""
        user_path(path)
        if len(data) > self.limits.max_file_bytes:
            self.limits.check([(path, len(data))])
        entry = self.repo.write_file(slug, path, data, if_match=if_match, project_name=self._name_of(slug))
        self.update_manifest(slug, {path: (entry.etag, sha256_bytes(data))}, contents={path: data})
        return entry

    def delete_file(self, slug: str, path: str, *, if_match: str | None = None) -> None:
        user_path(path)
        self.repo.delete_file(slug, path, if_match=if_match)
        self.update_manifest(slug, {path: None})

    def delete_files(self, slug: str, paths: Sequence[str]) -> int:
        """Delete several files (a folder's) with one manifest update; returns how many."""
        for path in paths:
            user_path(path)
        if not paths:
            return 0
        count = self.repo.delete_paths(slug, list(paths))
        self.update_manifest(slug, dict.fromkeys(paths))
        return count

    def check_new_path(self, slug: str, path: str) -> None:
        """Raise InvalidInput when `path` cannot be a new file of the project: taken by a file or a folder,
        or under a name that is a file."""
        user_path(path)
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
        try:
            entry = self.repo.write_file(slug, path, data, if_none_match=True, project_name=self._name_of(slug))
        except Conflict:
            raise InvalidInput(f"{path} was just created elsewhere; nothing was overwritten.") from None
        self.update_manifest(slug, {path: (entry.etag, sha256_bytes(data))}, contents={path: data})
        return entry

    def rename_file(self, slug: str, old: str, new: str) -> FileEntry:
        """Give a file a new name: stores have no rename, so it is copied (never over another file), then
        the old name is deleted."""
        user_path(old)
        user_path(new)
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
        count = self.repo.delete_project(slug)
        self.lister.writer.forget(slug)
        return count

    # ---- working folders: push, pull, sync --------------------------------------------------------

    def plan_push(
        self,
        local_dir: Path,
        *,
        name: str | None = None,
        slug: str | None = None,
        remember: bool = True,
        follow_links: bool = False,
        bridges: Collection[str] = (),
    ) -> PushPlan:
        """What a push of `local_dir` would do: to `slug`, else to the project the folder is bound to, else
        to a new project. Nothing is sent or bound yet (the preview). `remember=False` for a temporary
        folder (a drop's staging, an unpacked zip): the push keeps no binding of it."""
        if slug is not None:
            safe_segment(slug, "project slug")
        return self.folders.plan(
            Path(local_dir), Direction.PUSH, name=name, slug=slug, remember=remember, follow_links=follow_links,
            bridges=bridges,
        )  # fmt: skip

    def plan_folder(
        self, folder: Path, direction: Direction, *, slug: str | None = None, follow_links: bool = False
    ) -> FolderPlan:
        if slug is not None:
            safe_segment(slug, "project slug")
        return self.folders.plan(Path(folder), direction, slug=slug, follow_links=follow_links)

    def push(
        self,
        plan: FolderPlan,
        *,
        delete: bool = False,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> FolderReport:
        """Carry a plan out (push, pull or sync, as planned): see services/folder_sync.py."""
        return self.folders.run(plan, delete=delete, progress=progress, cancel=cancel)

    run_folder = push

    def pull(
        self,
        slug: str,
        dest: Path,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> FolderReport:
        """Bring the project's changes into the working folder `dest` (made and bound if need be)."""
        plan = self.plan_folder(Path(dest), Direction.PULL, slug=slug)
        if plan.is_new:
            raise NotFound(f"There is no project '{slug}'.")
        return self.folders.run(plan, progress=progress, cancel=cancel)

    def sync_folder(
        self,
        folder: Path,
        *,
        slug: str | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> FolderReport:
        """Both directions at once for a bound working folder (of `slug`, else its most recent binding)."""
        if self.folders.binding(Path(folder), slug) is None:
            raise InvalidInput(f"{folder} is not a working folder yet: push or pull it once first.")
        plan = self.plan_folder(Path(folder), Direction.SYNC, slug=slug)
        return self.folders.run(plan, progress=progress, cancel=cancel)

    def server_view(self, slug: str) -> tuple[Manifest | None, str | None, list[FileEntry]]:
        """The manifest with its version, then the listing — in that order: a manifest written by anyone
        after this read makes a later conditional write of ours fail, so nothing listed here is missed."""
        manifest, version = self.remote(self.repo.get_manifest_versioned, slug)
        return manifest, version, self.remote(self.repo.list_files, slug)

    def links(self, slug: str) -> dict[str, str]:
        """The project's symbolic links (path -> target), as its manifest records them ({} when offline)."""
        try:
            manifest = self.remote(self.repo.get_manifest, slug)
        except Offline:
            return {}
        return dict(manifest.links) if manifest is not None else {}

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
        """Write these server versions under `dest` (each atomically); `on_done(entry, path)` as each lands."""
        return self.remote(
            self.repo.download_tree, slug, Path(dest), entries=entries, progress=progress, cancel=cancel,
            on_done=on_done,
        )  # fmt: skip

    # ---- the manifest --------------------------------------------------------------------------

    def _name_of(self, slug: str) -> str:
        manifest = self.remote(self.repo.get_manifest, slug)
        return manifest.name if manifest is not None else slug

    def update_manifest(
        self, slug: str, changes: Mapping[str, Change], *, contents: Mapping[str, bytes] | None = None
    ) -> Manifest:
        """After writing or deleting files: read the manifest, list the project, write the manifest."""
        previous, version = self.remote(self.repo.get_manifest_versioned, slug)
        entries = self.remote(self.repo.list_files, slug)
        known = {path: change for path, change in changes.items() if change is not None}
        name = previous.name if previous is not None else slug
        return self.commit_manifest(slug, name, previous, version, entries, known=known, contents=contents)

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
    ) -> Manifest:
        """Write the manifest of `entries` (the server's files) over manifest `version` only (If-Match;
        If-None-Match when there was none). When another writer got there first, the manifest is read and
        the project listed again, and the write tried again: one writer at a time, and the last one's
        manifest names exactly the files the server holds."""
        for _ in range(MANIFEST_ATTEMPTS):
            manifest = self._build_manifest(slug, name, previous, entries, known or {}, contents or {}, folder, links)
            try:
                written = self._put_manifest(manifest, version)
            except Conflict:
                previous, version = self.remote(self.repo.get_manifest_versioned, slug)
                entries = self.remote(self.repo.list_files, slug)
                continue
            self.lister.writer.record(manifest, written)  # best effort: the listing checks it anyway
            return manifest
        raise StorageError(f"The manifest of '{slug}' keeps changing on the server; run again.")

    def _put_manifest(self, manifest: Manifest, version: str | None) -> str:
        """Write the manifest over `version`; returns its new version."""
        if not self.conditional_writes:  # the server ignores preconditions: compare just before instead
            if self.remote(self.repo.read_manifest_versioned, manifest.slug)[1] != version:
                raise Conflict(f"The manifest of '{manifest.slug}' changed meanwhile.")
            return self.remote(self.repo.put_manifest, manifest)
        return self.remote(self.repo.put_manifest, manifest, if_match=version, if_none_match=version is None)

    def _build_manifest(
        self,
        slug: str,
        name: str,
        previous: Manifest | None,
        entries: Sequence[FileEntry],
        known: Mapping[str, tuple[str, str]],
        contents: Mapping[str, bytes],
        folder: Path | None,
        links: Mapping[str, str] | None = None,
    ) -> Manifest:
        """The manifest for `entries`: each file's SHA-256 from what we wrote, else from the previous
        manifest when it recorded this very ETag, else read from the server (a file another tool wrote).
        A manifest from before ETags were recorded is trusted for the files it names. Symbolic links: `links`
        when the caller knows them (a working folder's run), else the previous manifest's whose object is
        still the version it recorded."""
        files: dict[str, str] = {}
        etags: dict[str, str] = {}
        legacy = previous is not None and not previous.file_etags
        present: list[FileEntry] = []
        texts = dict(contents)
        for entry in entries:
            if not is_safe_relative_path(entry.path):
                continue
            ours = known.get(entry.path)
            if ours is not None and ours[0] == entry.etag:
                sha = ours[1]
            elif (
                previous is not None
                and entry.path in previous.files
                and (previous.file_etags.get(entry.path) == entry.etag or legacy)
            ):
                sha = previous.files[entry.path]
            else:
                try:
                    data = self.remote(self.repo.read_file, slug, entry.path)
                except NotFound:
                    continue  # deleted meanwhile
                sha = sha256_bytes(data)
                texts.setdefault(entry.path, data)
            files[entry.path] = sha
            etags[entry.path] = entry.etag
            present.append(entry)
        for entry in present:
            if techstack.is_interesting(entry.path) and entry.path not in texts:
                texts[entry.path] = self._interesting(slug, entry, files[entry.path], folder)
        stack = techstack.detect((e.path for e in present), {p: c for p, c in texts.items() if p in files})
        now = time.time()
        return Manifest(
            name=name,
            slug=slug,
            user_id=self.repo.user_id,
            created_date=previous.created_date if previous and previous.created_date else now,
            updated_date=now,
            files_count=len(present),
            total_bytes=sum(entry.size for entry in present),
            tech_stack=stack.tech_stack,
            has_frontend=stack.has_frontend,
            has_backend=stack.has_backend,
            files=dict(sorted(files.items())),
            file_etags=dict(sorted(etags.items())),
            links=dict(sorted(_links(previous, links, etags).items())),
        )

    def _interesting(self, slug: str, entry: FileEntry, sha: str, folder: Path | None) -> bytes:
        """A package file's bytes for the tech stack: from the folder when it holds that version."""
        if folder is not None:
            with contextlib.suppress(OSError):
                data = (folder / entry.path).read_bytes()
                if sha256_bytes(data) == sha:
                    return data
        try:
            return self.remote(self.repo.read_file, slug, entry.path)
        except ProjectDeskError as exc:
            log.warning("could not read %s for the tech stack: %s", entry.path, exc)
            return b""

    # ---- export, import ------------------------------------------------------------------------

    def download_project(
        self,
        slug: str,
        dest: Path,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> DownloadReport:
        """Every file of the project as this service sees it, into `dest` (no working folder: an export)."""
        return self.deliver(slug, Path(dest), self.list_files(slug), progress=progress, cancel=cancel)

    def export_zip(
        self,
        slug: str,
        out: Path,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> DownloadReport:
        """Download the project and pack it into `out` (written atomically: a failed export leaves nothing)."""
        return archive.export_zip(self, slug, out, progress=progress, cancel=cancel)

    def unpack_zip(self, archive_path: Path, into: Path) -> tuple[Path, list[tuple[str, str]]]:
        """Check the zip and unpack it into `into/<zip name>` for a preview (`plan_push`, then `push`)."""
        return archive.unpack_zip(self, archive_path, into)

    def import_zip(
        self,
        archive_path: Path,
        *,
        name: str | None = None,
        slug: str | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> tuple[PushPlan, PushResult]:
        """Check and unpack the whole zip (nothing is sent if any member is bad), then push it as a project."""
        return archive.import_zip(self, archive_path, name=name, slug=slug, progress=progress, cancel=cancel)


def _common_folder(names: list[str]) -> str:
    """'site/' when every member lies in one top folder (as zips of a folder do), else ''."""
    return archive.common_folder(names)


def _links(previous: Manifest | None, known: Mapping[str, str] | None, etags: Mapping[str, str]) -> dict[str, str]:
    """The symbolic links among the files (`etags`): as the caller knows them, else as the previous manifest
    recorded them for the very same object."""
    if known is not None:
        return {path: target for path, target in known.items() if path in etags}
    if previous is None:
        return {}
    return {
        path: target
        for path, target in previous.links.items()
        if path in etags and previous.file_etags.get(path) == etags[path]
    }
