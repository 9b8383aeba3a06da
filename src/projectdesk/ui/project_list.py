"""The project list: a plain table model over ProjectInfo, a filter/sort proxy, a delegate and the view.

The model holds plain data and is tested without a window; the view paints the empty state and
accepts folders and zips dropped from the file manager.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QFontMetrics,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QWidget,
)

from projectdesk.core.display import printable
from projectdesk.core.models import ProjectInfo
from projectdesk.ui.drops import local_paths
from projectdesk.ui.formatting import human_bytes, relative_time
from projectdesk.ui.resources import state_icon

AnyIndex = QModelIndex | QPersistentModelIndex

# Project states, most important first (a project with a conflict shows the conflict icon).
STATE_CONFLICT = "conflict"
STATE_PENDING = "pending"
STATE_KEEP_OFFLINE = "keep-offline"
STATE_CACHED = "cached"
STATE_TEXT = {
    STATE_CONFLICT: "Has a conflict: a file changed here and on the server",
    STATE_PENDING: "Changes waiting to be uploaded",
    STATE_KEEP_OFFLINE: "Kept offline: every file is in the cache",
    STATE_CACHED: "Cached: opened files are available offline",
}

SLUG_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
STACK_ROLE = Qt.ItemDataRole.UserRole + 3
STATE_ROLE = Qt.ItemDataRole.UserRole + 4
PROJECT_ROLE = Qt.ItemDataRole.UserRole + 5
FOLDER_ROLE = Qt.ItemDataRole.UserRole + 6  # the working folder's state, "" when the project has none
FOLDER_ICON_ROLE = Qt.ItemDataRole.UserRole + 7  # the name of that state's icon


@dataclass
class ProjectRow:
    info: ProjectInfo
    state: str = ""
    haystack: str = ""  # what the filter searches: name, slug and stack, case-folded once

    def __post_init__(self) -> None:
        info = self.info
        self.haystack = " ".join([info.name, info.slug, *info.tech_stack]).casefold()


_SORT_KEYS: tuple[Callable[[ProjectRow], Any], ...] = (
    lambda row: (row.info.name.casefold(), row.info.slug),
    lambda row: (row.info.files_count, row.info.slug),
    lambda row: (row.info.total_bytes, row.info.slug),
    lambda row: (row.info.updated_date, row.info.slug),
)


class ProjectListModel(QAbstractTableModel):
    """Projects as rows; columns name, files, size, updated. Sorting and filtering live in the proxy."""

    NAME, FILES, SIZE, UPDATED = range(4)
    HEADERS = ("Project", "Files", "Size", "Updated")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ProjectRow] = []
        self._index: dict[str, int] = {}  # slug -> row
        self._states: dict[str, str] = {}
        self._folder_notes: dict[str, tuple[str, str]] = {}  # slug -> its working folder's (state icon, state)
        self._sort: tuple[int, Qt.SortOrder] | None = (
            None  # the model sorts itself (one Python sort, no per-pair calls)
        )
        self._seen: set[str] | None = None  # slugs a load in progress has delivered
        self.version = object()  # replaced whenever rows move, come or go (the filter's one-pass answers expire)

    # ---- data in -------------------------------------------------------------------------------

    def set_projects(self, projects: Iterable[ProjectInfo]) -> None:
        """Replace the list (a refresh); known states stay attached to their slugs."""
        self.beginResetModel()
        self._rows = [ProjectRow(info, self._states.get(info.slug, "")) for info in projects]
        self._sort_rows()
        self._reindex()
        self.endResetModel()

    def begin_load(self) -> None:
        """A load starts: rows arrive with `add_projects`; `end_load` removes the rows it did not deliver."""
        self._seen = set()

    def add_projects(self, projects: Iterable[ProjectInfo]) -> None:
        """Rows as a load delivers them: known slugs updated in place, new ones added, the order kept."""
        new: list[ProjectRow] = []
        changed: list[int] = []
        for info in projects:
            if self._seen is not None:
                self._seen.add(info.slug)
            row = self._index.get(info.slug)
            if row is None:
                self._index[info.slug] = len(self._rows) + len(new)
                new.append(ProjectRow(info, self._states.get(info.slug, "")))
            else:
                self._rows[row] = ProjectRow(info, self._rows[row].state)
                changed.append(row)
        if changed or new:
            self.version = object()
        if changed:
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), self.columnCount() - 1))
        if new:
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(new) - 1)
            self._rows.extend(new)
            self.endInsertRows()
        if self._sort is not None and (new or changed):
            self.sort(*self._sort)

    def end_load(self, final: Iterable[ProjectInfo] | None = None) -> None:
        """The load is complete: rows it did not deliver — or, given the `final` list, rows not in it — are
        removed (deleted since the last list, or delivered early and not confirmed)."""
        seen, self._seen = self._seen, None
        if final is not None:
            seen = {info.slug for info in final}
        if seen is None:
            return
        gone = [row for row, item in enumerate(self._rows) if item.info.slug not in seen]
        if len(gone) > 50:
            self.beginResetModel()
            self._rows = [item for item in self._rows if item.info.slug in seen]
            self._reindex()
            self.endResetModel()
            return
        for row in reversed(gone):
            self.version = object()
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            self.endRemoveRows()
        if gone:
            self._reindex()

    def _reindex(self) -> None:
        self.version = object()
        self._index = {item.info.slug: row for row, item in enumerate(self._rows)}

    def _sort_rows(self) -> None:
        if self._sort is not None:
            column, order = self._sort
            self._rows.sort(key=_SORT_KEYS[column], reverse=order == Qt.SortOrder.DescendingOrder)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order the rows by `column` (one Python sort; views keep their selection)."""
        if not 0 <= column < len(_SORT_KEYS):
            return
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        held = [
            (index, self._rows[index.row()].info.slug) for index in persistent if 0 <= index.row() < len(self._rows)
        ]
        self._sort_rows()
        self._reindex()
        self.changePersistentIndexList(
            [index for index, _ in held], [self.index(self._index[slug], index.column()) for index, slug in held]
        )
        self.layoutChanged.emit()

    def matching(self, words: list[str]) -> bytearray:
        """Per row, 1 when its text holds every word (one pass; rows added later are asked one by one)."""
        return bytearray(all(word in row.haystack for word in words) for row in self._rows)

    def haystack(self, row: int) -> str:
        return self._rows[row].haystack if 0 <= row < len(self._rows) else ""

    def set_states(self, states: dict[str, str]) -> None:
        """Per-slug state (`conflict`, `pending`, `keep-offline`, `cached`); missing slugs have none."""
        self._states = dict(states)
        for row, item in enumerate(self._rows):
            new = self._states.get(item.info.slug, "")
            if new != item.state:
                item.state = new
                self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def set_folder_notes(self, notes: dict[str, tuple[str, str]]) -> None:
        """Per slug, its working folder's state icon and words ("in folder ~/code/site · in sync")."""
        changed = {
            slug for slug in set(notes) | set(self._folder_notes) if notes.get(slug) != self._folder_notes.get(slug)
        }
        self._folder_notes = dict(notes)
        for row, item in enumerate(self._rows):
            if item.info.slug in changed:
                self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def update_project(self, info: ProjectInfo) -> None:
        """One project's row as it is now (its counts after a change), in place."""
        row = self.row_of(info.slug)
        if row >= 0:
            self._rows[row] = ProjectRow(info, self._rows[row].state)
            self.version = object()
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def projects(self) -> list[ProjectInfo]:
        return [row.info for row in self._rows]

    def slugs(self) -> set[str]:
        return {row.info.slug for row in self._rows}

    def row_of(self, slug: str) -> int:
        return self._index.get(slug, -1)

    def project(self, slug: str) -> ProjectInfo | None:
        row = self.row_of(slug)
        return self._rows[row].info if row >= 0 else None

    # ---- QAbstractItemModel ----------------------------------------------------------------------

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        # Qt's own asks rowCount and columnCount first (two more calls into Python): the filter and the tree's
        # layout ask for every row, so at 10,000 rows that was most of a keystroke's time.
        if parent.isValid() or not (0 <= row < len(self._rows) and 0 <= column < 4):
            return QModelIndex()
        return self.createIndex(row, column)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole and section:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        item = self._rows[index.row()]
        info, column = item.info, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.NAME:
                return printable(info.name)  # names come from the bucket: control characters shown escaped
            if column == self.FILES:
                return f"{info.files_count:,}"
            if column == self.SIZE:
                return human_bytes(info.total_bytes)
            return relative_time(info.updated_date)
        if role == SORT_ROLE:
            return (info.name.casefold(), info.files_count, info.total_bytes, info.updated_date)[column]
        if role == SLUG_ROLE:
            return info.slug
        if role == STACK_ROLE:
            return list(info.tech_stack)
        if role == STATE_ROLE:
            return item.state
        if role == PROJECT_ROLE:
            return info
        if role in (FOLDER_ROLE, FOLDER_ICON_ROLE):
            icon, note = self._folder_notes.get(info.slug, ("", ""))
            return note if role == FOLDER_ROLE else icon
        if role == Qt.ItemDataRole.DecorationRole and column == self.NAME and item.state:
            return state_icon(item.state)
        if role == Qt.ItemDataRole.TextAlignmentRole and column != self.NAME:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            note = self._folder_notes.get(info.slug, ("", ""))[1]
            return self._tooltip(item) + (f"<br>{_escape(note)}" if note else "")
        return None

    @staticmethod
    def _tooltip(item: ProjectRow) -> str:
        info = item.info
        lines = [f"<b>{_escape(printable(info.name))}</b>", f"slug: {_escape(printable(info.slug))}"]
        if info.tech_stack:
            lines.append("stack: " + _escape(", ".join(info.tech_stack)))
        lines.append(f"{info.files_count:,} files, {human_bytes(info.total_bytes)}")
        if info.updated_date:
            lines.append("updated " + datetime.fromtimestamp(info.updated_date).strftime("%Y-%m-%d %H:%M"))
        if not info.has_manifest:
            lines.append("<i>made by another tool (no ProjectDesk manifest)</i>")
        if item.state:
            lines.append(STATE_TEXT.get(item.state, item.state))
        return "<br>".join(lines)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _NoRows:
    version = object()  # never the version of a one-pass answer


