"""File blobs of the cache: `cache/{profile}/{user_id}/{slug}/{path}`, written atomically, hashed as written.

Paths come from bucket keys, which are hostile: every one goes through the key gate (`core.keys`)
under its project's folder, so nothing lands outside it whatever the key says.

A clean copy (the server's version) may share its inode with the file a pull wrote for the user
(`link_or_copy`): one download, no second copy on disk. The cache never writes into an existing blob (every
write is a new file renamed into place), so nothing it does reaches the user's file; a user's edit of
that file in place changes the blob's (size, mtime, inode), which the store checks before it trusts a
clean copy (`CacheStore.verified`), so the edit is never taken for the server's version. Local edits
are never linked: they are copied out; so is a clean copy already linked to one folder, so that two
folders a user pulled into never share a file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from projectdesk.cache.peek import META_DIR
from projectdesk.core.errors import StorageError
from projectdesk.core.keys import PathGate, join_inside, safe_segment
from projectdesk.storage.atomic import TEMP_PREFIX, copy_replace, write_atomic

CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """What the index records of a blob; (size, mtime_ns, ino) tell at start-up whether it changed."""

    sha256: str
    size: int
    mtime_ns: int
    ino: int


def _write_error(path: str, target: Path, exc: OSError, size: int | None) -> StorageError:
    """The error for a blob `target` (of `path`, `size` bytes) the cache could not write: a full disk
    (ENOSPC, EDQUOT) names the cache folder whose disk it is and the room it lacks."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        from projectdesk.storage.errors import disk_full_error  # loads botocore: only when a disk is full

        return disk_full_error(target, size)
    return StorageError(f"Could not write {path} to the offline cache: {exc.strerror or exc}.")


