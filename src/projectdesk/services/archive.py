"""Zip export and import of projects.

A zip is hostile input: every member is checked (names, links, encryption, compression, sizes) and the
whole archive unpacked into a temporary folder before anything is sent, so a bad zip ends in one plain
sentence naming the member and leaves the store untouched.
"""

from __future__ import annotations

import copy
import lzma
import os
import stat
import struct
import tempfile
import threading
import zipfile
import zlib
from collections import Counter
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

from projectdesk.core import links
from projectdesk.core.errors import Cancelled, InvalidInput, InvalidKey, LimitExceeded, StorageError
from projectdesk.core.keys import MANIFEST_NAME, PathGate, is_safe_relative_path, safe_relative_path
from projectdesk.core.limits import Limits
from projectdesk.services.folder_sync import FolderPlan, FolderReport
from projectdesk.storage.atomic import TEMP_PREFIX
from projectdesk.storage.repository import DownloadReport
from projectdesk.storage.transfer import ProgressCallback


class ArchiveService(Protocol):
    """What zip export and import need of the project service (services/projects.py's ProjectService)."""

    limits: Limits

    def download_project(
        self, slug: str, dest: Path, *, progress: ProgressCallback | None = None, cancel: threading.Event | None = None
    ) -> DownloadReport: ...

    def links(self, slug: str) -> dict[str, str]: ...

    def plan_push(
        self,
        local_dir: Path,
        *,
        name: str | None = None,
        slug: str | None = None,
        remember: bool = True,
        follow_links: bool = False,
        bridges: Collection[str] = (),
    ) -> FolderPlan: ...

    def push(
        self,
        plan: FolderPlan,
        *,
        delete: bool = False,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> FolderReport: ...


CHUNK = 1024 * 1024
NOTHING = "Nothing was uploaded."
# What zipfile can unpack (bzip2 and LZMA ship with CPython); anything else (Deflate64, PPMd…) is refused.
SUPPORTED_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
COMPRESSION_NAMES = {9: "Deflate64", 10: "PKWARE DCL implode", 6: "implode", 93: "Zstandard", 95: "XZ", 98: "PPMd"}
FLAG_ENCRYPTED = 0x1
FLAG_PATCHED = 0x20
FLAG_STRONG_ENCRYPTION = 0x40
# Errors a damaged member raises while it is read (zlib, bz2 and lzma report bad data in their own ways).
_DAMAGED = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, ValueError, OverflowError, struct.error)


def zip_member_is_symlink(info: zipfile.ZipInfo) -> bool:
    """Whether the member is a symbolic link (a Unix mode with S_IFLNK in the high 16 bits of its attributes)."""
    return stat.S_ISLNK(info.external_attr >> 16)


def common_folder(names: list[str]) -> str:
    """'site/' when every member lies in one top folder (as zips of a folder do), else ''. A top that is not a
    safe name ('..', '' of '/abs') is never stripped, so the full name is checked and refused."""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names) and is_safe_relative_path(top := tops.pop()):
        return top + "/"
    return ""


