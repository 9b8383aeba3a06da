"""The Repository interface every store implements, and the logic all stores share.

A store implements a few primitives (list, read, write, delete, upload/download one file); listing
projects, deriving metadata for projects without a manifest, and the parallel tree transfers are
written once here.
"""

from __future__ import annotations

import json
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from projectdesk.core import techstack
from projectdesk.core.errors import (
    AuthError,
    BucketMissing,
    Cancelled,
    InvalidInput,
    InvalidKey,
    NoHistory,
    NotFound,
    Offline,
    ProjectDeskError,
    StorageError,
)
from projectdesk.core.keys import PathGate, safe_relative_path
from projectdesk.core.models import FileEntry, FileVersion, Manifest, ManifestInvalid, ProjectInfo
from projectdesk.storage.transfer import DoneCallback, ProgressCallback, TransferResult, run_parallel

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 32


@dataclass(frozen=True, slots=True)
class UploadItem:
    """A local file to send: `path` inside the project, `local_path` on disk."""

    path: str
    local_path: Path
    size: int
    # Preconditions on the server's file: replace only that version / create only if absent.
    if_match: str | None = None
    if_none_match: bool = False
    link_target: str | None = None  # a symbolic link: its target text is what is stored (never followed)

    @property
    def conditional(self) -> bool:
        return self.if_match is not None or self.if_none_match


@dataclass(frozen=True, slots=True)
class TopLevel:
    """A project's top level from one folder-style listing: folder names and the files directly in it (the
    manifest left out). Names are raw (may be hostile): check before use."""

    folders: list[str]
    files: list[FileEntry]


def top_level(entries: Sequence[FileEntry]) -> TopLevel:
    """The top level of a project whose files are `entries`."""
    folders: set[str] = set()
    files: list[FileEntry] = []
    for entry in entries:
        head, sep, _rest = entry.path.partition("/")
        if sep:
            folders.add(head)
        else:
            files.append(entry)
    return TopLevel(sorted(folders), files)


LISTING_PAGE = 1000  # entries per page of `iter_files` (S3 gives 1,000 keys a page)


@dataclass
class UploadReport:
    uploaded: dict[str, FileEntry] = field(default_factory=dict)
    failed: list[tuple[str, ProjectDeskError]] = field(default_factory=list)


@dataclass
class DownloadReport:
    downloaded: list[FileEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (raw key path, why)
    failed: list[tuple[str, ProjectDeskError]] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)  # of files the store hashed as it wrote them
    written: dict[str, Path] = field(default_factory=dict)  # where each downloaded file was written


