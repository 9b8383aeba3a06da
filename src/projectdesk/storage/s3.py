"""S3Repository: projects in an S3 bucket (AWS or any endpoint URL), through one shared boto3 client."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import quote

from botocore.exceptions import ConnectionClosedError, IncompleteReadError, ReadTimeoutError, ResponseStreamingError
from urllib3.exceptions import ProtocolError

from projectdesk.core import keys
from projectdesk.core.errors import Cancelled, Conflict, NoHistory, NotFound, ProjectDeskError, StorageError
from projectdesk.core.mime import content_type
from projectdesk.core.models import MAX_MANIFEST_BYTES, FileEntry, FileVersion
from projectdesk.storage.atomic import TEMP_PREFIX, atomic_target, copy_atomic
from projectdesk.storage.errors import disk_full_error, translate, versioning_off
from projectdesk.storage.proxy import proxy_route
from projectdesk.storage.repository import DEFAULT_WORKERS, FolderMaker, Repository, TopLevel, UploadItem
from projectdesk.storage.throttle import (
    BANDWIDTH,
    DOWN,
    UP,
    ThrottledBody,
    ThrottledStream,
    caller_scope,
    install_hook,
)
from projectdesk.storage.transfer import DoneCallback, ProgressCallback, TransferResult, run_async

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from projectdesk.storage.crt import CrtError, CrtTransfers

log = logging.getLogger(__name__)

MULTIPART_THRESHOLD = 16 * 1024 * 1024
MULTIPART_CHUNK = 8 * 1024 * 1024
PAUSABLE_BODY = 1024 * 1024  # unlimited uploads larger than this are paused mid-body (see `_body`)
PART_THREADS = 4  # parts of one file in flight at once where botocore sends them (`_upload_parts`)
DELETE_BATCH = 1000  # DeleteObjects' own maximum
# CRT transfers started and not yet finished: the CRT itself decides how many connections carry them;
# the window bounds queued work (memory for 50,000-file projects) and how long a cancel takes.
CRT_WINDOW = 256
# Objects up to this size are read into memory and written by us (at most CRT_WINDOW × this in flight);
# larger ones the CRT writes to disk itself, part by part.
IN_MEMORY_MAX = 256 * 1024
WRITER_THREADS = 2
_UNSET: Any = object()
WRITTEN_BY = "projectdesk"
PROBE_BODY = b"ProjectDesk probe of the server's preconditions: safe to delete.\n"
VERSION_PAGE = 1000  # ListObjectVersions' own maximum per page
T = TypeVar("T")
_TEMP_NUMBERS = itertools.count()
# A response body that stopped early: the connection was reset or timed out after the headers arrived.
ORPHAN_MARGIN = 60.0  # seconds of clock difference allowed between this computer and the server
_STREAM_ERRORS = (ResponseStreamingError, IncompleteReadError, ReadTimeoutError, ConnectionError, ProtocolError)
# An answer whose body stopped early, as botocore lets it through (a listing, an error document).
_CUT_SHORT = (ProtocolError, ResponseStreamingError, IncompleteReadError)


def _page_entries(page: dict[str, Any], prefix: str) -> list[FileEntry]:
    """A listing page's objects under `prefix` as entries (paths raw), less the manifest and folder placeholders."""
    entries: list[FileEntry] = []
    for obj in page.get("Contents", []):
        path = obj["Key"][len(prefix) :]
        if path == keys.MANIFEST_NAME or path.endswith("/") or not path:
            continue  # the manifest, and "folder" placeholder objects of S3 consoles
        entries.append(
            FileEntry(
                path=path,
                size=int(obj.get("Size", 0)),
                etag=_strip_etag(obj.get("ETag", "")),
                last_modified=obj["LastModified"].timestamp() if "LastModified" in obj else 0.0,
            )
        )
    return entries


def _strip_etag(etag: str) -> str:
    return etag.strip('"')


def _header_safe(value: str) -> str:
    """S3 user metadata travels in HTTP headers, which take ASCII only: percent-encode the rest."""
    return value if value.isascii() and value.isprintable() else quote(value, safe=" -_.@")