def export_zip(
    service: ArchiveService,
    slug: str,
    out: Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> DownloadReport:
    """Download the project and pack it into `out` (written atomically: a failed export leaves nothing)."""
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="projectdesk-export-") as temp:
        report = service.download_project(slug, Path(temp), progress=progress, cancel=cancel)
        if report.failed:
            return report
        links = service.links(slug)
        partial = out.with_name(out.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for entry in sorted(report.downloaded, key=lambda e: e.path):
                local = Path(temp, *entry.path.split("/"))
                target = links.get(entry.path)
                if target is not None and local.read_bytes() == target.encode("utf-8"):
                    archive.writestr(_link_info(entry.path), target)  # a link, as `zip --symlinks` stores one
                else:
                    archive.write(local, entry.path)
        partial.replace(out)
    return report


def import_zip(
    service: ArchiveService,
    archive_path: Path,
    *,
    name: str | None = None,
    slug: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> tuple[FolderPlan, FolderReport]:
    """Check and unpack the whole zip into a temporary folder, then push it as a project (named after the
    zip file unless `name` is given). A bad member raises InvalidInput (LimitExceeded for sizes, InvalidKey
    for unsafe names) before anything is uploaded."""
    archive_path = Path(archive_path)
    with tempfile.TemporaryDirectory(prefix="projectdesk-import-") as temp:
        folder, notes = unpack_zip(service, archive_path, Path(temp), cancel)
        plan = service.plan_push(folder, name=name or archive_path.stem, slug=slug, remember=False)
        result = service.push(plan, progress=progress, cancel=cancel)
        result.notes += notes
        return plan, result


def unpack_zip(
    service: ArchiveService, archive_path: Path, into: Path, cancel: threading.Event | None = None
) -> tuple[Path, list[tuple[str, str]]]:
    """Check the whole zip and unpack it into `into/<the zip's name>` (a folder named like the zip, so a
    preview of it reads as the zip); returns that folder and notes on links (path, note). A bad member raises
    before anything is uploaded; the caller removes `into`."""
    archive_path = Path(archive_path)
    try:
        archive = zipfile.ZipFile(archive_path)
    except (OSError, EOFError, ValueError, OverflowError, NotImplementedError, struct.error, zipfile.BadZipFile) as exc:
        raise InvalidInput(f"{archive_path.name} is not a readable zip file ({exc}).") from None
    with archive:
        members = [m for m in archive.infolist() if not m.filename.endswith("/")]  # is_dir() fails on ""
        if not members:
            raise InvalidInput(f"{archive_path.name} holds no files; nothing was imported.")
        prefix = common_folder([m.filename for m in members])
        relative = check_members(members, prefix)
        service.limits.check((m.filename, m.file_size) for m in members)
        folder = into / (archive_path.stem if archive_path.stem.strip(".") else "archive")
        folder.mkdir()
        return folder, unpack(archive, zip(members, relative, strict=True), folder, service, cancel)


def check_members(members: list[zipfile.ZipInfo], prefix: str) -> list[str]:
    """The members' paths inside the project (`prefix` stripped); raise on the first member that cannot
    be imported as a plain file of its own."""
    paths: list[str] = []
    for member in members:
        shown = _show(member.filename)
        if member.flag_bits & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION):
            raise InvalidInput(f"{shown} is encrypted; encrypted zip files cannot be imported. {NOTHING}")
        if member.flag_bits & FLAG_PATCHED:
            raise InvalidInput(f"{shown} holds compressed patch data, which cannot be unpacked here. {NOTHING}")
        if member.compress_type not in SUPPORTED_COMPRESSION:
            method = COMPRESSION_NAMES.get(member.compress_type, f"method {member.compress_type}")
            raise InvalidInput(
                f"{shown} is compressed with {method}, which cannot be unpacked here; make the zip again with"
                f" ordinary (deflate) compression. {NOTHING}"
            )
        try:
            path = safe_relative_path(member.filename[len(prefix) :])
        except InvalidKey as exc:
            raise InvalidKey(f"{exc.message} {NOTHING}") from None
        if path == MANIFEST_NAME:
            raise InvalidInput(f"{shown}: the name {MANIFEST_NAME} is reserved for the project's manifest. {NOTHING}")
        if any(part.startswith(TEMP_PREFIX) for part in path.split("/")):
            raise InvalidInput(f"{shown}: names starting with {TEMP_PREFIX} are reserved for ProjectDesk. {NOTHING}")
        paths.append(path)
    twice = sorted(path for path, count in Counter(paths).items() if count > 1)
    if twice:
        raise InvalidInput(f"The zip holds {_names(prefix + p for p in twice)} more than once. {NOTHING}")
    files = set(paths)
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in files:
                raise InvalidInput(
                    f"The zip holds {_show(prefix + folder)} both as a file and as the folder of"
                    f" {_show(prefix + path)}. {NOTHING}"
                )
    return paths


def unpack(
    archive: zipfile.ZipFile,
    members: Iterable[tuple[zipfile.ZipInfo, str]],
    dest: Path,
    service: ArchiveService,
    cancel: threading.Event | None,
) -> list[tuple[str, str]]:
    """Write each member to dest/path, never over another file, stopping at the first member that is
    damaged or unpacks larger than its header claims (a zip bomb). Link members become links where the
    target stays inside the project (core/links.py), else plain files holding the target: (path, note)."""
    gate = PathGate(dest)
    total = 0
    notes: list[tuple[str, str]] = []
    for member, path in members:
        if cancel is not None and cancel.is_set():
            raise Cancelled("The import was cancelled; nothing was uploaded.")
        shown = _show(member.filename)
        if zip_member_is_symlink(member):
            note = _unpack_link(archive, member, path, gate)
            if note:
                notes.append((path, note))
            continue
        target = gate.join(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            sink = open(target, "xb")  # noqa: SIM115 - closed below; "x": two names for one file never overwrite
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            raise InvalidInput(f"{shown} collides with another member of the zip on this computer. {NOTHING}") from None
        except OSError as exc:
            raise StorageError(f"Could not unpack {shown} into a temporary folder ({exc.strerror}).") from None
        # Read past the size the header claims (up to the limit), so a member that holds more is caught
        # here instead of being cut short to look like damage.
        probe = copy.copy(member)
        probe.file_size = service.limits.max_file_bytes + 1
        with sink:
            copied = 0
            try:
                with archive.open(probe) as source:
                    while chunk := source.read(CHUNK):
                        copied += len(chunk)
                        total += len(chunk)
                        if copied > member.file_size or total > service.limits.max_project_bytes:
                            raise LimitExceeded(f"{shown} unpacks larger than it claims; not imported. {NOTHING}")
                        _write(sink, chunk, shown)
            except (RuntimeError, NotImplementedError) as exc:  # encryption or a method zipfile refuses
                raise InvalidInput(f"{shown} cannot be unpacked ({exc}). {NOTHING}") from None
            except (*_DAMAGED, OSError) as exc:  # OSError: bz2's bad data, or the zip unreadable on disk
                raise InvalidInput(f"{shown} is damaged in the zip ({_reason(exc)}). {NOTHING}") from None
        if copied != member.file_size:
            raise InvalidInput(f"{shown} is damaged in the zip (it is shorter than its header says). {NOTHING}")
    return notes


def _unpack_link(archive: zipfile.ZipFile, member: zipfile.ZipInfo, path: str, gate: PathGate) -> str:
    """Make a link member a link (inside the project) or a plain file holding its target; returns a note."""
    shown = _show(member.filename)
    if member.file_size > links.MAX_TARGET_BYTES:
        raise InvalidInput(f"{shown} is a link whose target is too long. {NOTHING}")
    try:
        with archive.open(member) as source:
            target = source.read(links.MAX_TARGET_BYTES + 1).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{shown} is a link whose target is not valid UTF-8. {NOTHING}") from None
    except (RuntimeError, NotImplementedError, *_DAMAGED, OSError) as exc:
        raise InvalidInput(f"{shown} is damaged in the zip ({_reason(exc)}). {NOTHING}") from None
    where = gate.entry(path)
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        if links.restorable(path, target):
            os.symlink(target, where)
            return ""
        with open(where, "xb") as sink:
            sink.write(target.encode("utf-8"))
    except FileExistsError:
        raise InvalidInput(f"{shown} collides with another member of the zip on this computer. {NOTHING}") from None
    except OSError as exc:
        raise StorageError(f"Could not unpack {shown} into a temporary folder ({exc.strerror}).") from None
    return links.why_not_restored(path, target)


def _link_info(path: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path)
    info.create_system = 3  # Unix: the mode in the high bits of external_attr is read as such
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _write(sink: BinaryIO, chunk: bytes, shown: str) -> None:
    try:
        sink.write(chunk)
    except OSError as exc:
        raise StorageError(f"Could not unpack {shown} into a temporary folder ({exc.strerror}).") from None


def _reason(exc: BaseException) -> str:
    text = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _show(name: str) -> str:
    """A member's name as it can be printed (control characters escaped)."""
    if not name:
        return "(a member without a name)"
    return name if name.isprintable() else repr(name)[1:-1]


def _names(names: Iterable[str]) -> str:
    listed = [_show(n) for n in names]
    shown = ", ".join(listed[:10])
    return shown + (f" and {len(listed) - 10} more" if len(listed) > 10 else "")
