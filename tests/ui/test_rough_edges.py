"""Three rough edges of the window: where a drop on the file tree lands, where the project list draws
Files / Size / Updated, and reading a skipped file's whole reason in the push preview."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QModelIndex, QPoint, QPointF, QRect, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent, QFontMetrics, QImage
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem, QTreeWidgetItem

from projectdesk.core.models import FileEntry, ProjectInfo
from projectdesk.services.projects import ProjectService
from projectdesk.storage.local import LocalRepository
from projectdesk.ui.dialogs.push_preview import PushPreviewDialog
from projectdesk.ui.file_tree import FileTreeModel, FileTreeView
from projectdesk.ui.project_list import (
    STACK_ROLE,
    ProjectDelegate,
    ProjectFilterProxy,
    ProjectListModel,
    ProjectListView,
)
from tests.conftest import make_tree

COPY = Qt.DropAction.CopyAction
LEFT = Qt.MouseButton.LeftButton
NO_KEYS = Qt.KeyboardModifier.NoModifier

# ---- file tree: the drop target ------------------------------------------------------------------

TREE_FILES = ["README.md", "docs/api.md", "docs/guide.md", "src/app.py", "src/sub/deep.py", "src/util.py"]


@pytest.fixture
def tree(qtbot: Any) -> tuple[FileTreeView, FileTreeModel]:
    view = FileTreeView()
    qtbot.addWidget(view)
    model = FileTreeModel(view)
    model.set_files([FileEntry(path, 1000) for path in TREE_FILES])
    view.setModel(model)
    view.configure_header()
    view.resize(360, 320)
    view.show()
    qtbot.waitExposed(view)
    view.expandAll()
    return view, model


def dragged(tmp_path: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(make_tree(tmp_path / "drag", {"new.py": b"x = 1\n"}) / "new.py"))])
    return mime


def enter(view: FileTreeView, point: QPoint, mime: QMimeData) -> None:
    event = QDragEnterEvent(point, COPY, mime, LEFT, NO_KEYS)
    QApplication.sendEvent(view.viewport(), event)
    assert event.isAccepted()


def move(view: FileTreeView, point: QPoint, mime: QMimeData) -> None:
    event = QDragMoveEvent(point, COPY, mime, LEFT, NO_KEYS)
    QApplication.sendEvent(view.viewport(), event)
    assert event.isAccepted()


def row_point(view: FileTreeView, model: FileTreeModel, path: str) -> QPoint:
    index = model.index_for_path(path)
    assert index.isValid()
    return view.visualRect(index).center()


def target(view: FileTreeView) -> str | None:
    return view.drop_target_path  # read through a call: mypy would keep an earlier `is None` narrowing


def pixel(image: QImage, point: QPoint) -> QColor:
    return image.pixelColor(point)


def test_the_folder_a_drop_lands_in_is_the_drop_target_while_dragging(
    tree: tuple[FileTreeView, FileTreeModel], tmp_path: Path
) -> None:
    view, model = tree
    mime = dragged(tmp_path)
    assert target(view) is None

    enter(view, row_point(view, model, "src/util.py"), mime)  # a file: its folder
    assert view.drop_target_path == "src"
    move(view, row_point(view, model, "docs"), mime)  # a folder: itself
    assert view.drop_target_path == "docs"
    move(view, row_point(view, model, "src/sub/deep.py"), mime)
    assert view.drop_target_path == "src/sub"
    move(view, row_point(view, model, "README.md"), mime)  # a file at the top: the root
    assert view.drop_target_path == ""
    empty = QPoint(view.viewport().width() // 2, view.viewport().height() - 5)
    assert not view.indexAt(empty).isValid()
    move(view, empty, mime)
    assert view.drop_target_path == ""
    for path in ("docs/api.md", "src", "src/sub"):  # always what the drop itself would use
        point = row_point(view, model, path)
        move(view, point, mime)
        assert view.drop_target_path == view.folder_at(view.indexAt(point))

    QApplication.sendEvent(view.viewport(), QDragLeaveEvent())
    assert view.drop_target_path is None


def test_the_target_folder_row_is_painted_highlighted_and_cleared_by_the_drop(
    tree: tuple[FileTreeView, FileTreeModel], tmp_path: Path, qtbot: Any
) -> None:
    view, model = tree
    mime = dragged(tmp_path)
    docs = view.visualRect(model.index_for_path("docs"))
    readme = view.visualRect(model.index_for_path("README.md"))
    blank_x = view.header().sectionSize(FileTreeModel.NAME) - 20  # right of the names, left of the sizes
    in_docs, in_readme = QPoint(blank_x, docs.center().y()), QPoint(blank_x, readme.center().y())
    before = view.viewport().grab().toImage()

    enter(view, row_point(view, model, "docs/guide.md"), mime)
    assert view.drop_target_path == "docs"
    area = view.drop_target_rect()  # the folder's row and the rows shown inside it
    assert area.contains(docs.center())
    assert area.contains(view.visualRect(model.index_for_path("docs/guide.md")).center())
    assert not area.contains(readme.center())
    during = view.viewport().grab().toImage()
    assert pixel(during, in_docs) != pixel(before, in_docs), "the target folder's row is not highlighted"
    assert pixel(during, in_readme) == pixel(before, in_readme)

    with qtbot.waitSignal(view.pathsDropped) as dropped:
        event = QDropEvent(QPointF(row_point(view, model, "docs/guide.md")), COPY, mime, LEFT, NO_KEYS)
        QApplication.sendEvent(view.viewport(), event)
    assert view.folder_at(dropped.args[1]) == "docs"
    assert target(view) is None
    assert view.drop_target_rect().isEmpty()
    after = view.viewport().grab().toImage()
    assert pixel(after, in_docs) == pixel(before, in_docs)


# ---- project list: Files / Size / Updated on the row's own line -------------------------------------


def project(name: str, slug: str, stack: list[str]) -> ProjectInfo:
    return ProjectInfo(name, slug, "anonymous", 1_700_000_000, 1_700_000_300, 1200, 50_000, stack, False, False)


@pytest.fixture
def project_list(qtbot: Any) -> ProjectListView:
    view = ProjectListView()
    qtbot.addWidget(view)
    model = ProjectListModel(view)
    model.set_projects(
        [
            project("Portfolio Site", "portfolio-1", ["React", "Vite", "FastAPI"]),
            project("Zeta notes", "zeta-2", []),
            project("api", "api-3", ["Go"]),
            project("Plain", "plain-4", []),
        ]
    )
    proxy = ProjectFilterProxy(view)
    proxy.setSourceModel(model)
    view.setModel(proxy)
    view.configure_header()
    view.resize(560, 300)
    view.show()
    qtbot.waitExposed(view)
    return view


def cell_option(view: ProjectListView, index: QModelIndex) -> QStyleOptionViewItem:
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = view.visualRect(index)
    option.font = view.font()
    option.widget = view
    return option


def text_rect(view: ProjectListView, index: QModelIndex) -> QRect:
    delegate = view.itemDelegate()
    assert isinstance(delegate, ProjectDelegate)
    return delegate.text_rect(cell_option(view, index), index)


def row_rect(view: ProjectListView, row: int) -> QRect:
    model = view.model()
    first = view.visualRect(model.index(row, 0))
    return first.united(view.visualRect(model.index(row, model.columnCount() - 1)))


def ink_rows(image: QImage, cell: QRect, background: QColor) -> list[int]:
    """The y of every pixel row in `cell` (inset from its edges) where something is drawn on `background`."""
    found = []
    for y in range(cell.top() + 1, cell.bottom()):
        for x in range(cell.left() + 3, cell.right() - 2):
            color = image.pixelColor(x, y)
            if max(abs(color.red() - background.red()), abs(color.green() - background.green())) > 60:
                found.append(y)
                break
    return found


def test_detail_columns_share_the_name_line_with_and_without_chips(project_list: ProjectListView) -> None:
    view, model = project_list, project_list.model()
    assert {bool(model.index(row, 0).data(STACK_ROLE)) for row in range(model.rowCount())} == {True, False}
    offsets = set()
    for row in range(model.rowCount()):
        own_row = row_rect(view, row)
        for column in range(model.columnCount()):
            rect = text_rect(view, model.index(row, column))
            assert own_row.contains(rect), (row, column, rect, own_row)
            offsets.add((rect.top() - own_row.top(), rect.height()))
    assert len(offsets) == 1, f"text lines differ between columns or rows: {offsets}"


def test_detail_text_is_painted_on_the_name_line_with_and_without_chips(project_list: ProjectListView) -> None:
    view, model = project_list, project_list.model()
    image = view.viewport().grab().toImage()
    background = view.palette().color(view.viewport().backgroundRole())
    for column in (ProjectListModel.FILES, ProjectListModel.SIZE, ProjectListModel.UPDATED):
        bands = set()  # the same text in every row ("1,200", "48.8 KB", the date): the same ink band
        for row in range(model.rowCount()):
            index = model.index(row, column)
            line = text_rect(view, index)
            ink = ink_rows(image, view.visualRect(index), background)
            assert ink, (row, column)
            assert line.top() <= min(ink) and max(ink) <= line.bottom(), (row, column, line, ink)
            bands.add((min(ink) - line.top(), max(ink) - line.top()))
        assert len(bands) == 1, f"column {column}'s text sits at different heights: {bands}"


# ---- push preview: skipped files' whole reasons ---------------------------------------------------------

LONG_PATH = "assets/generated/very/deeply/nested/folder/with/a/long/name/diagram-final-v2.svg"
LONG_REASON = (
    "broken symlink: its target does not exist (it points to ../../../shared/diagrams/diagram-final-v2.svg, "
    "which was moved or deleted)"
)


@pytest.fixture
def preview(qtbot: Any, tmp_path: Path) -> PushPreviewDialog:
    service = ProjectService(LocalRepository(tmp_path / "store"))
    plan = service.plan_push(make_tree(tmp_path / "Demo", {"a.py": b"x = 1\n"}), name="Demo")
    scan = dataclasses.replace(plan.scan, problems=[(LONG_PATH, LONG_REASON)])
    dialog = PushPreviewDialog(dataclasses.replace(plan, scan=scan))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def section(dialog: PushPreviewDialog, number: int) -> QTreeWidgetItem:
    item = dialog.details.topLevelItem(number)
    assert item is not None
    return item


def file_row(dialog: PushPreviewDialog, number: int, row: int) -> QTreeWidgetItem:
    item = section(dialog, number).child(row)
    assert item is not None
    return item


def test_truncated_cells_of_the_push_preview_carry_their_whole_text_as_tooltips(preview: PushPreviewDialog) -> None:
    details = preview.details
    assert section(preview, 0).text(0).startswith("Cannot be uploaded")
    row = file_row(preview, 0, 0)
    metrics = QFontMetrics(details.font())
    assert metrics.horizontalAdvance(LONG_REASON) > details.header().sectionSize(1)  # the cell is elided
    assert row.data(1, Qt.ItemDataRole.ToolTipRole) == LONG_REASON
    assert row.data(0, Qt.ItemDataRole.ToolTipRole) == LONG_PATH
    uploads = file_row(preview, 1, 0)
    assert uploads.data(0, Qt.ItemDataRole.ToolTipRole) == "a.py"


def test_the_detail_pane_shows_the_selected_rows_whole_path_and_reason(preview: PushPreviewDialog) -> None:
    details, pane = preview.details, preview.detail_pane
    assert pane.isVisible() and pane.isReadOnly()
    assert pane.toPlainText() == ""
    row = file_row(preview, 0, 0)
    details.setCurrentItem(row)
    assert row.isSelected()
    assert pane.toPlainText() == f"{LONG_PATH}\n{LONG_REASON}"
    details.setCurrentItem(section(preview, 1))  # a section's heading has no detail
    assert pane.toPlainText() == ""
    details.clearSelection()
    assert pane.toPlainText() == ""
