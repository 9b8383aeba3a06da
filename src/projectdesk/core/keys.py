"""The bucket layout `projects/{user_id}/{slug}/{path}` and the one gate from a key to a local path.

Keys in a bucket are hostile input: anything may have written them. A key becomes a path on disk only
through `safe_relative_path`, and the joined path is checked again to lie inside its root.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from projectdesk.core.errors import InvalidKey

ROOT_PREFIX = "projects/"
MANIFEST_NAME = ".projectdesk.json"
DEFAULT_USER_ID = "anonymous"
MAX_SEGMENT_BYTES = 255  # the longest file name common file systems accept
MAX_KEY_BYTES = 1024  # S3's limit on a whole key

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_relative_path(path: str) -> str:
    """Return `path` unchanged if it is a safe relative POSIX path, else raise InvalidKey.

    Rejected: empty paths, NUL and other control characters, backslashes, absolute paths, drive
    letters, `.`/`..` and empty segments, and names longer than file systems take.
    """
    if not path:
        raise InvalidKey("An empty file name is not allowed.")
    if "\x00" in path or _CONTROL.search(path):
        raise InvalidKey(f"The name '{_shown(path)}' contains control characters (such as NUL).")
    if "\\" in path:
        raise InvalidKey(f"The name '{_shown(path)}' contains a backslash, which is not a folder separator here.")
    if path.startswith("/"):
        raise InvalidKey(f"The name '{_shown(path)}' is an absolute path.")
    if _DRIVE.match(path):
        raise InvalidKey(f"The name '{_shown(path)}' starts with a drive letter.")
    ascii_only = path.isascii()  # then characters are bytes: no encoding needed to measure
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey(f"The name '{_shown(path)}' has an empty, '.' or '..' part.")
        size = len(segment) if ascii_only else len(segment.encode("utf-8", "surrogatepass"))
        if size > MAX_SEGMENT_BYTES:
            raise InvalidKey(f"A part of '{_shown(path)[:80]}…' is longer than {MAX_SEGMENT_BYTES} bytes.")
    if (len(path) if ascii_only else len(path.encode("utf-8", "surrogatepass"))) > MAX_KEY_BYTES - 200:
        raise InvalidKey(f"The name '{_shown(path)[:80]}…' is too long to store.")
    return path


def _shown(path: str) -> str:
    """A path as an error message shows it (control characters escaped)."""
    return repr(path)[1:-1]


def user_path(path: str) -> str:
    """`safe_relative_path`, and not the manifest's reserved name: a path a person may write or delete."""
    safe_relative_path(path)
    if path == MANIFEST_NAME:
        raise InvalidKey(f"The name {MANIFEST_NAME} is reserved for the project's manifest; choose another name.")
    return path


def is_safe_relative_path(path: str) -> bool:
    try:
        safe_relative_path(path)
    except InvalidKey:
        return False
    return True


def safe_segment(value: str, what: str) -> str:
    """Validate a user id or slug: one safe path segment."""
    if "/" in value:
        raise InvalidKey(f"The {what} '{value}' may not contain '/'.")
    try:
        return safe_relative_path(value)
    except InvalidKey as exc:
        raise InvalidKey(f"The {what} is not usable: {exc.message}") from None


def user_prefix(user_id: str) -> str:
    return f"{ROOT_PREFIX}{safe_segment(user_id, 'user id')}/"


def project_prefix(user_id: str, slug: str) -> str:
    return f"{user_prefix(user_id)}{safe_segment(slug, 'project slug')}/"


def object_key(user_id: str, slug: str, path: str) -> str:
    return project_prefix(user_id, slug) + safe_relative_path(path)


def manifest_key(user_id: str, slug: str) -> str:
    return project_prefix(user_id, slug) + MANIFEST_NAME


def join_inside(root: Path, relative: str) -> Path:
    """Join a validated relative path onto `root`; raise InvalidKey if the result escapes `root`.

    The second check (after `safe_relative_path`) catches escapes through symlinks already on disk.
    """
    safe_relative_path(relative)
    root_real = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root_real, *PurePosixPath(relative).parts))
    if os.path.commonpath([root_real, target]) != root_real or target == root_real:
        raise InvalidKey(f"The name '{relative}' would be written outside {root}.")
    return Path(target)


class PathGate:
    """`join_inside` for many paths under one root: each folder is resolved once, not once per file.

    `join_inside` resolves every component of every path (an lstat each): ≈0.2 ms a file, a third of a
    2,000-file pull. Here a folder's real path is kept once resolved, and only a file's last component
    is checked for a symlink. Meant for one bulk operation that itself creates only plain folders and
    files under `root` (a key cannot make a symlink), so a folder resolved once stays what it was.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._root_real = os.path.realpath(root)
        self._folders: dict[str, str] = {"": self._root_real}

    def _inside(self, real: str) -> bool:
        return real != self._root_real and os.path.commonpath([self._root_real, real]) == self._root_real

    def entry(self, relative: str) -> Path:
        """Where `relative` itself lives, its last component not followed (a symbolic link stays the link):
        the folder is resolved and checked as `join` does."""
        safe_relative_path(relative)
        folder, _, name = relative.rpartition("/")
        return Path(self._folder(folder, relative), name)

    def _folder(self, folder: str, relative: str) -> str:
        folder_real = self._folders.get(folder)
        if folder_real is None:
            folder_real = os.path.realpath(os.path.join(self._root_real, *folder.split("/")))
            if not self._inside(folder_real):
                raise InvalidKey(f"The name '{relative}' would be written outside {self.root}.")
            self._folders[folder] = folder_real
        return folder_real

    def join(self, relative: str) -> Path:
        safe_relative_path(relative)
        folder, _, name = relative.rpartition("/")
        folder_real = self._folders.get(folder)
        if folder_real is None:
            folder_real = os.path.realpath(os.path.join(self._root_real, *folder.split("/")))
            if not self._inside(folder_real):
                raise InvalidKey(f"The name '{relative}' would be written outside {self.root}.")
            self._folders[folder] = folder_real
        target = os.path.join(folder_real, name)
        if os.path.islink(target):
            target = os.path.realpath(target)
            if not self._inside(target):
                raise InvalidKey(f"The name '{relative}' would be written outside {self.root}.")
        return Path(target)
