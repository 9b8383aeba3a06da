"""File history and restore (issue #16), end to end: projectdesk-cli in-process on SeaweedFS and moto with bucket
versioning on, and the one sentence everywhere else (a bucket without versioning, the local store).

Moments: S3 stamps versions to the second on some servers. A test never sleeps to make a moment: it waits, at
most a second, only for the clock to pass the second of the newest version, and takes T from the versions' own
stamps (the first push's manifest version), so "a moment between two pushes" is exact.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from projectdesk.cli.history import moment_text
from projectdesk.config.paths import Paths
from projectdesk.core.models import FileEntry
from projectdesk.services import history
from projectdesk.services.offline import CachedProjectService, open_cached_service
from projectdesk.storage.repository import Repository
from tests.conftest import make_tree, tree_bytes
from tests.integration.test_cli import Runner

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

FIRST: dict[str, bytes] = {
    "README.md": b"# Shop\n",
    "src/app.py": b"print('first')\n",
    "src/util.py": b"def helper():\n    return 1\n",
    "docs/old.md": b"removed in the second push\n",
    "assets/logo.bin": bytes(range(256)) * 8,
}
SECOND: dict[str, bytes] = {
    "README.md": b"# Shop\n",  # unchanged
    "src/app.py": b"print('second')\n",  # changed
    "src/util.py": b"def helper():\n    return 2\n",  # changed
    "assets/logo.bin": bytes(range(256)) * 8,  # unchanged
    "src/new.py": b"added in the second push\n",  # added
}


@pytest.fixture(params=["seaweedfs", "moto"])
def vrun(
    request: pytest.FixtureRequest, isolated_dirs: Paths, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runner]:  # fmt: skip
    """The CLI on a fresh bucket of that server, versioning turned on with `profiles versioning --enable`."""
    runner = _bucket_runner(request, isolated_dirs, capsys, monkeypatch)
    out, _ = runner("profiles", "versioning", "s3", "--enable")
    assert "Versioning is on" in out and "billed until a lifecycle rule removes them" in out
    yield runner


def _bucket_runner(
    request: pytest.FixtureRequest, paths: Paths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Runner:
    runner = Runner(paths, capsys, None)
    bucket = f"hist-{abs(hash(request.node.name)) % 10**12}"
    if request.param == "seaweedfs":
        server: SeaweedServer = request.getfixturevalue("seaweed")
        server.create_bucket(bucket)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
        runner("profiles", "add", "s3", "--endpoint-url", server.endpoint_url, "--region", "us-east-1",
               "--bucket", bucket, "--path-style", "--env", "--default")  # fmt: skip
        request.node.add_marker(pytest.mark.seaweedfs)
    else:
        request.getfixturevalue("moto_env")
        import boto3

        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
        runner("profiles", "add", "s3", "--region", "us-east-1", "--bucket", bucket, "--env", "--default")
    runner.profile = "s3"
    return runner


@pytest.fixture(params=["seaweedfs", "moto"])
def plain_run(
    request: pytest.FixtureRequest, isolated_dirs: Paths, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Runner:  # fmt: skip
    """The CLI on a bucket whose versioning was never turned on."""
    return _bucket_runner(request, isolated_dirs, capsys, monkeypatch)


def _service(run: Runner) -> CachedProjectService:
    from projectdesk.config.profiles import ProfileStore

    return open_cached_service(ProfileStore(run.paths).get("s3"), run.paths)


def _slug(out: str) -> str:
    return out.strip().splitlines()[-1]


def _next_second() -> None:
    """Wait (< 1 s) until the clock is in a second later than now: versions written after this call are stamped
    later than every one written before it, even by a server that keeps whole seconds."""
    now = time.time()
    time.sleep(max(0.0, int(now) + 1 - now) + 0.02)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _assert_manifest_consistent(repo: Repository, slug: str) -> dict[str, bytes]:
    """The manifest names exactly the server's files, each with its ETag and the SHA-256 of its bytes."""
    manifest = repo.get_manifest(slug)
    assert manifest is not None
    entries = {e.path: e for e in repo.list_files(slug)}
    contents = {path: repo.read_file(slug, path) for path in entries}
    assert manifest.files == {path: _sha(data) for path, data in contents.items()}
    assert manifest.file_etags == {path: e.etag for path, e in entries.items()}
    assert manifest.files_count == len(entries)
    return contents


