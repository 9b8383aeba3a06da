"""Working folders end to end: push, pull and sync under the three-way rule (CLI in-process, local + SeaweedFS),
and the service-level races (a change landing between plan and write) on every store."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from projectdesk.core.limits import Limits
from projectdesk.core.models import Manifest
from projectdesk.services.hashing import sha256_bytes
from projectdesk.services.projects import ProjectService
from tests.conftest import Store, make_tree, tree_bytes
from tests.integration.test_cli import Runner
from tests.integration.test_cli import run as run

SLUG = "demo-10001"
COPY = re.compile(r"^a \(conflicted copy \d{4}-\d\d-\d\d \d{4}( \d+)?\)\.txt$")


def _manifest(run: Runner) -> dict[str, object]:
    out, _ = run("info", SLUG, "--json")
    return dict(json.loads(out))


def _two_working_folders(run: Runner, tmp_path: Path) -> tuple[Path, Path]:
    make_tree(tmp_path / "proj", {"a.txt": b"one\n", "b.txt": b"two\n"})
    run("push", str(tmp_path / "proj"), "--name", "Demo", "--slug", SLUG)
    run("pull", SLUG, str(tmp_path / "A"))
    run("pull", SLUG, str(tmp_path / "B"))
    return tmp_path / "A", tmp_path / "B"


def test_a_stale_folder_never_reverts_anothers_change(run: Runner, tmp_path: Path) -> None:
    a, b = _two_working_folders(run, tmp_path)
    (b / "a.txt").write_bytes(b"B's change\n")
    run("push", str(b), "--slug", SLUG)
    (a / "b.txt").write_bytes(b"A's change\n")
    out, _ = run("push", str(a), "--slug", SLUG)
    assert "1 sent" in out and "1 file changed on the server not carried by push" in out
    assert run("cat", SLUG, "a.txt")[0] == "B's change\n"  # the scenario: B's work is not reverted
    assert run("cat", SLUG, "b.txt")[0] == "A's change\n"
    run("pull", SLUG, str(a))
    assert tree_bytes(a) == {"a.txt": b"B's change\n", "b.txt": b"A's change\n"}


def test_pull_never_overwrites_a_local_edit(run: Runner, tmp_path: Path) -> None:
    a, b = _two_working_folders(run, tmp_path)
    (a / "a.txt").write_bytes(b"local edit\n")
    out, _ = run("pull", SLUG, str(a))  # nothing changed on the server: the edit simply stays
    assert (a / "a.txt").read_bytes() == b"local edit\n" and "1 file changed here not carried by pull" in out
    (b / "a.txt").write_bytes(b"server edit\n")
    run("push", str(b))  # the binding names the project: no --slug needed
    _, err = run("pull", SLUG, str(a), expect=1)
    assert "conflict: a.txt" in err and "1 conflict(s)" in err
    copies = [p.name for p in a.iterdir() if COPY.match(p.name)]
    assert len(copies) == 1, sorted(p.name for p in a.iterdir())
    assert (a / "a.txt").read_bytes() == b"server edit\n"  # the server's version keeps the name
    assert (a / copies[0]).read_bytes() == b"local edit\n"  # ours, beside it
    run("sync", str(a))  # the copy reaches the server; nothing else moves
    assert run("cat", SLUG, copies[0])[0] == "local edit\n"
    assert run("cat", SLUG, "a.txt")[0] == "server edit\n"


def test_sync_keeps_both_versions_on_both_sides_and_the_same_change_is_no_conflict(run: Runner, tmp_path: Path) -> None:
    a, b = _two_working_folders(run, tmp_path)
    (a / "a.txt").write_bytes(b"from A\n")
    (b / "a.txt").write_bytes(b"from B\n")
    (a / "b.txt").write_bytes(b"same change\n")
    (b / "b.txt").write_bytes(b"same change\n")
    run("sync", str(b))
    _, err = run("sync", str(a), expect=1)
    assert err.count("conflict:") == 1 and "conflict: a.txt" in err  # b.txt changed alike: no conflict
    run("sync", str(b))
    assert tree_bytes(a) == tree_bytes(b)
    files = tree_bytes(a)
    [copy] = [name for name in files if COPY.match(name)]
    assert files["a.txt"] == b"from B\n" and files[copy] == b"from A\n" and files["b.txt"] == b"same change\n"
    listed = {e["path"] for e in run.json("ls", SLUG)}
    assert listed == set(files)


def test_deletions_follow_the_rule(run: Runner, tmp_path: Path) -> None:
    a, b = _two_working_folders(run, tmp_path)
    (a / "a.txt").unlink()
    out, _ = run("push", str(a))
    assert "deleted here stay on the server" in out and "a.txt" in {e["path"] for e in run.json("ls", SLUG)}
    run("push", str(a), "--delete", "--yes")
    assert "a.txt" not in {e["path"] for e in run.json("ls", SLUG)}
    run("pull", SLUG, str(b))  # deleted on the server, unchanged in B: deleted in B
    assert not (b / "a.txt").exists()
    # deleted on one side, changed on the other: the changed file is kept
    (b / "b.txt").write_bytes(b"B keeps working\n")
    (a / "b.txt").unlink()
    run("sync", str(a))
    assert not (a / "b.txt").exists() and "b.txt" not in {e["path"] for e in run.json("ls", SLUG)}
    run("sync", str(b))  # ours was changed: it goes back to the server, never lost
    assert run("cat", SLUG, "b.txt")[0] == "B keeps working\n"


def test_a_folder_pushed_for_the_first_time_overwrites_nothing(run: Runner, tmp_path: Path) -> None:
    _two_working_folders(run, tmp_path)
    other = make_tree(tmp_path / "other", {"a.txt": b"unrelated\n", "b.txt": b"two\n", "c.txt": b"new\n"})
    _, err = run("push", str(other), "--slug", SLUG, expect=1)
    assert "conflict: a.txt" in err
    assert run("cat", SLUG, "a.txt")[0] == "one\n"  # the server's file was not replaced
    copy = next(p for p in other.iterdir() if COPY.match(p.name))
    assert run("cat", SLUG, copy.name)[0] == "unrelated\n" and run("cat", SLUG, "c.txt")[0] == "new\n"


def test_a_file_another_tool_changed_keeping_its_size_is_not_reported_unchanged(
    run: Runner, tmp_path: Path, isolated_dirs: object
) -> None:
    a, _b = _two_working_folders(run, tmp_path)
    run("put", SLUG, "a.txt", stdin=b"ONE\n")  # as another writer would: same size, the manifest follows
    out, _ = run("push", str(a))
    assert "0 sent" in out and "not carried by push" in out
    out, _ = run("sync", str(a))
    assert "1 fetched" in out and (a / "a.txt").read_bytes() == b"ONE\n"


def test_the_manifests_name_is_reserved(run: Runner, tmp_path: Path) -> None:
    a, _ = _two_working_folders(run, tmp_path)
    (a / ".projectdesk.json").write_bytes(b'{"mine": true}')
    (a / "c.txt").write_bytes(b"three\n")
    _, err = run("push", str(a), expect=2)
    assert ".projectdesk.json" in err and "reserved" in err
    assert (a / ".projectdesk.json").read_bytes() == b'{"mine": true}'  # never touched, never sent
    assert _manifest(run)["files_count"] == 3
    _, err = run("put", SLUG, ".projectdesk.json", stdin=b"{}", expect=1)
    assert "reserved" in err
    assert _manifest(run)["name"] == "Demo"


def test_a_moved_folder_keeps_its_binding(run: Runner, tmp_path: Path) -> None:
    a, _ = _two_working_folders(run, tmp_path)
    moved = tmp_path / "moved"
    a.rename(moved)
    (moved / "a.txt").write_bytes(b"edited after the move\n")
    out, _ = run("push", str(moved))  # no --slug: the binding followed the folder
    assert "the binding follows it" in out and "1 sent" in out and SLUG in out


def test_sync_needs_a_bound_folder(run: Runner, tmp_path: Path) -> None:
    folder = make_tree(tmp_path / "never", {"x.txt": b"x"})
    _, err = run("sync", str(folder), expect=1)
    assert "not a working folder yet" in err


def test_an_unchanged_folder_is_not_read_again(run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from projectdesk.services import hashing

    a, _ = _two_working_folders(run, tmp_path)
    old = 1_000_000_000
    for path in a.iterdir():
        os.utime(path, (old, old))
    run("sync", str(a))  # records the signatures of the files as they are now
    read: list[Path] = []
    real = hashing.sha256_file
    monkeypatch.setattr(hashing, "sha256_file", lambda p: read.append(p) or real(p))
    out, _ = run("sync", str(a))
    assert read == [] and "2 unchanged" in out


# ---- races between plan and write, on every store --------------------------------------------------------


def test_a_change_landing_between_plan_and_write_is_never_overwritten(store: Store, tmp_path: Path) -> None:
    service = ProjectService(store.repo, data_dir=tmp_path / "state")
    folder = make_tree(tmp_path / "work", {"a.txt": b"v1", "b.txt": b"b"})
    service.push(service.plan_push(folder, name="Race", slug="race-00001"))
    (folder / "a.txt").write_bytes(b"ours")
    plan = service.plan_push(folder)
    store.repo.write_file("race-00001", "a.txt", b"theirs, written after our plan")
    report = service.push(plan)
    assert [c.path for c in report.conflicts] == ["a.txt"]
    assert store.repo.read_file("race-00001", "a.txt") == b"theirs, written after our plan"
    copy = report.conflicts[0].copy_path
    assert store.repo.read_file("race-00001", copy) == b"ours"
    assert (folder / "a.txt").read_bytes() == b"theirs, written after our plan"
    manifest = store.repo.get_manifest("race-00001")
    assert isinstance(manifest, Manifest)
    listing = {e.path: e for e in store.repo.list_files("race-00001")}
    assert set(manifest.files) == set(listing) == {"a.txt", "b.txt", copy}
    assert manifest.file_etags == {p: e.etag for p, e in listing.items()}
    assert manifest.files["a.txt"] == sha256_bytes(b"theirs, written after our plan")


def test_the_manifest_has_one_writer_at_a_time(store: Store, tmp_path: Path) -> None:
    """A push whose manifest read went stale re-reads, re-lists and writes again: the last manifest names
    exactly what the server holds."""
    first = ProjectService(store.repo, data_dir=tmp_path / "s1")
    second = ProjectService(store.repo, data_dir=tmp_path / "s2")
    one = make_tree(tmp_path / "one", {"shared.txt": b"s", "one.txt": b"1"})
    two = make_tree(tmp_path / "two", {"two.txt": b"2"})
    first.push(first.plan_push(one, name="Both", slug="both-00001"))
    plan_two = second.plan_push(two, slug="both-00001")
    (one / "one.txt").write_bytes(b"1, again")
    first.push(first.plan_push(one))  # lands between the other's plan and its manifest write
    second.push(plan_two)
    manifest = store.repo.get_manifest("both-00001")
    assert manifest is not None
    listing = {e.path: e.etag for e in store.repo.list_files("both-00001")}
    assert set(manifest.files) == set(listing) == {"shared.txt", "one.txt", "two.txt"}
    assert manifest.file_etags == listing
    assert manifest.files["one.txt"] == sha256_bytes(b"1, again")


@pytest.mark.parametrize("store", ["seaweedfs"], indirect=True)
def test_a_large_file_is_replaced_only_over_the_version_seen(store: Store, tmp_path: Path) -> None:
    """Multipart uploads carry the precondition too (checked just before, and sent with the request)."""
    service = ProjectService(store.repo, limits=Limits(10**9, 10**10), data_dir=tmp_path / "state")
    big = os.urandom(17 * 1024 * 1024)
    folder = make_tree(tmp_path / "work", {"big.bin": big})
    service.push(service.plan_push(folder, name="Big", slug="big-00001"))
    (folder / "big.bin").write_bytes(big[::-1])
    plan = service.plan_push(folder)
    store.repo.write_file("big-00001", "big.bin", b"someone else's")
    report = service.push(plan)
    assert [c.path for c in report.conflicts] == ["big.bin"]
    assert store.repo.read_file("big-00001", "big.bin") == b"someone else's"
    assert store.repo.read_file("big-00001", report.conflicts[0].copy_path) == big[::-1]
