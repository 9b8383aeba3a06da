"""A listing run again with nothing changed (issue #18): the requests it makes, the memo's checked copy of the
catalog it starts from, and a catalog another process changed meanwhile, which is never served stale."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from projectdesk.cache.listing_memo import MEMO_NAME, SqliteListingMemo
from projectdesk.services.listing import ProjectLister
from projectdesk.services.projects import ProjectService
from projectdesk.storage.s3 import S3Repository
from tests.conftest import Store, make_tree


def _push(service: ProjectService, root: Path, slug: str, files: dict[str, bytes]) -> None:
    plan = service.plan_push(make_tree(root / slug, files), slug=slug, remember=False)
    assert not service.push(plan).failed


def _process(store: Store, memo_dir: Path) -> ProjectLister:
    """A lister as a new CLI process has it: a new memo object over the memo folder the last run left."""
    return ProjectLister(store.repo, SqliteListingMemo(memo_dir, store.repo.user_id))


def _count_requests(repo: S3Repository) -> list[tuple[str, str]]:
    """(operation, key or prefix) of every request the repository's client makes from now on, If-None-Match
    marked with a leading "?"."""
    calls: list[tuple[str, str]] = []

    def seen(model: Any, params: dict[str, Any], **_: Any) -> None:
        conditional = "?" if params.get("IfNoneMatch") else ""
        calls.append((conditional + model.name, str(params.get("Key", params.get("Prefix", "")))))

    repo._client.meta.events.register("before-parameter-build.s3", seen)
    return calls


@pytest.mark.parametrize("store", ["moto", "seaweedfs"], indirect=True)  # requests are counted on S3's client
def test_a_repeat_listing_with_nothing_changed_makes_only_conditional_reads_and_one_slug_listing(
    store: Store, tmp_path: Path
) -> None:
    assert isinstance(store.repo, S3Repository)
    service = ProjectService(store.repo, data_dir=tmp_path / "data")
    slugs = ["a", "b", "c", "d", "e"]
    for slug in slugs:
        _push(service, tmp_path, slug, {"f.txt": slug.encode()})
    first = _process(store, tmp_path / "memo").list_projects()  # the run before: reads the catalog whole

    lister = _process(store, tmp_path / "memo")
    calls = _count_requests(store.repo)
    again = lister.list_projects()

    assert again == first and lister.unchanged
    user = store.repo.user_id
    assert sorted(calls) == sorted(
        [("?GetObject", f"projects/{user}/.projectdesk-catalog.json"), ("ListObjectsV2", f"projects/{user}/")]
        + [("?GetObject", f"projects/{user}/{slug}/.projectdesk.json") for slug in slugs]  # the manifest checks
    )


def test_a_catalog_changed_by_another_process_is_read_again_not_served_from_the_memo(
    store: Store, tmp_path: Path
) -> None:
    ours = ProjectService(store.repo, data_dir=tmp_path / "ours")
    for slug in ("a", "b"):
        _push(ours, tmp_path / "one", slug, {"f.txt": slug.encode()})
    assert {p.slug: p.files_count for p in _process(store, tmp_path / "memo").list_projects()} == {"a": 1, "b": 1}
    assert _process(store, tmp_path / "memo").list_projects()  # the memo now holds its checked copy

    other = ProjectService(store.repo, data_dir=tmp_path / "other")  # another process, its own memo
    _push(other, tmp_path / "two", "b", {"f.txt": b"b", "g.txt": b"g"})
    _push(other, tmp_path / "two", "c", {"h.txt": b"h"})

    lister = _process(store, tmp_path / "memo")
    assert {p.slug: p.files_count for p in lister.list_projects()} == {"a": 1, "b": 2, "c": 1}
    assert not lister.unchanged
    again = _process(store, tmp_path / "memo")  # the memo's copy is the new version now: a 304 again
    assert {p.slug: p.files_count for p in again.list_projects()} == {"a": 1, "b": 2, "c": 1}
    assert again.unchanged


def test_a_damaged_copy_in_the_memo_is_parsed_again_from_the_catalog(store: Store, tmp_path: Path) -> None:
    service = ProjectService(store.repo, data_dir=tmp_path / "data")
    for slug in ("a", "b"):
        _push(service, tmp_path, slug, {"f.txt": slug.encode()})
    first = _process(store, tmp_path / "memo").list_projects()
    with sqlite3.connect(tmp_path / "memo" / MEMO_NAME) as conn:
        assert conn.execute("UPDATE catalog_rows SET rows = ?, outline = ?", (b"[[1, 2]]", b"{")).rowcount == 1
    lister = _process(store, tmp_path / "memo")
    assert lister.list_projects() == first and lister.writer.unchanged  # a 304, the copy parsed from its bytes
    with sqlite3.connect(tmp_path / "memo" / MEMO_NAME) as conn:
        (rows,) = conn.execute("SELECT rows FROM catalog_rows").fetchone()
    assert sorted(row[0] for row in json.loads(rows)) == ["a", "b"]  # and kept again, whole


def test_the_cli_lists_the_same_table_and_json_from_the_early_rows_and_sees_a_change(
    tmp_path: Path, isolated_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """`projectdesk-cli list` makes its rows from the catalog's projects while the slugs are listed: the output
    is the final list's, whether a row was made early or not."""
    from projectdesk import cli
    from projectdesk.storage.local import LocalRepository

    service = ProjectService(LocalRepository(isolated_dirs.local_store), data_dir=tmp_path / "data")
    for slug in ("alpha", "beta"):
        _push(service, tmp_path / "one", slug, {"f.txt": slug.encode()})

    def listed(*extra: str) -> str:
        assert cli.main(["--profile", "local", "list", *extra], paths=isolated_dirs) == 0
        return capsys.readouterr().out

    cold_table, cold_json = listed(), listed("--json")
    assert listed() == cold_table and listed("--json") == cold_json  # from the memo's copy: the same output
    assert [p["slug"] for p in json.loads(cold_json)] == ["beta", "alpha"]  # newest first

    _push(service, tmp_path / "two", "alpha", {"f.txt": b"alpha", "g.txt": b"g"})  # the catalog changes
    projects = {p["slug"]: p for p in json.loads(listed("--json"))}
    assert projects["alpha"]["files_count"] == 2 and projects["beta"]["files_count"] == 1
    rows = listed().splitlines()
    assert rows[0].split() == ["NAME", "SLUG", "FILES", "SIZE", "UPDATED", "TECH", "STACK"]
    assert [row.split()[:3] for row in rows[1:]] == [["alpha", "alpha", "2"], ["beta", "beta", "1"]]
