"""The project catalog (core/catalog.py, services/listing.py) on the local store, moto and SeaweedFS: kept by
our writers, checked against the slug listing, never trusted blindly, and safe against hostile content."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from projectdesk.cache.listing_memo import ListingMemo, SqliteListingMemo
from projectdesk.core.catalog import Catalog, CatalogInvalid, catalog_key
from projectdesk.core.keys import manifest_key, object_key, user_prefix
from projectdesk.services.listing import CatalogWriter, ProjectLister
from projectdesk.services.projects import ProjectService
from projectdesk.storage.listing import backend_for
from tests.conftest import Store, make_tree

REACT = json.dumps({"dependencies": {"react": "18", "vite": "5"}}).encode()


def _push(service: ProjectService, root: Path, slug: str, files: dict[str, bytes]) -> None:
    plan = service.plan_push(make_tree(root / slug, files), slug=slug, remember=False)
    report = service.push(plan)
    assert not report.failed


def _catalog(store: Store) -> Catalog:
    read = backend_for(store.repo).read_catalog()
    assert read.data is not None, "no catalog was written"
    return Catalog.from_bytes(read.data, store.repo.user_id)


def _fresh_lister(store: Store, **kwargs: int) -> ProjectLister:
    return ProjectLister(store.repo, ListingMemo(), **kwargs)


def test_pushes_saves_and_deletes_keep_the_catalog(store: Store, tmp_path: Path) -> None:
    service = ProjectService(store.repo, data_dir=tmp_path / "data")
    _push(service, tmp_path, "alpha", {"package.json": REACT, "src/App.jsx": b"x"})
    _push(service, tmp_path, "beta", {"main.py": b"print(1)\n"})
    catalog = _catalog(store)
    assert set(catalog.entries) == {"alpha", "beta"}
    assert catalog.entries["alpha"].info.tech_stack[:2] == ["React", "Vite"]
    assert catalog.entries["alpha"].manifest_etag == store.repo.read_manifest_versioned("alpha")[1]

    service.write_file("beta", "more.py", b"x = 2\n")  # a save
    assert _catalog(store).entries["beta"].info.files_count == 2
    assert _catalog(store).entries["beta"].manifest_etag == store.repo.read_manifest_versioned("beta")[1]

    service.delete_project("alpha")
    assert set(_catalog(store).entries) == {"beta"}
    assert [p.slug for p in service.list_projects()] == ["beta"]


def test_other_tools_projects_appear_and_deleted_ones_disappear(store: Store, tmp_path: Path) -> None:
    service = ProjectService(store.repo, data_dir=tmp_path / "data")
    _push(service, tmp_path, "ours", {"a.txt": b"a"})
    _push(service, tmp_path, "doomed", {"b.txt": b"b"})
    user = store.repo.user_id
    # the web backend: plain objects, no manifest, no catalog update
    store.plant(object_key(user, "webapp", "frontend/package.json"), REACT)
    store.plant(object_key(user, "webapp", "frontend/index.html"), b"<html>")
    # another tool deletes a project we catalogued
    store.repo.delete_project("doomed")
    assert "doomed" in _catalog(store).entries  # the catalog did not hear of it

    lister = _fresh_lister(store)
    projects = {p.slug: p for p in lister.list_projects()}
    assert set(projects) == {"ours", "webapp"}
    web = projects["webapp"]
    assert not web.has_manifest and web.files_count == 2 and "React" in web.tech_stack and web.has_frontend
    assert set(_catalog(store).entries) == {"ours"}  # repaired: the deleted project's entry dropped

    # a repeat run: the derived stack comes from the memo (package.json is not read again)
    reads: list[str] = []
    original = store.repo.read_file

    def counting(slug: str, path: str) -> bytes:
        reads.append(f"{slug}/{path}")
        return original(slug, path)

    store.repo.read_file = counting  # type: ignore[method-assign]
    again = {p.slug: p for p in lister.list_projects()}
    assert again["webapp"].tech_stack == web.tech_stack and reads == []
    vue = json.dumps({"dependencies": {"vue": "3"}}).encode()
    store.plant(object_key(user, "webapp", "frontend/package.json"), vue)
    changed = {p.slug: p for p in lister.list_projects()}
    assert "Vue" in changed["webapp"].tech_stack and reads == ["webapp/frontend/package.json"]


def test_a_manifest_changed_by_another_tool_shows_within_the_check_rotation(store: Store, tmp_path: Path) -> None:
    service = ProjectService(store.repo, data_dir=tmp_path / "data")
    for slug in ("p1", "p2", "p3"):
        _push(service, tmp_path, slug, {"f.txt": slug.encode()})
    data, _ = store.repo.read_manifest_versioned("p2")
    assert data is not None
    manifest = json.loads(data)
    manifest["name"] = "Renamed elsewhere"
    store.plant(manifest_key(store.repo.user_id, "p2"), json.dumps(manifest).encode())  # no catalog update

    lister = _fresh_lister(store, checks_per_run=1)  # one entry checked per run: p2 is seen within 3 runs
    names = []
    for _ in range(3):
        names.append({p.slug: p.name for p in lister.list_projects()}["p2"])
    assert names[-1] == "Renamed elsewhere"
    assert _catalog(store).entries["p2"].info.name == "Renamed elsewhere"  # and the catalog repaired


def test_a_hostile_catalog_is_ignored_with_a_warning(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = ProjectService(store.repo, data_dir=tmp_path / "data")
    _push(service, tmp_path, "real", {"f.txt": b"f"})
    key = catalog_key(store.repo.user_id)
    for hostile in (b"\xff not json", b"[1, 2]", json.dumps({"format": 1, "projects": {"real": {"etag": 5}}}).encode(),
                    b"{" * 100_000):  # fmt: skip
        store.plant(key, hostile)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            projects = _fresh_lister(store).list_projects()
        assert [p.slug for p in projects] == ["real"] and projects[0].files_count == 1
        assert "catalog" in caplog.text
        assert set(_catalog(store).entries) == {"real"}  # rewritten, readable again
    # entries lying about a project are checked against its manifest on the next runs, and entries for
    # slugs that do not exist are dropped
    forged = json.loads(backend_for(store.repo).read_catalog().data or b"{}")
    forged["projects"]["ghost"] = dict(forged["projects"]["real"])
    store.plant(key, json.dumps(forged).encode())
    assert [p.slug for p in _fresh_lister(store).list_projects()] == ["real"]
    assert "ghost" not in _catalog(store).entries


def test_a_catalog_larger_than_the_cap_is_refused_unread() -> None:
    with pytest.raises(CatalogInvalid, match="larger"):
        Catalog.from_bytes(b" " * (64 * 1000 * 1000 + 1), "u")
    catalog = Catalog.from_bytes(json.dumps({"format": 1, "projects": {
        "../x": {"etag": "e"}, "ok": {"etag": "e", "name": "OK", "files_count": -1},
        "fine": {"etag": "e", "name": "Fine", "tech_stack": ["Rust"], "updated_date": 5}}}).encode(), "u")  # fmt: skip
    assert list(catalog.entries) == ["fine"] and catalog.dropped == 2
    assert catalog.entries["fine"].info.tech_stack == ["Rust"]


# Not on moto: its in-process server checks a PUT's If-Match and stores the object in two steps with no lock between
# them, so two threads can both pass the check (a lost update moto makes, seen once under load). The interleavings
# themselves are the state machine's (below), on every store.
@pytest.mark.parametrize("store", ["local", "seaweedfs"], indirect=True)
def test_two_writers_racing_on_the_catalog_lose_no_entry(store: Store) -> None:
    writers = [CatalogWriter(store.repo, ListingMemo()) for _ in range(2)]
    per_writer = 12
    start = threading.Barrier(2)

    from projectdesk.core.models import Manifest

    def run(index: int) -> None:
        start.wait()
        for i in range(per_writer):
            manifest = Manifest(f"P{index}-{i}", f"w{index}-{i}", store.repo.user_id, 1.0, 2.0)
            writers[index].record(manifest, f"etag-{index}-{i}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(_catalog(store).entries) == {f"w{w}-{i}" for w in range(2) for i in range(per_writer)}


def test_a_repeat_run_with_nothing_changed_reads_no_catalog_body(store: Store, tmp_path: Path) -> None:
    service = ProjectService(store.repo, data_dir=tmp_path / "data")
    for slug in ("a", "b"):
        _push(service, tmp_path, slug, {"f.txt": slug.encode()})
    memo = SqliteListingMemo(tmp_path / "memo", store.repo.user_id)
    first = ProjectLister(store.repo, memo).list_projects()
    lister = ProjectLister(store.repo, SqliteListingMemo(tmp_path / "memo", store.repo.user_id))  # a new process
    seen = []
    original = lister.backend.read_catalog

    def spy(*, if_none_match: str | None = None):  # type: ignore[no-untyped-def]
        result = original(if_none_match=if_none_match)
        seen.append(result)
        return result

    lister.backend.read_catalog = spy  # type: ignore[method-assign]
    assert lister.list_projects() == first
    assert [(r.unchanged, r.data) for r in seen] == [(True, None)]
    # the catalog key lies directly under the user prefix: never taken for a project
    assert catalog_key(store.repo.user_id).startswith(user_prefix(store.repo.user_id))
    assert sorted(store.repo.list_slugs()) == ["a", "b"]


def test_a_changed_manifest_stays_stale_until_checked_and_list_check_reads_every_one(
    store: Store, tmp_path: Path, isolated_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    service = ProjectService(store.repo, data_dir=tmp_path / "data")
    _push(service, tmp_path, "solo", {"f.txt": b"f"})
    data, _ = store.repo.read_manifest_versioned("solo")
    assert data is not None
    manifest = json.loads(data)
    manifest["name"] = "Changed by another tool"
    store.plant(manifest_key(store.repo.user_id, "solo"), json.dumps(manifest).encode())
    unchecked = _fresh_lister(store, checks_per_run=0)
    assert unchecked.list_projects()[0].name == "solo"  # the catalog's word: stale until checked
    assert unchecked.list_projects(check_all=True)[0].name == "Changed by another tool"
    if store.kind == "local":  # the CLI's flag, in process, on the built-in local store
        from projectdesk import cli
        from projectdesk.storage.local import LocalRepository

        local = ProjectService(LocalRepository(isolated_dirs.local_store), data_dir=tmp_path / "data2")
        _push(local, tmp_path / "cli", "solo", {"f.txt": b"f"})
        assert cli.main(["--profile", "local", "list", "--json"], paths=isolated_dirs) == 0
        capsys.readouterr()
        target = isolated_dirs.local_store / manifest_key("anonymous", "solo")
        target.write_text(json.dumps({**json.loads(target.read_text()), "name": "Renamed"}))
        assert cli.main(["--profile", "local", "list", "--check", "--json"], paths=isolated_dirs) == 0
        assert [p["name"] for p in json.loads(capsys.readouterr().out)] == ["Renamed"]


SLUGS = ["app", "app-v2", "app.x", "app0", "apq", "b", "b-1", "b-1-2", "ba", "c", "c c", "d", "e-", "e", "f", "g",
         "h", "h-x", "i", "j", "k", "zz"]  # fmt: skip


def test_split_listings_find_every_slug_and_object_whatever_the_server_order(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 lists "app-v2/" before "app/", SeaweedFS folders by name: pieces and segments cut small find all."""
    import projectdesk.storage.listing as listing

    monkeypatch.setattr(listing, "SLUG_RANGE", 3)
    monkeypatch.setattr(listing, "LIST_BATCH", 4)
    user = store.repo.user_id
    for i, slug in enumerate(SLUGS):
        for path in ("a.txt", "sub/b.txt")[: 1 + i % 2]:
            store.plant(object_key(user, slug, path), slug.encode())
        if i % 3 == 0:
            store.plant(manifest_key(user, slug), b"{}")
    store.plant(catalog_key(user), b"{}")
    backend = backend_for(store.repo)
    known = [s for i, s in enumerate(SLUGS) if i % 4]  # the others were made since the catalog was written
    assert sorted(backend.list_slugs_split(known)) == sorted(SLUGS)
    for wanted in (SLUGS, SLUGS[::3], ["app", "app-v2", "zz"]):
        got = {p.slug: p for batch in backend.list_project_objects(wanted, SLUGS) for p in batch}
        assert set(got) == set(wanted)
        for slug in wanted:
            assert sorted(e.path for e in got[slug].files) == sorted(e.path for e in store.repo.list_files(slug))
            assert (got[slug].manifest is not None) == (SLUGS.index(slug) % 3 == 0)


