"""A large download through the CRT's ranged GETs hashes what lands as it goes (SeaweedFS, real CRT)."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from projectdesk.cache import blobs
from projectdesk.cache.store import CacheStore
from projectdesk.services.offline import CachedProjectService
from projectdesk.storage import crt
from tests.conftest import seaweed_repo

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

SLUG = "ranged-00001"


def test_a_ranged_download_hands_over_its_sha256_and_the_cache_reads_nothing_again(
    seaweed: SeaweedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small ranges, many in flight, finishing out of order: the hash must still follow the file's order
    monkeypatch.setattr(crt, "RANGED_THRESHOLD", 1024 * 1024)
    monkeypatch.setattr(crt, "RANGE_SIZE", 64 * 1024 + 7)
    monkeypatch.setattr(crt, "HASH_CHUNK", 10_000)
    bucket = f"pd-{uuid.uuid4().hex[:12]}"
    seaweed.create_bucket(bucket)
    repo = seaweed_repo(seaweed, bucket)
    big = os.urandom(3 * 1024 * 1024 + 12_345)
    small = b"small file\n"
    client = seaweed.client()
    for path, data in (("assets/big.bin", big), ("small.txt", small)):
        client.put_object(Bucket=bucket, Key=f"projects/anonymous/{SLUG}/{path}", Body=data)

    hashes: dict[str, str] = {}
    report = repo.download_tree(SLUG, tmp_path / "direct", hashes=hashes)
    assert not report.failed and (tmp_path / "direct" / "assets" / "big.bin").read_bytes() == big
    assert hashes["assets/big.bin"] == hashlib.sha256(big).hexdigest()

    hashed: list[Path] = []
    real_hash_file = blobs.hash_file
    monkeypatch.setattr(blobs, "hash_file", lambda path: hashed.append(path) or real_hash_file(path))
    service = CachedProjectService(repo, CacheStore(tmp_path / "cache", "seaweed", "anonymous"))
    try:
        report = service.deliver(SLUG, tmp_path / "pulled", service.list_files(SLUG))
        assert not report.failed and not report.skipped
        rows = {row.path: row for row in service.cache.files(SLUG)}
    finally:
        service.close()
    assert rows["assets/big.bin"].blob_sha256 == hashlib.sha256(big).hexdigest()
    assert rows["small.txt"].blob_sha256 == hashlib.sha256(small).hexdigest()
    assert hashed == []  # both digests came from the download: the cache read no file back to hash it
    assert (tmp_path / "pulled" / "assets" / "big.bin").read_bytes() == big
