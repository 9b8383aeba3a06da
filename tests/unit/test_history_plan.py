"""The state of a project at a moment and the restore preview, computed from a listing of versions (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from projectdesk.core.errors import NoHistory
from projectdesk.core.keys import MANIFEST_NAME
from projectdesk.core.models import FileVersion
from projectdesk.services import history


def v(path: str, vid: str, at: float, etag: str = "", *, latest: bool = False, marker: bool = False) -> FileVersion:
    return FileVersion(path, vid, "" if marker else (etag or f"e-{vid}"), 0 if marker else 10, at, latest, marker)


# As a server lists them: keys in order, each key's newest first.
LISTING = [
    v(MANIFEST_NAME, "m2", 200.0, latest=True),
    v(MANIFEST_NAME, "m1", 100.0),
    v("added.txt", "a1", 200.0, latest=True),  # made after the first push
    v("changed.txt", "c2", 200.0, latest=True),
    v("changed.txt", "c1", 100.0),
    v("gone.txt", "g-marker", 200.0, latest=True, marker=True),  # deleted after the first push
    v("gone.txt", "g1", 100.0),
    v("same.txt", "s1", 100.0, latest=True),
    v("same-bytes.txt", "b2", 200.0, etag="same", latest=True),  # rewritten with the same bytes
    v("same-bytes.txt", "b1", 100.0, etag="same"),
    v("tie.txt", "t2", 100.0, latest=True),  # two versions in one second: the listing's order decides
    v("tie.txt", "t1", 100.0),
    v("dead.txt", "d-marker", 50.0, latest=True, marker=True),  # deleted before the moment too
    v("dead.txt", "d1", 10.0),
    v("../evil", "x1", 200.0, latest=True),
]


class FakeRepo:
    def __init__(self, status: str = "Enabled") -> None:
        self.status = status

    def versioning(self) -> str:
        return self.status

    def list_versions(self, slug: str, path: str | None = None, *, limit: int | None = None) -> list[FileVersion]:
        return [x for x in LISTING if path is None or x.path == path][:limit]

    def history_unavailable(self, status: str, profile_name: str = "") -> NoHistory:
        return NoHistory(f"off ({status!r}, {profile_name})")


class FakeService:
    profile_name = "work"

    def __init__(self, repo: FakeRepo) -> None:
        self.repo = repo

    def remote(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        return call(*args, **kwargs)


def test_the_state_at_a_moment_is_each_paths_newest_version_no_later_than_it() -> None:
    state = history.state_at(LISTING, 150.0)
    assert {p: x.version_id for p, x in state.items()} == {
        MANIFEST_NAME: "m1", "changed.txt": "c1", "gone.txt": "g1", "same.txt": "s1", "same-bytes.txt": "b1",
        "tie.txt": "t2", "dead.txt": "d-marker",
    }  # fmt: skip
    assert history.state_at(LISTING, 5.0) == {}
    assert history.state_at(LISTING, 200.0)["gone.txt"].is_delete_marker


def test_the_restore_preview_sorts_every_path_into_one_kind() -> None:
    plan = history.plan_restore(FakeService(FakeRepo()), "shop-12345", 150.0)  # type: ignore[arg-type]
    assert [(s.path, s.action, s.target and s.target.version_id) for s in plan.steps] == [
        ("changed.txt", "restore", "c1"),
        ("gone.txt", "undelete", "g1"),
        ("added.txt", "delete", None),
    ]
    assert sorted(plan.unchanged) == ["same-bytes.txt", "same.txt", "tie.txt"]  # same bytes: nothing to copy
    assert plan.skipped == [("../evil", "unsafe name: left as it is")]
    assert plan.manifest_then is not None and plan.manifest_then.version_id == "m1"
    assert plan.newest_seen == 200.0
    assert (
        plan.summary() == "1 changed since (restored), 1 added since (deleted), 1 deleted since (restored), 3 unchanged"
    )


def test_deleted_files_and_moments_come_from_the_same_listing() -> None:
    service = FakeService(FakeRepo())
    found = history.deleted_files(service, "shop-12345")  # type: ignore[arg-type]
    assert [(d.path, d.deleted_at, d.last and d.last.version_id) for d in found] == [
        ("gone.txt", 200.0, "g1"), ("dead.txt", 50.0, "d1"),
    ]  # fmt: skip
    assert [(m.version_id, m.at) for m in history.moments(service, "shop-12345")] == [("m2", 200.0), ("m1", 100.0)]  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["", "Suspended", "unsupported"])
def test_no_restore_without_versioning(status: str) -> None:
    service = FakeService(FakeRepo(status))
    with pytest.raises(NoHistory, match="work"):
        history.plan_restore(service, "shop-12345", 150.0)  # type: ignore[arg-type]
    if status == "Suspended":  # history stays readable
        assert history.file_history(service, "shop-12345", "changed.txt")[0].version_id == "c2"  # type: ignore[arg-type]
    else:
        with pytest.raises(NoHistory):
            history.file_history(service, "shop-12345", "changed.txt")  # type: ignore[arg-type]


def test_parse_moment_takes_local_time_and_iso_with_offsets() -> None:
    from datetime import datetime

    local = datetime(2026, 12, 1, 14, 0).timestamp()
    assert history.parse_moment("2026-12-01 14:00") == local
    assert history.parse_moment(" 2026-12-01T14:00:00 ") == local
    utc = datetime.fromisoformat("2026-12-01T13:00:00+00:00").timestamp()
    assert history.parse_moment("2026-12-01T14:00:00+01:00") == utc
    assert history.parse_moment("2026-12-01T13:00:00Z") == utc
    with pytest.raises(history.InvalidInput):
        history.parse_moment("yesterday")
