"""What listing many projects fast needs of a store, beyond the `Repository` primitives.

- the per-user catalog object (`core/catalog.py`): a read that can be conditional on the version held
  (If-None-Match: a 304 costs no body) and a conditional write (If-Match / If-None-Match);
- a manifest read conditional on the version the catalog recorded;
- the slug listing asked in pieces at once, split at slugs seen before;
- the objects of many projects from one listing of the user's prefix, in ranges asked at once.

`backend_for(repo)` gives the store's own way: S3 (ranged ListObjectsV2 with StartAfter, conditional
GET/PUT) or the local folder (a file under the store's write lock); any other repository gets the generic
one (no catalog: every project read directly, as before).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from projectdesk.core import keys
from projectdesk.core.catalog import MAX_CATALOG_BYTES, catalog_key
from projectdesk.core.errors import Conflict, NotFound, StorageError
from projectdesk.core.models import MAX_MANIFEST_BYTES, FileEntry
from projectdesk.storage.local import LocalRepository, local_etag
from projectdesk.storage.repository import Repository

if TYPE_CHECKING:  # loaded with an S3 store only: the window on the local store never imports botocore
    from projectdesk.storage.s3 import S3Repository

log = logging.getLogger(__name__)

LIST_BATCH = 250  # projects per range of a prefix listing (and per batch handed on)
LIST_THREADS = 16  # listing requests at once
SLUG_RANGE = 900  # slugs per piece of a split slug listing (one page of 1,000 reaches the next piece's first)


@dataclass(frozen=True, slots=True)
class CatalogRead:
    """The catalog as read: `data` None when there is none, or when `unchanged` (still the version named)."""

    data: bytes | None
    etag: str | None
    unchanged: bool = False


@dataclass(slots=True)
class ProjectObjects:
    """One project's objects from a listing of the user's prefix: its files and its manifest's entry."""

    slug: str
    files: list[FileEntry] = field(default_factory=list)
    manifest: FileEntry | None = None


class ListingBackend:
    """The generic way, for any repository: no catalog, one listing per project."""

    supports_catalog = False

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def read_catalog(self, *, if_none_match: str | None = None) -> CatalogRead:
        return CatalogRead(None, None)

    def write_catalog(self, data: bytes, *, if_match: str | None = None, if_none_match: bool = False) -> str:
        raise StorageError(f"The {self.repo.description} keeps no project catalog.")

    def read_manifest_if_changed(self, slug: str, etag: str) -> tuple[bytes | None, str | None, bool]:
        """(bytes, version, changed): the manifest unless it is still version `etag` (then (None, etag, False));
        (None, None, True) when it is gone."""
        data, version = self.repo.read_manifest_versioned(slug)
        if version == etag:
            return None, etag, False
        return data, version, True

    def list_slugs_split(self, boundaries: Sequence[str]) -> list[str]:
        return self.repo.list_slugs()

    def list_project_objects(self, wanted: Sequence[str], listed: Sequence[str]) -> Iterator[list[ProjectObjects]]:
        """The objects of the projects `wanted` (among all the slugs `listed`), in batches as they arrive."""
        batch: list[ProjectObjects] = []
        for slug in wanted:
            batch.append(ProjectObjects(slug, self.repo.list_files(slug), self._manifest_entry(slug)))
            if len(batch) >= LIST_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def _manifest_entry(self, slug: str) -> FileEntry | None:
        try:
            return self.repo.stat_file(slug, keys.MANIFEST_NAME)
        except NotFound:
            return None


