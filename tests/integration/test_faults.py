"""Speed never costs correctness: a 2,003-file push and pull through a proxy that breaks connections.

The proxy (tests/servers/faultproxy.py) sits between ProjectDesk and a real SeaweedFS on 127.0.0.1:
per request it resets 5 % of connections, answers `503 SlowDown` to 5 % and cuts 2 % of responses
mid-body, from a seeded RNG. The push and the pull must still end byte-identical (SHA-256 of every
file), with no stray objects and no multipart upload left open.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from projectdesk.core.limits import Limits
from projectdesk.services.projects import ProjectService
from projectdesk.storage import crt
from projectdesk.storage.s3 import MULTIPART_THRESHOLD, S3Repository
from projectdesk.storage.s3client import Credentials, make_client
from tests.servers.faultproxy import FaultProxy, Faults

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

pytestmark = pytest.mark.seaweedfs

SMALL_FILES = 2000
LARGE_FILES = 3
LARGE_SIZE = MULTIPART_THRESHOLD + 1024 * 1024 + 12345  # multipart, last part short


def _make_project(root: Path, small: int, large: int, seed: int = 3) -> dict[str, str]:
    """The benchmark's shape: small files in folders up to 6 deep, plus a few multipart-sized ones."""
    rng = random.Random(seed)
    folders = [""]
    while len(folders) < max(4, small // 16):
        parent = rng.choice(folders)
        if parent.count("/") < 5:
            folders.append(f"{parent}/d{len(folders)}".lstrip("/"))
    digests: dict[str, str] = {}
    for i in range(small):
        path = f"{rng.choice(folders)}/f{i:05d}.txt".lstrip("/")
        data = rng.randbytes(rng.randint(512, 20 * 1024))
        digests[path] = _write(root / path, data)
    for i in range(large):
        path = f"assets/big{i}.bin"
        digests[path] = _write(root / path, rng.randbytes(LARGE_SIZE + i * 3 * 1024 * 1024))
    return digests


def _write(target: Path, data: bytes) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _digests(root: Path) -> dict[str, str]:
    result = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            result[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return result


def _run_through_proxy(
    seaweed: SeaweedServer, tmp_path: Path, *, engine: str, small: int, large: int, seed: int
) -> FaultProxy:
    bucket = f"faults-{engine}-{seed}"
    seaweed.create_bucket(bucket)
    source = tmp_path / "project"
    expected = _make_project(source, small, large)
    assert seaweed.ports is not None
    proxy = FaultProxy(("127.0.0.1", seaweed.ports.s3), faults=Faults(reset=0.05, slowdown=0.05, cut=0.02), seed=seed)
    with proxy:
        client = make_client(
            endpoint_url=proxy.url,
            region=seaweed.region,
            credentials=Credentials(seaweed.access_key, seaweed.secret_key),
            path_style=True,
            max_attempts=10,  # 12 % of attempts fail on purpose: ten retries make a lost file ~1e-9
        )
        repo = S3Repository(client, bucket, endpoint=proxy.url, transfer_engine=engine)
        service = ProjectService(repo, limits=Limits(10**9, 10**10), data_dir=tmp_path / "index")
        slug = "faulty-12345"

        plan = service.plan_push(source, name="Faulty", slug=slug)
        result = service.push(plan)
        assert result.failed == []
        assert len(result.uploaded) == len(expected)

        dest = tmp_path / "pulled"
        report = service.pull(slug, dest)
        assert report.failed == [] and report.skipped == []
        pulled = _digests(dest)  # every file, temp files included: none may be left behind

    assert pulled == expected
    direct_repo = S3Repository(seaweed.client(), bucket, endpoint=seaweed.endpoint_url)

    direct = seaweed.client()
    prefix = f"projects/anonymous/{slug}/"
    listed = {}
    for page in direct.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            listed[obj["Key"]] = obj["Size"]
    sizes = {path: (source / path).stat().st_size for path in expected}
    listed.pop("projects/anonymous/.projectdesk-catalog.json", None)  # the user's catalog (core/catalog.py)
    assert listed == {prefix + path: size for path, size in sizes.items()} | {
        prefix + ".projectdesk.json": listed.get(prefix + ".projectdesk.json")
    }, "stray or partial objects in the bucket"
    manifest = direct_repo.get_manifest(slug)
    assert manifest is not None and manifest.files == expected
    uploads = direct.list_multipart_uploads(Bucket=bucket)
    assert uploads.get("Uploads", []) == [], "multipart uploads left open"
    return proxy


def test_push_and_pull_survive_resets_throttling_and_cut_responses(
    seaweed: SeaweedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # big0 downloads through the CRT's own multi-part GET, big1 and big2 as bounded ranged GETs
    monkeypatch.setattr(crt, "RANGED_THRESHOLD", LARGE_SIZE + 1024 * 1024)
    started = time.monotonic()
    proxy = _run_through_proxy(seaweed, tmp_path, engine="auto", small=SMALL_FILES, large=LARGE_FILES, seed=11)
    counts = proxy.counts
    # The faults really happened, in about the proportions asked for.
    assert counts["requests"] > SMALL_FILES * 2
    assert counts["reset-before"] + counts["reset-mid-request"] > counts["requests"] * 0.02
    assert counts["slowdown"] > counts["requests"] * 0.02
    assert counts["cut"] > counts["requests"] * 0.005
    assert time.monotonic() - started < 180


def test_the_boto3_path_survives_the_same_faults(seaweed: SeaweedServer, tmp_path: Path) -> None:
    """Without the CRT (no awscrt, proxies, …) bulk transfers use boto3 threads: same guarantees."""
    proxy = _run_through_proxy(seaweed, tmp_path, engine="boto3", small=300, large=1, seed=12)
    assert proxy.counts["cut"] > 0 and proxy.counts["slowdown"] > 0


def test_cancel_stops_crt_transfers_and_leaves_no_partial_files(seaweed: SeaweedServer, tmp_path: Path) -> None:
    from projectdesk.core.errors import Cancelled
    from projectdesk.core.models import Progress
    from projectdesk.storage.repository import UploadItem

    bucket = "faults-cancel"
    seaweed.create_bucket(bucket)
    source = tmp_path / "project"
    expected = _make_project(source, 400, 0)
    client = make_client(
        endpoint_url=seaweed.endpoint_url,
        region=seaweed.region,
        credentials=Credentials(seaweed.access_key, seaweed.secret_key),
        path_style=True,
    )
    repo = S3Repository(client, bucket, endpoint=seaweed.endpoint_url)
    assert repo._crt() is not None, "this test is about the CRT path"
    items = [UploadItem(path, source / path, (source / path).stat().st_size) for path in expected]
    assert repo.upload_tree("cancel-12345", items, project_name="Cancel").failed == []

    cancel = threading.Event()

    def stop_after_some(progress: Progress) -> None:
        if progress.files_done >= 20:
            cancel.set()

    dest = tmp_path / "pulled"
    with pytest.raises(Cancelled):
        repo.download_tree("cancel-12345", dest, progress=stop_after_some, cancel=cancel)
    written = _digests(dest)
    assert 20 <= len(written) < len(expected)
    assert all(expected[path] == digest for path, digest in written.items()), "only whole files under their names"


def test_repush_hashes_only_changed_files_and_sends_only_them(
    seaweed: SeaweedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from projectdesk.services import hashing

    bucket = "faults-repush"
    seaweed.create_bucket(bucket)
    source = tmp_path / "project"
    expected = _make_project(source, 300, 0)
    old = time.time() - 3600  # written long ago: not "racily clean"
    for path in expected:
        os.utime(source / path, (old, old))
    client = make_client(
        endpoint_url=seaweed.endpoint_url,
        region=seaweed.region,
        credentials=Credentials(seaweed.access_key, seaweed.secret_key),
        path_style=True,
    )
    service = ProjectService(S3Repository(client, bucket, endpoint=seaweed.endpoint_url), data_dir=tmp_path / "index")
    service.push(service.plan_push(source, name="Repush", slug="repush-12345"))

    hashed: list[Path] = []
    real = hashing.sha256_file

    def counting(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(hashing, "sha256_file", counting)
    changed = sorted(expected)[:3]
    for path in changed:
        (source / path).write_bytes(b"changed " + path.encode())
        now = time.time_ns() + 10**9  # "just now" for the racy rule, however long the plan below takes
        os.utime(source / path, ns=(now, now))
    requests: list[str] = []
    client.meta.events.register("before-call.s3", lambda model, **_: requests.append(model.name))
    plan = service.plan_push(source, slug="repush-12345")
    assert sorted(p.relative_to(source).as_posix() for p in hashed) == changed  # nothing else was read
    assert sorted(item.path for item in plan.to_upload) == changed
    result = service.push(plan)
    assert (len(result.uploaded), result.unchanged) == (3, 297)
    assert "HeadObject" not in requests  # the listing and the manifest tell what changed, not a HEAD per file
    assert requests.count("ListObjectsV2") == 1  # one listing (one page for 300 files), none after the push
    manifest = service.repo.get_manifest("repush-12345")
    assert manifest is not None
    assert manifest.files == {**expected, **{p: hashing.sha256_bytes(b"changed " + p.encode()) for p in changed}}
    # A file changed within the clock tick of its hashing could keep its stat: it is hashed again next time.
    hashed.clear()
    service.plan_push(source, slug="repush-12345")
    assert sorted(p.relative_to(source).as_posix() for p in hashed) == changed
