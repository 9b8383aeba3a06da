"""The project list under load: rows shown as the listing delivers them, with a count, and filter typing at
10,000 rows (issue #18)."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from projectdesk.cache.projects_table import last_listed_projects
from projectdesk.cache.store import CacheStore
from projectdesk.config.paths import Paths
from projectdesk.config.profiles import Profile
from projectdesk.core.models import ProjectInfo
from projectdesk.services.projects import ProjectService
from projectdesk.storage.local import LocalRepository
from projectdesk.ui.project_list import SLUG_ROLE, ProjectFilterProxy, ProjectListModel, ProjectListView

pytestmark = pytest.mark.usefixtures("qapp")


def _plant_projects(root: Path, count: int) -> None:
    """Projects another tool wrote into the local store (no manifest): listed in batches of 250."""
    user = root / "projects" / "anonymous"
    for i in range(count):
        folder = user / f"proj-{i:04d}"
        folder.mkdir(parents=True)
        (folder / "main.py").write_text("print(1)\n")
        if i % 2:
            (folder / "package.json").write_text('{"dependencies": {"react": "18"}}')


def test_rows_arrive_as_the_listing_delivers_them_with_a_count(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    store = tmp_path / "store"
    _plant_projects(store, 600)
    messages: list[str] = []
    rows_seen: list[int] = []
    h = make_window(ProjectService(LocalRepository(store)), wait=False)
    h.window.statusBar().messageChanged.connect(messages.append)
    model = h.window.project_model
    model.rowsInserted.connect(lambda *_: rows_seen.append(model.rowCount()))
    h.wait_ready(timeout=60000)
    qtbot.waitUntil(lambda: model.rowCount() == 600, timeout=60000)
    counts = [m for m in messages if m.startswith("Loading projects… ") and " of ~600" in m]
    assert counts, messages  # e.g. "Loading projects… 250 of ~600"
    assert any(0 < n < 600 for n in rows_seen), rows_seen  # rows were shown before the listing ended
    browser = h.window.browser
    assert browser.first_rows_in is not None and browser.loaded_in is not None
    assert browser.first_rows_in < browser.loaded_in
    assert "600 projects" in h.window.statusBar().currentMessage()
    react = next(p for p in model.projects() if p.slug == "proj-0001")
    assert "React" in react.tech_stack and not react.has_manifest


def test_switching_store_drops_the_rows_of_a_listing_still_running(make_window: Any, tmp_path: Path) -> None:
    h = make_window(ProjectService(LocalRepository(tmp_path / "store")))
    browser = h.window.browser
    load = browser._load_generation
    browser._rows_arrived(load - 1, [_info(1)], 1, 10)  # a batch of an earlier load arrives late
    assert h.window.project_model.rowCount() == 0


def _info(i: int) -> ProjectInfo:
    stack = [["React", "Vite"], ["FastAPI", "Python"], ["Go", "Docker"], []][i % 4]
    return ProjectInfo(f"Project number {i}", f"project-{i:05d}", "anonymous", 1.7e9 + i, 1.7e9 + i, i % 97,
                       i * 1000, stack, False, False)  # fmt: skip


def test_filter_typing_at_10000_rows_is_a_matter_of_milliseconds(qtbot: Any) -> None:
    """The goal, 50 ms a key, is measured quietly (about 40 ms of the GUI thread's CPU here; 45–128 ms at load 6 on
    2 cores, where a neighbour's cache traffic slows even our own CPU time). The bounds catch the old filter (up to
    1.7 s a key) and hold under any load: the median key under 250 ms, the slowest (all rows shown again) 1 s."""
    view = ProjectListView()
    qtbot.addWidget(view)
    model = ProjectListModel(view)
    proxy = ProjectFilterProxy(view)
    proxy.setSourceModel(model)
    view.setModel(proxy)
    view.configure_header()
    view.sortByColumn(ProjectListModel.UPDATED, view.header().sortIndicatorOrder().DescendingOrder)
    view.resize(700, 500)
    view.show()
    qtbot.waitExposed(view)
    model.set_projects(_info(i) for i in range(10_000))
    QApplication.processEvents()
    per_key: list[float] = []
    for text in ["r", "re", "rea", "reac", "react", "react ", "react 9", "react 99", "react 9", "react", ""]:
        started = time.thread_time()  # the GUI thread's own CPU: a busy neighbour's load is not counted
        proxy.set_query(text)
        view.viewport().repaint()
        QApplication.processEvents()
        per_key.append(time.thread_time() - started)
    assert proxy.rowCount() == 10_000
    proxy.set_query("react 99")
    shown = [proxy.index(r, 0).data(SLUG_ROLE) for r in range(proxy.rowCount())]
    assert shown and all(s.endswith("99") or "99" in s for s in shown)
    assert shown == sorted(shown, reverse=True)  # still newest first
    assert statistics.median(per_key) < 0.250, [f"{t * 1000:.0f} ms" for t in per_key]
    assert max(per_key) < 1.0, [f"{t * 1000:.0f} ms" for t in per_key]
    print(f"\n[filter] 10,000 rows: median key {statistics.median(per_key) * 1000:.0f} ms of GUI-thread CPU")


def test_sorting_10000_rows_keeps_the_selection(qtbot: Any) -> None:
    view = ProjectListView()
    qtbot.addWidget(view)
    model = ProjectListModel(view)
    proxy = ProjectFilterProxy(view)
    proxy.setSourceModel(model)
    view.setModel(proxy)
    model.set_projects(_info(i) for i in range(10_000))
    view.setCurrentIndex(proxy.index(10, 0))
    chosen = view.currentIndex().data(SLUG_ROLE)
    started = time.thread_time()
    proxy.sort(ProjectListModel.NAME, view.header().sortIndicatorOrder().AscendingOrder)
    assert time.thread_time() - started < 0.5
    names = [proxy.index(r, 0).data(SLUG_ROLE) for r in range(3)]
    assert names == ["project-00000", "project-00001", "project-00010"]  # by name: "Project number 10" < "…2"
    assert view.currentIndex().data(SLUG_ROLE) == chosen


def test_rows_heard_early_and_not_in_the_final_list_are_removed() -> None:
    model = ProjectListModel()
    model.begin_load()
    model.add_projects([_info(1), _info(2), _info(3)])
    model.end_load([_info(1), _info(3)])
    assert sorted(model.slugs()) == ["project-00001", "project-00003"] and model.row_of("project-00003") >= 0


def test_the_projects_last_listed_show_while_the_store_still_opens(
    make_window: Any, tmp_path: Path, isolated_dirs: Paths, qtbot: Any
) -> None:
    """Opening an S3 store imports botocore and makes a client (0.3–1 s): the cache's rows show before that ends,
    read without opening the cache, and the store's own listing replaces them once it is open."""
    store = tmp_path / "store"
    _plant_projects(store, 3)
    cache = CacheStore(isolated_dirs.cache_root, "local", "anonymous")
    cache.put_projects([_info(i) for i in range(5)], complete=True)  # what an earlier run listed
    cache.close()
    release = threading.Event()
    asked: list[str] = []

    def slow_open(profile: Profile) -> ProjectService:
        asked.append(profile.name)
        assert release.wait(30), "the test never let the store open"
        return ProjectService(LocalRepository(store))

    h = make_window(ProjectService(LocalRepository(store)), wait=False, factory=slow_open)
    model = h.window.project_model
    try:
        qtbot.waitUntil(lambda: model.rowCount() == 5, timeout=20000)
        assert asked == ["local"] and h.window.service is None  # the store is still opening
        assert {p.slug for p in model.projects()} == {f"project-{i:05d}" for i in range(5)}
    finally:
        release.set()
    h.wait_ready(timeout=60000)
    qtbot.waitUntil(lambda: {p.slug for p in model.projects()} == {f"proj-{i:04d}" for i in range(3)}, timeout=60000)


def test_no_cache_yet_or_an_unreadable_index_shows_nothing_early(isolated_dirs: Paths) -> None:
    assert last_listed_projects(isolated_dirs.cache_root, "local", "anonymous") == []
    index = isolated_dirs.cache_root / "local" / ".projectdesk" / "index.sqlite3"
    index.parent.mkdir(parents=True)
    index.write_bytes(b"not a database")
    assert last_listed_projects(isolated_dirs.cache_root, "local", "anonymous") == []
