"""Offline and sync against a real SeaweedFS server that is killed and restarted mid-session.

This module runs its own server (the session's `seaweed` is shared with other tests and must stay up).
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from projectdesk import cli
from projectdesk.cache.store import CacheStore
from projectdesk.config.paths import Paths
from projectdesk.config.profiles import Profile, ProfileStore
from projectdesk.services.offline import CachedProjectService, ConflictedCopy, NotAvailableOffline
from projectdesk.storage.s3 import S3Repository
from tests.conftest import make_tree, tree_bytes
from tests.servers.seaweedfs import SeaweedServer

pytestmark = pytest.mark.seaweedfs

PROJECT: dict[str, bytes] = {
    "index.html": b"<!doctype html><h1>Portfolio</h1>\n",
    "src/app.py": b"from fastapi import FastAPI\napp = FastAPI()\n",
    "requirements.txt": b"fastapi\n",
    "assets/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64,
    "docs/notes café.md": "# Notes ✓\n".encode(),
}


@pytest.fixture
def bucket(server: SeaweedServer) -> str:
    name = f"offline-{uuid.uuid4().hex[:12]}"
    server.create_bucket(name)
    return name


def _service(server: SeaweedServer, bucket: str, cache_dir: Path, **kwargs: Any) -> CachedProjectService:
    client = server.client(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=10)
    repo = S3Repository(client, bucket, endpoint=server.endpoint_url)
    return CachedProjectService(repo, CacheStore(cache_dir, "weed", "anonymous"), **kwargs)


def _objects(server: SeaweedServer, bucket: str, slug: str) -> dict[str, bytes]:
    client = server.client()
    prefix = f"projects/anonymous/{slug}/"
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return {key[len(prefix) :]: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def test_offline_edits_survive_a_restart_and_reach_the_server_byte_identical(
    server: SeaweedServer, bucket: str, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    service = _service(server, bucket, cache_dir)
    plan = service.plan_push(make_tree(tmp_path / "Portfolio", PROJECT), name="Portfolio")
    service.push(plan)
    slug = plan.slug
    assert [p.slug for p in service.list_projects()] == [slug]
    assert [e.path for e in service.list_files(slug)] == sorted(PROJECT)
    for path in ("src/app.py", "assets/logo.png", "docs/notes café.md"):
        assert service.read_file(slug, path) == PROJECT[path]

    server.kill()
    assert [p.name for p in service.list_projects()] == ["Portfolio"] and service.is_offline
    assert service.read_file(slug, "assets/logo.png") == PROJECT["assets/logo.png"]
    with pytest.raises(NotAvailableOffline):
        service.read_file(slug, "index.html")
    edited = PROJECT["src/app.py"] + b"\n@app.get('/')\ndef home():\n    return {'ok': True}\n"
    service.write_file(slug, "src/app.py", edited)  # queued, not an error
    service.write_file(slug, "docs/todo.md", "- ship it ✓\n".encode())
    assert [i.path for i in service.pending()] == ["src/app.py", "docs/todo.md"]
    service.close()

    restarted = _service(server, bucket, cache_dir)  # a new process on the same folders
    assert [p.slug for p in restarted.cached_projects()] == [slug]
    assert [i.path for i in restarted.pending()] == ["src/app.py", "docs/todo.md"]
    assert restarted.read_file(slug, "src/app.py") == edited
    assert not restarted.check_online()  # still down

    server.restart()
    assert restarted.check_online()
    report = restarted.last_flush
    assert report is not None and report.clean
    assert report.uploaded == [f"{slug}/src/app.py", f"{slug}/docs/todo.md"]
    stored = _objects(server, bucket, slug)
    manifest = json.loads(stored.pop(".projectdesk.json"))
    assert stored == {**PROJECT, "src/app.py": edited, "docs/todo.md": "- ship it ✓\n".encode()}
    assert manifest["files_count"] == len(PROJECT) + 1
    assert manifest["files"]["src/app.py"] == hashlib.sha256(edited).hexdigest()
    assert restarted.file_states(slug)["src/app.py"] == "clean"
    assert restarted.pending() == []
    restarted.close()


def test_two_caches_on_one_bucket_end_in_a_conflicted_copy_and_lose_nothing(
    server: SeaweedServer, bucket: str, tmp_path: Path
) -> None:
    alice = _service(server, bucket, tmp_path / "alice")
    bob = _service(server, bucket, tmp_path / "bob")
    alice.write_file("shared-00001", "plan.md", b"# Plan\n")
    assert bob.read_file("shared-00001", "plan.md") == b"# Plan\n"
    assert alice.read_file("shared-00001", "plan.md") == b"# Plan\n"
    alice.write_file("shared-00001", "plan.md", b"# Plan\n- alice's step\n")
    with pytest.raises(ConflictedCopy) as info:
        bob.write_file("shared-00001", "plan.md", b"# Plan\n- bob's step\n")
    copy = info.value.record.copy_path
    assert copy is not None and copy.startswith("plan (conflicted copy ")
    stored = _objects(server, bucket, "shared-00001")
    stored.pop(".projectdesk.json")
    assert stored == {"plan.md": b"# Plan\n- alice's step\n", copy: b"# Plan\n- bob's step\n"}
    assert bob.read_file("shared-00001", "plan.md") == b"# Plan\n- alice's step\n"
    assert [c.copy_path for c in bob.conflicts()] == [copy]
    alice.close()
    bob.close()


class Runner:
    def __init__(self, paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
        self.paths = paths
        self.capsys = capsys

    def __call__(self, *args: str, stdin: bytes | None = None, expect: int = 0) -> tuple[str, str]:
        old = sys.stdin
        if stdin is not None:
            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
        try:
            code = cli.main(list(args), paths=self.paths)
        finally:
            sys.stdin = old
        out, err = self.capsys.readouterr()
        assert code == expect, f"exit {code} for {args}\nstdout: {out}\nstderr: {err}"
        return out, err


def test_cli_pull_work_offline_and_sync_as_a_new_user_would(
    server: SeaweedServer,
    bucket: str,
    tmp_path: Path,
    isolated_dirs: Paths,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
    profiles = ProfileStore(isolated_dirs)
    profiles.add(
        Profile(name="weed", endpoint_url=server.endpoint_url, region="us-east-1", bucket=bucket, path_style=True)
    )
    profiles.set_default("weed")
    run = Runner(isolated_dirs, capsys)
    out, _ = run("push", str(make_tree(tmp_path / "site", PROJECT)), "--name", "Site")
    slug = out.strip().splitlines()[-1]
    run("pull", slug, str(tmp_path / "copy"))
    assert tree_bytes(tmp_path / "copy") == PROJECT

    server.kill()
    out, err = run("list")  # not forced: the server is down, the cached list is shown
    assert slug in out and "offline" in err
    out, err = run("--offline", "list", "--json")
    assert [p["slug"] for p in json.loads(out)] == [slug] and "offline" in err
    assert run("--offline", "cat", slug, "src/app.py")[0] == PROJECT["src/app.py"].decode()
    out, _ = run("--offline", "put", slug, "src/app.py", stdin=b"print('edited offline')\n")
    assert "sync" in out
    status = json.loads(run("--offline", "status", "--json")[0])
    assert [(i["op"], i["path"]) for i in status["pending"]] == [("put", "src/app.py")]
    _, err = run("--offline", "sync", expect=1)
    assert "without --offline" in err
    _, err = run("sync", expect=1)  # still down
    assert "cannot be reached" in err and "1 change(s) stay queued" in err

    server.restart()
    out, _ = run("sync")
    assert "1 uploaded" in out
    assert _objects(server, bucket, slug)["src/app.py"] == b"print('edited offline')\n"
    assert run("status")[0].startswith("Nothing waiting")

    # A change that races a remote one: both versions stay, and the user is told.
    run("--offline", "put", slug, "index.html", stdin=b"<h1>mine</h1>\n")
    server.client().put_object(Bucket=bucket, Key=f"projects/anonymous/{slug}/index.html", Body=b"<h1>theirs</h1>\n")
    out, err = run("sync", expect=1)
    assert "1 conflict(s), both versions kept" in out
    assert "conflict:" in err and "yours was saved as 'index (conflicted copy " in err
    stored = _objects(server, bucket, slug)
    [copy] = [name for name in stored if name.startswith("index (conflicted copy ")]
    assert stored["index.html"] == b"<h1>theirs</h1>\n" and stored[copy] == b"<h1>mine</h1>\n"
    assert "1 conflict(s), both versions kept" in run("status")[0]
    assert run("cat", slug, "index.html")[0] == "<h1>theirs</h1>\n"

    usage = json.loads(run("cache", "--json")[0])
    assert [p["slug"] for p in usage["projects"]] == [slug] and usage["max_bytes"] == 2_000_000_000
    assert "Removed" in run("cache", "--clear", slug)[0]
    assert "kept offline" in run("keep-offline", slug)[0]
    assert json.loads(run("cache", "--json")[0])["projects"][0]["keep_offline"] is True
