"""The item models over plain data, without a window: project list, file tree, transfers."""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QAbstractItemModelTester

from projectdesk.core.models import FileEntry, Progress, ProjectInfo
from projectdesk.ui.file_tree import ENTRY_ROLE, IS_DIR_ROLE, PATH_ROLE, FileTreeModel, TreeIndex
from projectdesk.ui.project_list import (
    SLUG_ROLE,
    STACK_ROLE,
    STATE_ROLE,
    ProjectFilterProxy,
    ProjectListModel,
)
from projectdesk.ui.transfers import CANCELLED, DONE, FAILED, RUNNING, RateMeter, Transfer, TransferModel

pytestmark = pytest.mark.usefixtures("qapp")
FAIL = QAbstractItemModelTester.FailureReportingMode.Fatal


def project(name: str, slug: str, files: int, size: int, updated: float, stack: list[str]) -> ProjectInfo:
    return ProjectInfo(name, slug, "anonymous", updated - 100, updated, files, size, stack, False, False)


PROJECTS = [
    project("Portfolio Site", "portfolio-site-12345", 40, 2_000_000, 1_700_000_300, ["React", "Vite", "FastAPI"]),
    project("api", "api-11111", 7, 9_000, 1_700_000_100, ["Go", "Docker"]),
    project("Zeta notes", "zeta-22222", 1200, 50_000, 1_700_000_200, []),
]


def column(model: Any, col: int, role: int = Qt.ItemDataRole.DisplayRole) -> list[Any]:
    return [model.index(r, col).data(role) for r in range(model.rowCount())]


def test_project_model_shows_and_sorts() -> None:
    model = ProjectListModel()
    QAbstractItemModelTester(model, FAIL)
    proxy = ProjectFilterProxy()
    proxy.setSourceModel(model)
    QAbstractItemModelTester(proxy, FAIL)
    model.set_projects(PROJECTS)
    assert model.rowCount() == 3 and model.columnCount() == 4
    assert column(model, 0) == ["Portfolio Site", "api", "Zeta notes"]
    assert column(model, 1) == ["40", "7", "1,200"]
    assert column(model, 2) == ["2.0 MB", "9.0 KB", "50.0 KB"]
    assert column(model, 0, STACK_ROLE)[1] == ["Go", "Docker"]
    assert "slug: api-11111" in model.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)
    proxy.sort(ProjectListModel.NAME, Qt.SortOrder.AscendingOrder)
    assert column(proxy, 0) == ["api", "Portfolio Site", "Zeta notes"]  # case-insensitive
    proxy.sort(ProjectListModel.FILES, Qt.SortOrder.DescendingOrder)
    assert column(proxy, 0, SLUG_ROLE) == ["zeta-22222", "portfolio-site-12345", "api-11111"]
    proxy.sort(ProjectListModel.SIZE, Qt.SortOrder.AscendingOrder)
    assert column(proxy, 0) == ["api", "Zeta notes", "Portfolio Site"]
    proxy.sort(ProjectListModel.UPDATED, Qt.SortOrder.DescendingOrder)
    assert column(proxy, 0) == ["Portfolio Site", "Zeta notes", "api"]


def test_project_filter_matches_name_slug_and_stack() -> None:
    model = ProjectListModel()
    proxy = ProjectFilterProxy()
    proxy.setSourceModel(model)
    model.set_projects(PROJECTS)
    proxy.set_query("react")
    assert column(proxy, 0) == ["Portfolio Site"]
    proxy.set_query("  API  ")
    assert sorted(column(proxy, 0)) == ["Portfolio Site", "api"]  # FastAPI in the stack, api by name
    proxy.set_query("api docker")
    assert column(proxy, 0) == ["api"]
    proxy.set_query("22222")
    assert column(proxy, 0) == ["Zeta notes"]
    proxy.set_query("nothing-like-this")
    assert proxy.rowCount() == 0
    proxy.set_query("")
    assert proxy.rowCount() == 3