def _two_pushes(run: Runner, tmp_path: Path) -> tuple[str, Path, float]:
    """Push FIRST, then (in a later second) SECOND from the same working folder; returns the slug, the folder
    and T: the first push's manifest version stamp, a moment between the two pushes."""
    work = make_tree(tmp_path / "shop", FIRST)
    slug = _slug(run("push", str(work))[0])
    _next_second()
    (work / "docs" / "old.md").unlink()
    (work / "docs").rmdir()
    make_tree(work, SECOND)
    run("push", str(work), "--delete", "--yes")
    moments = run.json("history", slug)
    assert len(moments) == 2 and moments[0]["is_latest"] and moments[0]["at"] > moments[1]["at"]
    return slug, work, moments[1]["at"]


# ---- one file -------------------------------------------------------------------------------------------


def test_history_of_a_file_edited_five_times_and_deleted(vrun: Runner, tmp_path: Path) -> None:
    work = make_tree(tmp_path / "notes", {"app.py": b"edit 1\n", "keep.txt": b"stays\n"})
    slug = _slug(vrun("push", str(work))[0])
    for i in range(2, 6):
        (work / "app.py").write_bytes(f"edit {i}\n".encode())
        vrun("push", str(work))
    (work / "app.py").unlink()
    vrun("push", str(work), "--delete", "--yes")

    versions = vrun.json("history", slug, "app.py")
    assert len(versions) == 6
    assert versions[0]["is_delete_marker"] and versions[0]["is_latest"]
    assert [v["size"] for v in versions[1:]] == [7] * 5 and not any(v["is_latest"] for v in versions[1:])
    for i, version in enumerate(reversed(versions[1:]), 1):  # every old version reads back as it was written
        out, _ = vrun("cat", slug, "app.py", "--version", version["version_id"])
        assert out == f"edit {i}\n"
    text, _ = vrun("history", slug, "app.py", "--writers")
    lines = text.splitlines()
    assert lines[0].split() == ["VERSION", "DATE", "SIZE", "WRITTEN", "BY"]
    assert "deleted" in lines[1] and "latest" in lines[1]
    assert all(line.rstrip().endswith("projectdesk") for line in lines[2:]), text
    _, err = vrun("cat", slug, "app.py", "--version", versions[0]["version_id"], expect=1)
    assert "it is unknown, or a deletion" in err
    _, err = vrun("cat", slug, "app.py", "--version", "no-such-version", expect=1)
    assert "it is unknown, or a deletion" in err
    _, err = vrun("history", slug, "never-was.txt", expect=1)
    assert "no history" in err


def test_restore_a_file_and_undo_the_restore(vrun: Runner, tmp_path: Path) -> None:
    work = make_tree(tmp_path / "p", {"app.py": b"v1\n"})
    slug = _slug(vrun("push", str(work))[0])
    for i in (2, 3):
        vrun("put", slug, "app.py", stdin=f"v{i}\n".encode())
    v3, _, v1 = vrun.json("history", slug, "app.py")
    out, _ = vrun("restore", slug, "app.py", "--version", v1["version_id"])
    assert "Restored app.py" in out
    assert vrun("cat", slug, "app.py")[0] == "v1\n"
    after = vrun.json("history", slug, "app.py")
    assert len(after) == 4 and after[1]["version_id"] == v3["version_id"]  # nothing later was deleted
    service = _service(vrun)
    try:
        _assert_manifest_consistent(service.repo, slug)
    finally:
        service.close()
    undone = vrun.json("restore", slug, "app.py", "--version", v3["version_id"])  # the undo: the one it replaced
    assert undone["path"] == "app.py" and undone["etag"] == v3["etag"] and undone["size"] == 3
    assert vrun("cat", slug, "app.py")[0] == "v3\n"
    latest = vrun.json("history", slug, "app.py")[0]
    _, err = vrun("restore", slug, "app.py", "--version", latest["version_id"], expect=1)
    assert "already the current version" in err
    _, err = vrun("restore", slug, "app.py", expect=1)
    assert "is not deleted" in err


