"""Sharing a whole project by link (issue #17), end to end on moto and a real SeaweedFS: `projectdesk-cli share`
and `shares` in-process, the link fetched with urllib, the zip compared byte for byte with the project.

moto answers boto3 in-process and `requests` through its mock, but not urllib: on moto the link is fetched with
urllib through a handler that hands the request to `requests` (so moto's own check of the presigned URL
answers it). On SeaweedFS urllib talks to the server itself.
"""

from __future__ import annotations

import io
import json
import random
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import ProfileStore
from projectdesk.core import shares
from projectdesk.core.errors import Cancelled
from projectdesk.core.models import Progress
from projectdesk.services import share as service_share
from projectdesk.services.offline import CachedProjectService, open_cached_service
from projectdesk.services.projects import ProjectService
from tests.conftest import make_tree, seaweed_repo
from tests.integration.test_cli import Runner

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.seaweedfs import SeaweedServer

MIB = 1024 * 1024


class ShareRun(Runner):
    """The CLI on a fresh bucket, with the raw client and how to fetch a URL as a browser would."""

    kind: str
    bucket: str
    client: S3Client


def _project(root: Path, seed: int = 17) -> dict[str, bytes]:
    """A realistic small project: nested folders, text, binary files, an empty file, a name with a space."""
    rng = random.Random(seed)
    files: dict[str, bytes] = {
        "README.md": b"# Portfolio\n\nA site.\n",
        "package.json": b'{"name": "portfolio-site", "dependencies": {"react": "^18.0.0"}}\n',
        "src/index.tsx": b"export const App = () => null;\n" * 40,
        "src/components/Header/Header.tsx": b"export function Header() { return null; }\n",
        "src/components/Header/header.css": b".header { color: red; }\n" * 100,
        "public/images/logo.png": bytes(rng.getrandbits(8) for _ in range(70_000)),
        "public/fonts/inter.woff2": bytes(rng.getrandbits(8) for _ in range(5_000)),
        "data/blob.bin": bytes(range(256)) * 1200,
        "docs/notes/empty.txt": b"",
        "docs/notes/with space.md": "Ünïcode — text\n".encode(),
    }
    make_tree(root, files)
    return files


def _zip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}


class _RequestsHandler(urllib.request.BaseHandler):
    """urllib → `requests`, which moto's mock answers in-process."""

    handler_order = 100  # before urllib's own HTTPSHandler

    def https_open(self, req: urllib.request.Request) -> Any:
        import requests

        answer = requests.get(req.full_url, timeout=30)
        headers = Message()
        for name, value in answer.headers.items():
            headers[name] = value
        if answer.status_code >= 400:
            raise urllib.error.HTTPError(req.full_url, answer.status_code, answer.reason, headers, io.BytesIO())
        response = urllib.response.addinfourl(io.BytesIO(answer.content), headers, req.full_url, answer.status_code)
        response.msg = answer.reason  # type: ignore[attr-defined]
        return response


def fetch(run: ShareRun, url: str) -> tuple[int, bytes, str]:
    """(status, body, Content-Disposition) of a GET of `url` with urllib, as anyone holding the link would."""
    opener = urllib.request.build_opener(_RequestsHandler()) if run.kind == "moto" else urllib.request.build_opener()
    try:
        with opener.open(url, timeout=30) as answer:
            return answer.status, answer.read(), answer.headers.get("Content-Disposition", "")
    except urllib.error.HTTPError as exc:
        return exc.code, b"", ""


@pytest.fixture(params=["moto", "seaweedfs"])
def srun(
    request: pytest.FixtureRequest, isolated_dirs: Paths, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ShareRun]:  # fmt: skip
    run = ShareRun(isolated_dirs, capsys, None)
    run.kind = request.param
    run.bucket = f"share-{abs(hash(request.node.name)) % 10**12}"
    if request.param == "seaweedfs":
        server: SeaweedServer = request.getfixturevalue("seaweed")
        server.create_bucket(run.bucket)
        run.client = server.client()
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
        run("profiles", "add", "s3", "--endpoint-url", server.endpoint_url, "--region", "us-east-1",
            "--bucket", run.bucket, "--path-style", "--env", "--default")  # fmt: skip
    else:
        request.getfixturevalue("moto_env")
        import boto3

        run.client = boto3.client("s3", region_name="us-east-1")
        run.client.create_bucket(Bucket=run.bucket)
        run("profiles", "add", "s3", "--region", "us-east-1", "--bucket", run.bucket, "--env", "--default")
    run.profile = "s3"
    yield run


