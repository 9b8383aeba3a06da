"""Sharing a whole project by link: a zip snapshot of the project as it is on the server, made by streaming, and
a presigned link to it; the snapshots listed, linked again, revoked, and removed once expired.

The snapshot is built without holding the project in memory or on disk: the files are read from the store one
after another (small ones a few ahead, in threads), written into a `zipfile.ZipFile` whose file is a
`MultipartWriter` (storage/multipart.py) that sends every `part_size` bytes as one part of a multipart upload.
A failure or a cancel aborts the upload, so nothing half-made stays. Where the snapshots live and what their
metadata says: core/shares.py. Every store call goes through `service.remote` (the cached service tracks
whether the server answers).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import IO

from projectdesk.core import shares
from projectdesk.core.errors import (
    AccessDenied,
    Cancelled,
    InvalidInput,
    NotFound,
    Offline,
    ProjectDeskError,
    StorageError,
)
from projectdesk.core.keys import is_safe_relative_path, safe_segment
from projectdesk.core.models import FileEntry, Progress, ProjectInfo
from projectdesk.core.shares import ProjectShare
from projectdesk.core.sizes import human_bytes
from projectdesk.services.projects import ProjectService
from projectdesk.storage.multipart import MIN_PART_SIZE, MultipartWriter
from projectdesk.storage.repository import Repository
from projectdesk.storage.share_store import ShareStore, share_store
from projectdesk.storage.transfer import ProgressCallback

log = logging.getLogger(__name__)

PART_SIZE = 8 * 1024 * 1024
PREFETCH_MAX = 256 * 1024  # files up to this size are read ahead, whole, in threads
PREFETCH_FILES = 256  # how many files ahead at most
PREFETCH_BYTES = 8 * 1024 * 1024  # and at most this many of their bytes in memory
PREFETCH_THREADS = 8
SAMPLE = 4 * 1024  # bytes of a file deflated once to see whether the whole is worth deflating
PROGRESS_INTERVAL = 0.05
STALE_UPLOAD_SECONDS = 24 * 3600  # an unfinished snapshot upload older than this is a killed share's
# Compressed already: stored as they are (deflating them again costs time and gains nothing).
STORED_SUFFIXES = frozenset((".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".ico", ".zip", ".gz", ".tgz", ".bz2",
    ".xz", ".zst", ".7z", ".rar", ".jar", ".whl", ".mp3", ".mp4", ".m4a", ".mov", ".webm", ".ogg", ".woff", ".woff2",
    ".pdf", ".docx", ".xlsx", ".pptx"))  # fmt: skip
LIFECYCLE_REFUSED = (
    "The server did not let ProjectDesk add a lifecycle rule to bucket '{bucket}' ({why}): expired snapshots are "
    "still removed each time ProjectDesk lists shares or opens this store."
)


@dataclass(frozen=True)
class SharesListing:
    """The live snapshots, newest first, and how many expired ones were removed on the way."""

    shares: list[ProjectShare]
    removed: int = 0


# ---- making a snapshot -----------------------------------------------------------------------------------


def share_project(
    service: ProjectService,
    slug: str,
    expires_seconds: int,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    part_size: int = PART_SIZE,
) -> ProjectShare:
    """Snapshot the project into `shares/{user}/{slug}/{id}.zip` and sign a link valid `expires_seconds`."""
    safe_segment(slug, "project slug")
    if not shares.MIN_SHARE_SECONDS <= expires_seconds <= shares.MAX_SHARE_SECONDS:
        raise InvalidInput("A share link can last from one minute to 7 days (S3's limit for a presigned link).")
    if part_size < MIN_PART_SIZE:
        raise InvalidInput(f"Parts of a multipart upload are at least {MIN_PART_SIZE:,} bytes.")
    store = share_store(service.repo)
    return service.remote(_build, service.repo, store, slug, expires_seconds, progress, cancel, part_size)


def _build(
    repo: Repository,
    store: ShareStore,
    slug: str,
    expires_seconds: int,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    part_size: int,
) -> ProjectShare:
    listed = repo.list_files(slug)
    manifest = repo.get_manifest(slug)
    if not listed and manifest is None:
        raise NotFound(f"There is no project '{slug}'.")
    name = manifest.name if manifest is not None else slug
    links = dict(manifest.links) if manifest is not None else {}
    entries = sorted((e for e in listed if is_safe_relative_path(e.path)), key=lambda e: e.path)
    skipped = tuple(sorted(e.path for e in listed if not is_safe_relative_path(e.path)))
    for path in skipped:
        log.warning("leaving the unsafe name %r of %s out of its snapshot", path, slug)
    created = time.time()
    expires = created + expires_seconds
    total = sum(e.size for e in entries)
    share_id = shares.new_share_id()
    metadata = shares.share_metadata(slug, created, expires, len(entries), total)
    writer = store.open_share_writer(slug, share_id, metadata, project_name=name, part_size=part_size)
    meter = _Meter(progress, len(entries), total)
    try:
        _write_zip(store, slug, entries, links, writer, meter, cancel)
        etag = writer.finish()
    except BaseException:
        writer.abort()
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"Sharing {slug} was cancelled; nothing was left on the server.") from None
        raise
    meter.report(force=True)
    share = ProjectShare(
        share_id=share_id,
        slug=slug,
        name=name,
        created_at=created,
        expires_at=expires,
        files_count=len(entries),
        total_bytes=total,
        size=writer.size,
        etag=etag,
        skipped=skipped,
    )
    url = store.presign_share(slug, share_id, share.remaining_seconds())
    return replace(share, url=url)


class _Meter:
    """Progress about 20 times a second, on the building thread."""

    def __init__(self, progress: ProgressCallback | None, files: int, total: int) -> None:
        self.progress = progress
        self.files_total = files
        self.bytes_total = total
        self.files_done = 0
        self.bytes_done = 0
        self.current = ""
        self._last = 0.0

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress is not None and (force or now - self._last >= PROGRESS_INTERVAL):
            self._last = now
            self.progress(Progress(self.files_done, self.files_total, self.bytes_done, self.bytes_total, self.current))


def _write_zip(
    repo: ShareStore,
    slug: str,
    entries: list[FileEntry],
    links: dict[str, str],
    writer: MultipartWriter,
    meter: _Meter,
    cancel: threading.Event | None,
) -> None:
    def stop_if_cancelled() -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"Sharing {slug} was cancelled.")

    archive = zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)  # type: ignore[call-overload]
    streamed: _Piecewise | None = None
    try:
        for entry, ready in _prefetched(repo, slug, entries):
            stop_if_cancelled()
            meter.current = entry.path
            target = links.get(entry.path)
            if target is not None and entry.size == len(target.encode("utf-8")):
                data = ready.result() if ready is not None else _read_whole(repo, slug, entry)
                if data == target.encode("utf-8"):
                    archive.writestr(_link_member(entry), data)  # a link, as `zip --symlinks` stores one
                    _done(meter, entry)
                    continue
                ready = _completed(data)
            if ready is not None:
                data = ready.result()
                with archive.open(_member(entry, data[:SAMPLE]), "w") as member:
                    member.write(data)
                _done(meter, entry)
            else:
                streamed = _Piecewise(archive, entry, meter, stop_if_cancelled)
                repo.stream_file(slug, entry, streamed)
                streamed.close()
                streamed = None
                _done(meter, entry, counted=True)
        stop_if_cancelled()
    except BaseException:
        writer.abort()  # from here on the archive's own clean-up writes go nowhere
        with contextlib.suppress(Exception):
            if streamed is not None:
                streamed.close()
            archive.close()
        raise
    archive.close()


class _Piecewise:
    """Hands a streamed file's pieces to its zip member (opened at the first piece, which decides whether it is
    worth deflating), counting them and stopping on cancel."""

    def __init__(self, archive: zipfile.ZipFile, entry: FileEntry, meter: _Meter, check: Callable[[], None]) -> None:
        self.archive = archive
        self.entry = entry
        self.meter = meter
        self.check = check
        self.member: IO[bytes] | None = None

    def __call__(self, chunk: bytes) -> None:
        self.check()
        if self.member is None:
            self.member = self.archive.open(_member(self.entry, chunk[:SAMPLE]), "w")
        self.member.write(chunk)
        self.meter.bytes_done += len(chunk)
        self.meter.report()

    def close(self) -> None:
        if self.member is None:  # no byte came: an empty member
            self.member = self.archive.open(_member(self.entry, b""), "w")
        self.member.close()


def _done(meter: _Meter, entry: FileEntry, counted: bool = False) -> None:
    meter.files_done += 1
    if not counted:
        meter.bytes_done += entry.size
    meter.report()


def _member(entry: FileEntry, sample: bytes) -> zipfile.ZipInfo:
    """The member's header: deflated unless its name says it is compressed already or its first bytes do not
    shrink (random-looking data: deflating it costs ~28 ms a MB and gains nothing)."""
    info = zipfile.ZipInfo(entry.path, date_time=_zip_time(entry.last_modified))
    suffix = "." + entry.path.rsplit(".", 1)[-1].lower() if "." in entry.path.rsplit("/", 1)[-1] else ""
    deflate = bool(entry.size) and suffix not in STORED_SUFFIXES and _shrinks(sample)
    info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    info.file_size = entry.size  # so zipfile writes ZIP64 fields for a member that needs them
    return info


def _shrinks(sample: bytes) -> bool:
    if len(sample) < 1024:
        return True  # too little to tell; deflating it costs nothing
    return len(zlib.compress(sample, 1)) < len(sample) * 0.9


def _link_member(entry: FileEntry) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(entry.path, date_time=_zip_time(entry.last_modified))
    info.create_system = 3  # Unix: the mode in the high bits of external_attr is read as such
    info.external_attr = (0o120000 | 0o777) << 16  # S_IFLNK
    return info


def _zip_time(epoch: float) -> tuple[int, int, int, int, int, int]:
    when = datetime.fromtimestamp(epoch) if epoch > 315_532_800 else datetime(1980, 1, 1)  # zip's epoch is 1980
    return (when.year, when.month, when.day, when.hour, when.minute, when.second)


def _read_whole(repo: ShareStore, slug: str, entry: FileEntry) -> bytes:
    pieces = bytearray()
    repo.stream_file(slug, entry, pieces.extend)
    return bytes(pieces)


def _completed(data: bytes) -> Future[bytes]:
    done: Future[bytes] = Future()
    done.set_result(data)
    return done


def _prefetched(
    repo: ShareStore, slug: str, entries: list[FileEntry]
) -> Iterator[tuple[FileEntry, Future[bytes] | None]]:
    """Each entry in order, with its bytes being read ahead when it is small (None: stream it then). Small files
    go through the store's own background reads where it has them (the AWS CRT), else through a few threads."""
    with ThreadPoolExecutor(max_workers=PREFETCH_THREADS, thread_name_prefix="share-read") as pool:
        window: deque[tuple[FileEntry, Future[bytes] | None]] = deque()
        held = 0  # bytes being read ahead
        try:
            for entry in entries:
                future = None
                if entry.size <= PREFETCH_MAX:
                    future = repo.start_fetch(slug, entry) or pool.submit(_read_whole, repo, slug, entry)
                    held += entry.size
                window.append((entry, future))
                while len(window) > PREFETCH_FILES or held > PREFETCH_BYTES:
                    first = window.popleft()
                    held -= first[0].size if first[1] is not None else 0
                    yield first
            while window:
                yield window.popleft()
        finally:
            for _entry, pending in window:
                if pending is not None:
                    pending.cancel()


