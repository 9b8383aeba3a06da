"""Helpers for the working-folder model tests: the bucket as another tool sees it, names of conflicted copies,
and the manifest check.

`RawStore` never goes through ProjectDesk: for S3 it is plain boto3 on `projects/anonymous/{slug}/{path}`,
for the local store plain files under `root/projects/anonymous/{slug}/` (written as editors and rsync do: a
temporary file renamed over the name, so the local store's ETag — size, mtime, inode — changes).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from projectdesk.core.keys import MANIFEST_NAME
from projectdesk.storage.local import LocalRepository
from projectdesk.storage.repository import Repository

USER = "anonymous"
# ` (conflicted copy 2025-01-31 1432)` or ` (conflicted copy 2025-01-31 1432 2)`: core/names.py
COPY_LABEL = re.compile(r" \(conflicted copy \d{4}-\d{2}-\d{2} \d{4}(?: \d+)?\)")
_scratch_names = itertools.count(1)


def family(path: str) -> str:
    """The name a file had before it became a conflicted copy (of a conflicted copy …): 'd/c.txt' for
    'd/c (conflicted copy 2025-01-31 1432) (conflicted copy 2025-01-31 1433 2).txt'."""
    folder, _, name = path.rpartition("/")
    plain = COPY_LABEL.sub("", name)
    return f"{folder}/{plain}" if folder else plain


def is_copy(path: str) -> bool:
    return COPY_LABEL.search(path.rpartition("/")[2]) is not None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every regular file under `folder` (whatever its name: leftovers of ours would show), by POSIX path."""
    files: dict[str, bytes] = {}
    if not folder.is_dir():
        return files
    for directory, _dirs, names in os.walk(folder):
        for name in names:
            full = Path(directory, name)
            if full.is_file() and not full.is_symlink():
                files[full.relative_to(folder).as_posix()] = full.read_bytes()
    return dict(sorted(files.items()))


class RawStore:
    """One project's files in the store, read and written behind ProjectDesk's back ("another tool")."""

    def __init__(self, kind: str, repo: Repository, slug: str, *, client: Any = None, bucket: str = "") -> None:
        self.kind = kind
        self.slug = slug
        self.prefix = f"projects/{USER}/{slug}/"
        self.client = client
        self.bucket = bucket
        self.root: Path | None = None
        self._seen: dict[tuple[str, str], bytes] = {}  # (key, ETag) -> bytes: each version is read once
        if isinstance(repo, LocalRepository):
            self.root = repo.root
        elif client is None:
            raise ValueError("an S3 store needs its raw client")

    @property
    def project_dir(self) -> Path:
        assert self.root is not None
        return self.root / self.prefix

    def files(self) -> dict[str, bytes]:
        """Every object of the project but the manifest (the store's own temporary names included)."""
        if self.root is not None:
            files = folder_files(self.project_dir)
            files.pop(MANIFEST_NAME, None)
            return files
        out: dict[str, bytes] = {}
        for key, etag in self._keys().items():
            path = key[len(self.prefix) :]
            if path == MANIFEST_NAME:
                continue
            data = self._seen.get((key, etag))
            if data is None:
                response = self.client.get_object(Bucket=self.bucket, Key=key)
                data = response["Body"].read()
                if response["ETag"] == etag:
                    self._seen[(key, etag)] = data
            out[path] = data
        return dict(sorted(out.items()))

    def _keys(self) -> dict[str, str]:
        """key -> ETag of every object of the project."""
        keys: dict[str, str] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            keys.update((obj["Key"], obj["ETag"]) for obj in page.get("Contents", []))
        return keys

    def remove_project(self) -> None:
        """Every object of the project, the manifest too (a store shared by many examples stays small)."""
        if self.root is not None:
            shutil.rmtree(self.project_dir, ignore_errors=True)
            return
        keys = list(self._keys())
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def has_manifest(self) -> bool:
        if self.root is not None:
            return (self.project_dir / MANIFEST_NAME).is_file()
        return self.prefix + MANIFEST_NAME in self._keys()

    def exists(self) -> bool:
        """A project to pull: it has a manifest or a file."""
        return self.has_manifest() or bool(self.files())

    def put(self, path: str, data: bytes) -> None:
        if self.root is None:
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + path, Body=data)
            return
        target = self.project_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.root / ".other-tool"  # outside the project: a listing never sees the half-written file
        scratch.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=scratch, prefix=f"w{next(_scratch_names)}-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, target)

    def delete(self, path: str) -> None:
        if self.root is None:
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + path)
            return
        (self.project_dir / path).unlink(missing_ok=True)


def manifest_problems(repo: Repository, slug: str, server: Mapping[str, bytes]) -> list[str]:
    """What is wrong with the manifest, read with `repo.get_manifest`, against the server's files `server`
    (path -> bytes) and the ETags of `repo.list_files`; empty when it names exactly those files."""
    manifest = repo.get_manifest(slug)
    if manifest is None:
        return ["no readable manifest"]
    problems: list[str] = []
    expected = {path: sha256(data) for path, data in server.items()}
    if manifest.files != expected:
        extra = sorted(set(manifest.files) - set(expected))
        missing = sorted(set(expected) - set(manifest.files))
        wrong = sorted(p for p in set(expected) & set(manifest.files) if manifest.files[p] != expected[p])
        problems.append(f"manifest files: extra {extra}, missing {missing}, wrong sha256 {wrong}")
    etags = {entry.path: entry.etag for entry in repo.list_files(slug)}
    if manifest.file_etags != etags:
        differ = sorted(p for p in set(etags) | set(manifest.file_etags) if etags.get(p) != manifest.file_etags.get(p))
        problems.append(f"manifest file_etags differ from the listing for {differ}")
    if manifest.files_count != len(server) or manifest.total_bytes != sum(len(d) for d in server.values()):
        problems.append(f"manifest counts {manifest.files_count} files / {manifest.total_bytes} bytes")
    return problems


def missing_contents(wanted: Iterable[tuple[str, bytes]], places: Mapping[str, Mapping[str, bytes]]) -> list[str]:
    """Each (name, bytes) of `wanted` not found in any place under its name or a conflicted copy of it."""
    found: set[tuple[str, bytes]] = set()
    for files in places.values():
        for path, data in files.items():
            found.add((family(path), data))
    return [f"{name}: {data[:60]!r}" for name, data in wanted if (family(name), data) not in found]