def _service(run: Runner) -> CachedProjectService:
    return open_cached_service(ProfileStore(run.paths).get("s3"), run.paths)


def _keys(run: ShareRun, prefix: str) -> list[str]:
    listed = run.client.list_objects_v2(Bucket=run.bucket, Prefix=prefix)
    return [obj["Key"] for obj in listed.get("Contents", [])]


def _open_uploads(run: ShareRun) -> list[str]:
    listed = run.client.list_multipart_uploads(Bucket=run.bucket, Prefix=shares.SHARES_ROOT)
    return [upload["Key"] for upload in listed.get("Uploads", [])]


def test_share_link_gives_the_project_as_a_zip_until_revoked(srun: ShareRun, tmp_path: Path) -> None:
    files = _project(tmp_path / "portfolio-site")
    slug = srun("push", str(tmp_path / "portfolio-site"))[0].strip().splitlines()[-1]

    out, _ = srun("share", slug, "--expires", "2h")
    sentence, url = out.strip().splitlines()
    assert sentence.startswith(f"Anyone with this link can download {slug} (10 files, ")
    assert " as a zip until " in sentence
    made = srun.json("shares")
    assert [s["slug"] for s in made] == [slug]
    share = made[0]
    assert share["files_count"] == 10 and share["total_bytes"] == sum(len(b) for b in files.values())
    assert 7100 <= share["expires_at"] - share["created_at"] <= 7201
    key = shares.share_key("anonymous", slug, share["share_id"])
    assert _keys(srun, shares.SHARES_ROOT) == [key]  # beside the projects, not in one
    assert all(not k.startswith(shares.SHARES_ROOT) for k in _keys(srun, "projects/"))
    assert [p["slug"] for p in srun.json("list")] == [slug]  # the project listing is unchanged

    status, body, disposition = fetch(srun, url)
    assert status == 200 and f'filename="{slug}.zip"' in disposition
    assert _zip_files(body) == files
    assert len(body) == share["size"]

    # Copy Link again: a fresh URL for the rest of the lifetime, that works too
    fresh = srun.json("shares", "link", share["share_id"])
    assert fresh["expires_at"] == share["expires_at"] and fresh["share_id"] == share["share_id"]
    assert fetch(srun, fresh["url"])[0] == 200

    out, _ = srun("shares", "revoke", share["share_id"])
    assert "no longer works" in out
    assert fetch(srun, url)[0] in (403, 404)
    assert fetch(srun, fresh["url"])[0] in (403, 404)
    assert srun.json("shares") == []
    _, err = srun("shares", "revoke", share["share_id"], expect=1)
    assert f"There is no shared link {share['share_id']}" in err


def test_multipart_snapshot_of_two_parts_is_byte_identical(srun: ShareRun, tmp_path: Path) -> None:
    files = _project(tmp_path / "big")
    slug = srun("push", str(tmp_path / "big"))[0].strip().splitlines()[-1]
    video = random.Random(5).randbytes(6 * MIB)  # stored as is (.mp4): the zip is > 5 MiB
    files["assets/video.mp4"] = video  # written by another tool: in the listing, not the manifest
    srun.client.put_object(Bucket=srun.bucket, Key=f"projects/anonymous/{slug}/assets/video.mp4", Body=video)
    seen: list[Progress] = []
    service = _service(srun)
    try:
        made = service_share.share_project(service, slug, 3600, progress=seen.append, part_size=5 * MIB)
    finally:
        service.close()
    head = srun.client.head_object(Bucket=srun.bucket, Key=shares.share_key("anonymous", slug, made.share_id))
    assert (head["ContentLength"], made.files_count) == (made.size, 11), head
    assert head["ETag"].strip('"').endswith("-2")  # two parts: 5 MiB and the rest
    assert head["ContentLength"] == made.size > 6 * MIB
    assert head["Metadata"][shares.META_FILES] == "11"
    assert seen[-1].files_done == seen[-1].files_total == 11
    assert seen[-1].bytes_done == seen[-1].bytes_total == sum(len(b) for b in files.values())
    status, body, _ = fetch(srun, made.url)
    assert status == 200 and _zip_files(body) == files