# ---- the snapshots ---------------------------------------------------------------------------------------


def list_shares(service: ProjectService, *, remove_expired: bool = True, now: float | None = None) -> SharesListing:
    """This user's snapshots newest first; expired ones are deleted on the way (unless `remove_expired`)."""
    repo = share_store(service.repo)
    stored = service.remote(repo.list_share_objects)
    moment = time.time() if now is None else now
    live: list[ProjectShare] = []
    removed = 0
    for found in stored:
        share = ProjectShare.from_stored(found)
        if share is None:
            log.info("leaving %s/%s alone: it records no expiry", found.slug, found.share_id)
            continue
        if share.expired(moment) and remove_expired:
            try:
                if service.remote(repo.delete_share_object, share.slug, share.share_id, if_match=share.etag):
                    removed += 1
            except Offline:
                raise
            except ProjectDeskError as exc:  # replaced meanwhile, or a key that may not delete: the next run tries
                log.warning("could not remove the expired snapshot %s: %s", share.share_id, exc)
                live.append(share)
            continue
        live.append(share)
    if remove_expired:
        try:
            service.remote(repo.abort_stale_share_uploads, moment - STALE_UPLOAD_SECONDS)
        except Offline:
            raise
        except ProjectDeskError as exc:  # e.g. a key that may not list uploads: the snapshots are listed all the same
            log.warning("could not look for unfinished snapshot uploads: %s", exc)
    live.sort(key=lambda s: (-s.created_at, s.share_id))
    return SharesListing(live, removed)