def test_undelete_and_the_deleted_files_of_a_project(vrun: Runner, tmp_path: Path) -> None:
    work = make_tree(tmp_path / "p", {"a.txt": b"alpha\n", "sub/b.txt": b"beta\n"})
    slug = _slug(vrun("push", str(work))[0])
    (work / "sub" / "b.txt").write_bytes(b"beta 2\n")
    vrun("push", str(work))
    (work / "sub" / "b.txt").unlink()
    vrun("push", str(work), "--delete", "--yes")
    [deleted] = vrun.json("ls", slug, "--deleted")
    assert deleted["path"] == "sub/b.txt" and deleted["last_version"]["size"] == 7 and deleted["deleted_at"] > 0
    out, _ = vrun("ls", slug, "--deleted")
    assert "sub/b.txt" in out and "restore" in out
    vrun("restore", slug, "sub/b.txt")
    assert vrun("cat", slug, "sub/b.txt")[0] == "beta 2\n"
    assert vrun.json("ls", slug, "--deleted") == []
    assert sorted(e["path"] for e in vrun.json("ls", slug)) == ["a.txt", "sub/b.txt"]
    service = _service(vrun)
    try:
        _assert_manifest_consistent(service.repo, slug)
    finally:
        service.close()


# ---- the whole project as of a moment --------------------------------------------------------------------


def test_restore_as_of_a_moment_between_two_pushes_and_undo_it(vrun: Runner, tmp_path: Path) -> None:
    slug, work, moment = _two_pushes(vrun, tmp_path)
    at = moment_text(moment)
    out, _ = vrun("restore", slug, "--as-of", at, "--dry-run")
    assert "2 changed since (restored), 1 added since (deleted), 1 deleted since (restored), 2 unchanged" in out
    assert re.search(r"restore\s+src/app.py", out) and re.search(r"delete\s+src/new.py", out)
    assert re.search(r"undelete\s+docs/old.md", out)
    assert vrun("cat", slug, "src/app.py")[0] == "print('second')\n"  # a preview writes nothing
    _, err = vrun("restore", slug, "--as-of", at, expect=1)
    assert "add --yes" in err

    out, _ = vrun("restore", slug, "--as-of", at, "--yes")
    assert "3 file(s) restored, 1 deleted" in out
    service = _service(vrun)
    try:
        assert _assert_manifest_consistent(service.repo, slug) == FIRST  # byte-identical to the first push
    finally:
        service.close()
    # the working folder gets the restore by its three-way rule, like any server change
    vrun("pull", slug, str(work))
    assert tree_bytes(work) == FIRST
    assert {e["path"] for e in vrun.json("ls", slug)} == set(FIRST)
    assert {e["path"] for e in vrun.json("--offline", "ls", slug)} == set(FIRST)  # the cache learnt it

    undo = re.search(r'--as-of "([^"]+)"', out)
    assert undo is not None
    vrun("restore", slug, "--as-of", undo.group(1), "--yes")
    service = _service(vrun)
    try:
        assert _assert_manifest_consistent(service.repo, slug) == SECOND
    finally:
        service.close()
    vrun("pull", slug, str(work))
    assert tree_bytes(work) == SECOND
    assert len(vrun.json("history", slug)) == 4  # two pushes, two restores: each a moment of its own


def test_pull_and_export_as_of_a_moment(vrun: Runner, tmp_path: Path) -> None:
    slug, work, moment = _two_pushes(vrun, tmp_path)
    at = moment_text(moment)
    dest = tmp_path / "then"
    vrun("pull", slug, str(dest), "--as-of", at)
    assert tree_bytes(dest) == FIRST
    vrun("export", slug, str(tmp_path / "then.zip"), "--as-of", at)
    with zipfile.ZipFile(tmp_path / "then.zip") as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == FIRST
    assert vrun("cat", slug, "src/app.py")[0] == "print('second')\n"  # the store is unchanged
    _, err = vrun("pull", slug, str(work), "--as-of", at, expect=1)
    assert "is a working folder" in err
    assert tree_bytes(work) == SECOND  # its files and bases untouched
    _, err = vrun("pull", slug, str(dest), "--as-of", at, expect=1)
    assert "not empty" in err
    vrun("pull", slug, str(work))  # the binding still works and has nothing to do
    assert tree_bytes(work) == SECOND
    _, err = vrun("restore", slug, "--as-of", "not a date", "--dry-run", expect=1)
    assert "is not a moment" in err