def test_cancelled_share_leaves_no_upload_and_no_object(srun: ShareRun, tmp_path: Path) -> None:
    files = {f"src/file{i:03d}.txt": random.Random(i).randbytes(40_000) for i in range(200)}
    make_tree(tmp_path / "proj", files)
    slug = srun("push", str(tmp_path / "proj"))[0].strip().splitlines()[-1]
    cancel = threading.Event()

    def progress(p: Progress) -> None:
        if p.files_done >= 5:
            cancel.set()

    service = _service(srun)
    try:
        with pytest.raises(Cancelled, match="cancelled; nothing was left on the server"):
            service_share.share_project(service, slug, 3600, progress=progress, cancel=cancel, part_size=5 * MIB)
    finally:
        service.close()
    assert cancel.is_set()
    assert _open_uploads(srun) == []
    assert _keys(srun, shares.SHARES_ROOT) == []


def test_expired_snapshots_are_removed_by_the_listing(srun: ShareRun, tmp_path: Path) -> None:
    _project(tmp_path / "site")
    slug = srun("push", str(tmp_path / "site"))[0].strip().splitlines()[-1]
    keep = json.loads(srun("share", slug, "--json")[0])
    old = json.loads(srun("share", slug, "--expires", "1h", "--json")[0])
    old_key = shares.share_key("anonymous", slug, old["share_id"])
    # the second one's metadata says it expired a minute ago (as a share made 2 hours ago with --expires 1h)
    head = srun.client.head_object(Bucket=srun.bucket, Key=old_key)
    past = {**head["Metadata"], shares.META_EXPIRES: str(int(time.time()) - 60)}
    srun.client.copy_object(Bucket=srun.bucket, Key=old_key, CopySource={"Bucket": srun.bucket, "Key": old_key},
                            Metadata=past, MetadataDirective="REPLACE", ContentType="application/zip")  # fmt: skip
    srun.client.put_object(Bucket=srun.bucket, Key=f"{shares.SHARES_ROOT}anonymous/notes.txt", Body=b"not ours")

    out, err = srun("shares")
    assert "Removed 1 expired snapshot(s)." in err
    assert keep["share_id"] in out and old["share_id"] not in out
    assert sorted(_keys(srun, shares.SHARES_ROOT)) == sorted(
        [shares.share_key("anonymous", slug, keep["share_id"]), f"{shares.SHARES_ROOT}anonymous/notes.txt"]
    )
    assert fetch(srun, old["url"])[0] in (403, 404)
    assert fetch(srun, keep["url"])[0] == 200