class LocalListing(ListingBackend):
    """The local folder store: the catalog is a file, written under the store's own write lock."""

    supports_catalog = True
    repo: LocalRepository

    def __init__(self, repo: LocalRepository) -> None:
        super().__init__(repo)
        self.path = repo.root / catalog_key(repo.user_id)

    def _current(self) -> tuple[bytes, str] | None:
        """The catalog's bytes and version: their SHA-256 (a file's size, mtime and inode can come back the same
        after a rewrite within one clock tick; the content cannot differ under the same hash)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"The project catalog could not be read: {exc.strerror or exc}.") from None
        return data, hashlib.sha256(data).hexdigest()

    def read_catalog(self, *, if_none_match: str | None = None) -> CatalogRead:
        current = self._current()
        if current is None:
            return CatalogRead(None, None)
        data, etag = current
        if etag == if_none_match:
            return CatalogRead(None, etag, unchanged=True)
        return CatalogRead(data[: MAX_CATALOG_BYTES + 1], etag)

    def write_catalog(self, data: bytes, *, if_match: str | None = None, if_none_match: bool = False) -> str:
        from projectdesk.storage.atomic import write_atomic

        with self.repo._write_lock():
            current = self._current()
            etag = current[1] if current is not None else None
            if (if_none_match and etag is not None) or (if_match is not None and etag != if_match):
                raise Conflict("The project catalog changed since it was read; nothing was overwritten.")
            try:
                write_atomic(self.path, data)
            except OSError as exc:
                raise StorageError(f"The project catalog could not be written: {exc.strerror or exc}.") from None
        return hashlib.sha256(data).hexdigest()

    def _manifest_entry(self, slug: str) -> FileEntry | None:
        """One stat (the store's own `stat_file` checks the path first: the slug is a listed folder's name)."""
        try:
            stat = os.stat(self.repo.root / keys.manifest_key(self.repo.user_id, slug))
        except OSError:
            return None
        return FileEntry(keys.MANIFEST_NAME, stat.st_size, local_etag(stat), stat.st_mtime)


class S3Listing(ListingBackend):
    """An S3 store: conditional GET/PUT of the catalog, ranged listings asked at once."""

    supports_catalog = True
    repo: S3Repository

    def __init__(self, repo: S3Repository) -> None:
        super().__init__(repo)
        self.prefix = keys.user_prefix(repo.user_id)

    def _get(self, key: str, what: str, cap: int, if_none_match: str | None) -> tuple[bytes | None, str | None, bool]:
        """(bytes, etag, unchanged) of `key`; (None, None, False) when absent."""
        repo = self.repo
        params: dict[str, Any] = {"Bucket": repo.bucket, "Key": key}
        if if_none_match:
            params["IfNoneMatch"] = f'"{if_none_match}"'
        try:
            with repo._errors(what):
                try:
                    response = repo._call("get_object", **params)
                    data = bytes(response["Body"].read(cap + 1))
                except Exception as exc:
                    if if_none_match and _not_modified(exc):
                        return None, if_none_match, True
                    raise
        except NotFound:
            return None, None, False
        return data, str(response.get("ETag", "")).strip('"'), False

    def read_catalog(self, *, if_none_match: str | None = None) -> CatalogRead:
        data, etag, unchanged = self._get(catalog_key(self.repo.user_id), "project catalog", MAX_CATALOG_BYTES,
                                          if_none_match)  # fmt: skip
        return CatalogRead(data, etag, unchanged)

    def write_catalog(self, data: bytes, *, if_match: str | None = None, if_none_match: bool = False) -> str:
        repo = self.repo
        conditions: dict[str, str] = {}
        if if_match is not None:
            conditions["IfMatch"] = f'"{if_match}"'
        if if_none_match:
            conditions["IfNoneMatch"] = "*"
        from projectdesk.storage.s3 import WRITTEN_BY

        with repo._errors("project catalog"):
            response = repo._call(
                "put_object", Bucket=repo.bucket, Key=catalog_key(repo.user_id), Body=data,
                ContentType="application/json", Metadata={"written-by": WRITTEN_BY}, **conditions,
            )  # fmt: skip
        return str(response.get("ETag", "")).strip('"')

    def read_manifest_if_changed(self, slug: str, etag: str) -> tuple[bytes | None, str | None, bool]:
        data, version, unchanged = self._get(keys.manifest_key(self.repo.user_id, slug), f"manifest of {slug}",
                                             MAX_MANIFEST_BYTES, etag)  # fmt: skip
        return data, version, not unchanged

    # ---- listings ------------------------------------------------------------------------------------

    def list_slugs_split(self, boundaries: Sequence[str]) -> list[str]:
        """The slug listing in pieces asked at once, cut at every SLUG_RANGE-th of `boundaries` (the slugs the
        catalog names), so 10,000 slugs take one round trip instead of ten. Each piece starts after the slug
        just before its first (ListObjectsV2 StartAfter: SeaweedFS skips the folder named, S3 lists on from
        its keys), keeps the names from its first on and stops at the next piece's first: every slug is
        found once, those made since included, whether the server orders folders as S3 or by name."""
        order = sorted(set(boundaries))
        if len(order) < 2 * SLUG_RANGE:
            return self.repo.list_slugs()
        clashes = _prefix_clashes(order)
        cuts: list[int] = []
        i = SLUG_RANGE
        while i < len(order):
            if order[i] in clashes:
                i += 1
                continue
            cuts.append(i)
            i += SLUG_RANGE
        starts: list[tuple[str | None, str | None]] = [(None, None)] + [(order[c - 1], order[c]) for c in cuts]
        highs: list[str | None] = [order[c] for c in cuts] + [None]
        pieces = [(after, low, high) for (after, low), high in zip(starts, highs, strict=True)]
        with ThreadPoolExecutor(max_workers=min(LIST_THREADS, len(pieces))) as pool:
            found = list(pool.map(lambda piece: self._slug_piece(*piece), pieces))
        return [slug for part in found for slug in part]

    def _slug_piece(self, after: str | None, low: str | None, high: str | None) -> list[str]:
        repo = self.repo
        params: dict[str, Any] = {"Bucket": repo.bucket, "Prefix": self.prefix, "Delimiter": "/", "MaxKeys": 1000}
        if after is not None:
            params["StartAfter"] = self.prefix + after
        slugs: list[str] = []
        with repo._errors("listing"):
            while True:
                page = repo._call("list_objects_v2", **params)
                past = False  # the page reached the next piece: no further page is asked for (the rest of
                # this one is read: S3 lists "app-v2/" before "app/", a name order the other way round)
                for common in page.get("CommonPrefixes", []):
                    slug = str(common["Prefix"])[len(self.prefix) :].rstrip("/")
                    if high is not None and slug >= high:
                        past = True
                        continue
                    if low is not None and slug < low:
                        continue
                    if keys.is_safe_relative_path(slug) and "/" not in slug:
                        slugs.append(slug)
                    else:
                        log.warning("ignoring a project folder with an unsafe name: %r", slug)
                if past or not page.get("IsTruncated") or not page.get("NextContinuationToken"):
                    return slugs
                params["ContinuationToken"] = page["NextContinuationToken"]

    def _pages(self, start_after: str | None) -> Iterator[list[dict[str, Any]]]:
        """The user's objects from just after `start_after` on, page by page (the caller stops when it has
        seen enough)."""
        repo = self.repo
        params: dict[str, Any] = {"Bucket": repo.bucket, "Prefix": self.prefix, "MaxKeys": 1000}
        if start_after is not None:
            params["StartAfter"] = start_after
        with repo._errors("listing"):
            while True:
                page = repo._call("list_objects_v2", **params)
                yield list(page.get("Contents", []))
                if not page.get("IsTruncated") or not page.get("NextContinuationToken"):
                    return
                params["ContinuationToken"] = page["NextContinuationToken"]

    def list_project_objects(self, wanted: Sequence[str], listed: Sequence[str]) -> Iterator[list[ProjectObjects]]:
        """One listing of the user's prefix for the `wanted` projects, in ranges asked at once.

        The slugs are cut into segments of about LIST_BATCH at slugs that sort the same whether a server orders
        keys as S3 does ("app-v2/" before "app/") or by folder names (SeaweedFS: "app" before "app-v2"):
        a segment mostly wanted is listed whole from its first slug to the next segment's; the wanted slugs of
        the others are listed one by one. A segment's projects arrive as one batch."""
        want = set(wanted)
        order = sorted(set(listed) | want)
        unsafe = _prefix_clashes(order)
        segments: list[list[str]] = []
        for slug in order:
            if not segments or (len(segments[-1]) >= LIST_BATCH and slug not in unsafe):
                segments.append([])
            segments[-1].append(slug)
        jobs: list[tuple[str | None, str | None, list[str]]] = []  # (first, end, wanted slugs)
        singles: list[str] = []
        for i, segment in enumerate(segments):
            mine = [slug for slug in segment if slug in want]
            if len(mine) * 2 >= len(segment):
                first = None if i == 0 else segment[0]
                end = segments[i + 1][0] if i + 1 < len(segments) else None
                jobs.append((first, end, mine))
            else:
                singles += mine
        step = max(1, LIST_BATCH // 10)
        for start in range(0, len(singles), step):
            jobs.append(("", None, singles[start : start + step]))
        if not jobs:
            return
        with ThreadPoolExecutor(max_workers=min(LIST_THREADS, len(jobs))) as pool:
            futures = [pool.submit(self._objects, first, end, slugs) for first, end, slugs in jobs]
            try:
                for future in as_completed(futures):
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()

    def _objects(self, first: str | None, end: str | None, slugs: list[str]) -> list[ProjectObjects]:
        """The objects of `slugs`: the segment [first, end) listed in one go, or ("" as `first`) each slug's."""
        found = {slug: ProjectObjects(slug) for slug in slugs}
        if first == "":
            for slug in slugs:
                for row in self._rows(f"{self.prefix}{slug}/", stop=slug.__ne__):
                    self._add(found, row)
            return list(found.values())
        start = None if first is None else f"{self.prefix}{first}/"
        for row in self._rows(start, stop=lambda s: end is not None and s >= end):
            self._add(found, row)
        return list(found.values())

    def _rows(self, start: str | None, stop: Callable[[str], bool]) -> Iterator[dict[str, Any]]:
        """Rows from `start` (a slug's folder, whose objects are included) until one whose slug `stop`s."""
        for page in self._pages(start):  # both orders list a folder's objects right after "folder/"
            for row in page:
                slug, sep, _ = str(row.get("Key", ""))[len(self.prefix) :].partition("/")
                if not sep:
                    continue  # directly under the user prefix: the catalog, a probe
                if stop(slug):
                    return
                yield row

    def _add(self, found: dict[str, ProjectObjects], obj: dict[str, Any]) -> None:
        slug, _, path = str(obj["Key"])[len(self.prefix) :].partition("/")
        project = found.get(slug)
        if project is None or not path or path.endswith("/"):
            return  # a slug not asked for (or made meanwhile), a folder placeholder
        modified = obj.get("LastModified")
        entry = FileEntry(path, int(obj.get("Size", 0)), str(obj.get("ETag", "")).strip('"'),
                          modified.timestamp() if modified is not None else 0.0)  # fmt: skip
        if path == keys.MANIFEST_NAME:
            project.manifest = entry
        else:
            project.files.append(entry)


def _prefix_clashes(order: Sequence[str]) -> set[str]:
    """Slugs that sort differently by name and by key (one is the other plus a character below '/', as "app"
    and "app-v2"): no segment may start at one."""
    names = set(order)
    clashes: set[str] = set()
    for slug in order:
        for found in _BELOW_SLASH.finditer(slug, 1):
            i = found.start()
            if slug[:i] in names:
                clashes.update((slug, slug[:i]))
    return clashes


_BELOW_SLASH = re.compile("[\x00-\x2e]")  # the characters that sort before "/"


def _not_modified(exc: BaseException) -> bool:
    """A conditional GET answered 304 Not Modified (botocore raises it as a ClientError with that status)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 304 or str(response.get("Error", {}).get("Code", "")) in ("304", "NotModified")


def backend_for(repo: Repository) -> ListingBackend:
    if isinstance(repo, LocalRepository):
        return LocalListing(repo)
    if "projectdesk.storage.s3" in sys.modules:  # an S3 store's module is loaded by the time one exists
        from projectdesk.storage.s3 import S3Repository

        if isinstance(repo, S3Repository):
            return S3Listing(repo)
    return ListingBackend(repo)
