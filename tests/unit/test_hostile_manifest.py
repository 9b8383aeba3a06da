"""Hostile `.projectdesk.json` files: one bad manifest never breaks the listing of the others.

A bad manifest (wrong types, impossible numbers, not JSON, too large) makes its project listed from its
objects, with a warning; nothing in a listed project can hold inf or NaN.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projectdesk.core.models import MAX_MANIFEST_BYTES, Manifest, ManifestInvalid, ProjectInfo
from tests.conftest import Store

STORES = pytest.mark.parametrize("store", ["local", "moto"], indirect=True)
BAD = "bad-1"
GOOD = "good-2"
HASH = "ab" * 32


def _valid(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Bad",
        "slug": BAD,
        "user_id": "anonymous",
        "created_date": 1703001234.5,
        "updated_date": 1703001299.0,
        "files_count": 1,
        "total_bytes": 5,
        "tech_stack": ["React"],
        "has_frontend": True,
        "has_backend": False,
        "files": {"index.html": HASH},
    }
    data.update(changes)
    return data


def _text(data: Any) -> bytes:
    return json.dumps(data, allow_nan=True).encode()


BAD_MANIFESTS: list[tuple[str, bytes]] = [
    ("date-string", _text(_valid(created_date="x"))),
    ("date-list", _text(_valid(created_date=[1, 2]))),
    ("date-object", _text(_valid(updated_date={"a": 1}))),
    ("date-bool", _text(_valid(created_date=True))),
    ("date-inf", b'{"name": "Bad", "created_date": 1e400}'),
    ("date-minus-inf", b'{"name": "Bad", "updated_date": -1e400}'),
    ("date-nan", b'{"name": "Bad", "created_date": NaN}'),
    ("date-negative", _text(_valid(created_date=-1))),
    ("date-year-1e30", _text(_valid(updated_date=1e30))),
    ("date-huge-int", _text(_valid(updated_date=10**40))),
    ("count-inf", b'{"name": "Bad", "files_count": Infinity}'),
    ("count-negative", _text(_valid(files_count=-1))),
    ("count-2-63", _text(_valid(total_bytes=2**63))),
    ("count-float", _text(_valid(files_count=1.5))),
    ("count-string", _text(_valid(total_bytes="5"))),
    ("name-number", _text(_valid(name=5))),
    ("name-huge", _text(_valid(name="n" * 5000))),
    ("user-list", _text(_valid(user_id=["a"]))),
    ("stack-string", _text(_valid(tech_stack="React"))),
    ("stack-numbers", _text(_valid(tech_stack=[1, 2]))),
    ("stack-long-name", _text(_valid(tech_stack=["x" * 500]))),
    ("stack-too-many", _text(_valid(tech_stack=["x"] * 1000))),
    ("flag-string", _text(_valid(has_frontend="yes"))),
    ("files-list", _text(_valid(files=["index.html"]))),
    ("etags-string", _text(_valid(file_etags="abc"))),
    ("top-level-list", b"[1, 2, 3]"),
    ("top-level-null", b"null"),
    ("top-level-number", b"1e400"),
    ("not-json", b"{not json"),
    ("not-utf8", b"\xff\xfe\x00{"),
    ("deeply-nested", b"[" * 100_000 + b"]" * 100_000),
    ("integer-too-long", b'{"files_count": ' + b"9" * 5000 + b"}"),
    ("too-large", b" " * MAX_MANIFEST_BYTES + b"{}"),
]


def _plant_project(store: Store, slug: str, manifest: bytes | None) -> None:
    base = f"projects/anonymous/{slug}/"
    store.plant(base + "index.html", b"<h1>")
    if manifest is not None:
        store.plant(base + ".projectdesk.json", manifest)


def _assert_listable(projects: list[ProjectInfo]) -> None:
    """What `projectdesk-cli list` and `list --json` do with the projects must work."""
    json.dumps([p.to_json() for p in projects], allow_nan=False)
    for p in projects:
        for value in (p.created_date, p.updated_date):
            assert math.isfinite(value)
            datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M")
        assert 0 <= p.files_count < 2**63 and 0 <= p.total_bytes < 2**63


@STORES
@pytest.mark.parametrize("data", [d for _, d in BAD_MANIFESTS], ids=[i for i, _ in BAD_MANIFESTS])
def test_a_bad_manifest_is_listed_from_its_files_with_a_warning(store: Store, data: bytes) -> None:
    _plant_project(store, BAD, data)
    _plant_project(store, GOOD, _text(_valid(name="Good", slug=GOOD)))
    projects = {p.slug: p for p in store.repo.list_projects()}
    assert set(projects) == {BAD, GOOD}
    bad, good = projects[BAD], projects[GOOD]
    assert (bad.name, bad.files_count, bad.total_bytes, bad.has_manifest) == (BAD, 1, 4, False)
    assert bad.warning.startswith("its manifest is unreadable (") and bad.warning.endswith("; listed from its files")
    assert (good.name, good.has_manifest, good.warning) == ("Good", True, "")
    _assert_listable(list(projects.values()))
    assert store.repo.get_manifest(BAD) is None
    assert store.repo.project_info(BAD).warning == bad.warning
    assert "warning" not in bad.to_json()


@STORES
def test_a_project_that_is_only_a_bad_manifest_is_still_listed(store: Store) -> None:
    store.plant(f"projects/anonymous/{BAD}/.projectdesk.json", b'{"created_date": "x"}')
    [info] = store.repo.list_projects()
    assert (info.slug, info.files_count, info.has_manifest) == (BAD, 0, False)
    assert "created_date" in info.warning
    _assert_listable([info])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_valid(created_date="x"), "created_date is a string, not a number"),
        (_valid(created_date=1e30), "created_date is not a date between 1970 and 9999"),
        (_valid(files_count=-1), "files_count is out of range"),
        (_valid(has_backend=1), "has_backend is a number, not true or false"),
        (_valid(files="x"), "files is a string, not an object"),
        ([], "a JSON array, not an object"),
    ],
)
def test_the_reason_says_which_field_is_wrong(data: Any, reason: str) -> None:
    with pytest.raises(ManifestInvalid) as caught:
        Manifest.from_json(data)
    assert str(caught.value) == reason


def test_bad_file_hashes_are_dropped_and_good_ones_kept() -> None:
    files = {"a": HASH, "b": 5, "c": None, "d": "not hex", "e": "AB" * 32, "f": HASH + "00", "g": ["x"]}
    manifest = Manifest.from_json(_valid(files=files, file_etags={"a": '"etag-1"', "b": 7, "c": ""}))
    assert manifest.files == {"a": HASH, "e": HASH}
    assert manifest.file_etags == {"a": '"etag-1"'}


def test_absent_and_null_fields_take_their_defaults() -> None:
    manifest = Manifest.from_json({"slug": "s-1", "name": None, "created_date": 5, "updated_date": None})
    assert (manifest.name, manifest.user_id, manifest.created_date, manifest.updated_date) == ("s-1", "anonymous", 5, 5)
    assert (manifest.files_count, manifest.tech_stack, manifest.files, manifest.file_etags) == (0, [], {}, {})


@STORES
def test_file_etags_round_trip(store: Store) -> None:
    store.repo.write_file(GOOD, "index.html", b"<h1>")
    manifest = Manifest(GOOD, GOOD, "anonymous", 1.0, 2.0, files={"index.html": HASH}, file_etags={"index.html": "e1"})
    store.repo.put_manifest(manifest)
    assert store.repo.get_manifest(GOOD) == manifest
    assert manifest.to_json()["file_etags"] == {"index.html": "e1"}


def test_project_info_never_holds_inf_or_nan() -> None:
    info = ProjectInfo("n", "s", "u", math.inf, math.nan, -3, 2**70, [], False, False)
    assert (info.created_date, info.updated_date, info.files_count, info.total_bytes) == (0.0, 0.0, 0, 2**63 - 1)
    info = ProjectInfo("n", "s", "u", 1e30, -1.0, 1.0e300, math.nan, [], False, False)  # type: ignore[arg-type]
    assert (info.created_date, info.updated_date, info.files_count, info.total_bytes) == (0.0, 0.0, 2**63 - 1, 0)
    _assert_listable([info])


# ---- any JSON at all ------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
FIELDS = [*_valid(), "file_etags"]
# Mostly objects with the manifest's own keys, so the field checks are reached and not only the top level.
MANIFESTS = JSON_VALUES | st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=len(FIELDS))


@given(value=MANIFESTS)
@settings(max_examples=100, deadline=None)
def test_any_json_parses_or_is_refused_as_invalid(value: Any) -> None:
    try:
        manifest = Manifest.from_bytes(_text(value), slug="s")
    except ManifestInvalid:
        return
    json.dumps(manifest.to_json(), allow_nan=False)
    _assert_listable([ProjectInfo.from_manifest(manifest, "anonymous")])


@STORES
@given(value=MANIFESTS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_json_manifest_never_breaks_the_listing(store: Store, value: Any) -> None:
    _plant_project(store, BAD, _text(value))
    [info] = store.repo.list_projects()
    assert info.slug == BAD
    _assert_listable([info])


@pytest.mark.parametrize("store", ["local", "moto"], indirect=True)
def test_a_huge_manifest_is_refused_without_being_read_whole(store: Store) -> None:
    """A manifest past the cap is read only one byte past it (a 200 MB one cost 630 MB of memory before)."""
    store.plant("projects/anonymous/huge-00001/a.txt", b"a")
    store.plant("projects/anonymous/huge-00001/.projectdesk.json", b" " * (MAX_MANIFEST_BYTES + 5_000_000))
    data, version = store.repo.read_manifest_versioned("huge-00001")
    assert data is not None and len(data) == MAX_MANIFEST_BYTES + 1 and version
    [project] = store.repo.list_projects()
    assert project.files_count == 1 and "larger than 16 MB" in project.warning


def test_to_json_names_every_field_and_round_trips() -> None:
    from dataclasses import fields

    manifest = Manifest("n", "s", "u", 1.0, 2.0, 1, 3, ["Go"], True, False, {"a": "0" * 64}, {"a": "e"}, {"l": "a"})
    assert set(manifest.to_json()) == {f.name for f in fields(Manifest)}
    assert Manifest.from_json(manifest.to_json()) == manifest
