"""Opening a project: the top level is shown before the listing ends, pages fill the tree with a count, Cancel
(Esc) keeps what is shown and records nothing, another project drops the late pages; on the local store and
SeaweedFS.

The ordering is proved with a gate, not timing: the store's listing stops before its second page until the test
releases it, so whatever the window shows meanwhile was shown before the listing could end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from projectdesk.core.models import FileEntry
from projectdesk.services.offline import CachedProjectService
from projectdesk.services.projects import ProjectService
from projectdesk.storage.repository import Repository
from projectdesk.ui.dialogs.quick_open import QuickOpenDialog
from tests.conftest import Store
from tests.ui.conftest import StallProbe, WindowHarness, wait_for_child

PAGE = 100  # the store lists 100 entries a page, so a quick project spans many pages
FOLDERS = 6
PER_FOLDER = {"local": 250, "seaweedfs": 100}  # 1,500 / 600 files below the top level, two levels deep


class Gate:
    """Once armed, the repository's listing of `slug` waits before its second page until `release` is set (the
    project list, listed before, is not held)."""

    def __init__(self, repo: Repository, slug: str) -> None:
        self.reached, self.release, self.ended = threading.Event(), threading.Event(), threading.Event()
        self.armed = False
        real = repo.iter_files

        def gated(listed: str) -> Iterator[list[FileEntry]]:
            if not (self.armed and listed == slug):
                yield from real(listed)
                return
            try:
                for number, page in enumerate(real(listed)):
                    if number == 1:
                        self.reached.set()
                        assert self.release.wait(30), "the test never released the listing"
                    yield page
            finally:
                self.ended.set()

        repo.iter_files = gated  # type: ignore[method-assign]


def plant(store: Store, slug: str, folders: int = FOLDERS, per_folder: int = 0) -> list[str]:
    """Objects written straight into the store (no push): a few top-level files and folders two deep
    (`per_folder` files in each, by default PER_FOLDER's for the store)."""
    per_folder = per_folder or PER_FOLDER[store.kind]
    paths = ["README.md", "setup.py"] + [
        f"pkg{f}/sub{i % 4}/m{i:04d}.py" for f in range(folders) for i in range(per_folder)
    ]
    base = f"projects/{store.repo.user_id}/{slug}/"
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda path: store.plant(base + path, path.encode()), paths))
    return paths


def window_on(make_window: Any, store: Store) -> tuple[WindowHarness, CachedProjectService]:
    store.repo.listing_page = PAGE
    h: WindowHarness = make_window(ProjectService(store.repo))
    service = h.window.service
    assert isinstance(service, CachedProjectService)
    return h, service


def top_rows(h: WindowHarness) -> list[str]:
    model = h.window.browser.tree_model
    return [str(model.index(row, 0).data()) for row in range(model.rowCount())]


def shown_in(h: WindowHarness, folder: str) -> list[str]:
    model = h.window.browser.tree_model
    parent = model.index_for_path(folder, fetch=False)
    return [str(model.index(row, 0, parent).data()) for row in range(model.rowCount(parent))]