class S3Repository(Repository):
    """Projects under `projects/{user_id}/` in `bucket`.

    Args:
        client: a boto3 S3 client (see `storage.s3client.make_client`); shared by all worker threads,
            as botocore clients are thread-safe, so its pool must allow `workers` connections.
        endpoint: how to name the server in messages (no secrets).
        transfer_engine: "auto" moves trees and large files with the AWS Common Runtime where it can
            (see `storage.crt`), "boto3" always with boto3 threads; the results are the same.
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        user_id: str = keys.DEFAULT_USER_ID,
        endpoint: str = "Amazon S3",
        workers: int = DEFAULT_WORKERS,
        transfer_engine: str = "auto",
    ) -> None:
        keys.safe_segment(user_id, "user id")
        install_hook(client)  # bodies are charged to the bandwidth limit as they are sent (storage/throttle.py)
        self._client = client
        self.bucket = bucket
        self.user_id = user_id
        self.endpoint = endpoint
        self.workers = workers
        self._engine_choice = transfer_engine  # "auto": the CRT where it can be used; "boto3": never
        self.proxy = proxy_route(client)  # the HTTP(S) proxy its requests go through, named in errors
        retries: Any = getattr(client.meta.config, "retries", None) or {}
        self._body_attempts = max(1, int(retries.get("max_attempts") or retries.get("total_max_attempts") or 5))
        self._crt_engine: Any = _UNSET
        self._crt_lock = threading.Lock()
        # Whether the server honours If-Match / If-None-Match on CopyObject (SeaweedFS and AWS do, moto does
        # not): probed once, on first need (`copy_conditions_honoured`); None until then.
        self.copy_conditions: bool | None = None
        self._probe_lock = threading.Lock()

    supports_share_links = True

    @property
    def description(self) -> str:
        return f"s3://{self.bucket}/{keys.user_prefix(self.user_id)} at {self.endpoint}"

    def s3_uri(self, slug: str, path: str = "") -> str:
        key = keys.object_key(self.user_id, slug, path) if path else keys.project_prefix(self.user_id, slug)
        return f"s3://{self.bucket}/{key}"

    def presign_url(self, slug: str, path: str, expires_seconds: int) -> str:
        """A presigned GET (SigV4: the client is made with signature_version s3v4, which AWS caps at 7 days)."""
        key = keys.object_key(self.user_id, slug, path)
        with self._errors(f"share link for {slug}/{path}"):
            return self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=int(expires_seconds)
            )

    @contextlib.contextmanager
    def _errors(self, what: str = "") -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            if getattr(exc, "cancelled", False):  # a CRT transfer stopped by cancel()
                raise Cancelled(f"{what}: cancelled.") from None
            source = getattr(exc, "botocore_error", exc)  # a CRT failure carries boto3's exception for it
            translated = translate(source, bucket=self.bucket, endpoint=self.endpoint, what=what, proxy=self.proxy)
            if translated is exc:
                raise
            raise translated from None

    def _metadata(self, slug: str, project_name: str | None) -> dict[str, str]:
        return {
            "project-slug": slug,
            "project-name": _header_safe(project_name or slug),
            "user-id": _header_safe(self.user_id),
            "written-by": WRITTEN_BY,  # so a file's history can tell our versions from other tools'
        }

    # ---- listing ---------------------------------------------------------------------------------

    def _call(self, operation: str, **params: Any) -> Any:
        """One API call, made again when its answer's body is cut short.

        botocore retries a request until the response headers arrive; a body cut after them (a reset
        connection) surfaces from a listing or an error answer as urllib3's ProtocolError, unretried.
        """
        method = getattr(self._client, operation)
        attempts = self._body_attempts
        for attempt in range(1, attempts + 1):
            body = params.get("Body")
            if isinstance(body, ThrottledBody):
                body.seek(0)  # an attempt after a cut-short answer sends the body from its start again
            try:
                return method(**params)
            except _CUT_SHORT as exc:
                if attempt == attempts:
                    raise ConnectionClosedError(endpoint_url=self.endpoint, error=exc) from exc
                log.info("%s answer cut short (attempt %d of %d); asking again", operation, attempt, attempts)
                time.sleep(random.uniform(0, min(0.1 * 2**attempt, 2.0)))
        raise AssertionError("unreachable")

    def _pages(self, operation: str = "list_objects_v2", **params: Any) -> Iterator[dict[str, Any]]:
        """Every page of a listing (1,000 keys each), each page asked again if its answer is cut short."""
        params = {"Bucket": self.bucket, **params}
        with self._errors("listing"):
            while True:
                page = self._call(operation, **params)
                yield page
                if not page.get("IsTruncated"):
                    return
                if operation == "list_objects_v2" and page.get("NextContinuationToken"):
                    params["ContinuationToken"] = page["NextContinuationToken"]
                elif operation == "list_multipart_uploads" and page.get("NextKeyMarker"):
                    params["KeyMarker"] = page["NextKeyMarker"]
                    params["UploadIdMarker"] = page.get("NextUploadIdMarker", "")
                elif operation == "list_object_versions" and page.get("NextKeyMarker"):
                    params["KeyMarker"] = page["NextKeyMarker"]
                    params["VersionIdMarker"] = page.get("NextVersionIdMarker", "")
                else:
                    return

    def list_slugs(self) -> list[str]:
        prefix = keys.user_prefix(self.user_id)
        slugs: list[str] = []
        for page in self._pages(Prefix=prefix, Delimiter="/", MaxKeys=1000):
            for common in page.get("CommonPrefixes", []):
                slug = common["Prefix"][len(prefix) :].rstrip("/")
                if keys.is_safe_relative_path(slug) and "/" not in slug:
                    slugs.append(slug)
                else:
                    log.warning("ignoring a project folder with an unsafe name: %r", slug)
        return slugs

    def list_files(self, slug: str) -> list[FileEntry]:
        return [entry for page in self.iter_files(slug) for entry in page]

    def iter_files(self, slug: str) -> Generator[list[FileEntry], None, None]:
        """One list of entries per page of the listing (1,000 keys, fewer where the manifest or folder
        placeholders are left out): each page is handed on as it arrives."""
        prefix = keys.project_prefix(self.user_id, slug)
        for page in self._pages(Prefix=prefix, MaxKeys=self.listing_page):
            yield _page_entries(page, prefix)

    def list_top(self, slug: str) -> TopLevel:
        """One listing with Delimiter "/": the project's folders (its common prefixes) and top-level files."""
        prefix = keys.project_prefix(self.user_id, slug)
        folders: list[str] = []
        files: list[FileEntry] = []
        for page in self._pages(Prefix=prefix, Delimiter="/", MaxKeys=1000):
            folders += [common["Prefix"][len(prefix) :].removesuffix("/") for common in page.get("CommonPrefixes", [])]
            files += _page_entries(page, prefix)
        return TopLevel(folders, files)

    # ---- single files ----------------------------------------------------------------------------

    def _read_body(
        self,
        key: str,
        into: Callable[[Any], T],
        etag: str = "",
        response_into: dict[str, Any] | None = None,
        version_id: str = "",
    ) -> T:
        """GET `key` (only version `etag` when given) and hand its body to `into`; a body cut short is
        fetched again.

        botocore retries a request until its response headers arrive, not the body read afterwards:
        a connection reset mid-body would otherwise fail the read.
        """
        attempts = self._body_attempts
        for attempt in range(1, attempts + 1):
            try:
                pinned = {"IfMatch": f'"{etag}"'} if etag else {}
                if version_id:
                    pinned["VersionId"] = version_id
                response = self._call("get_object", Bucket=self.bucket, Key=key, **pinned)
                if response_into is not None:
                    response_into.update((k, v) for k, v in response.items() if k != "Body")
                body = response["Body"]
                return into(ThrottledStream(body) if BANDWIDTH.wanted(DOWN) else body)
            except _STREAM_ERRORS:
                if attempt == attempts:
                    raise
                log.info("body of %s cut short (attempt %d of %d); fetching it again", key, attempt, attempts)
                time.sleep(random.uniform(0, min(0.1 * 2**attempt, 2.0)))
        raise AssertionError("unreachable")

    def read_file(self, slug: str, path: str) -> bytes:
        key = keys.object_key(self.user_id, slug, path)
        with self._errors(f"{slug}/{path}"):
            return self._read_body(key, _read_all)

    def stat_file(self, slug: str, path: str) -> FileEntry:
        key = keys.object_key(self.user_id, slug, path)
        with self._errors(f"{slug}/{path}"):
            head = self._client.head_object(Bucket=self.bucket, Key=key)
        return FileEntry(path, int(head["ContentLength"]), _strip_etag(head["ETag"]), head["LastModified"].timestamp())

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
        key = keys.object_key(self.user_id, slug, path)
        conditions = _conditions(if_match, if_none_match)
        with self._errors(f"{slug}/{path}"):
            response = self._call(
                "put_object",
                Bucket=self.bucket,
                Key=key,
                Body=_body(data),
                ContentType=content_type(path),
                Metadata=self._metadata(slug, project_name),
                **conditions,
            )
        return FileEntry(path, len(data), _strip_etag(response.get("ETag", "")), time.time())

    def delete_file(self, slug: str, path: str, *, if_match: str | None = None) -> None:
        key = keys.object_key(self.user_id, slug, path)
        if if_match is not None:
            # Conditional DeleteObject is not offered by every S3 server: check just before instead.
            current = self.stat_file(slug, path)
            if current.etag != _strip_etag(if_match):
                raise Conflict(f"{path} changed on the server since it was last read; it was not deleted.")
        with self._errors(f"{slug}/{path}"):
            self._call("delete_object", Bucket=self.bucket, Key=key)

    def delete_paths(self, slug: str, paths: Sequence[str]) -> int:
        prefix = keys.project_prefix(self.user_id, slug)
        failed = 0
        for start in range(0, len(paths), DELETE_BATCH):
            batch = [{"Key": prefix + path} for path in paths[start : start + DELETE_BATCH]]
            with self._errors(f"deleting files of {slug}"):
                response = self._call(
                    "delete_objects",
                    Bucket=self.bucket,
                    Delete={"Objects": batch, "Quiet": True},
                )
            failed += len(response.get("Errors", []))
        if failed:
            raise StorageError(f"{failed} of {len(paths)} files of '{slug}' could not be deleted.")
        return len(paths)

    # ---- transfers ---------------------------------------------------------------------------------

    def _crt(self, direction: str = "") -> CrtTransfers | None:
        """The CRT engine for bulk transfers in `direction` (made on first use), or None where boto3 must do
        them: also while that direction has a bandwidth limit (the CRT's reads and writes cannot be charged)."""
        if direction and BANDWIDTH.limit(direction):
            return None
        if self._crt_engine is _UNSET:
            with self._crt_lock:
                if self._crt_engine is _UNSET:
                    engine = None
                    if self._engine_choice != "boto3":
                        from projectdesk.storage.crt import CrtTransfers

                        engine = CrtTransfers.for_client(self._client)
                    self._crt_engine = engine
        chosen: CrtTransfers | None = self._crt_engine
        return chosen if chosen is not None and chosen.usable(self.bucket) else None

    def _own(self, method: str) -> bool:
        """True while `method` is this class's own (a subclass or a test may wrap it: then honour that)."""
        return method not in vars(self) and getattr(type(self), method) is getattr(S3Repository, method)

    def upload_one(self, slug: str, item: UploadItem, project_name: str) -> FileEntry:
        if item.size < MULTIPART_THRESHOLD:
            return self._upload_one(slug, item, project_name)
        started = time.time()
        try:
            return self._upload_one(slug, item, project_name)
        finally:
            key = keys.object_key(self.user_id, slug, item.path)
            self._abort_orphans(keys.project_prefix(self.user_id, slug), {key}, started)

    def _check_before_multipart(self, slug: str, item: UploadItem) -> None:
        """A multipart upload's precondition is checked just before it starts (HEAD), as well as sent with
        it: not every S3 server honours conditions on CompleteMultipartUpload."""
        self._check_current(slug, item.path, item.if_match, item.if_none_match)

    def _check_current(self, slug: str, path: str, if_match: str | None, if_none_match: bool) -> None:
        """Raise Conflict unless the file is version `if_match` / absent (`if_none_match`), by a HEAD now."""
        if if_match is None and not if_none_match:
            return
        try:
            current: str | None = self.stat_file(slug, path).etag
        except NotFound:
            current = None
        if (if_none_match and current is not None) or (if_match is not None and current != _strip_etag(if_match)):
            raise Conflict(f"{path} changed on the server since it was last read; nothing was overwritten.")

    def _upload_one(self, slug: str, item: UploadItem, project_name: str) -> FileEntry:
        key = keys.object_key(self.user_id, slug, item.path)
        extra = {"ContentType": content_type(item.path), "Metadata": self._metadata(slug, project_name)}
        with self._errors(f"{slug}/{item.path}"):
            if item.size < MULTIPART_THRESHOLD:
                with open(item.local_path, "rb") as handle:
                    data = handle.read()
                conditions = _conditions(item.if_match, item.if_none_match)
                body = _body(data)
                response = self._call("put_object", Bucket=self.bucket, Key=key, Body=body, **extra, **conditions)
                return FileEntry(item.path, len(data), _strip_etag(response.get("ETag", "")), time.time())
            self._check_before_multipart(slug, item)
            crt = self._crt(UP)
            if crt is not None:  # large files: parts in parallel, read from disk in C, bounded memory
                template = crt.template("put_object", self.bucket, Metadata=extra["Metadata"])
                etag = crt.run(
                    lambda done: crt.start_upload(
                        template,
                        key,
                        str(item.local_path),
                        item.size,
                        str(extra["ContentType"]),
                        done,
                        headers=_condition_headers(item),
                    )
                )
                if etag:
                    return FileEntry(item.path, item.size, etag, time.time())
            elif BANDWIDTH.wanted(UP):  # limited or pausable: parts whose bodies are charged as they are sent
                etag = self._upload_parts(key, item, extra)
                if etag:
                    return FileEntry(item.path, item.size, etag, time.time())
            else:  # large files stream from disk in parts through boto3's transfer manager
                _transfer(self._client).upload_file(str(item.local_path), self.bucket, key, extra_args=extra)
        return self.stat_file(slug, item.path)

    def _upload_parts(self, key: str, item: UploadItem, extra: dict[str, Any]) -> str:
        """`item` as a multipart upload of MULTIPART_CHUNK parts, PART_THREADS at once, each body charged to the
        bandwidth limit (and held by a pause) as the connection reads it; aborted on any failure. Returns the
        object's ETag."""
        created = self._call("create_multipart_upload", Bucket=self.bucket, Key=key, **extra)
        upload_id = str(created["UploadId"])
        scope = caller_scope()  # the parts' threads pause, and stop on cancel, as the file's own would

        def send(number: int, start: int) -> dict[str, Any]:
            length = min(MULTIPART_CHUNK, item.size - start)
            with scope(), open(item.local_path, "rb") as handle:
                answer = self._call(
                    "upload_part", Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                    Body=ThrottledBody(handle, length, start), ContentLength=length,
                )  # fmt: skip
            return {"PartNumber": number, "ETag": answer["ETag"]}

        try:
            starts = range(0, item.size, MULTIPART_CHUNK)
            with ThreadPoolExecutor(PART_THREADS, thread_name_prefix="pd-part") as pool:
                parts = list(pool.map(send, range(1, len(starts) + 1), starts))
            done = self._call(
                "complete_multipart_upload", Bucket=self.bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )  # fmt: skip
        except BaseException:
            with contextlib.suppress(Exception):
                self._call("abort_multipart_upload", Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        return _strip_etag(str(done.get("ETag", "")))

    def download_one(self, slug: str, entry: FileEntry, target: Path) -> None:
        key = keys.object_key(self.user_id, slug, entry.path)
        with self._errors(f"{slug}/{entry.path}"), _disk_named(target, entry.size):
            if entry.size < MULTIPART_THRESHOLD:
                self._read_body(key, lambda body: copy_atomic(body, target), entry.etag)
                return
            crt = self._crt(DOWN)
            with atomic_target(target) as temp:
                if crt is not None:
                    template = crt.template("get_object", self.bucket)
                    crt.run(
                        lambda done: crt.start_download(template, key, str(temp), entry.size, done, etag=entry.etag)
                    )
                else:  # one stream, pinned to the listed version (s3transfer's download takes no IfMatch)
                    self._read_body(key, lambda body: _stream_to(body, temp), entry.etag)

    def _upload_many(
        self,
        slug: str,
        items: Sequence[UploadItem],
        project_name: str,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        on_done: DoneCallback[UploadItem, FileEntry] | None = None,
    ) -> TransferResult[UploadItem, FileEntry]:
        prefix = keys.project_prefix(self.user_id, slug)
        large = {prefix + item.path for item in items if item.size >= MULTIPART_THRESHOLD}
        started = time.time()
        try:
            return self._upload_batch(slug, items, project_name, progress, cancel, on_done)
        finally:
            if large:
                self._abort_orphans(prefix, large, started)

    def _upload_batch(
        self,
        slug: str,
        items: Sequence[UploadItem],
        project_name: str,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        on_done: DoneCallback[UploadItem, FileEntry] | None = None,
    ) -> TransferResult[UploadItem, FileEntry]:
        crt = self._crt(UP) if self._own("upload_one") and items else None
        if crt is None:
            return super()._upload_many(slug, items, project_name, progress, cancel, on_done)
        metadata = self._metadata(slug, project_name)
        try:
            with self._errors(f"{slug}/"):
                template = crt.template("put_object", self.bucket, Metadata=metadata)
        except (ProjectDeskError, RuntimeError) as exc:
            log.info("no CRT upload template (%s); uploading with boto3", exc)
            return super()._upload_many(slug, items, project_name, progress, cancel, on_done)
        prefix = keys.project_prefix(self.user_id, slug)

        def start(
            item: UploadItem, finish: Callable[[Callable[[], FileEntry]], None], advance: Callable[[int], None]
        ) -> Any:
            def done(error: CrtError | None, etag: str) -> None:
                finish(lambda: self._uploaded(slug, item, error, etag))

            if item.size >= MULTIPART_THRESHOLD:
                self._check_before_multipart(slug, item)
            return crt.start_upload(
                template,
                prefix + item.path,
                str(item.local_path),
                item.size,
                content_type(item.path),
                done,
                advance,
                headers=_condition_headers(item),
            )

        return run_async(
            items,
            start,
            name_of=lambda item: item.path,
            size_of=lambda item: item.size,
            window=CRT_WINDOW,
            progress=progress,
            cancel=cancel,
            on_done=on_done,
        )

    def _abort_orphans(self, prefix: str, keys_sent: set[str], since: float) -> None:
        """Abort multipart uploads of `keys_sent` begun since `since` and still open once the batch is over.

        When the answer to a CreateMultipartUpload is lost (a reset connection), the client retries and
        the server holds two uploads: the finished one, and an orphan nobody completes, billed until a
        lifecycle rule removes it. Only uploads of keys this batch sent, begun during it, are touched.
        """
        try:
            with self._errors("open multipart uploads"):
                for page in self._pages("list_multipart_uploads", Prefix=prefix):
                    for upload in page.get("Uploads", []):
                        initiated = upload.get("Initiated")
                        begun = initiated.timestamp() if initiated is not None else since
                        if upload.get("Key") in keys_sent and begun >= since - ORPHAN_MARGIN:
                            log.info("aborting an orphaned multipart upload of %s", upload["Key"])
                            self._call(
                                "abort_multipart_upload",
                                Bucket=self.bucket,
                                Key=upload["Key"],
                                UploadId=upload["UploadId"],
                            )
        except ProjectDeskError as exc:
            log.warning("could not check for orphaned multipart uploads: %s", exc)

    def _uploaded(self, slug: str, item: UploadItem, error: CrtError | None, etag: str) -> FileEntry:
        """The result of one CRT upload, on the calling thread."""
        if error is not None:
            self._raise_crt(error, f"{slug}/{item.path}")
        if not etag:  # a server that did not say: ask (rare; never for a normal S3 server)
            return self.stat_file(slug, item.path)
        return FileEntry(item.path, item.size, etag, time.time())

    def _download_many(
        self,
        slug: str,
        wanted: Sequence[tuple[FileEntry, Path]],
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        hashes: dict[str, str] | None = None,
        on_done: DoneCallback[tuple[FileEntry, Path], FileEntry] | None = None,
    ) -> TransferResult[tuple[FileEntry, Path], FileEntry]:
        crt = self._crt(DOWN) if self._own("download_one") and wanted else None
        if crt is None:
            return super()._download_many(slug, wanted, progress, cancel, hashes, on_done)
        try:
            with self._errors(f"{slug}/"):
                template = crt.template("get_object", self.bucket)
        except (ProjectDeskError, RuntimeError) as exc:
            log.info("no CRT download template (%s); downloading with boto3", exc)
            return super()._download_many(slug, wanted, progress, cancel, hashes, on_done)
        prefix = keys.project_prefix(self.user_id, slug)
        folders = FolderMaker()
        pid = os.getpid()
        # Creating files is slow on a busy disk (≈1 ms each here while other processes fsync): small files
        # are written by a few threads at once, off the thread that keeps the transfers going.
        writers = ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="pd-write")

        def start(
            pair: tuple[FileEntry, Path],
            finish: Callable[[Callable[[], FileEntry]], None],
            advance: Callable[[int], None],
        ) -> Any:
            entry, target = pair
            temp = target.parent / f"{TEMP_PREFIX}{pid}-{next(_TEMP_NUMBERS)}"

            def write(error: CrtError | None, data: bytes) -> None:
                def job() -> None:
                    try:
                        written = self._write_small(slug, entry, target, temp, error, data, folders)
                        if hashes is not None:
                            hashes[entry.path] = hashlib.sha256(data).hexdigest()  # nearly free: in memory
                    except BaseException as exc:
                        failure = exc
                        finish(lambda: _reraise(failure))
                    else:
                        finish(lambda: written)

                writers.submit(job)

            if entry.size == 0:  # the CRT's first ranged GET gets 416 from some servers on empty objects
                write(None, b"")
                return None
            if entry.size <= IN_MEMORY_MAX:
                return crt.start_fetch(template, prefix + entry.path, write, etag=entry.etag)
            folders.ensure(entry.path, target.parent)

            def done(error: CrtError | None, etag: str) -> None:
                finish(lambda: self._downloaded(slug, entry, target, temp, error))

            def hashed(sha: str) -> None:  # large files: the ranged download hashes what landed as it goes
                if hashes is not None:
                    hashes[entry.path] = sha

            known = hashes is not None and entry.path in hashes  # the caller knows it (the manifest's): not hashed
            return crt.start_download(
                template, prefix + entry.path, str(temp), entry.size, done, advance, etag=entry.etag,
                on_hash=hashed if hashes is not None and not known else None,
            )  # fmt: skip

        try:
            return run_async(
                wanted,
                start,
                name_of=lambda pair: pair[0].path,
                size_of=lambda pair: pair[0].size,
                window=CRT_WINDOW,
                progress=progress,
                cancel=cancel,
                on_done=on_done,
            )
        finally:
            writers.shutdown(wait=True)

    def _downloaded(self, slug: str, entry: FileEntry, target: Path, temp: Path, error: CrtError | None) -> FileEntry:
        """Finish one CRT download on the calling thread: the complete file replaces `target` in one step.

        A bulk pull renames without an fsync per file (as git checkout, rsync and s5cmd do): a crash
        leaves whole files or none under their names, never half of one; one fsync per file would
        cost more than the transfer itself on many disks.
        """
        if error is not None:
            temp.unlink(missing_ok=True)
            if isinstance(error.botocore_error, OSError):  # this computer's disk failed, not the server
                with _disk_named(target, entry.size):
                    raise error.botocore_error
            self._raise_crt(error, f"{slug}/{entry.path}")
        try:
            os.replace(temp, target)
        except OSError:
            temp.unlink(missing_ok=True)
            raise
        return entry

    def _write_small(
        self,
        slug: str,
        entry: FileEntry,
        target: Path,
        temp: Path,
        error: CrtError | None,
        data: bytes,
        folders: FolderMaker,
    ) -> FileEntry:
        """Finish one in-memory CRT download: write a temp file beside `target`, rename it over `target`."""
        if error is not None:
            self._raise_crt(error, f"{slug}/{entry.path}")
        folders.ensure(entry.path, target.parent)
        try:
            with _disk_named(target, entry.size), open(temp, "xb") as handle:
                handle.write(data)
        except (OSError, StorageError):
            temp.unlink(missing_ok=True)
            raise
        return self._downloaded(slug, entry, target, temp, None)

    def _raise_crt(self, error: CrtError, what: str) -> NoReturn:
        if error.cancelled:
            raise Cancelled(f"{what}: cancelled.")
        raise translate(
            error.botocore_error, bucket=self.bucket, endpoint=self.endpoint, what=what, proxy=self.proxy
        ) from None

    # ---- manifest --------------------------------------------------------------------------------

    def read_manifest_versioned(self, slug: str) -> tuple[bytes | None, str | None]:
        seen: dict[str, Any] = {}
        try:
            with self._errors(f"manifest of {slug}"):
                data = self._read_body(
                    keys.manifest_key(self.user_id, slug),
                    lambda body: bytes(body.read(MAX_MANIFEST_BYTES + 1)),  # a huge one is refused, not read whole
                    response_into=seen,
                )
        except NotFound:
            return None, None
        return data, _strip_etag(str(seen.get("ETag", "")))

    def write_manifest_bytes(
        self,
        slug: str,
        data: bytes,
        project_name: str,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        with self._errors(f"manifest of {slug}"):
            response = self._call(
                "put_object",
                Bucket=self.bucket,
                Key=keys.manifest_key(self.user_id, slug),
                Body=_body(data),
                ContentType="application/json",
                Metadata=self._metadata(slug, project_name),
                **_conditions(if_match, if_none_match),
            )
        return _strip_etag(response.get("ETag", ""))

    def abort_stale_uploads(self, slug: str, before: float) -> int:
        prefix = keys.project_prefix(self.user_id, slug)
        aborted = 0
        with self._errors("open multipart uploads"):
            for page in self._pages("list_multipart_uploads", Prefix=prefix):
                for upload in page.get("Uploads", []):
                    initiated = upload.get("Initiated")
                    if initiated is not None and initiated.timestamp() < before:
                        log.info("aborting an unfinished multipart upload of %s", upload.get("Key"))
                        self._call(
                            "abort_multipart_upload", Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        aborted += 1
        return aborted

    def delete_manifest(self, slug: str) -> None:
        with self._errors(f"manifest of {slug}"):
            self._call("delete_object", Bucket=self.bucket, Key=keys.manifest_key(self.user_id, slug))

    # ---- file history (bucket versioning) -----------------------------------------------------------

    def versioning(self) -> str:
        with self._errors("bucket versioning"):
            answer = self._call("get_bucket_versioning", Bucket=self.bucket)
        return str(answer.get("Status", "") or "")

    def enable_versioning(self) -> None:
        with self._errors("bucket versioning"):
            self._call("put_bucket_versioning", Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})

    def history_unavailable(self, status: str, profile_name: str = "") -> NoHistory:
        return versioning_off(self.bucket, status, profile_name)

    def list_versions(self, slug: str, path: str | None = None, *, limit: int | None = None) -> list[FileVersion]:
        prefix = keys.project_prefix(self.user_id, slug)
        exact = None if path is None else prefix + path
        return list(itertools.islice(self._versions(prefix, exact), limit))

    def _versions(self, prefix: str, exact: str | None) -> Iterator[FileVersion]:
        """Versions and delete markers under `prefix` (only of key `exact` when given), page by page: each
        key's newest first, as the server lists them. One file's listing stops at the first key past it."""
        for page in self._pages("list_object_versions", Prefix=exact or prefix, MaxKeys=VERSION_PAGE):
            rows = [(row, False) for row in page.get("Versions", [])]
            rows += [(row, True) for row in page.get("DeleteMarkers", [])]
            # The two lists come apart; each key's newest first again (the latest first among equal times).
            rows.sort(key=lambda pair: (pair[0]["Key"], -_stamp(pair[0]), not pair[0].get("IsLatest", False)))
            for row, marker in rows:
                key = row["Key"]
                if exact is not None and key != exact:
                    if key > exact:
                        return  # keys come in order: the file's versions are all listed
                    continue
                path = key[len(prefix) :]
                if not path or path.endswith("/"):
                    continue  # "folder" placeholder objects of S3 consoles
                yield FileVersion(
                    path=path,
                    version_id=str(row.get("VersionId") or "null"),
                    etag="" if marker else _strip_etag(row.get("ETag", "")),
                    size=0 if marker else int(row.get("Size", 0)),
                    last_modified=_stamp(row),
                    is_latest=bool(row.get("IsLatest", False)),
                    is_delete_marker=marker,
                )

    def read_version(self, slug: str, path: str, version_id: str) -> bytes:
        key = keys.object_key(self.user_id, slug, path)
        with self._errors(f"{slug}/{path} version {version_id}"):
            return self._read_body(key, _read_all, version_id=version_id)

    def version_metadata(self, slug: str, path: str, version_id: str) -> dict[str, str]:
        key = keys.object_key(self.user_id, slug, path)
        with self._errors(f"{slug}/{path} version {version_id}"):
            head = self._call("head_object", Bucket=self.bucket, Key=key, VersionId=version_id)
        return {str(name): str(value) for name, value in (head.get("Metadata") or {}).items()}

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
        """A CopyObject of the version over its own key: Content-Type and metadata come with it (COPY).
        The precondition is sent with the copy; a server that ignores it there (moto; SeaweedFS honours it)
        gets a HEAD just before instead, as for PUTs on such servers (`copy_conditions_honoured`).
        `size`: the version's size when the caller knows it (else one HEAD of the new version)."""
        key = keys.object_key(self.user_id, slug, path)
        if (if_match is not None or if_none_match) and not self.copy_conditions_honoured():
            self._check_current(slug, path, if_match, if_none_match)
        with self._errors(f"{slug}/{path}"):
            response = self._call(
                "copy_object",
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key, "VersionId": version_id},
                MetadataDirective="COPY",
                **_conditions(if_match, if_none_match),
            )
        result = response.get("CopyObjectResult") or {}
        etag = _strip_etag(str(result.get("ETag", "")))
        modified = result["LastModified"].timestamp() if result.get("LastModified") else time.time()
        if size is None or not etag:
            return self.stat_file(slug, path)
        return FileEntry(path, size, etag, modified)

    def copy_conditions_honoured(self) -> bool:
        """Whether the server refuses a CopyObject whose If-Match does not hold (asked once per store)."""
        if self.copy_conditions is None:
            with self._probe_lock:
                if self.copy_conditions is None:
                    self.copy_conditions = self._probe_copy_conditions()
        return self.copy_conditions

    def _probe_copy_conditions(self) -> bool:
        """Write a small probe object beside the projects, copy it over itself with an If-Match no object has,
        then remove every version of it: a refusal (412) means the server honours copy preconditions. Any
        other failure answers False (a HEAD before each copy is safe everywhere)."""
        key = f"{keys.user_prefix(self.user_id)}.projectdesk-probe-{uuid.uuid4().hex[:16]}"
        honoured = False
        try:
            with self._errors("probing the server"):
                put = self._call("put_object", Bucket=self.bucket, Key=key, Body=PROBE_BODY, ContentType="text/plain")
                source = {"Bucket": self.bucket, "Key": key}
                if put.get("VersionId"):
                    source["VersionId"] = str(put["VersionId"])
            try:
                with self._errors("probing the server"):
                    self._call("copy_object", Bucket=self.bucket, Key=key, CopySource=source,
                               MetadataDirective="COPY", IfMatch='"00000000000000000000000000000000"')  # fmt: skip
            except Conflict:
                honoured = True
        except ProjectDeskError as exc:
            log.info("could not probe copy preconditions (%s); a HEAD will precede each restore", exc)
            return False
        finally:
            self._remove_probe(key)
        log.info("%s %s preconditions on CopyObject", self.endpoint, "honours" if honoured else "ignores")
        return honoured

    def _remove_probe(self, key: str) -> None:
        try:
            with self._errors("removing the probe"):
                listed = self._call("list_object_versions", Bucket=self.bucket, Prefix=key)
                found = [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]
                for row in found:
                    if row.get("Key") == key and row.get("VersionId") not in (None, "null"):
                        self._call("delete_object", Bucket=self.bucket, Key=key, VersionId=row["VersionId"])
                if not any(row.get("VersionId") not in (None, "null") for row in found):
                    self._call("delete_object", Bucket=self.bucket, Key=key)
        except ProjectDeskError as exc:
            log.warning("the probe object %s could not be removed: %s", key, exc)

    # ---- bucket ----------------------------------------------------------------------------------

    def check_bucket(self) -> None:
        """Raise the typed error (BucketMissing, AuthError, Offline, …) if the bucket is not usable."""
        with self._errors():
            self._client.head_bucket(Bucket=self.bucket)

    def create_bucket(self, region: str | None = None) -> None:
        with self._errors():
            if region and region != "us-east-1":
                self._client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                )
            else:
                self._client.create_bucket(Bucket=self.bucket)