_NO_ROWS = _NoRows()


class ProjectFilterProxy(QSortFilterProxyModel):
    """Keeps rows whose name, slug or tech stack contain every word typed; sorting is the source model's own
    (a proxy sort asks the model's data twice per comparison: seconds at 10,000 rows).

    Each row's search text is folded once, when the row arrives (`ProjectRow.haystack`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._words: list[str] = []
        # (the model's rows version, per source row whether it matches), computed by set_query; rows that
        # changed since are matched one by one
        self._accepted: tuple[object, bytearray] | None = None
        self._rows_model: ProjectListModel | _NoRows = _NO_ROWS
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        self._rows_model = model if isinstance(model, ProjectListModel) else _NO_ROWS
        super().setSourceModel(model)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if isinstance(source, ProjectListModel):
            source.sort(column, order)
        else:
            super().sort(column, order)

    def set_query(self, text: str) -> None:
        """Filter by every word of `text`: the rows are matched here in one pass over their folded text, and
        the proxy's per-row question is a lookup."""
        words = text.casefold().split()
        source = self.sourceModel()
        if words and isinstance(source, ProjectListModel):
            self._accepted = (source.version, source.matching(words))
        else:
            self._accepted = None
        if hasattr(self, "endFilterChange"):  # Qt 6.10+; invalidateRowsFilter is deprecated there
            self.beginFilterChange()
            self._words = words
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._words = words
            self.invalidateRowsFilter()

    def query(self) -> str:
        return " ".join(self._words)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        words = self._words
        if not words:
            return True
        accepted = self._accepted
        if accepted is not None and accepted[0] is self._rows_model.version:
            return accepted[1][source_row] == 1
        model = self.sourceModel()
        if isinstance(model, ProjectListModel):
            haystack = model.haystack(source_row)
        else:
            info = model.data(model.index(source_row, 0, source_parent), PROJECT_ROLE)
            if not isinstance(info, ProjectInfo):
                return False
            haystack = " ".join([info.name, info.slug, *info.tech_stack]).casefold()
        return all(word in haystack for word in words)


