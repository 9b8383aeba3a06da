"""A pull of a large file whose SHA-256 the manifest records (SeaweedFS, real CRT ranged GETs): written once, the
working file and the cache's blob one inode, and the manifest's digest used instead of hashing the download
again — never a stale one: a version the manifest does not describe is hashed as it lands."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from projectdesk.cache import blobs
from projectdesk.cache.store import CacheStore
from projectdesk.core.threeway import Direction
from projectdesk.services.offline import CachedProjectService
from projectdesk.storage import crt
from tests.conftest import make_tree, seaweed_repo

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

SLUG = "known-sha"


def _service(repo: Any, root: Path, name: str) -> CachedProjectService:
    return CachedProjectService(repo, CacheStore(root / name, "seaweed", "anonymous"), data_dir=root / f"{name}-data")


def test_a_pulled_large_file_is_written_once_and_hashed_only_when_the_manifest_does_not_know_it(
    seaweed: SeaweedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crt, "RANGED_THRESHOLD", 1024 * 1024)  # ranged GETs, finishing out of order
    monkeypatch.setattr(crt, "RANGE_SIZE", 64 * 1024 + 7)
    hashing: list[bool] = []  # per ranged download: was it asked to hash what lands?
    real_init = crt._RangedDownload.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        hashing.append(self._sha is not None)

    monkeypatch.setattr(crt._RangedDownload, "__init__", init)
    hashed_by_cache: list[Path] = []
    real_hash_file = blobs.hash_file
    monkeypatch.setattr(blobs, "hash_file", lambda path: hashed_by_cache.append(path) or real_hash_file(path))

    bucket = f"pd-{uuid.uuid4().hex[:12]}"
    seaweed.create_bucket(bucket)
    repo = seaweed_repo(seaweed, bucket)
    big = os.urandom(3 * 1024 * 1024 + 12_345)
    pusher = _service(repo, tmp_path, "pusher")
    try:
        plan = pusher.plan_push(make_tree(tmp_path / "src", {"big.bin": big}), slug=SLUG, remember=False)
        assert not pusher.push(plan).failed
    finally:
        pusher.close()

    def pull(name: str) -> tuple[Path, CachedProjectService]:
        service = _service(repo, tmp_path, name)
        dest = tmp_path / f"{name}-folder"
        plan = service.plan_folder(dest, Direction.PULL, slug=SLUG)
        report = service.run_folder(plan)
        assert not report.failed, report.failed
        return dest, service

    dest, service = pull("first")
    try:
        row = {r.path: r for r in service.cache.files(SLUG)}["big.bin"]
        blob = service.cache.blobs.path("anonymous", SLUG, "big.bin")
    finally:
        service.close()
    assert hashing == [False]  # the manifest knew the version: nothing read back to hash it
    assert hashed_by_cache == []
    assert row.blob_sha256 == hashlib.sha256(big).hexdigest()
    assert (dest / "big.bin").read_bytes() == big
    assert os.stat(blob).st_ino == os.stat(dest / "big.bin").st_ino  # one copy on disk: written once, linked

    # Another tool replaces the file and leaves the manifest as it was: its SHA-256 is of the old version.
    other = os.urandom(2 * 1024 * 1024 + 3)
    seaweed.client().put_object(Bucket=bucket, Key=f"projects/anonymous/{SLUG}/big.bin", Body=other)
    hashing.clear()
    dest, service = pull("second")
    try:
        row = {r.path: r for r in service.cache.files(SLUG)}["big.bin"]
    finally:
        service.close()
    assert hashing == [True] and hashed_by_cache == []  # hashed as it landed, not from the stale manifest
    assert row.blob_sha256 == hashlib.sha256(other).hexdigest()
    assert (dest / "big.bin").read_bytes() == other