def test_lifecycle_rule_is_added_beside_the_bucket_s_own(srun: ShareRun) -> None:
    own = {"ID": "their-logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30}}
    srun.client.put_bucket_lifecycle_configuration(Bucket=srun.bucket, LifecycleConfiguration={"Rules": [own]})
    out, _ = srun("shares", "--add-lifecycle")
    assert f"Added the lifecycle rule '{shares.LIFECYCLE_RULE_ID}'" in out
    rules = {r["ID"]: r for r in srun.client.get_bucket_lifecycle_configuration(Bucket=srun.bucket)["Rules"]}
    assert set(rules) == {"their-logs", shares.LIFECYCLE_RULE_ID}
    assert rules["their-logs"]["Expiration"]["Days"] == 30
    ours = rules[shares.LIFECYCLE_RULE_ID]
    assert ours["Expiration"]["Days"] == shares.LIFECYCLE_DAYS
    assert ours.get("Filter", {}).get("Prefix", ours.get("Prefix")) == shares.SHARES_ROOT
    out, _ = srun("shares", "--add-lifecycle")
    assert "has the lifecycle rule" in out


def test_local_store_says_share_links_need_s3(isolated_dirs: Paths, capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:  # fmt: skip
    run = Runner(isolated_dirs, capsys, None)
    _project(tmp_path / "site")
    slug = run("push", str(tmp_path / "site"))[0].strip().splitlines()[-1]
    for args in (("share", slug), ("shares",), ("shares", "--add-lifecycle")):
        _, err = run(*args, expect=1)
        assert "Share links need an S3 store; this one is a" in err
    _, err = run("share", slug, "--expires", "8d", expect=1)
    assert "from one minute to 7 days" in err


@pytest.mark.seaweedfs
def test_a_2003_file_project_shares_whole(seaweed: SeaweedServer, tmp_path: Path) -> None:
    """2,000 small files in folders up to 6 deep and three larger ones: every one in the zip, byte for byte."""

    rng = random.Random(2003)
    folders = [""]
    while len(folders) < 125:
        parent = rng.choice(folders)
        if parent.count("/") < 5:
            folders.append(f"{parent}/{rng.choice(['src', 'lib', 'app', 'components'])}{len(folders)}".lstrip("/"))
    files = {f"{rng.choice(folders)}/file{i:04d}.txt".lstrip("/"): rng.randbytes(rng.randint(50, 2000))
             for i in range(2000)}  # fmt: skip
    files.update({f"assets/blob{i}.bin": rng.randbytes(600_000) for i in range(3)})
    make_tree(tmp_path / "many", files)
    bucket = f"many-{rng.getrandbits(40):x}"
    seaweed.create_bucket(bucket)
    service = ProjectService(seaweed_repo(seaweed, bucket), data_dir=tmp_path / "data")
    plan = service.plan_push(tmp_path / "many", name="Many")
    assert not service.push(plan).failed
    made = service_share.share_project(service, plan.slug, 3600)  # ~3.4 s here; benchmarks/share.py: 101 MB
    assert made.files_count == 2003
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(made.url, timeout=60) as answer:
        assert _zip_files(answer.read()) == files


@pytest.mark.seaweedfs
def test_a_read_only_key_is_told_in_one_sentence(seaweed: SeaweedServer, tmp_path: Path) -> None:
    from projectdesk.core.errors import AccessDenied
    from projectdesk.storage.s3 import S3Repository
    from projectdesk.storage.s3client import Credentials, make_client

    bucket = f"ro-{random.getrandbits(40):x}"
    seaweed.create_bucket(bucket)
    admin = ProjectService(seaweed_repo(seaweed, bucket), data_dir=tmp_path / "admin")
    plan = admin.plan_push(make_tree(tmp_path / "site", {"index.html": b"<h1>hi</h1>\n"}), name="Site")
    admin.push(plan)
    assert seaweed.readonly_access_key is not None and seaweed.readonly_secret_key is not None
    client = make_client(endpoint_url=seaweed.endpoint_url, region=seaweed.region, path_style=True,
                         credentials=Credentials(seaweed.readonly_access_key, seaweed.readonly_secret_key))  # fmt: skip
    reader = ProjectService(S3Repository(client, bucket, endpoint=seaweed.endpoint_url), data_dir=tmp_path / "ro")
    with pytest.raises(AccessDenied) as refused:
        service_share.add_lifecycle_rule(reader)
    assert refused.value.message == service_share.LIFECYCLE_REFUSED.format(bucket=bucket, why="access denied")
    with pytest.raises(AccessDenied):
        service_share.share_project(reader, plan.slug, 3600)
    raw = seaweed.client()
    assert not raw.list_objects_v2(Bucket=bucket, Prefix=shares.SHARES_ROOT).get("Contents")
    assert not raw.list_multipart_uploads(Bucket=bucket, Prefix=shares.SHARES_ROOT).get("Uploads")