def _size_of(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def hash_file(path: Path) -> str:
    """SHA-256 of a file, read once."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def etag_mismatch(etag: str, md5: str) -> bool:
    """True when `etag` is a plain MD5 (a single-part S3 upload) and not that of the content.

    Catches a file replaced between our HEAD/listing and our GET; other etags (multipart, the local
    store's) cannot be checked and count as matching.
    """
    plain = len(etag) == 32 and all(c in "0123456789abcdef" for c in etag.lower())
    return plain and etag.lower() != md5


class BlobStore:
    """The blob folders of one profile under `cache_root`."""

    def __init__(self, cache_root: Path, profile: str) -> None:
        safe_segment(profile, "profile name")
        self.cache_root = Path(cache_root)
        self.profile = profile
        self.root = join_inside(self.cache_root, profile)
        self.meta_dir = self.root / META_DIR
        self.staging_dir = self.meta_dir / "staging"

    def project_dir(self, user_id: str, slug: str) -> Path:
        safe_segment(user_id, "user id")
        safe_segment(slug, "project slug")
        return join_inside(self.cache_root, f"{self.profile}/{user_id}/{slug}")

    def gate(self, user_id: str, slug: str) -> PathGate:
        """The key gate of one project's folder, for one bulk operation (each folder resolved once)."""
        return PathGate(self.project_dir(user_id, slug))

    def path(self, user_id: str, slug: str, path: str, gate: PathGate | None = None) -> Path:
        return (gate or self.gate(user_id, slug)).join(path)

    @staticmethod
    def _info(target: Path, sha: str) -> BlobInfo:
        st = target.stat()
        return BlobInfo(sha, st.st_size, st.st_mtime_ns, st.st_ino)

    def write(self, user_id: str, slug: str, path: str, data: bytes) -> BlobInfo:
        """Write a blob atomically (temp file beside it, fsync, rename)."""
        target = self.path(user_id, slug, path)
        try:
            write_atomic(target, data)
            return self._info(target, hashlib.sha256(data).hexdigest())
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            raise StorageError(f"{path} cannot be kept offline: a file and a folder share its name.") from None
        except OSError as exc:
            raise _write_error(path, target, exc, len(data)) from None

    def adopt(
        self,
        source: Path,
        user_id: str,
        slug: str,
        path: str,
        *,
        move: bool = True,
        link: bool = True,
        sha256: str | None = None,
        gate: PathGate | None = None,
    ) -> BlobInfo:
        """Take a downloaded file into the cache: moved from the staging area, or (`move` False: a file a
        pull wrote for the user) hard-linked (`link`; copied where links are not possible) or copied.
        Hashed once, SHA-256 only (`sha256` when the download computed it): the download was pinned to
        its listed version, so there is no ETag to check against an MD5."""
        target = self.path(user_id, slug, path, gate)

        def place() -> None:
            if move:
                os.replace(source, target)
            elif link:
                self.link_or_copy(source, target)
            else:
                copy_replace(source, target)

        try:
            if sha256 is None:
                sha256 = hash_file(source)
            try:
                place()
            except FileNotFoundError:  # its folder is not there (yet, or any more): one mkdir per folder
                target.parent.mkdir(parents=True, exist_ok=True)
                place()
            return self._info(target, sha256)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            raise StorageError(f"{path} cannot be kept offline: a file and a folder share its name.") from None
        except OSError as exc:
            raise _write_error(path, target, exc, _size_of(source)) from None

    @staticmethod
    def link_or_copy(source: Path, target: Path) -> None:
        """Give `target` the content of `source` in one step: a hard link where the file systems allow
        (no second copy on disk), else a copy; an existing `target` is replaced. A missing folder of
        `target` raises FileNotFoundError (the caller makes folders)."""
        try:
            os.link(source, target)
            return
        except FileExistsError:
            pass  # replaced below, in one step
        except FileNotFoundError:
            raise
        except OSError:  # EXDEV (another file system), EPERM, EMLINK, no hard links there at all
            copy_replace(source, target)
            return
        temp = target.parent / f"{TEMP_PREFIX}link-{os.getpid()}-{threading.get_ident()}"
        temp.unlink(missing_ok=True)
        try:
            os.link(source, temp)
        except OSError:
            copy_replace(source, target)
            return
        try:
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def read(self, user_id: str, slug: str, path: str) -> bytes | None:
        try:
            return self.path(user_id, slug, path).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def stat(self, user_id: str, slug: str, path: str) -> tuple[int, int, int] | None:
        """(size, mtime_ns, ino), or None when there is no such file."""
        try:
            st = self.path(user_id, slug, path).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISDIR(st.st_mode):
            return None
        return st.st_size, st.st_mtime_ns, st.st_ino

    def hash(self, user_id: str, slug: str, path: str) -> BlobInfo | None:
        target = self.path(user_id, slug, path)
        try:
            return self._info(target, hash_file(target))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def remove(self, user_id: str, slug: str, path: str) -> None:
        target = self.path(user_id, slug, path)
        try:
            target.unlink(missing_ok=True)
        except (IsADirectoryError, PermissionError, NotADirectoryError):
            return
        stop = self.root / user_id
        directory = target.parent
        while directory != stop and stop in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def remove_project(self, user_id: str, slug: str) -> None:
        shutil.rmtree(self.project_dir(user_id, slug), ignore_errors=True)

    def new_staging(self) -> Path:
        import tempfile

        self.staging_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="fill-", dir=self.staging_dir))

    def walk(self) -> Iterator[tuple[str, str, str, Path]]:
        """Every file under the profile's blob folders as (user_id, slug, path, full path)."""
        if not self.root.is_dir():
            return
        for user_dir in sorted(self.root.iterdir()):
            if user_dir.name == META_DIR or not user_dir.is_dir() or user_dir.is_symlink():
                continue
            for project_dir in sorted(user_dir.iterdir()):
                if not project_dir.is_dir() or project_dir.is_symlink():
                    continue
                for directory, dirnames, filenames in os.walk(project_dir):
                    dirnames.sort()
                    rel_dir = os.path.relpath(directory, project_dir)
                    for name in filenames:
                        rel = name if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{name}"
                        yield user_dir.name, project_dir.name, rel, Path(directory, name)

    def prune_empty_dirs(self) -> None:
        if not self.root.is_dir():
            return
        for directory, _, _ in sorted(os.walk(self.root), key=lambda item: -len(item[0])):
            here = Path(directory)
            if here == self.root or here == self.meta_dir or self.meta_dir in here.parents:
                continue
            with contextlib.suppress(OSError):
                os.rmdir(directory)
