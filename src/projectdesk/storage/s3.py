"""S3Repository: projects in an S3 bucket (AWS or any endpoint URL), through one shared boto3 client."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from projectdesk.core import keys
from projectdesk.core.errors import Conflict, NotFound, StorageError
from projectdesk.core.mime import content_type
from projectdesk.core.models import FileEntry
from projectdesk.storage.atomic import atomic_target, copy_atomic
from projectdesk.storage.errors import translate
from projectdesk.storage.repository import DEFAULT_WORKERS, Repository, UploadItem

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

MULTIPART_THRESHOLD = 16 * 1024 * 1024
MULTIPART_CHUNK = 8 * 1024 * 1024
DELETE_BATCH = 1000  # DeleteObjects' own maximum


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
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        user_id: str = keys.DEFAULT_USER_ID,
        endpoint: str = "Amazon S3",
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        keys.safe_segment(user_id, "user id")
        self._client = client
        self.bucket = bucket
        self.user_id = user_id
        self.endpoint = endpoint
        self.workers = workers

    @property
    def description(self) -> str:
        return f"s3://{self.bucket}/{keys.user_prefix(self.user_id)} at {self.endpoint}"

    @contextlib.contextmanager
    def _errors(self, what: str = "") -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            translated = translate(exc, bucket=self.bucket, endpoint=self.endpoint, what=what)
            if translated is exc:
                raise
            raise translated from None

    def _metadata(self, slug: str, project_name: str | None) -> dict[str, str]:
        return {
            "project-slug": slug,
            "project-name": _header_safe(project_name or slug),
            "user-id": _header_safe(self.user_id),
        }

    # ---- listing ---------------------------------------------------------------------------------

    def _pages(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("list_objects_v2")
        with self._errors("listing"):
            yield from paginator.paginate(Bucket=self.bucket, PaginationConfig={"PageSize": 1000}, **kwargs)  # type: ignore[misc]

    def list_slugs(self) -> list[str]:
        prefix = keys.user_prefix(self.user_id)
        slugs: list[str] = []
        for page in self._pages(Prefix=prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                slug = common["Prefix"][len(prefix) :].rstrip("/")
                if keys.is_safe_relative_path(slug) and "/" not in slug:
                    slugs.append(slug)
                else:
                    log.warning("ignoring a project folder with an unsafe name: %r", slug)
        return slugs

    def list_files(self, slug: str) -> list[FileEntry]:
        prefix = keys.project_prefix(self.user_id, slug)
        entries: list[FileEntry] = []
        for page in self._pages(Prefix=prefix):
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

    # ---- single files ----------------------------------------------------------------------------

    def read_file(self, slug: str, path: str) -> bytes:
        key = keys.object_key(self.user_id, slug, path)
        with self._errors(f"{slug}/{path}"):
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            return response["Body"].read()

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
        conditions: dict[str, str] = {}
        if if_match is not None:
            conditions["IfMatch"] = f'"{_strip_etag(if_match)}"'
        if if_none_match:
            conditions["IfNoneMatch"] = "*"
        with self._errors(f"{slug}/{path}"):
            response = self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type(path),
                Metadata=self._metadata(slug, project_name),
                **conditions,  # type: ignore[arg-type]
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
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def delete_paths(self, slug: str, paths: Sequence[str]) -> int:
        prefix = keys.project_prefix(self.user_id, slug)
        failed = 0
        for start in range(0, len(paths), DELETE_BATCH):
            batch = [{"Key": prefix + path} for path in paths[start : start + DELETE_BATCH]]
            with self._errors(f"deleting files of {slug}"):
                response = self._client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": batch, "Quiet": True},  # type: ignore[typeddict-item]
                )
            failed += len(response.get("Errors", []))
        if failed:
            raise StorageError(f"{failed} of {len(paths)} files of '{slug}' could not be deleted.")
        return len(paths)

    # ---- transfers -------------------------------------------------------------------------------

    def upload_one(self, slug: str, item: UploadItem, project_name: str) -> FileEntry:
        key = keys.object_key(self.user_id, slug, item.path)
        extra = {"ContentType": content_type(item.path), "Metadata": self._metadata(slug, project_name)}
        with self._errors(f"{slug}/{item.path}"):
            if item.size < MULTIPART_THRESHOLD:
                with open(item.local_path, "rb") as handle:
                    data = handle.read()
                response = self._client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)  # type: ignore[arg-type]
                return FileEntry(item.path, len(data), _strip_etag(response.get("ETag", "")), time.time())
            # Large files stream from disk in parts through boto3's transfer manager.
            self._client.upload_file(str(item.local_path), self.bucket, key, ExtraArgs=extra, Config=_transfer_config())
        return self.stat_file(slug, item.path)

    def download_one(self, slug: str, entry: FileEntry, target: Path) -> None:
        key = keys.object_key(self.user_id, slug, entry.path)
        with self._errors(f"{slug}/{entry.path}"):
            if entry.size < MULTIPART_THRESHOLD:
                response = self._client.get_object(Bucket=self.bucket, Key=key)
                copy_atomic(response["Body"], target)  # type: ignore[arg-type]
                return
            with atomic_target(target) as temp:
                self._client.download_file(self.bucket, key, str(temp), Config=_transfer_config())

    # ---- manifest --------------------------------------------------------------------------------

    def read_manifest_bytes(self, slug: str) -> bytes | None:
        try:
            with self._errors(f"manifest of {slug}"):
                response = self._client.get_object(Bucket=self.bucket, Key=keys.manifest_key(self.user_id, slug))
                return response["Body"].read()
        except NotFound:
            return None

    def write_manifest_bytes(self, slug: str, data: bytes, project_name: str) -> None:
        with self._errors(f"manifest of {slug}"):
            self._client.put_object(
                Bucket=self.bucket,
                Key=keys.manifest_key(self.user_id, slug),
                Body=data,
                ContentType="application/json",
                Metadata=self._metadata(slug, project_name),
            )

    def delete_manifest(self, slug: str) -> None:
        with self._errors(f"manifest of {slug}"):
            self._client.delete_object(Bucket=self.bucket, Key=keys.manifest_key(self.user_id, slug))

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


def _transfer_config() -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=MULTIPART_CHUNK,
        max_concurrency=8,
        use_threads=True,
    )
