"""A project's listing page by page (`Repository.iter_files`) and its top level (`Repository.list_top`), against
`list_files`, on the local store, moto and SeaweedFS; the services' paged listing and what the cache records."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from projectdesk.cache.store import CacheStore
from projectdesk.core.errors import Cancelled
from projectdesk.core.keys import is_safe_relative_path
from projectdesk.core.models import FileEntry
from projectdesk.services.offline import CachedProjectService
from projectdesk.services.projects import ProjectService
from projectdesk.storage.repository import top_level
from tests.conftest import Store

SLUG = "big-1234"
BASE = f"projects/anonymous/{SLUG}/"
PAGE = 100  # pages of 100 (S3's MaxKeys; the local store's batch) instead of 1,000: a quick project spans pages
FILES = 2 * PAGE + 50


def plant_project(store: Store) -> list[str]:
    """FILES files over folders two deep, a few at the top, the manifest; returns the paths planted. The store
    lists in pages of PAGE."""
    store.repo.listing_page = PAGE
    paths = [f"top-{i}.txt" for i in range(5)]
    paths += [f"dir{i % 7}/sub{i % 3}/f{i:05d}.py" for i in range(FILES - len(paths))]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda path: store.plant(BASE + path, path.encode()), paths))
    store.plant(BASE + ".projectdesk.json", b"{}")
    return paths


def queue_unsent_changes(service: CachedProjectService) -> None:
    """An edit, a delete and a new file queued offline, then back online with the queue not sent yet (as between
    a reconnection and its flush)."""
    service.go_offline()
    service.write_file(SLUG, "top-0.txt", b"edited here, not sent")
    service.delete_file(SLUG, "top-1.txt")
    service.write_file(SLUG, "newdir/new.txt", b"a new file, not sent")
    service._forced = False
    assert len(service.pending()) == 3


def concatenated(pages: list[list[FileEntry]]) -> list[FileEntry]:
    return [entry for page in pages for entry in page]


def test_pages_are_list_files_and_the_top_level_its_first_segments(store: Store) -> None:
    planted = plant_project(store)
    if store.kind != "local":
        store.plant(BASE + "dir0/", b"")  # a console's folder placeholder: not a file
    pages = list(store.repo.iter_files(SLUG))
    listed = store.repo.list_files(SLUG)
    assert concatenated(pages) == listed
    assert sorted(e.path for e in listed) == sorted(planted)
    assert all(len(page) <= PAGE for page in pages) and len(pages) >= 3
    top = store.repo.list_top(SLUG)
    expected = top_level(listed)
    assert sorted(top.folders) == expected.folders == [f"dir{i}" for i in range(7)]
    assert sorted(top.files, key=lambda e: e.path) == sorted(expected.files, key=lambda e: e.path)
    assert {e.path for e in top.files} == {f"top-{i}.txt" for i in range(5)}


def test_hostile_keys_come_as_list_files_gives_them(store: Store) -> None:
    store.plant(BASE + "good/ok.txt", b"fine")
    store.plant(BASE + "fine.txt", b"fine")
    for suffix in ["../../../escape.txt", "..\\..\\win-escape.txt", "/rooted.txt", "dir/../../up.txt", "nul\x00.txt"]:
        try:
            store.plant(BASE + suffix, b"evil")
        except Exception:  # SeaweedFS refuses some of these itself, and a folder store cannot hold them
            continue
    listed = store.repo.list_files(SLUG)
    assert concatenated(list(store.repo.iter_files(SLUG))) == listed
    if store.kind == "moto":  # moto, like AWS, keeps every key: the hostile ones are listed raw
        assert sum(not is_safe_relative_path(e.path) for e in listed) == 5
    top = store.repo.list_top(SLUG)
    expected = top_level(listed)
    assert sorted(top.folders) == expected.folders
    assert sorted(e.path for e in top.files) == sorted(e.path for e in expected.files)
    assert "good" in top.folders and "fine.txt" in {e.path for e in top.files}


@pytest.mark.parametrize("store", ["local", "seaweedfs"], indirect=True)
def test_a_cancelled_listing_records_nothing_and_a_complete_one_what_list_files_does(
    store: Store, tmp_path: Path
) -> None:
    plant_project(store)
    cache = CacheStore(tmp_path / "cache", "test", store.repo.user_id)
    service = CachedProjectService(store.repo, cache, data_dir=tmp_path / "data")
    try:
        cancel = threading.Event()
        heard: list[int] = []

        def stop_after_first(page: list[FileEntry]) -> None:
            heard.append(len(page))
            cancel.set()

        with pytest.raises(Cancelled):
            service.list_files_paged(SLUG, stop_after_first, cancel)
        assert len(heard) == 1
        assert not cache.files_listed(SLUG) and cache.files(SLUG) == []

        pages: list[list[FileEntry]] = []
        final = service.list_files_paged(SLUG, pages.append)
        assert final == ProjectService(store.repo).list_files(SLUG) == service.list_files(SLUG)
        assert sorted(concatenated(pages), key=lambda e: e.path) == final
        assert cache.files_listed(SLUG) and len(cache.files(SLUG)) == FILES

        # A later listing cancelled part way forgets nothing, though it never reached most files.
        with pytest.raises(Cancelled):
            service.list_files_paged(SLUG, lambda _page: cancel.set(), cancel)
        assert len(cache.files(SLUG)) == FILES
    finally:
        service.close()


@pytest.mark.parametrize("store", ["local", "seaweedfs"], indirect=True)
def test_queued_changes_show_in_the_pages_and_the_top_level(store: Store, tmp_path: Path) -> None:
    plant_project(store)
    cache = CacheStore(tmp_path / "cache", "test", store.repo.user_id)
    service = CachedProjectService(store.repo, cache, data_dir=tmp_path / "data")
    try:
        service.list_files(SLUG)
        queue_unsent_changes(service)
        expected = service.list_files(SLUG)
        assert "top-1.txt" not in {e.path for e in expected}
        pages: list[list[FileEntry]] = []
        assert service.list_files_paged(SLUG, pages.append) == expected
        assert sorted(concatenated(pages), key=lambda e: e.path) == expected
        top = service.list_top(SLUG)
        by_path = {e.path: e for e in expected}
        assert {e.path: e for e in top.files} == {p: e for p, e in by_path.items() if "/" not in p}
        assert "newdir" in top.folders
    finally:
        service.close()