def _catalog_machine(store: Store) -> type:
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

    from projectdesk.core.models import Manifest

    slugs = st.sampled_from(["a", "b", "c", "d"])
    writer = st.integers(0, 2)

    class CatalogWriters(RuleBasedStateMachine):
        """Three writers (separate processes: each its own memo of the catalog, so each holds copies others have
        replaced), recording and forgetting projects in any order; another tool sometimes clobbers the object."""

        def __init__(self) -> None:
            super().__init__()
            backend = backend_for(store.repo)
            if backend.read_catalog().data is not None:
                backend.write_catalog(b"{}")  # a fresh start per example: unreadable, so read as empty
            self.writers = [CatalogWriter(store.repo, ListingMemo(), backend) for _ in range(3)]
            self.expected: dict[str, str] = {}
            self.version = 0

        @rule(who=writer, slug=slugs)
        def record(self, who: int, slug: str) -> None:
            self.version += 1
            etag = f"etag-{self.version}"
            self.writers[who].record(Manifest(slug.upper(), slug, store.repo.user_id, 1.0, 2.0), etag)
            self.expected[slug] = etag

        @rule(who=writer, slug=slugs)
        def forget(self, who: int, slug: str) -> None:
            self.writers[who].forget(slug)
            self.expected.pop(slug, None)

        @rule()
        def clobber(self) -> None:
            store.plant(catalog_key(store.repo.user_id), b"not a catalog")
            self.expected.clear()  # an unreadable catalog is rebuilt from what writers and listings add

        @invariant()
        def catalog_holds_what_was_written(self) -> None:
            read = backend_for(store.repo).read_catalog()
            if read.data is None or read.data == b"not a catalog" or read.data == b"{}":
                assert self.expected == {}
                return
            entries = Catalog.from_bytes(read.data, store.repo.user_id).entries
            assert {slug: e.manifest_etag for slug, e in entries.items()} == self.expected

    return CatalogWriters