@pytest.mark.parametrize("store", ["local", "seaweedfs"], indirect=True)
def test_the_top_level_shows_before_the_listing_ends_and_pages_fill_the_tree(
    store: Store, make_window: Any, qtbot: Any
) -> None:
    planted = plant(store, "big-1")
    gate = Gate(store.repo, "big-1")
    h, service = window_on(make_window, store)
    gate.armed = True
    browser, model, view = h.window.browser, h.window.browser.tree_model, h.window.tree_view
    loader = browser.tree_loader
    with StallProbe() as probe:
        task = browser.select_project("big-1")
        assert task is not None
        qtbot.waitUntil(lambda: gate.reached.is_set() and loader.listed >= PAGE, timeout=20000)
        # The listing cannot end (its second page is held): the top level is there, the first page counted.
        assert top_rows(h) == [f"pkg{f}" for f in range(FOLDERS)] + ["README.md", "setup.py"]
        assert not task.done() and loader.loading and loader.bar.isVisible()
        assert loader.bar.label.text().startswith(f"Listing files… {loader.listed:,}")
        first = loader.listed
        resets: list[int] = []
        model.modelReset.connect(lambda: resets.append(1))  # from here on rows are inserted, never reset
        # Ctrl+P answers with what is known so far, and says so.
        h.window.editing.quick_open()
        dialog = wait_for_child(qtbot, h.window, QuickOpenDialog)
        assert "still listing" in dialog.windowTitle()
        assert 0 < model.tree_index().file_count < len(planted)
        dialog.reject()
        # A folder expanded before its files arrived fills in when they do.
        last = model.index_for_path(f"pkg{FOLDERS - 1}")
        view.expand(last)
        assert view.isExpanded(last) and shown_in(h, f"pkg{FOLDERS - 1}") == []
        gate.release.set()
        qtbot.waitUntil(task.done, timeout=30000)
    assert task.exception() is None
    assert loader.listed == 0 and not loader.bar.isVisible() and first < len(planted)
    assert view.isExpanded(model.index_for_path(f"pkg{FOLDERS - 1}"))
    assert shown_in(h, f"pkg{FOLDERS - 1}") == ["sub0", "sub1", "sub2", "sub3"]
    listed = service.list_files("big-1")
    assert model.all_paths() == sorted((e.path for e in listed), key=str.casefold)
    assert model.tree_index().counts[f"pkg{FOLDERS - 1}"] == PER_FOLDER[store.kind]
    assert model.entry("pkg0/sub1/m0001.py") == next(e for e in listed if e.path == "pkg0/sub1/m0001.py")
    assert service.cache.files_listed("big-1")
    assert resets == []
    assert probe.longest_cpu < 0.05, str(probe)


@pytest.mark.parametrize("store", ["local", "seaweedfs"], indirect=True)
def test_cancel_keeps_what_is_shown_and_records_no_listing(store: Store, make_window: Any, qtbot: Any) -> None:
    plant(store, "big-1")
    gate = Gate(store.repo, "big-1")
    h, service = window_on(make_window, store)
    gate.armed = True
    loader, model = h.window.browser.tree_loader, h.window.browser.tree_model
    task = h.window.browser.select_project("big-1")
    assert task is not None
    qtbot.waitUntil(lambda: gate.reached.is_set() and loader.listed >= PAGE, timeout=20000)
    shown = model.all_paths()
    h.window.tree_view.setFocus()
    QTest.keyClick(h.window.tree_view, Qt.Key.Key_Escape)
    assert not loader.loading and not loader.bar.isVisible()
    gate.release.set()
    qtbot.waitUntil(task.done, timeout=30000)
    assert task.exception() is None
    assert gate.ended.wait(10)
    h.wait_idle()
    assert top_rows(h) == [f"pkg{f}" for f in range(FOLDERS)] + ["README.md", "setup.py"]
    assert model.all_paths() == shown and 0 < len(shown) < FOLDERS * PER_FOLDER[store.kind]
    assert "cancelled" in h.window.statusBar().currentMessage()
    assert not service.cache.files_listed("big-1") and service.cache.files("big-1") == []


@pytest.mark.parametrize("store", ["local", "seaweedfs"], indirect=True)
def test_another_project_drops_the_late_pages(store: Store, make_window: Any, qtbot: Any) -> None:
    plant(store, "big-1")
    small = plant(store, "small-2", folders=2, per_folder=8)
    gate = Gate(store.repo, "big-1")
    h, service = window_on(make_window, store)
    gate.armed = True
    loader, model = h.window.browser.tree_loader, h.window.browser.tree_model
    task = h.window.browser.select_project("big-1")
    assert task is not None
    qtbot.waitUntil(lambda: gate.reached.is_set() and loader.listed >= PAGE, timeout=20000)
    h.open_project("small-2")
    gate.release.set()
    qtbot.waitUntil(task.done, timeout=30000)
    assert gate.ended.wait(10)
    h.wait_idle()
    assert h.window.slug == "small-2"
    assert model.all_paths() == sorted(small, key=str.casefold)
    assert not service.cache.files_listed("big-1")


