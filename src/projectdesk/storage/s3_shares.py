"""Shared project snapshots (core/shares.py) in an S3 bucket: `S3ShareStore`, the `ShareStore` of an S3Repository
(storage/share_store.py hands it out).

It drives the repository's own client, error translation and retries (`_call`, `_errors`, `_pages`): the snapshots
are no project's objects, so they live beside `S3Repository` rather than in the project interface.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from projectdesk.core import keys, shares
from projectdesk.core.errors import Conflict, NotFound, ProjectDeskError
from projectdesk.core.models import FileEntry
from projectdesk.storage.multipart import MultipartWriter
from projectdesk.storage.s3 import _STREAM_ERRORS, S3Repository, _stamp, _strip_etag

if TYPE_CHECKING:
    from projectdesk.storage.crt import CrtError, Template

log = logging.getLogger(__name__)

STREAM_CHUNK = 1024 * 1024  # pieces a streamed GET hands on (stream_file)


class S3ShareStore:
    """`shares/{user_id}/{slug}/{share_id}.zip` objects in the bucket of `repo`; every call blocks."""

    def __init__(self, repo: S3Repository) -> None:
        self._repo = repo
        self._template: Template | None = None  # the CRT's GET request, made on first use
        self._no_crt = False  # the CRT cannot be used here: files are read with boto3

    def start_fetch(self, slug: str, entry: FileEntry) -> Future[bytes] | None:
        """Start reading a small file whole through the AWS CRT (only the listed version: If-Match); the Future
        holds its bytes or our error. None where the CRT cannot be used: the caller reads it otherwise."""
        crt = None if self._no_crt else self._repo._crt()
        if crt is None:
            return None
        if self._template is None:
            try:
                with self._repo._errors("reading files"):
                    self._template = crt.template("get_object", self._repo.bucket)
            except (ProjectDeskError, RuntimeError) as exc:
                log.info("no CRT template (%s); snapshots read files with boto3", exc)
                self._no_crt = True
                return None
        future: Future[bytes] = Future()
        future.set_running_or_notify_cancel()  # so a caller's cancel() cannot race the CRT's answer
        if entry.size == 0:  # the CRT's GET of an empty object gets 416 from some servers
            future.set_result(b"")
            return future
        what = f"{slug}/{entry.path}"

        def done(error: CrtError | None, data: bytes) -> None:
            if error is None:
                future.set_result(data)
                return
            try:
                self._repo._raise_crt(error, what)
            except BaseException as exc:  # handed to the thread that writes the zip
                future.set_exception(exc)

        crt.start_fetch(self._template, keys.object_key(self._repo.user_id, slug, entry.path), done, etag=entry.etag)
        return future

    @property
    def bucket(self) -> str:
        return self._repo.bucket

    def stream_file(self, slug: str, entry: FileEntry, write: Callable[[bytes], object]) -> None:
        """GET pinned to the listed ETag, in 1 MiB pieces; a body cut short resumes where it stopped (a Range
        GET of the same version), so no byte reaches `write` twice."""
        key = keys.object_key(self._repo.user_id, slug, entry.path)
        offset = 0
        attempts = self._repo._body_attempts
        with self._repo._errors(f"{slug}/{entry.path}"):
            for attempt in range(1, attempts + 1):
                params: dict[str, str] = {"IfMatch": f'"{entry.etag}"'} if entry.etag else {}
                if offset:
                    params["Range"] = f"bytes={offset}-"
                try:
                    body = self._repo._call("get_object", Bucket=self._repo.bucket, Key=key, **params)["Body"]
                    while chunk := body.read(STREAM_CHUNK):
                        write(chunk)
                        offset += len(chunk)
                    return
                except _STREAM_ERRORS:
                    if attempt == attempts:
                        raise
                    log.info("body of %s cut short at %d (attempt %d of %d); resuming", key, offset, attempt, attempts)
                    time.sleep(random.uniform(0, min(0.1 * 2**attempt, 2.0)))

    def open_share_writer(
        self, slug: str, share_id: str, metadata: dict[str, str], *, project_name: str, part_size: int
    ) -> MultipartWriter:
        key = shares.share_key(self._repo.user_id, slug, share_id)
        what = f"the snapshot of {slug}"
        with self._repo._errors(what):
            upload_id = str(
                self._repo._call(
                    "create_multipart_upload",
                    Bucket=self._repo.bucket,
                    Key=key,
                    ContentType="application/zip",
                    ContentDisposition=f'attachment; filename="{shares.zip_name(slug)}"',
                    Metadata={**self._repo._metadata(slug, project_name), **metadata},
                )["UploadId"]
            )

        def upload_part(number: int, data: bytes) -> str:
            with self._repo._errors(what):
                answer = self._repo._call(
                    "upload_part", Bucket=self._repo.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
                )
            return str(answer["ETag"])

        def complete(parts: Sequence[tuple[int, str]]) -> str:
            with self._repo._errors(what):
                answer = self._repo._call(
                    "complete_multipart_upload",
                    Bucket=self._repo.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": [{"PartNumber": number, "ETag": etag} for number, etag in parts]},
                )
            return _strip_etag(str(answer.get("ETag", "")))

        def abort() -> None:
            with self._repo._errors(what):
                self._repo._call("abort_multipart_upload", Bucket=self._repo.bucket, Key=key, UploadId=upload_id)

        return MultipartWriter(upload_part, complete, abort, part_size=part_size, what=what)

    def list_share_objects(self) -> list[shares.StoredShare]:
        prefix = shares.user_shares_prefix(self._repo.user_id)
        rows: list[tuple[str, str, dict[str, Any]]] = []
        for page in self._repo._pages(Prefix=prefix, MaxKeys=1000):
            for obj in page.get("Contents", []):
                parsed = shares.parse_share_key(self._repo.user_id, obj["Key"])
                if parsed is not None:
                    rows.append((*parsed, obj))

        def stored(row: tuple[str, str, dict[str, Any]]) -> shares.StoredShare | None:
            slug, share_id, obj = row
            try:
                with self._repo._errors(f"the snapshot {share_id}"):
                    head = self._repo._call("head_object", Bucket=self._repo.bucket, Key=obj["Key"])
            except NotFound:
                return None  # revoked between the listing and now
            return shares.StoredShare(
                slug=slug,
                share_id=share_id,
                size=int(head.get("ContentLength", obj.get("Size", 0))),
                etag=_strip_etag(str(head.get("ETag", obj.get("ETag", "")))),
                last_modified=_stamp(obj),
                metadata={str(k).lower(): str(v) for k, v in (head.get("Metadata") or {}).items()},
            )

        with ThreadPoolExecutor(max_workers=min(8, max(1, len(rows)))) as pool:
            return [found for found in pool.map(stored, rows) if found is not None]

    def delete_share_object(self, slug: str, share_id: str, *, if_match: str) -> bool:
        key = shares.share_key(self._repo.user_id, slug, share_id)
        what = f"the snapshot {share_id}"
        try:
            with self._repo._errors(what):  # conditional DeleteObject is not offered everywhere: a HEAD just before
                head = self._repo._call("head_object", Bucket=self._repo.bucket, Key=key)
        except NotFound:
            return False
        if _strip_etag(str(head.get("ETag", ""))) != _strip_etag(if_match):
            raise Conflict(f"The snapshot {share_id} was replaced since it was listed; it was not deleted.")
        with self._repo._errors(what):
            self._repo._call("delete_object", Bucket=self._repo.bucket, Key=key)
        return True

    def presign_share(self, slug: str, share_id: str, expires_seconds: int) -> str:
        key = shares.share_key(self._repo.user_id, slug, share_id)
        params = {
            "Bucket": self._repo.bucket,
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{shares.zip_name(slug)}"',
            "ResponseContentType": "application/zip",
        }
        with self._repo._errors(f"share link for {slug}"):
            return self._repo._client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(expires_seconds)
            )

    def abort_stale_share_uploads(self, before: float) -> int:
        aborted = 0
        prefix = shares.user_shares_prefix(self._repo.user_id)
        with self._repo._errors("open snapshot uploads"):
            for page in self._repo._pages("list_multipart_uploads", Prefix=prefix):
                for upload in page.get("Uploads", []):
                    initiated = upload.get("Initiated")
                    if initiated is not None and initiated.timestamp() < before:
                        log.info("aborting an unfinished snapshot upload of %s", upload.get("Key"))
                        self._repo._call(
                            "abort_multipart_upload",
                            Bucket=self._repo.bucket,
                            Key=upload["Key"],
                            UploadId=upload["UploadId"],
                        )
                        aborted += 1
        return aborted

    def add_expiry_rule(self, prefix: str, rule_id: str, days: int) -> bool:
        try:
            with self._repo._errors("the bucket's lifecycle rules"):
                rules = list(
                    self._repo._call("get_bucket_lifecycle_configuration", Bucket=self._repo.bucket).get("Rules", [])
                )
        except NotFound:  # NoSuchLifecycleConfiguration (404): the bucket has none
            rules = []
        if any(rule.get("ID") == rule_id for rule in rules):
            return False
        rules.append(
            {
                "ID": rule_id,
                "Filter": {"Prefix": prefix},
                "Status": "Enabled",
                "Expiration": {"Days": days},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            }
        )
        with self._repo._errors("the bucket's lifecycle rules"):
            self._repo._call(
                "put_bucket_lifecycle_configuration", Bucket=self._repo.bucket, LifecycleConfiguration={"Rules": rules}
            )
        return True