def _conditions(if_match: str | None, if_none_match: bool) -> dict[str, str]:
    """PutObject's precondition parameters: replace only version `if_match`, or create only."""
    conditions: dict[str, str] = {}
    if if_match is not None:
        conditions["IfMatch"] = f'"{_strip_etag(if_match)}"'
    if if_none_match:
        conditions["IfNoneMatch"] = "*"
    return conditions


def _condition_headers(item: UploadItem) -> list[tuple[str, str]]:
    """The same preconditions as HTTP headers, for requests the CRT sends."""
    names = {"IfMatch": "If-Match", "IfNoneMatch": "If-None-Match"}
    return [(names[name], value) for name, value in _conditions(item.if_match, item.if_none_match).items()]


def _body(data: bytes) -> bytes | ThrottledBody:
    """A PUT's body: charged to the upload limit as it is sent when there is one, and in a transfer above
    PAUSABLE_BODY (pausable mid-file). Otherwise bytes: botocore asks for `Expect: 100-continue` (one more
    round trip) for any file-like body, which small files would pay for nothing; a pause holds them between
    files (`storage.transfer.run_parallel`)."""
    wrap = BANDWIDTH.limit(UP) or (len(data) > PAUSABLE_BODY and BANDWIDTH.wanted(UP))
    return ThrottledBody.of_bytes(data) if wrap else data


def _stamp(row: dict[str, Any]) -> float:
    modified = row.get("LastModified")
    return modified.timestamp() if modified is not None else 0.0


def _read_all(body: Any) -> bytes:
    return bytes(body.read())


@contextlib.contextmanager
def _disk_named(target: Path, size: int) -> Iterator[None]:
    """A full disk (ENOSPC, EDQUOT) while writing `target` (`size` bytes) says so, naming its folder:
    write() and close() errors name no file."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise disk_full_error(target, size) from None
        raise


def _stream_to(body: Any, path: Path) -> None:
    """Write a response body to `path` in 1 MiB pieces (from the start again if a retry calls it twice)."""
    with open(path, "wb") as handle:
        while chunk := body.read(1024 * 1024):
            handle.write(chunk)


def _reraise(error: BaseException) -> NoReturn:
    raise error


def _transfer(client: S3Client) -> Any:
    """boto3's transfer manager (imported only here: the CRT carries large files where it can)."""
    from boto3.s3.transfer import S3Transfer, TransferConfig

    config = TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=MULTIPART_CHUNK,
        max_concurrency=8,
        use_threads=True,
    )
    return S3Transfer(client, config)  # type: ignore[arg-type]  # boto3's TransferConfig is the one it takes