def test_project_states_keep_across_refresh() -> None:
    model = ProjectListModel()
    model.set_projects(PROJECTS)
    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom: changed.append(top.row()))
    model.set_states({"api-11111": "pending", "zeta-22222": "conflict"})
    assert sorted(changed) == [1, 2]
    assert column(model, 0, STATE_ROLE) == ["", "pending", "conflict"]
    assert not model.index(1, 0).data(Qt.ItemDataRole.DecorationRole).isNull()
    model.set_projects(PROJECTS[:2])
    assert column(model, 0, STATE_ROLE) == ["", "pending"]


def entries(paths: dict[str, int]) -> list[FileEntry]:
    return [FileEntry(path, size, etag=f"e{i}", last_modified=1.0) for i, (path, size) in enumerate(paths.items())]


def test_tree_index_groups_hides_the_manifest_and_unsafe_names() -> None:
    index = TreeIndex.build(
        entries(
            {
                ".projectdesk.json": 10,
                "b.txt": 1,
                "A.txt": 2,
                "src/app.py": 3,
                "src/lib/util.py": 4,
                "Docs/readme.md": 5,
                "../escape": 6,
                "a//b": 7,
                "back\\slash": 8,
            }
        )
    )
    assert index.dirs[""] == ["Docs", "src"]
    assert [e.path for e in index.files[""]] == ["A.txt", "b.txt"]
    assert index.dirs["src"] == ["lib"]
    assert index.sizes[""] == 15 and index.sizes["src"] == 7 and index.counts["src"] == 2
    assert index.hidden == 3 and index.file_count == 5


def test_tree_model_is_lazy() -> None:
    model = FileTreeModel()
    QAbstractItemModelTester(model, FAIL)
    model.set_files(entries({"z.txt": 1, "src/a.py": 2, "src/pkg/b.py": 3, "docs/x.md": 4}))
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == ["docs", "src", "z.txt"]
    src = model.index(1, 0)
    assert src.data(IS_DIR_ROLE) is True and src.data(PATH_ROLE) == "src"
    assert model.hasChildren(src) and model.canFetchMore(src) and model.rowCount(src) == 0
    model.fetchMore(src)
    assert not model.canFetchMore(src)
    assert [model.index(r, 0, src).data() for r in range(model.rowCount(src))] == ["pkg", "a.py"]
    a_py = model.index(1, 0, src)
    assert a_py.data(ENTRY_ROLE).size == 2 and model.index(1, 1, src).data() == "2 B"
    assert model.parent(a_py) == src
    deep = model.index_for_path("src/pkg/b.py")
    assert deep.isValid() and deep.data(PATH_ROLE) == "src/pkg/b.py"
    assert not model.index_for_path("src/missing.py").isValid()
    assert model.all_paths() == ["docs/x.md", "src/a.py", "src/pkg/b.py", "z.txt"]


def test_tree_model_handles_thousands_of_files_without_building_them() -> None:
    listing = [FileEntry(f"d{i % 50}/sub{i % 7}/file-{i:05d}.txt", i) for i in range(30_000)]
    started = time.perf_counter()
    index = TreeIndex.build(listing)  # in the app this runs in a worker thread
    built = time.perf_counter() - started
    model = FileTreeModel()
    started = time.perf_counter()
    model.set_index(index)
    shown = time.perf_counter() - started
    print(f"\n30,000 files: index built in {built * 1000:.0f} ms (worker), model set in {shown * 1000:.1f} ms (GUI)")
    assert model.rowCount() == 50
    assert shown < 0.05  # only the 50 top-level folders become nodes
    assert index.file_count == 30_000


