"""LocalRepository: the same `projects/{user_id}/{slug}/…` layout in a folder — the zero-config store."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sys
import threading
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path

from projectdesk.core import keys
from projectdesk.core.errors import Conflict, NotFound, StorageError
from projectdesk.core.models import MAX_MANIFEST_BYTES, FileEntry
from projectdesk.storage.atomic import TEMP_PREFIX, copy_replace, write_atomic
from projectdesk.storage.repository import DEFAULT_WORKERS, Repository, TopLevel, UploadItem

log = logging.getLogger(__name__)


def _not_utf8(path: str) -> bool:
    """A name read from disk that held bytes no UTF-8 decoder accepts (Python keeps them as surrogates)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def local_etag(stat: os.stat_result) -> str:
    """Changes whenever the file is replaced or rewritten (atomic writes give a new inode)."""
    return f"{stat.st_size:x}-{stat.st_mtime_ns:x}-{stat.st_ino:x}"


class LocalRepository(Repository):
    """Projects stored as plain files under `root/projects/{user_id}/{slug}/`."""

    def __init__(self, root: Path, *, user_id: str = keys.DEFAULT_USER_ID, workers: int = 8) -> None:
        keys.safe_segment(user_id, "user id")
        self.root = Path(root)
        self.user_id = user_id
        self.workers = min(workers, DEFAULT_WORKERS)
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return f"local folder {self.root}"

    def _user_dir(self) -> Path:
        return self.root / keys.user_prefix(self.user_id)

    def _project_dir(self, slug: str) -> Path:
        return self.root / keys.project_prefix(self.user_id, slug)

    def _file(self, slug: str, path: str) -> Path:
        return keys.join_inside(self._project_dir(slug), path)

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Serialise check-then-write, across threads and (where flock exists) across processes."""
        with self._lock:
            if sys.platform == "win32":  # no flock: the in-process lock still serialises this process
                yield
                return
            import fcntl

            self.root.mkdir(parents=True, exist_ok=True)
            with open(self.root / ".projectdesk.lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _os_errors(self, what: str, target: Path | None = None) -> Iterator[None]:
        """OSErrors of `what` as ProjectDeskErrors; a full disk (ENOSPC, EDQUOT) names the folder of the file
        it failed on, else of `target` (write() and close() errors carry no file name)."""
        try:
            yield
        except FileNotFoundError:
            raise NotFound(f"Not found ({what}).") from None
        except IsADirectoryError:
            raise NotFound(f"{what} is a folder, not a file.") from None
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
                raise StorageError(f"{what}: {exc.strerror or exc}") from None
            from projectdesk.storage.errors import DiskFull, disk_full_error  # loads botocore: only when needed

            where = Path(os.fsdecode(exc.filename)) if exc.filename else target
            if where is None:
                raise DiskFull(f"The disk being written to is full ({what}).") from None
            raise disk_full_error(where, None) from None

    # ---- listing ---------------------------------------------------------------------------------

    def list_slugs(self) -> list[str]:
        base = self._user_dir()
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and keys.is_safe_relative_path(p.name))

    def list_files(self, slug: str) -> list[FileEntry]:
        return [entry for page in self.iter_files(slug) for entry in page]

    def iter_files(self, slug: str) -> Generator[list[FileEntry], None, None]:
        """The folder walked in order, its files handed on `listing_page` at a time."""
        base = self._project_dir(slug)
        entries: list[FileEntry] = []
        for directory, dirnames, filenames in os.walk(base):  # os.walk does not follow symlinks
            dirnames.sort()
            rel_dir = os.path.relpath(directory, base)
            for name in sorted(filenames):
                path = name if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{name}"
                entry = self._entry(path, os.path.join(directory, name))
                if entry is not None:
                    entries.append(entry)
                if len(entries) == self.listing_page:
                    yield entries
                    entries = []
        if entries:
            yield entries

    def list_top(self, slug: str) -> TopLevel:
        """One scandir of the project's folder: its folders (not symbolic links to folders, which a listing
        does not enter either) and the files directly in it."""
        folders: list[str] = []
        files: list[FileEntry] = []
        try:
            with os.scandir(self._project_dir(slug)) as found:
                for item in sorted(found, key=lambda item: item.name):
                    if item.is_dir(follow_symlinks=False):
                        if not item.name.isprintable() and _not_utf8(item.name):
                            continue
                        folders.append(item.name)
                    elif not item.is_dir():
                        entry = self._entry(item.name, item.path)
                        if entry is not None:
                            files.append(entry)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StorageError(f"Listing {slug}: {exc.strerror or exc}") from None
        return TopLevel(folders, files)

    def _entry(self, path: str, full: str) -> FileEntry | None:
        """The entry of one file the walk found; None for our temporary files, the manifest, a name that is
        not UTF-8, and a file that vanished meanwhile."""
        if path.rsplit("/", 1)[-1].startswith(TEMP_PREFIX) or path == keys.MANIFEST_NAME:
            return None
        if not path.isprintable() and _not_utf8(path):
            log.warning("skipping a stored name that is not UTF-8: %r", path)
            return None
        try:
            stat = os.stat(full, follow_symlinks=False)
        except OSError:
            return None  # vanished while listing
        return FileEntry(path, stat.st_size, local_etag(stat), stat.st_mtime)

    # ---- single files ----------------------------------------------------------------------------

    def read_file(self, slug: str, path: str) -> bytes:
        with self._os_errors(f"{slug}/{path}"):
            return self._file(slug, path).read_bytes()

    def stat_file(self, slug: str, path: str) -> FileEntry:
        with self._os_errors(f"{slug}/{path}"):
            stat = self._file(slug, path).stat()
        return FileEntry(path, stat.st_size, local_etag(stat), stat.st_mtime)

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
        target = self._file(slug, path)
        with self._write_lock(), self._os_errors(f"{slug}/{path}", target):
            self._check_condition(slug, path, target, if_match, if_none_match)
            write_atomic(target, data)
            return self.stat_file(slug, path)

    def _check_condition(self, slug: str, path: str, target: Path, if_match: str | None, if_none_match: bool) -> None:
        exists = target.is_file()
        if if_none_match and exists:
            raise Conflict(f"{path} already exists in '{slug}'; nothing was overwritten.")
        if if_match is not None and (not exists or local_etag(target.stat()) != if_match):
            raise Conflict(f"{path} changed in '{slug}' since it was last read; nothing was overwritten.")

    def delete_file(self, slug: str, path: str, *, if_match: str | None = None) -> None:
        target = self._file(slug, path)
        with self._write_lock(), self._os_errors(f"{slug}/{path}"):
            if if_match is not None:
                self._check_condition(slug, path, target, if_match, False)
            target.unlink()
            self._prune_empty_dirs(target.parent, self._project_dir(slug))

    def delete_paths(self, slug: str, paths: Sequence[str]) -> int:
        base = self._project_dir(slug)
        count = 0
        for path in paths:
            # Listed paths came from this folder, but a hostile name still must not reach unlink().
            target = Path(os.path.join(base, *path.split("/")))
            if os.path.commonpath([base, target]) != str(base).rstrip("/"):
                continue
            with self._os_errors(f"{slug}/{path}"):
                target.unlink(missing_ok=True)
            count += 1
        if count == len(paths) and base.is_dir() and not any(base.iterdir()):
            shutil.rmtree(base, ignore_errors=True)
        return count

    def delete_project(self, slug: str) -> int:
        count = super().delete_project(slug)
        shutil.rmtree(self._project_dir(slug), ignore_errors=True)
        return count

    @staticmethod
    def _prune_empty_dirs(directory: Path, stop: Path) -> None:
        while directory != stop and stop in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    # ---- transfers -------------------------------------------------------------------------------

    def upload_one(self, slug: str, item: UploadItem, project_name: str) -> FileEntry:
        target = self._file(slug, item.path)
        guard = self._write_lock() if item.conditional else contextlib.nullcontext()
        with guard, self._os_errors(item.path, target), open(item.local_path, "rb") as source:
            if item.conditional:
                self._check_condition(slug, item.path, target, item.if_match, item.if_none_match)
            write_atomic(target, iter(lambda: source.read(1024 * 1024), b""))
            return self.stat_file(slug, item.path)

    def download_one(self, slug: str, entry: FileEntry, target: Path) -> None:
        """Copy the listed version to `target` (a temp file renamed over it; no fsync, as for S3 pulls).
        A file replaced since it was listed fails, as an If-Match GET does."""
        source = self._file(slug, entry.path)
        with self._os_errors(f"{slug}/{entry.path}", target), open(source, "rb") as handle:
            if entry.etag and local_etag(os.fstat(handle.fileno())) != entry.etag:
                raise Conflict(f"{entry.path} changed in '{slug}' since it was listed; it was not downloaded.")
            copy_replace(handle, target)

    # ---- manifest --------------------------------------------------------------------------------

    def read_manifest_versioned(self, slug: str) -> tuple[bytes | None, str | None]:
        try:
            with open(self._project_dir(slug) / keys.MANIFEST_NAME, "rb") as handle:
                # never more than one byte past the cap: a huge manifest is refused, not read whole
                return handle.read(MAX_MANIFEST_BYTES + 1), local_etag(os.fstat(handle.fileno()))
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            raise StorageError(f"manifest of {slug}: {exc.strerror or exc}") from None

    def write_manifest_bytes(
        self,
        slug: str,
        data: bytes,
        project_name: str,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        target = self._project_dir(slug) / keys.MANIFEST_NAME
        with self._write_lock(), self._os_errors(f"manifest of {slug}", target):
            self._check_condition(slug, keys.MANIFEST_NAME, target, if_match, if_none_match)
            write_atomic(target, data)
            return local_etag(target.stat())

    def delete_manifest(self, slug: str) -> None:
        (self._project_dir(slug) / keys.MANIFEST_NAME).unlink(missing_ok=True)