@pytest.mark.parametrize("store", ["local", "seaweedfs"], indirect=True)
def test_unsent_edits_and_deletes_show_as_before(store: Store, make_window: Any, qtbot: Any) -> None:
    plant(store, "big-1", folders=2, per_folder=120)
    plant(store, "small-2", folders=1, per_folder=2)
    h, service = window_on(make_window, store)
    h.open_project("big-1")
    # Queued in the cache as a save or delete while offline queues them (not sent: the outbox is not flushed).
    service.cache.save("big-1", "pkg0/sub1/m0001.py", b"edited here, not sent yet")
    service.cache.delete("big-1", "README.md")
    service.cache.save("big-1", "new/only-here.txt", b"new here")
    assert len(service.pending()) == 3
    h.open_project("small-2")
    h.open_project("big-1")
    model = h.window.browser.tree_model
    expected = service.list_files("big-1")
    assert model.all_paths() == sorted((e.path for e in expected), key=str.casefold)
    assert "README.md" not in model.all_paths() and "new/only-here.txt" in model.all_paths()
    edited = model.entry("pkg0/sub1/m0001.py")
    assert edited is not None and edited.size == len(b"edited here, not sent yet")
    tip = str(model.index_for_path("pkg0/sub1/m0001.py").data(Qt.ItemDataRole.ToolTipRole))
    assert "Changed here; the upload is pending" in tip or "Waiting to be uploaded" in tip, tip


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_a_folder_shown_at_the_top_that_holds_no_file_goes_when_the_listing_ends(
    store: Store, make_window: Any, qtbot: Any, tmp_path: Any
) -> None:
    plant(store, "big-1", folders=2, per_folder=150)
    (tmp_path / "store" / "projects" / store.repo.user_id / "big-1" / "empty").mkdir()  # a folder, no file
    gate = Gate(store.repo, "big-1")
    h, _service = window_on(make_window, store)
    gate.armed = True
    loader = h.window.browser.tree_loader
    task = h.window.browser.select_project("big-1")
    assert task is not None
    qtbot.waitUntil(lambda: gate.reached.is_set() and loader.listed >= PAGE, timeout=20000)
    assert top_rows(h) == ["empty", "pkg0", "pkg1", "README.md", "setup.py"]
    gate.release.set()
    qtbot.waitUntil(task.done, timeout=30000)
    assert task.exception() is None
    assert top_rows(h) == ["pkg0", "pkg1", "README.md", "setup.py"]
    assert h.window.browser.tree_model.tree_index().file_count == 2 + 2 * 150


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_a_reload_keeps_expanded_folders_and_the_selection(store: Store, make_window: Any, qtbot: Any) -> None:
    plant(store, "big-1", folders=2, per_folder=150)
    h, _service = window_on(make_window, store)
    h.open_project("big-1")
    browser, model, view = h.window.browser, h.window.browser.tree_model, h.window.tree_view
    view.expand(model.index_for_path("pkg1"))
    view.expand(model.index_for_path("pkg1/sub2"))
    browser.reveal("pkg1/sub2/m0002.py")
    store.plant(f"projects/{store.repo.user_id}/big-1/pkg1/sub2/added.py", b"new on the server")
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    task = h.window.session.track(browser.refresh())
    qtbot.waitUntil(task.done, timeout=30000)
    assert task.exception() is None
    assert resets == [1]  # the complete tree replaced the one shown once, at the end
    assert view.isExpanded(model.index_for_path("pkg1")) and view.isExpanded(model.index_for_path("pkg1/sub2"))
    assert browser.selected_path() == ("pkg1/sub2/m0002.py", False)
    assert "added.py" in shown_in(h, "pkg1/sub2")