def test_tree_model_updates_a_saved_file_and_states() -> None:
    model = FileTreeModel()
    QAbstractItemModelTester(model, FAIL)
    model.set_files(entries({"src/a.py": 10, "b.txt": 1}))
    assert model.update_entry(FileEntry("src/a.py", 25, etag="new"))
    assert model.entry("src/a.py") is not None and model.entry("src/a.py").etag == "new"  # type: ignore[union-attr]
    assert model.index(0, 1).data() == "25 B"  # the folder's size follows
    assert not model.update_entry(FileEntry("src/new.py", 1))
    model.set_states({"b.txt": "modified"})
    b = model.index_for_path("b.txt")
    assert not b.siblingAtColumn(1).data(Qt.ItemDataRole.DecorationRole).isNull()
    assert "pending" in b.data(Qt.ItemDataRole.ToolTipRole)
    model.clear()
    assert model.rowCount() == 0 and not model.hasChildren(QModelIndex())


def test_transfer_model_progress_rate_and_finish() -> None:
    model = TransferModel()
    QAbstractItemModelTester(model, FAIL)
    transfer = model.add(Transfer("Upload", "site → new project", files_total=4, bytes_total=4000))
    assert model.rowCount() == 1 and transfer.state == "queued"
    now = time.monotonic()
    transfer.apply(Progress(1, 4, 1000, 4000, "a.txt"), now=now - 2)
    transfer.apply(Progress(2, 4, 2000, 4000, "b.txt"), now=now - 1)
    assert transfer.state == RUNNING
    assert transfer.rate == pytest.approx(1000)
    assert transfer.time_left() == pytest.approx(2)
    row = [model.index(0, c).data() for c in range(model.columnCount())]
    assert row[0] == "Upload: site → new project"
    assert row[1] == "2 / 4 files" and row[2] == "2.0 KB of 4.0 KB" and row[3] == "1.0 KB/s" and row[4] == "2 s"
    assert row[5] == "Uploading b.txt"
    transfer.cancel.set()
    assert model.index(0, 5).data() == "Cancelling…"
    model.finish(transfer, CANCELLED, error="Cancelled after 2 of 4 files.")
    assert model.index(0, 5).data() == "Cancelled after 2 of 4 files."
    model.update_progress(transfer, Progress(3, 4, 3000, 4000))  # a late snapshot changes nothing
    assert transfer.files_done == 2
    failed = model.add(Transfer("Download", "x → /tmp/x"))
    model.finish(failed, FAILED, error="Access denied", failures=[("a.txt", "403")])
    assert model.index(1, 5).data() == "Failed: Access denied"
    assert "a.txt: 403" in model.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)
    done = model.add(Transfer("Import", "z.zip", files_total=3, bytes_total=30))
    model.finish(done, DONE)
    assert done.fraction == 1.0 and model.index(2, 1).data() == "3 / 3 files"
    assert model.clear_finished() == 3 and model.rowCount() == 0


def test_rate_meter_uses_a_sliding_window() -> None:
    meter = RateMeter(window=3.0)
    assert meter.rate() == 0
    for second in range(10):
        meter.add(float(second), second * (100 if second < 5 else 1000))
    assert meter.rate() == pytest.approx(1000)


def test_names_from_the_bucket_are_shown_escaped() -> None:
    model = ProjectListModel()
    model.set_projects([project("evil\x1b[31mname\nnext", "evil-00001", 1, 1, 1_700_000_000, [])])
    shown = model.index(0, 0).data()
    assert shown == "evil\\x1b[31mname\\nnext"
    assert "\x1b" not in model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_links_show_as_links_in_the_tree() -> None:
    model = FileTreeModel()
    entries = [FileEntry("docs/readme", 12, "e1"), FileEntry("README.md", 3, "e2")]
    model.set_index(TreeIndex.build(entries, links={"docs/readme": "../README.md"}))
    link = model.index_for_path("docs/readme")
    plain = model.index_for_path("README.md")
    assert "symbolic link to ../README.md" in link.data(Qt.ItemDataRole.ToolTipRole)
    assert "symbolic link" not in plain.data(Qt.ItemDataRole.ToolTipRole)
    link_icon = link.data(Qt.ItemDataRole.DecorationRole)
    plain_icon = plain.data(Qt.ItemDataRole.DecorationRole)
    assert link_icon.cacheKey() != plain_icon.cacheKey()