def chip_color(name: str, dark: bool) -> QColor:
    """A stable, soft colour per technology name, readable on the palette's base colour."""
    hue = zlib.crc32(name.encode("utf-8")) % 360
    return QColor.fromHsl(hue, 90, 70 if dark else 225)


class ProjectDelegate(QStyledItemDelegate):
    """Paints the name column as two lines: the name, then the tech stack as small rounded labels.

    Every column's text sits on the first line, the name's, so Files / Size / Updated stay beside the
    name whether or not a row has chips under it (centred, they would float between this row and the next).
    """

    PADDING = 4
    MAX_CHIPS = 6
    FOLDER_ICON = 12

    def _chip_font(self, base: QFont) -> QFont:
        font = QFont(base)
        size = base.pointSizeF()
        if size > 0:
            font.setPointSizeF(max(6.5, size * 0.8))
        else:
            font.setPixelSize(max(9, int(base.pixelSize() * 0.8)))
        return font

    @staticmethod
    def _name_font(base: QFont) -> QFont:
        font = QFont(base)
        font.setWeight(QFont.Weight.DemiBold)
        return font

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        size = super().sizeHint(option, index)
        if index.column() != ProjectListModel.NAME:
            return size
        line = QFontMetrics(option.font).height()
        chips = QFontMetrics(self._chip_font(option.font)).height() + 4
        return QSize(size.width(), line + chips + 3 * self.PADDING)

    def text_rect(self, option: QStyleOptionViewItem, index: AnyIndex) -> QRect:
        """Where a cell's text is drawn: the row's first line, in the column's own text area.

        Depends only on the row's rect and font, never on the row's tech stack."""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        return self._first_line(opt)

    def _first_line(self, opt: QStyleOptionViewItem) -> QRect:
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        area: QRect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget)
        height = QFontMetrics(self._name_font(opt.font)).height()
        return QRect(area.left(), opt.rect.top() + self.PADDING, area.width(), height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        line = self._first_line(opt)
        text = opt.text
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette: QPalette = opt.palette
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        name_column = index.column() == ProjectListModel.NAME
        painter.save()
        font = self._name_font(opt.font) if name_column else QFont(opt.font)
        painter.setFont(font)
        painter.setPen(palette.color(text_role))
        elided = QFontMetrics(font).elidedText(text, opt.textElideMode, line.width())
        align = opt.displayAlignment & Qt.AlignmentFlag.AlignHorizontal_Mask
        painter.drawText(line, int(align | Qt.AlignmentFlag.AlignVCenter), elided)
        if name_column:
            top = line.bottom() + 1 + self.PADDING
            note = str(index.data(FOLDER_ROLE) or "")
            room = self.FOLDER_ICON + 4 if note else 0  # the folder's icon always fits after the chips
            right = self._paint_chips(painter, opt, index, line.adjusted(0, 0, -room, 0), top, selected)
            if note:
                self._paint_folder(
                    painter, opt, index, QRect(right, top, line.right() - right + 1, line.height()), note
                )
        painter.restore()

    def _paint_folder(
        self, painter: QPainter, opt: QStyleOptionViewItem, index: AnyIndex, rect: QRect, note: str
    ) -> None:
        """The working folder's state after the chips: its icon, then its words where there is room, small."""
        size = self.FOLDER_ICON
        state_icon(str(index.data(FOLDER_ICON_ROLE) or "")).paint(
            painter, QRect(rect.left(), rect.top() + 2, size, size)
        )
        text = rect.adjusted(size + 4, 0, 0, 0)
        if text.width() < 40:
            return
        font = self._chip_font(opt.font)
        painter.setFont(font)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText
        painter.setPen(opt.palette.color(role))
        elided = QFontMetrics(font).elidedText(note, Qt.TextElideMode.ElideMiddle, text.width())
        painter.drawText(text.adjusted(0, 1, 0, 1), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), elided)

    def _paint_chips(
        self, painter: QPainter, opt: QStyleOptionViewItem, index: AnyIndex, rect: QRect, top: int, selected: bool
    ) -> int:
        """The tech stack as chips; returns the x where they end."""
        stack = index.data(STACK_ROLE) or []
        if not stack:
            return rect.left()
        font = self._chip_font(opt.font)
        painter.setFont(font)
        metrics = QFontMetrics(font)
        palette: QPalette = opt.palette
        dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
        height = metrics.height() + 2
        x = rect.left()
        shown = list(stack)[: self.MAX_CHIPS]
        for i, tech in enumerate(shown):
            label = str(tech)
            width = metrics.horizontalAdvance(label) + 10
            rest = len(stack) - i
            if x + width > rect.right() and rest > 0:
                label = f"+{rest}"
                width = metrics.horizontalAdvance(label) + 10
                if x + width > rect.right():
                    break
                self._chip(painter, QRect(x, top, width, height), label, palette.color(QPalette.ColorRole.Mid), dark)
                x += width + 4
                break
            color = chip_color(label, dark)
            if selected:
                color.setAlpha(200)
            self._chip(painter, QRect(x, top, width, height), label, color, dark)
            x += width + 4
        return x + 4

    @staticmethod
    def _chip(painter: QPainter, rect: QRect, label: str, color: QColor, dark: bool) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(rect, 4, 4)
        painter.setPen(QColor("#f2f2f2") if dark else QColor("#202020"))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), label)