def test_a_restore_racing_another_writer_keeps_that_writers_change(
    vrun: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug, _, moment = _two_pushes(vrun, tmp_path)
    real_plan = history.plan_restore

    def plan_then_another_write(service: CachedProjectService, slug_: str, at: float) -> history.RestorePlan:
        plan = real_plan(service, slug_, at)
        assert "src/app.py" in [s.path for s in plan.changed]
        service.repo.write_file(slug_, "src/app.py", b"another writer\n")  # lands between the plan and the copy
        return plan

    monkeypatch.setattr(history, "plan_restore", plan_then_another_write)
    out, err = vrun("restore", slug, "--as-of", moment_text(moment), "--yes", expect=2)
    assert "src/app.py: src/app.py changed on the server after the preview" in err
    assert "left as another writer changed them" in out
    assert vrun("cat", slug, "src/app.py")[0] == "another writer\n"  # not overwritten
    assert vrun("cat", slug, "src/util.py")[0] == FIRST["src/util.py"].decode()  # the rest is restored
    service = _service(vrun)
    try:
        contents = _assert_manifest_consistent(service.repo, slug)
    finally:
        service.close()
    assert contents == {**FIRST, "src/app.py": b"another writer\n"}


def test_a_file_restore_racing_another_writer_is_refused(vrun: Runner, tmp_path: Path) -> None:
    work = make_tree(tmp_path / "p", {"app.py": b"v1\n"})
    slug = _slug(vrun("push", str(work))[0])
    vrun("put", slug, "app.py", stdin=b"v2\n")
    service = _service(vrun)
    try:
        old = history.file_history(service, slug, "app.py")[1]
        real = service.repo.restore_version

        def late(slug_: str, path: str, version_id: str, **kwargs: object) -> FileEntry:
            service.repo.write_file(slug_, path, b"someone else\n")
            return real(slug_, path, version_id, **kwargs)  # type: ignore[arg-type]

        service.repo.restore_version = late  # type: ignore[method-assign]
        with pytest.raises(history.Conflict, match="nothing was overwritten"):
            history.restore_file(service, slug, "app.py", old.version_id)
        assert service.repo.read_file(slug, "app.py") == b"someone else\n"
    finally:
        service.close()


# ---- stores that keep no history ---------------------------------------------------------------------------


def test_a_bucket_without_versioning_gives_the_one_sentence(plain_run: Runner, tmp_path: Path) -> None:
    work = make_tree(tmp_path / "p", {"app.py": b"v1\n"})
    slug = _slug(plain_run("push", str(work))[0])
    sentence = "does not keep old versions of files (versioning is off): turn it on with 'projectdesk-cli profiles " \
               "versioning s3 --enable'"  # fmt: skip
    for argv in (
        ("history", slug, "app.py"),
        ("history", slug),
        ("cat", slug, "app.py", "--version", "x"),
        ("restore", slug, "app.py", "--version", "x"),
        ("restore", slug, "app.py"),
        ("restore", slug, "--as-of", "2026-01-01 10:00", "--dry-run"),
        ("ls", slug, "--deleted"),
        ("pull", slug, str(tmp_path / "then"), "--as-of", "2026-01-01 10:00"),
        ("export", slug, str(tmp_path / "then.zip"), "--as-of", "2026-01-01 10:00"),
    ):
        _, err = plain_run(*argv, expect=1)
        assert sentence in err, (argv, err)
        assert err.count("\n") == 1, err  # one sentence
    out, _ = plain_run("profiles", "versioning", "s3")
    assert "keeps no new versions (versioning is off)" in out and "--enable" in out
    out, _ = plain_run("profiles", "test", "s3")
    assert "keeps no old versions" in out and "profiles versioning s3 --enable" in out
    plain_run("profiles", "versioning", "s3", "--enable")
    out, _ = plain_run("profiles", "test", "s3")
    assert "The bucket keeps old versions of files" in out
    assert json.loads(plain_run("profiles", "versioning", "s3", "--json")[0])["versioning"] == "Enabled"
    assert plain_run.json("history", slug, "app.py")[0]["is_latest"]  # the version written before counts too


def test_the_local_store_keeps_no_history(
    isolated_dirs: Paths, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run = Runner(isolated_dirs, capsys, None)
    slug = _slug(run("push", str(make_tree(tmp_path / "p", {"a.txt": b"a"})))[0])
    for argv in (("history", slug, "a.txt"), ("restore", slug, "a.txt"), ("ls", slug, "--deleted"),
                 ("profiles", "versioning", "local")):  # fmt: skip
        _, err = run(*argv, expect=1)
        assert "keeps no old versions of files" in err, (argv, err)
    out, _ = run("profiles", "test", "local")
    assert "The local store keeps no old versions of files." in out