@pytest.mark.parametrize("store", ["local", "moto", "seaweedfs"], indirect=True)
def test_writers_with_stale_copies_never_lose_an_entry(store: Store) -> None:
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.stateful import run_state_machine_as_test

    examples = {"local": 25, "moto": 10, "seaweedfs": 5}[store.kind]
    run_state_machine_as_test(_catalog_machine(store), settings=settings(
        max_examples=examples, stateful_step_count=12, derandomize=True, database=None, deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=list(HealthCheck)))  # fmt: skip


def test_the_catalog_is_heard_at_once_and_the_listing_has_the_last_word(store: Store, tmp_path: Path) -> None:
    from projectdesk.core.models import Manifest

    service = ProjectService(store.repo, data_dir=tmp_path / "data")
    _push(service, tmp_path, "real", {"f.txt": b"f"})
    CatalogWriter(store.repo, ListingMemo()).record(Manifest("Ghost", "ghost", store.repo.user_id, 1.0, 2.0), "e1")
    store.plant(object_key(store.repo.user_id, "other", "main.go"), b"package main\n")
    batches: list[tuple[list[str], int, int]] = []
    final = _fresh_lister(store).list_projects(lambda infos, done, total: batches.append(
        (sorted(p.slug for p in infos), done, total)))  # fmt: skip
    assert batches[0] == (["ghost", "real"], 2, 2)  # before the slug listing
    assert batches[1:] == [(["other"], 2, 2)]  # then what the catalog lacked, counted against the slugs
    assert sorted(p.slug for p in final) == ["other", "real"]
