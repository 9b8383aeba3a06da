"""projectdesk-cli end to end, in-process, on the local default store, moto and a real SeaweedFS server."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from projectdesk import cli
from projectdesk.config.paths import Paths
from tests.conftest import make_tree, tree_bytes

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

PROJECT: dict[str, bytes] = {
    "frontend/package.json": json.dumps(
        {
            "dependencies": {"react": "^18.2.0", "react-dom": "^18.2.0"},
            "devDependencies": {"vite": "^5.0.0", "tailwindcss": "^3.4.0"},
        }
    ).encode(),
    "frontend/index.html": b"<!doctype html><div id=root></div>",
    "frontend/src/App.jsx": b"export default function App() { return <h1>Hi</h1> }\n",
    "frontend/src/assets/logo.png": PNG,
    "backend/main.py": b"from fastapi import FastAPI\napp = FastAPI()\n",
    "backend/requirements.txt": b"fastapi==0.110.0\nuvicorn[standard]\n",
    "docs/notes café.md": "# Notes\nunicode ✓\n".encode(),
    ".gitignore": b"*.log\nsecret.env\n",
}
IGNORED: dict[str, bytes] = {
    "frontend/node_modules/react/index.js": b"module.exports = {}",
    "backend/__pycache__/main.cpython-311.pyc": b"\x00\x01",
    "server.log": b"log line",
    "secret.env": b"TOKEN=1",
    ".git/HEAD": b"ref: refs/heads/main",
}


class Runner:
    def __init__(self, paths: Paths, capsys: pytest.CaptureFixture[str], profile: str | None) -> None:
        self.paths = paths
        self.capsys = capsys
        self.profile = profile

    def __call__(self, *args: str, stdin: bytes | None = None, expect: int = 0) -> tuple[str, str]:
        argv = (["--profile", self.profile] if self.profile else []) + list(args)
        if stdin is not None:
            fake = io.TextIOWrapper(io.BytesIO(stdin))
            old, sys.stdin = sys.stdin, fake
        try:
            code = cli.main(argv, paths=self.paths)
        finally:
            if stdin is not None:
                sys.stdin = old
        out, err = self.capsys.readouterr()
        assert code == expect, f"exit {code} for {argv}\nstdout: {out}\nstderr: {err}"
        return out, err

    def json(self, *args: str) -> Any:
        out, _ = self(*args, "--json")
        return json.loads(out)


def _seaweed_profile(run: Runner, server: SeaweedServer, monkeypatch: pytest.MonkeyPatch, bucket: str) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
    run.profile = None
    run("profiles", "add", "weed", "--endpoint-url", server.endpoint_url, "--region", "us-east-1",
        "--bucket", bucket, "--path-style", "--default")  # fmt: skip
    run.profile = "weed"


@pytest.fixture(params=["local", "seaweedfs"])
def run(
    request: pytest.FixtureRequest,
    isolated_dirs: Paths,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runner]:
    runner = Runner(isolated_dirs, capsys, None)
    if request.param == "seaweedfs":
        server: SeaweedServer = request.getfixturevalue("seaweed")
        bucket = f"cli-{abs(hash(request.node.name)) % 10**12}"
        server.create_bucket(bucket)
        _seaweed_profile(runner, server, monkeypatch, bucket)
        request.node.add_marker(pytest.mark.seaweedfs)
    yield runner


def _slug_from(out: str) -> str:
    slug = out.strip().splitlines()[-1]
    assert re.fullmatch(r"[a-z0-9-]+-\d{5}", slug), out
    return slug


def test_push_list_ls_pull_round_trip(run: Runner, tmp_path: Path) -> None:
    source = make_tree(tmp_path / "Portfolio Site", {**PROJECT, **IGNORED})
    out, _ = run("push", str(source))
    assert "8 files" in out and "5 skipped by ignore rules" in out
    slug = _slug_from(out)
    assert slug.startswith("portfolio-site-")

    [project] = run.json("list")
    assert set(project) == {"name", "slug", "user_id", "created_date", "updated_date", "files_count",
                            "total_bytes", "tech_stack", "has_frontend", "has_backend"}  # fmt: skip
    assert project["name"] == "Portfolio Site" and project["slug"] == slug
    assert project["tech_stack"] == ["React", "Vite", "TailwindCSS", "FastAPI", "Node.js", "Python"]
    assert project["has_frontend"] is True and project["has_backend"] is True
    assert project["files_count"] == len(PROJECT)
    assert project["total_bytes"] == sum(len(d) for d in PROJECT.values())

    listing = run.json("ls", slug)
    assert [e["path"] for e in listing] == sorted(PROJECT)
    assert all(set(e) == {"path", "size", "etag", "last_modified"} for e in listing)

    dest = tmp_path / "pulled"
    run("pull", slug, str(dest))
    assert tree_bytes(dest) == PROJECT

    out, _ = run("cat", slug, "backend/main.py")
    assert out == PROJECT["backend/main.py"].decode()
    info = run.json("info", slug)
    assert info["files_count"] == len(PROJECT)


def test_repush_sends_only_changes_and_deletes_only_when_told(run: Runner, tmp_path: Path) -> None:
    source = make_tree(tmp_path / "app", PROJECT)
    slug = _slug_from(run("push", str(source))[0])
    (source / "backend" / "main.py").write_bytes(b"changed = True\n")
    (source / "backend" / "new.py").write_bytes(b"new = 1\n")
    (source / "docs" / "notes café.md").unlink()
    out, _ = run("push", str(source), "--slug", slug)
    assert "2 sent, 6 unchanged, 0 deleted" in out
    assert "1 file(s) deleted here stay on the server (--delete removes them)" in out
    assert "docs/notes café.md" in [e["path"] for e in run.json("ls", slug)]

    _, err = run("push", str(source), "--slug", slug, "--delete", expect=1)
    assert "--yes" in err
    out, _ = run("push", str(source), "--slug", slug, "--delete", "--yes")
    assert "0 sent, 8 unchanged, 1 deleted" in out
    paths = [e["path"] for e in run.json("ls", slug)]
    assert "docs/notes café.md" not in paths and "backend/new.py" in paths
    [project] = run.json("list")
    assert project["files_count"] == 8
    dest = tmp_path / "pulled"
    run("pull", slug, str(dest))
    assert tree_bytes(dest) == tree_bytes(source)


def test_limits_are_checked_before_anything_is_sent(run: Runner, tmp_path: Path) -> None:
    files = {"small.txt": b"ok", "media/huge.bin": b"\0" * 11_000_000, "media/big.bin": b"\0" * 10_500_000}
    source = make_tree(tmp_path / "heavy", files)
    _, err = run("push", str(source), expect=1)
    assert "media/huge.bin (11.0 MB)" in err and "media/big.bin (10.5 MB)" in err
    assert "10.0 MB per-file limit" in err and "Nothing was uploaded" in err
    assert run.json("list") == []


def test_put_cat_rm(run: Runner, tmp_path: Path) -> None:
    slug = _slug_from(run("push", str(make_tree(tmp_path / "p", PROJECT)))[0])
    run("put", slug, "backend/extra.py", stdin=b"print('from stdin')\n")
    assert run("cat", slug, "backend/extra.py")[0] == "print('from stdin')\n"
    local = tmp_path / "bytes.bin"
    local.write_bytes(b"\xff\xfe\x00binary")
    run("put", slug, "data/bytes.bin", str(local))
    assert next(p for p in run.json("list") if p["slug"] == slug)["files_count"] == len(PROJECT) + 2
    _, err = run("put", slug, "../escape.py", str(local), expect=1)
    assert "'..'" in err
    _, err = run("rm", slug, expect=1)
    assert f"{len(PROJECT) + 2} file(s)" in err and "--yes" in err
    assert len(run.json("list")) == 1
    run("rm", slug, "--yes")
    assert run.json("list") == []
    _, err = run("ls", slug, expect=1)
    assert "no project" in err


def test_export_and_import_zip(run: Runner, tmp_path: Path) -> None:
    slug = _slug_from(run("push", str(make_tree(tmp_path / "p", PROJECT)))[0])
    archive = tmp_path / "out.zip"
    run("export", slug, str(archive))
    with zipfile.ZipFile(archive) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == PROJECT
    out, _ = run("import", str(archive), "--name", "Imported")
    imported = _slug_from(out)
    dest = tmp_path / "pulled"
    run("pull", imported, str(dest))
    assert tree_bytes(dest) == PROJECT

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr("../../escaped.txt", b"evil")
    _, err = run("import", str(evil), expect=1)
    assert "'..'" in err
    assert not (tmp_path / "escaped.txt").exists()
    assert len(run.json("list")) == 2


def test_problem_files_are_listed_and_the_rest_still_goes(run: Runner, tmp_path: Path) -> None:
    source = make_tree(tmp_path / "p", {"a.txt": b"a", "sub/b.txt": b"b"})
    (source / "sub" / "loop").symlink_to(source, target_is_directory=True)
    (source / "dangling").symlink_to(tmp_path / "missing")
    (source / "back\\slash.txt").write_bytes(b"x")
    (source / "fifo").mkdir()
    os.mkfifo(source / "fifo" / "pipe")
    out, err = run("push", str(source), expect=2)
    assert "named pipe" in err and "backslash" in err
    assert "2 file(s) were skipped" in err
    slug = _slug_from(out)
    # links are kept as links (never followed): the loop and the dangling link are stored, not walked
    assert [e["path"] for e in run.json("ls", slug)] == ["a.txt", "dangling", "sub/b.txt", "sub/loop"]


# ---- S3-only behaviour -------------------------------------------------------------------------


@pytest.fixture
def weed_runner(isolated_dirs: Paths, capsys: pytest.CaptureFixture[str]) -> Runner:
    return Runner(isolated_dirs, capsys, None)


def test_objects_carry_content_type_and_metadata(
    seaweed: SeaweedServer, weed_runner: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seaweed.create_bucket("cli-meta")
    _seaweed_profile(weed_runner, seaweed, monkeypatch, "cli-meta")
    slug = _slug_from(weed_runner("push", str(make_tree(tmp_path / "Café App", PROJECT)))[0])
    client = seaweed.client()
    base = f"projects/anonymous/{slug}/"
    expected = {"frontend/index.html": "text/html", "frontend/src/App.jsx": "application/javascript",
                "backend/main.py": "text/x-python", "frontend/src/assets/logo.png": "image/png",
                "frontend/package.json": "application/json", "docs/notes café.md": "text/markdown"}  # fmt: skip
    for path, ctype in expected.items():
        head = client.head_object(Bucket="cli-meta", Key=base + path)
        assert head["ContentType"] == ctype, path
        assert head["Metadata"]["project-slug"] == slug
        assert head["Metadata"]["user-id"] == "anonymous"
        assert head["Metadata"]["project-name"] == "Caf%C3%A9 App"  # headers are ASCII: percent-encoded
    manifest = json.loads(client.get_object(Bucket="cli-meta", Key=base + ".projectdesk.json")["Body"].read())
    assert manifest["name"] == "Café App" and manifest["files_count"] == len(PROJECT)
    assert len(manifest["files"]["backend/main.py"]) == 64


def test_connection_failures_give_one_plain_sentence(
    seaweed: SeaweedServer, weed_runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    seaweed.create_bucket("cli-errors")
    _seaweed_profile(weed_runner, seaweed, monkeypatch, "cli-errors")
    weed_runner("profiles", "test", "weed")
    wrong_secret = "WRONG-" + seaweed.secret_key[::-1]
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong_secret)
    _, err = weed_runner("list", expect=1)
    assert "secret access key is wrong" in err and wrong_secret not in err and len(err.splitlines()) == 1
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "NOSUCHKEY0000")
    _, err = weed_runner("list", expect=1)
    assert "access key ID is not known" in err
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    weed_runner.profile = None
    weed_runner("profiles", "add", "nobucket", "--endpoint-url", seaweed.endpoint_url, "--bucket", "no-such-bucket",
                "--path-style")  # fmt: skip
    _, err = weed_runner("--profile", "nobucket", "list", expect=1)
    assert "bucket 'no-such-bucket' does not exist" in err
    weed_runner("profiles", "add", "down", "--endpoint-url", "http://127.0.0.1:9", "--bucket", "whatever",
                "--path-style")  # fmt: skip
    _, err = weed_runner("--profile", "down", "list", expect=1)
    assert "Cannot reach http://127.0.0.1:9" in err


def test_pull_skips_hostile_keys_with_a_warning(
    moto_env: None, weed_runner: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import boto3

    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="hostile")
    base = "projects/anonymous/evil-00001/"
    for key, data in {"ok.txt": b"fine", "../../outside.txt": b"x", "/etc-passwd": b"x", "a\\..\\b": b"x"}.items():
        client.put_object(Bucket="hostile", Key=base + key, Body=data)
    weed_runner("profiles", "add", "aws", "--region", "us-east-1", "--bucket", "hostile", "--default")
    dest = tmp_path / "box" / "dest"
    out, err = weed_runner("pull", "evil-00001", str(dest), expect=2)
    assert err.count("skipped unsafe name") == 3
    assert "1 fetched" in out
    assert tree_bytes(tmp_path / "box") == {"dest/ok.txt": b"fine"}


def test_profiles_add_list_remove(weed_runner: Runner) -> None:
    weed_runner("profiles", "add", "minio", "--endpoint-url", "http://127.0.0.1:9000", "--bucket", "projects",
                "--path-style", "--user-id", "me@example.com")  # fmt: skip
    profiles = {p["name"]: p for p in weed_runner.json("profiles", "list")}
    assert set(profiles) == {"local", "minio"}
    assert profiles["local"]["default"] is True
    assert profiles["minio"]["user_id"] == "me@example.com" and profiles["minio"]["path_style"] is True
    _, err = weed_runner("profiles", "add", "bad", "--endpoint-url", "ftp://x", "--bucket", "b-b-b", expect=1)
    assert "not an http(s) URL" in err
    weed_runner("profiles", "default", "minio")
    assert {p["name"]: p["default"] for p in weed_runner.json("profiles", "list")}["minio"] is True
    weed_runner("profiles", "remove", "minio")
    assert [p["name"] for p in weed_runner.json("profiles", "list")] == ["local"]
    _, err = weed_runner("profiles", "remove", "local", expect=1)
    assert "cannot be removed" in err


def test_installed_console_scripts_work(tmp_path: Path, isolated_dirs: Paths) -> None:
    """The entry points as a user runs them, in a fresh process, on the zero-config local store."""
    bindir = Path(sys.executable).parent
    source = make_tree(tmp_path / "hello", {"main.py": b"print('hi')\n"})
    version = subprocess.run([bindir / "projectdesk-cli", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("projectdesk ")
    push = subprocess.run([bindir / "projectdesk-cli", "push", str(source)], capture_output=True, text=True)
    assert push.returncode == 0, push.stderr
    listed = subprocess.run([bindir / "projectdesk-cli", "list", "--json"], capture_output=True, text=True, check=True)
    assert json.loads(listed.stdout)[0]["tech_stack"] == ["Python"]
    assert (isolated_dirs.local_store / "projects" / "anonymous").is_dir()
    gui = subprocess.run(
        [bindir / "projectdesk", "--quit-after", "300"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert gui.returncode == 0, gui.stderr