class DropTreeView(QTreeView):
    """A tree view that accepts local files and folders from the file manager and paints a placeholder
    text when it has no rows.

    Signals:
        pathsDropped(list[Path], QModelIndex): local paths dropped, and the index under the cursor.
    """

    pathsDropped = Signal(list, QModelIndex)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._placeholder = ""
        self._placeholder_hint = ""
        self._drag_active = False
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)

    def set_placeholder(self, text: str, hint: str = "") -> None:
        self._placeholder, self._placeholder_hint = text, hint
        self.viewport().update()

    def placeholder(self) -> str:
        return self._placeholder

    # ---- drops ----------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self._set_drag_active(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._set_drag_active(False)
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_drag_active(False)
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        target = self.indexAt(event.position().toPoint())
        self.pathsDropped.emit(paths, target)

    def _set_drag_active(self, active: bool) -> None:
        if self._drag_active != active:
            self._drag_active = active
            self.viewport().update()

    # ---- painting -------------------------------------------------------------------------------

    def _outline_whole_view(self) -> bool:
        """Whether the dashed drop outline goes round the whole view: while a drag is over it, by default."""
        return self._drag_active

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        empty = model is None or model.rowCount(self.rootIndex()) == 0
        outline = self._outline_whole_view()
        if not (empty and self._placeholder) and not outline:
            return
        painter = QPainter(self.viewport())
        rect = self.viewport().rect()
        palette = self.palette()
        if outline:
            pen = QPen(palette.color(QPalette.ColorRole.Highlight), 2, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawRoundedRect(rect.adjusted(3, 3, -4, -4), 6, 6)
        if empty and self._placeholder:
            text_rect = rect.adjusted(24, 0, -24, 0)
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 1.15 if font.pointSizeF() > 0 else 11)
            painter.setFont(font)
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            metrics = QFontMetrics(font)
            flags = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom | Qt.TextFlag.TextWordWrap)
            upper = text_rect.adjusted(0, 0, 0, -text_rect.height() // 2)
            painter.drawText(upper, flags, self._placeholder)
            if self._placeholder_hint:
                painter.setFont(self.font())
                lower = text_rect.adjusted(0, text_rect.height() // 2 + metrics.height() // 2, 0, 0)
                top_flags = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap)
                painter.drawText(lower, top_flags, self._placeholder_hint)
        painter.end()


class ProjectListView(DropTreeView):
    """The project table: sortable columns, the name column painted by ProjectDelegate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setSortingEnabled(True)
        self.setAllColumnsShowFocus(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setItemDelegate(ProjectDelegate(self))
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setIconSize(QSize(16, 16))

    def configure_header(self) -> None:
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(ProjectListModel.NAME, QHeaderView.ResizeMode.Stretch)
        metrics = self.fontMetrics()
        widths = {
            ProjectListModel.FILES: metrics.horizontalAdvance("00,000") + 16,
            ProjectListModel.SIZE: metrics.horizontalAdvance("000.0 MB") + 16,
            ProjectListModel.UPDATED: metrics.horizontalAdvance("00 min ago") + 16,
        }
        for column, width in widths.items():
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        header.setMinimumSectionSize(40)