def remove_expired(service: ProjectService) -> int:
    """Delete the expired snapshots (and killed shares' unfinished uploads); returns how many snapshots.
    A store without share links has none."""
    if not service.repo.supports_share_links:
        return 0  # a store without share links has none
    return list_shares(service).removed


def find_share(service: ProjectService, share_id: str) -> ProjectShare:
    share_id = share_id.strip().lower()
    if not shares.is_share_id(share_id):
        raise InvalidInput(f"'{share_id}' is not a share ID (12 hexadecimal digits; see 'projectdesk-cli shares').")
    for share in list_shares(service, remove_expired=False).shares:
        if share.share_id == share_id:
            return share
    raise NotFound(f"There is no shared link {share_id}: it was revoked, or it expired and was removed.")


def fresh_link(service: ProjectService, share: ProjectShare) -> ProjectShare:
    """The share with a new presigned URL, valid for the rest of its lifetime."""
    seconds = share.remaining_seconds()
    if seconds < 1:
        raise InvalidInput(f"The link to {share.slug}'s snapshot has expired; share the project again.")
    url = service.remote(share_store(service.repo).presign_share, share.slug, share.share_id, seconds)
    return replace(share, url=url)


def revoke(service: ProjectService, share: ProjectShare) -> None:
    """Delete the snapshot (only the version listed): its link answers 404 from now on."""
    gone = service.remote(
        share_store(service.repo).delete_share_object, share.slug, share.share_id, if_match=share.etag
    )
    if not gone:
        log.info("the snapshot %s was already gone", share.share_id)


def add_lifecycle_rule(service: ProjectService) -> bool:
    """Ask the bucket to expire snapshots itself (`shares/` after 7 days, unfinished uploads after 1), keeping
    its other rules. False when our rule is there already. A refusal says so in one sentence."""
    repo = share_store(service.repo)
    try:
        added = service.remote(
            repo.add_expiry_rule, shares.SHARES_ROOT, shares.LIFECYCLE_RULE_ID, shares.LIFECYCLE_DAYS
        )
    except AccessDenied:
        raise AccessDenied(LIFECYCLE_REFUSED.format(bucket=repo.bucket, why="access denied")) from None
    except StorageError as exc:
        why = exc.message.rsplit(": ", 1)[-1].rstrip(".") if ": " in exc.message else "refused"
        raise StorageError(LIFECYCLE_REFUSED.format(bucket=repo.bucket, why=why)) from None
    return added


def project_summary(info: ProjectInfo) -> str:
    """'13 files, 58.9 KB' of a project, for the share dialog."""
    return f"{shares.files_text(info.files_count)}, {human_bytes(info.total_bytes)}"
