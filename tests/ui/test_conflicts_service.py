"""What the window's conflict and file commands ask of the services (no Qt): every kind of conflict settled
each way, offline too; new, renamed and deleted files; and the side-by-side alignment of the diff view."""

from __future__ import annotations

from pathlib import Path

import pytest

from projectdesk.cache.store import CacheStore
from projectdesk.core.errors import InvalidInput, InvalidKey, NotFound
from projectdesk.services.offline import KEEP_BOTH, KEEP_MINE, KEEP_THEIRS, CachedProjectService, ConflictedCopy
from projectdesk.services.projects import ProjectService
from projectdesk.storage.local import LocalRepository
from projectdesk.ui.diff import ADDED, CHANGED, EQUAL, REMOVED, side_by_side

SLUG = "demo-12345"


def _service(tmp_path: Path, who: str = "me") -> CachedProjectService:
    return CachedProjectService(
        LocalRepository(tmp_path / "store"), CacheStore(tmp_path / f"cache-{who}", "local", "anonymous")
    )


def _remote(tmp_path: Path) -> LocalRepository:
    return LocalRepository(tmp_path / "store")


def _files(tmp_path: Path) -> dict[str, bytes]:
    repo = _remote(tmp_path)
    return {e.path: repo.read_file(SLUG, e.path) for e in repo.list_files(SLUG)}


@pytest.mark.parametrize("choice", [KEEP_MINE, KEEP_THEIRS, KEEP_BOTH])
def test_an_edit_met_by_a_deletion_on_the_server(tmp_path: Path, choice: str) -> None:
    service = _service(tmp_path)
    service.write_file(SLUG, "a.txt", b"base")
    service.go_offline()
    service.write_file(SLUG, "a.txt", b"mine")
    _remote(tmp_path).delete_file(SLUG, "a.txt")
    service.go_online()
    [record] = service.conflicts()
    assert record.kind == "deleted-remotely"
    versions = service.conflict_versions(record.id)
    assert versions.mine == b"mine" and versions.theirs is None
    service.resolve_conflict(record.id, choice)  # type: ignore[arg-type]
    expected = {} if choice == KEEP_THEIRS else {"a.txt": b"mine"}
    assert _files(tmp_path) == expected and service.conflicts() == [] and service.pending() == []


@pytest.mark.parametrize("choice", [KEEP_MINE, KEEP_THEIRS, KEEP_BOTH])
def test_a_delete_met_by_a_change_on_the_server(tmp_path: Path, choice: str) -> None:
    service = _service(tmp_path)
    service.write_file(SLUG, "a.txt", b"base")
    service.go_offline()
    service.delete_file(SLUG, "a.txt")
    _remote(tmp_path).write_file(SLUG, "a.txt", b"theirs")
    service.go_online()
    [record] = service.conflicts()
    assert record.kind == "delete"
    versions = service.conflict_versions(record.id)
    assert versions.mine is None and versions.theirs == b"theirs"
    service.resolve_conflict(record.id, choice)  # type: ignore[arg-type]
    expected = {} if choice == KEEP_MINE else {"a.txt": b"theirs"}
    assert _files(tmp_path) == expected and service.conflicts() == []


def test_keep_mine_offline_waits_in_the_queue_and_never_overwrites_a_newer_change(tmp_path: Path) -> None:
    me, other = _service(tmp_path, "me"), _service(tmp_path, "other")
    me.write_file(SLUG, "a.txt", b"base")
    assert other.read_file(SLUG, "a.txt") == b"base"
    other.write_file(SLUG, "a.txt", b"theirs")
    with pytest.raises(ConflictedCopy):  # both versions kept
        me.write_file(SLUG, "a.txt", b"mine")
    [record] = me.conflicts()
    assert record.copy_path is not None
    me.go_offline()
    me.resolve_conflict(record.id, KEEP_MINE)
    assert me.conflicts() == [] and [i.path for i in me.pending()] == ["a.txt", record.copy_path]
    assert _files(tmp_path)["a.txt"] == b"theirs"  # offline: nothing sent yet
    me.go_online()
    assert _files(tmp_path) == {"a.txt": b"mine"}
    with pytest.raises(NotFound):
        me.resolve_conflict(record.id, KEEP_THEIRS)
    with pytest.raises(InvalidInput):
        me.resolve_conflict(record.id, "neither")  # type: ignore[arg-type]


def test_new_rename_and_delete_files_on_a_plain_and_a_cached_service(tmp_path: Path) -> None:
    for service in (ProjectService(LocalRepository(tmp_path / "plain")), _service(tmp_path)):
        service.write_file(SLUG, "src/app.py", b"print(1)\n")
        service.create_file(SLUG, "src/new.py")
        with pytest.raises(InvalidInput, match="exists already"):
            service.create_file(SLUG, "src/new.py", b"x")
        with pytest.raises(InvalidInput, match="is a folder"):
            service.create_file(SLUG, "src")
        with pytest.raises(InvalidInput, match="is a file"):
            service.create_file(SLUG, "src/app.py/inner.py")
        with pytest.raises(InvalidKey):
            service.create_file(SLUG, "../escape.py")
        service.rename_file(SLUG, "src/app.py", "src/main.py")
        assert {e.path for e in service.list_files(SLUG)} == {"src/new.py", "src/main.py"}
        assert service.read_file(SLUG, "src/main.py") == b"print(1)\n"
        assert service.delete_files(SLUG, ["src/new.py", "src/main.py"]) == 2
        assert [e.path for e in service.list_files(SLUG)] == []


def test_share_links_and_uris_need_an_s3_store(tmp_path: Path) -> None:
    service = ProjectService(LocalRepository(tmp_path / "store"))
    service.write_file(SLUG, "a.txt", b"x")
    with pytest.raises(InvalidInput, match="Share links need an S3 store"):
        service.share_link(SLUG, "a.txt", 3600)
    with pytest.raises(InvalidInput, match="S3 URIs need an S3 store"):
        service.s3_uri(SLUG, "a.txt")


def test_side_by_side_pairs_changed_lines_and_pads_the_shorter_side() -> None:
    diff = side_by_side(b"a\nb\nc\nd\n", b"a\nB\nc\nd\ne\nf\n")
    assert [(r.kind, r.left, r.right) for r in diff.rows] == [
        (EQUAL, "a", "a"),
        (CHANGED, "b", "B"),
        (EQUAL, "c", "c"),
        (EQUAL, "d", "d"),
        (ADDED, None, "e"),
        (ADDED, None, "f"),
    ]
    assert diff.changes == 2 and diff.change_starts() == [1, 4]
    assert [r.right_number for r in diff.rows] == [1, 2, 3, 4, 5, 6]
    removed = side_by_side(b"x\ny\nz\n", b"x\nz\n")
    assert [(r.kind, r.left_number, r.right_number) for r in removed.rows] == [
        (EQUAL, 1, 1),
        (REMOVED, 2, None),
        (EQUAL, 3, 2),
    ]
    assert side_by_side(b"\x00\x01", b"\x00\x02").note.startswith("Binary files, different")
    assert side_by_side(None, b"kept\n").note == "Your version deletes the file."
    assert side_by_side(b"same\n", b"same\n").note == "The two versions have the same lines."