class Repository(ABC):
    """A store of projects under `projects/{user_id}/{slug}/` (docs/ARCHITECTURE.md, "Bucket layout").

    All methods block; the window calls them from worker threads. Every failure is a ProjectDeskError.
    """

    user_id: str
    workers: int = DEFAULT_WORKERS
    supports_share_links: bool = False  # S3 stores can give an s3:// URI and presigned links
    listing_page: int = LISTING_PAGE  # entries per page of `iter_files`

    # ---- primitives each store implements -------------------------------------------------------

    @property
    @abstractmethod
    def description(self) -> str:
        """Where the data lives, for people (never contains a secret)."""

    @abstractmethod
    def list_slugs(self) -> list[str]: ...

    @abstractmethod
    def list_files(self, slug: str) -> list[FileEntry]:
        """Every file of the project but the manifest. Paths are raw (may be hostile): check before use."""

    def iter_files(self, slug: str) -> Generator[list[FileEntry], None, None]:
        """`list_files`' entries page by page (at most `listing_page` each), as the store lists them: a caller
        can show or count what has arrived, or stop early. Stores that can list in pieces override this."""
        entries = self.list_files(slug)
        for start in range(0, len(entries), self.listing_page):
            yield entries[start : start + self.listing_page]

    def list_top(self, slug: str) -> TopLevel:
        """The project's top level: its folders and the files directly in it. Stores override this with one
        folder-style listing (S3: Delimiter "/"; a folder: one scandir); this default lists everything."""
        return top_level(self.list_files(slug))

    @abstractmethod
    def read_file(self, slug: str, path: str) -> bytes: ...

    @abstractmethod
    def stat_file(self, slug: str, path: str) -> FileEntry: ...

    @abstractmethod
    def write_file(
        self,
        slug: str,
        path: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
        project_name: str | None = None,
    ) -> FileEntry:
        """Store `data`; with `if_match`, only if the current etag is that (else Conflict); with
        `if_none_match`, only if no such file exists (else Conflict)."""

    @abstractmethod
    def delete_file(self, slug: str, path: str, *, if_match: str | None = None) -> None: ...

    @abstractmethod
    def delete_paths(self, slug: str, paths: Sequence[str]) -> int:
        """Delete many files (raw paths as listed, hostile ones included); returns how many."""

    @abstractmethod
    def upload_one(self, slug: str, item: UploadItem, project_name: str) -> FileEntry: ...

    @abstractmethod
    def download_one(self, slug: str, entry: FileEntry, target: Path) -> None:
        """Write the file to `target` atomically (a temp file beside it, then rename)."""

    def read_manifest_bytes(self, slug: str) -> bytes | None:
        return self.read_manifest_versioned(slug)[0]

    @abstractmethod
    def read_manifest_versioned(self, slug: str) -> tuple[bytes | None, str | None]:
        """The manifest's bytes and version (ETag), or (None, None) when there is none."""

    @abstractmethod
    def write_manifest_bytes(
        self,
        slug: str,
        data: bytes,
        project_name: str,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        """Write the manifest (only over version `if_match` / only if none exists, else Conflict);
        returns its new version."""

    def abort_stale_uploads(self, slug: str, before: float) -> int:
        """Abort the project's unfinished multipart uploads begun before `before` (epoch seconds): what a
        killed transfer leaves behind. Returns how many; stores without multipart uploads have none."""
        return 0

    @abstractmethod
    def delete_manifest(self, slug: str) -> None: ...

    def s3_uri(self, slug: str, path: str = "") -> str:
        """`s3://bucket/projects/{user}/{slug}/{path}` (the project's prefix when `path` is empty)."""
        raise InvalidInput(f"S3 URIs need an S3 store; this one is a {self.description}.")

    def presign_url(self, slug: str, path: str, expires_seconds: int) -> str:
        """A link anyone can download the file with until it expires (signed here, no network)."""
        raise InvalidInput(f"Share links need an S3 store; this one is a {self.description}.")

    # ---- file history (S3 versioning); a store without it says so ---------------------------------

    def versioning(self) -> str:
        """Whether the store keeps old versions: "Enabled", "Suspended", "" (never enabled), or
        "unsupported" for a store that cannot (the local folder store)."""
        return "unsupported"

    def enable_versioning(self) -> None:
        """Make the store keep every version from now on."""
        raise self._no_history()

    def list_versions(self, slug: str, path: str | None = None, *, limit: int | None = None) -> list[FileVersion]:
        """The versions of one file (exactly `path`), or of every object of the project (the manifest's too),
        each key's newest first, delete markers included; at most `limit` when given. Paths are raw."""
        raise self._no_history()

    def read_version(self, slug: str, path: str, version_id: str) -> bytes:
        raise self._no_history()

    def version_metadata(self, slug: str, path: str, version_id: str) -> dict[str, str]:
        """The user metadata a version was written with (a HEAD of that version)."""
        raise self._no_history()

    def restore_version(
        self,
        slug: str,
        path: str,
        version_id: str,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
        size: int | None = None,
    ) -> FileEntry:
        """Make version `version_id` (of `size` bytes, when known) the current one again by a server-side
        copy: a new version, so nothing later is deleted. Only over current version `if_match` / only while
        the file is deleted (`if_none_match`), else Conflict."""
        raise self._no_history()

    def history_unavailable(self, status: str, profile_name: str = "") -> NoHistory:
        """The one sentence for history asked of this store while `versioning()` says `status`."""
        return self._no_history()

    def _no_history(self) -> NoHistory:
        return NoHistory(
            f"The {self.description} keeps no old versions of files: file history needs an S3 bucket with versioning."
        )

    # ---- shared behaviour ------------------------------------------------------------------------

    def get_manifest(self, slug: str) -> Manifest | None:
        """The project's manifest, or None when it has none or it is unreadable (logged): such a project is
        treated as manifest-less (listed from its files, hashed again on the next push)."""
        data = self.read_manifest_bytes(slug)
        return None if data is None else self.parse_manifest(slug, data)

    def get_manifest_versioned(self, slug: str) -> tuple[Manifest | None, str | None]:
        """The manifest (None when absent or unreadable) and the version it was read at: an unreadable one
        is replaced, conditionally, by the next writer."""
        data, version = self.read_manifest_versioned(slug)
        return (None if data is None else self.parse_manifest(slug, data)), version

    def parse_manifest(self, slug: str, data: bytes) -> Manifest | None:
        try:
            return Manifest.from_bytes(data, slug=slug)  # the key is the truth, whatever the file says
        except ManifestInvalid as exc:
            log.warning("manifest of %s is unreadable (%s); treating the project as manifest-less", slug, exc)
            return None

    def put_manifest(self, manifest: Manifest, *, if_match: str | None = None, if_none_match: bool = False) -> str:
        """Write `manifest` (conditionally, as `write_manifest_bytes`); returns its new version."""
        data = json.dumps(manifest.to_json(), indent=1, sort_keys=True).encode("utf-8")
        return self.write_manifest_bytes(
            manifest.slug, data, manifest.name, if_match=if_match, if_none_match=if_none_match
        )

    def project_exists(self, slug: str) -> bool:
        return self.read_manifest_bytes(slug) is not None or bool(self.list_files(slug))

    def delete_project(self, slug: str) -> int:
        """Delete every object of the project (files first, then the manifest); returns the file count."""
        count = self.delete_paths(slug, [entry.path for entry in self.list_files(slug)])
        self.delete_manifest(slug)
        return count

    def project_info(self, slug: str) -> ProjectInfo:
        """From the manifest; from the files when there is none, or with a warning when it is unreadable."""
        data = self.read_manifest_bytes(slug)
        warning = ""
        if data is not None:
            try:
                return ProjectInfo.from_manifest(Manifest.from_bytes(data, slug=slug), self.user_id)
            except ManifestInvalid as exc:
                log.warning("manifest of %s is unreadable (%s); listing the project from its files", slug, exc)
                warning = f"its manifest is unreadable ({exc}); listed from its files"
        entries = self.list_files(slug)
        if not entries and warning:  # only a bad manifest: still listed, so it can be seen and deleted
            info = ProjectInfo(slug, slug, self.user_id, 0.0, 0.0, 0, 0, [], False, False, has_manifest=False)
        else:
            info = self.derive_info(slug, entries)
        info.warning = warning
        return info

    def derive_info(self, slug: str, entries: Sequence[FileEntry]) -> ProjectInfo:
        """Metadata for a project another tool wrote: name = slug, stack from names and package files."""
        if not entries:
            raise NotFound(f"There is no project '{slug}'.")
        contents: dict[str, bytes] = {}
        for entry in entries:
            if techstack.is_interesting(entry.path) and entry.size <= techstack.INTERESTING_MAX_BYTES:
                try:
                    contents[entry.path] = self.read_file(slug, entry.path)
                except ProjectDeskError as exc:
                    log.warning("could not read %s of %s for its tech stack: %s", entry.path, slug, exc)
        stack = techstack.detect((e.path for e in entries), contents)
        times = [e.last_modified for e in entries]
        return ProjectInfo(
            name=slug,
            slug=slug,
            user_id=self.user_id,
            created_date=min(times),
            updated_date=max(times),
            files_count=len(entries),
            total_bytes=sum(e.size for e in entries),
            tech_stack=stack.tech_stack,
            has_frontend=stack.has_frontend,
            has_backend=stack.has_backend,
            has_manifest=False,
        )

    def list_projects(self) -> list[ProjectInfo]:
        """Every project of this user, newest first; one unreadable project does not hide the rest."""
        slugs = self.list_slugs()

        def info(slug: str) -> ProjectInfo | None:
            try:
                return self.project_info(slug)
            except NotFound:
                return None  # emptied between the listing and now
            except (AuthError, BucketMissing, Offline, Cancelled):
                raise  # not this project's fault: the whole listing fails
            except ProjectDeskError as exc:
                log.warning("could not read project %s: %s", slug, exc)
                return ProjectInfo(
                    slug, slug, self.user_id, 0.0, 0.0, 0, 0, [], False, False,
                    has_manifest=False, warning=f"it could not be read ({exc})",
                )  # fmt: skip

        with ThreadPoolExecutor(max_workers=min(16, max(1, len(slugs)))) as pool:
            projects = [p for p in pool.map(info, slugs) if p is not None]
        return sorted(projects, key=lambda p: (-p.updated_date, p.slug))

    def upload_tree(
        self,
        slug: str,
        items: Sequence[UploadItem],
        *,
        project_name: str,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        on_done: DoneCallback[UploadItem, FileEntry] | None = None,
    ) -> UploadReport:
        """Send `items`; `on_done(item, entry)` is called on this thread as each one lands."""
        for item in items:
            safe_relative_path(item.path)
        result = self._upload_many(slug, items, project_name, progress, cancel, on_done)
        report = UploadReport()
        report.uploaded = {item.path: entry for item, entry in result.done}
        report.failed = [(item.path, error) for item, error in result.failed]
        return report

    def download_tree(
        self,
        slug: str,
        dest: Path,
        *,
        entries: Sequence[FileEntry] | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        on_done: Callable[[FileEntry, Path], None] | None = None,
        hashes: dict[str, str] | None = None,
    ) -> DownloadReport:
        """Download the project (or `entries`) under `dest`; unsafe names are skipped, never written.
        `on_done(entry, written_to)` is called on this thread as each file is in place.
        `hashes` becomes the report's `sha256`, filled as files land (each before its `on_done`).

        Each file written is the version its entry lists (stores that can pin a GET to an ETag do, so a
        file replaced on the server meanwhile fails rather than arriving as another version)."""
        report = DownloadReport() if hashes is None else DownloadReport(sha256=hashes)
        dest.mkdir(parents=True, exist_ok=True)
        gate = PathGate(dest)
        wanted: list[tuple[FileEntry, Path]] = []
        for entry in self.list_files(slug) if entries is None else entries:
            try:
                wanted.append((entry, gate.join(entry.path)))
            except InvalidKey as exc:
                log.warning("skipping unsafe name in %s: %r (%s)", slug, entry.path, exc)
                report.skipped.append((entry.path, exc.message))
        landed = None if on_done is None else lambda pair, entry: on_done(entry, pair[1])
        result = self._download_many(slug, wanted, progress, cancel, report.sha256, landed)
        report.downloaded = [entry for _, entry in result.done]
        report.written = {entry.path: target for (_, target), entry in result.done}
        report.failed = [(pair[0].path, error) for pair, error in result.failed]
        return report

    # ---- how many files move (a store may do it better than a thread per file) --------------------

    def _upload_many(
        self,
        slug: str,
        items: Sequence[UploadItem],
        project_name: str,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        on_done: DoneCallback[UploadItem, FileEntry] | None = None,
    ) -> TransferResult[UploadItem, FileEntry]:
        """Send `items` (paths already checked): by default `upload_one` on `workers` threads."""
        return run_parallel(
            items,
            lambda item: self.upload_one(slug, item, project_name),
            name_of=lambda item: item.path,
            size_of=lambda item: item.size,
            workers=self.workers,
            progress=progress,
            cancel=cancel,
            on_done=on_done,
        )

    def _download_many(
        self,
        slug: str,
        wanted: Sequence[tuple[FileEntry, Path]],
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        hashes: dict[str, str] | None = None,
        on_done: DoneCallback[tuple[FileEntry, Path], FileEntry] | None = None,
    ) -> TransferResult[tuple[FileEntry, Path], FileEntry]:
        """Fetch each (entry, target inside dest): by default `download_one` on `workers` threads. A store
        that has a file's bytes in memory anyway may record their SHA-256 in `hashes` (path -> hex)."""
        folders = FolderMaker()

        def fetch(pair: tuple[FileEntry, Path]) -> FileEntry:
            entry, target = pair
            folders.ensure(entry.path, target.parent)
            self.download_one(slug, entry, target)
            return entry

        return run_parallel(
            wanted,
            fetch,
            name_of=lambda pair: pair[0].path,
            size_of=lambda pair: pair[0].size,
            workers=self.workers,
            progress=progress,
            cancel=cancel,
            on_done=on_done,
        )


class FolderMaker:
    """Creates the folders of downloaded files once each (thread-safe), with a clear error when a
    file stands where a folder should be."""

    def __init__(self) -> None:
        self._made: set[Path] = set()
        self._lock = threading.Lock()

    def ensure(self, path: str, folder: Path) -> None:
        if folder in self._made:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StorageError(f"{path}: a file stands where its folder should be.") from None
        with self._lock:
            self._made.add(folder)
