"""The results of a find in project: a two-level item model (a row per file with its match count, a child row per
matching line) kept sorted by path, filled in batches, and the delegate that paints a line with its matches
highlighted. Knows nothing of services."""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

if TYPE_CHECKING:
    from projectdesk.services.search import Match

SHOWN_COLUMNS = 240  # a longer line is shown cut around its first match
CONTEXT_BEFORE = 40  # characters kept before the first match of a cut line

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
LINE_ROLE = Qt.ItemDataRole.UserRole + 2
SPANS_ROLE = Qt.ItemDataRole.UserRole + 3
COUNT_ROLE = Qt.ItemDataRole.UserRole + 4
IS_FILE_ROLE = Qt.ItemDataRole.UserRole + 5

Span = tuple[int, int]
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class ResultLine:
    """One matching line as the list shows it, and where its matches are in the full line."""

    path: str
    line_number: int
    text: str  # shown: cut when long, tabs as spaces, leading blanks dropped
    spans: tuple[Span, ...]  # in `text`
    full_spans: tuple[Span, ...]  # in the match's whole line (services.search.Match.text)

    @property
    def matches(self) -> int:
        return len(self.full_spans) or 1


def result_line(match: Match) -> ResultLine:
    """A match as the list shows it (cheap; built on the worker thread)."""
    text = match.text
    start = 0
    if len(text) > SHOWN_COLUMNS:
        first = match.spans[0][0] if match.spans else 0
        start = max(0, first - CONTEXT_BEFORE)
    else:
        stripped = len(text) - len(text.lstrip(" \t"))
        start = min(stripped, min((s for s, _ in match.spans), default=stripped))
    shown = text[start : start + SHOWN_COLUMNS].replace("\t", " ")
    prefix = "…" if start and len(text) > SHOWN_COLUMNS else ""
    cut = len(prefix) - start
    spans = tuple(
        (max(0, s + cut), min(len(prefix) + len(shown), e + cut))
        for s, e in match.spans
        if e + cut > len(prefix) and s + cut < len(prefix) + len(shown)
    )
    if start + SHOWN_COLUMNS < len(text):
        shown += "…"
    return ResultLine(match.path, match.line_number, prefix + shown, spans, match.spans)


@dataclass(eq=False)
class FileResults:
    path: str
    lines: list[ResultLine] = field(default_factory=list)
    count: int = 0  # matches (a line may hold several)


class FindResultsModel(QAbstractItemModel):
    """Files (sorted by path) and their matching lines (by line number)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._files: list[FileResults] = []
        self._paths: list[str] = []  # the files' paths, for bisect
        self.matches = 0

    # ---- changes -------------------------------------------------------------------------------------

    def clear(self) -> None:
        self.beginResetModel()
        self._files, self._paths, self.matches = [], [], 0
        self.endResetModel()

    def add(self, lines: list[ResultLine]) -> None:
        """Insert a batch: new files in their place, lines appended to theirs (one insert per file)."""
        by_path: dict[str, list[ResultLine]] = {}
        for line in lines:
            by_path.setdefault(line.path, []).append(line)
        for path, found in by_path.items():
            found.sort(key=lambda r: r.line_number)
            row = bisect.bisect_left(self._paths, path)
            if row < len(self._paths) and self._paths[row] == path:
                results = self._files[row]
                parent = self.index(row, 0)
                first = len(results.lines)
                self.beginInsertRows(parent, first, first + len(found) - 1)
                in_order = not results.lines or results.lines[-1].line_number <= found[0].line_number
                results.lines.extend(found)
                if not in_order:  # never from one search (a file's lines come in order): kept right anyway
                    results.lines.sort(key=lambda r: r.line_number)
                results.count += sum(r.matches for r in found)
                self.endInsertRows()
                self.dataChanged.emit(parent, parent)
            else:
                self.beginInsertRows(QModelIndex(), row, row)
                self._files.insert(row, FileResults(path, found, sum(r.matches for r in found)))
                self._paths.insert(row, path)
                self.endInsertRows()
            self.matches += sum(r.matches for r in found)

    def remove_paths(self, paths: set[str]) -> int:
        """Drop these files' results; returns how many matches went."""
        gone = 0
        for row in range(len(self._files) - 1, -1, -1):
            if self._paths[row] in paths:
                self.beginRemoveRows(QModelIndex(), row, row)
                gone += self._files[row].count
                del self._files[row]
                del self._paths[row]
                self.endRemoveRows()
        self.matches -= gone
        return gone

    # ---- reading -------------------------------------------------------------------------------------

    @property
    def file_count(self) -> int:
        return len(self._files)

    def files(self) -> list[FileResults]:
        return list(self._files)

    def file_index(self, path: str) -> QModelIndex:
        row = bisect.bisect_left(self._paths, path)
        if row < len(self._paths) and self._paths[row] == path:
            return self.index(row, 0)
        return QModelIndex()

    def line_at(self, index: Index) -> ResultLine | None:
        if not index.isValid():
            return None
        owner = index.internalPointer()
        if isinstance(owner, FileResults) and 0 <= index.row() < len(owner.lines):
            return owner.lines[index.row()]
        return None

    def step(self, index: Index, forward: bool) -> QModelIndex:
        """The line result after (before) `index` in the list's order, wrapping around; invalid when none."""
        if not self._files:
            return QModelIndex()
        flat = [(f, r) for f, results in enumerate(self._files) for r in range(len(results.lines))]
        if not flat:
            return QModelIndex()
        here: tuple[int, int] | None = None
        line = self.line_at(index)
        if line is not None:
            owner = index.internalPointer()
            here = (self._files.index(owner), index.row())
        elif index.isValid():  # a file row: its first line is next, the line before it previous
            here = (index.row(), -1) if forward else (index.row(), 0)
        if here is None:
            target = flat[0] if forward else flat[-1]
        else:
            position = bisect.bisect_right(flat, here) if forward else bisect.bisect_left(flat, here) - 1
            target = flat[position % len(flat)]
        return self.index(target[1], 0, self.index(target[0], 0))

    # ---- QAbstractItemModel ----------------------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column != 0 or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, 0, None) if row < len(self._files) else QModelIndex()
        if parent.internalPointer() is not None:
            return QModelIndex()
        results = self._files[parent.row()] if parent.row() < len(self._files) else None
        if results is None or row >= len(results.lines):
            return QModelIndex()
        return self.createIndex(row, 0, results)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        owner = index.internalPointer()
        if not isinstance(owner, FileResults):
            return QModelIndex()
        row = bisect.bisect_left(self._paths, owner.path)
        if row < len(self._files) and self._files[row] is owner:
            return self.createIndex(row, 0, None)
        return QModelIndex()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._files)
        if parent.internalPointer() is None and parent.row() < len(self._files):
            return len(self._files[parent.row()].lines)
        return 0

    def columnCount(self, _parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 1

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        line = self.line_at(index)
        if line is not None:
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{line.line_number}: {line.text}"
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{line.path}, line {line.line_number}"
            return {PATH_ROLE: line.path, LINE_ROLE: line.line_number, SPANS_ROLE: line.spans,
                    IS_FILE_ROLE: False}.get(role)  # fmt: skip
        if index.internalPointer() is not None or index.row() >= len(self._files):
            return None
        results = self._files[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{results.path} ({results.count})"
        if role == Qt.ItemDataRole.ToolTipRole:
            return results.path
        return {PATH_ROLE: results.path, COUNT_ROLE: results.count, IS_FILE_ROLE: True}.get(role)


def _highlight(palette: QPalette) -> QColor:
    dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
    return QColor("#7a5c00") if dark else QColor("#ffe08a")


class ResultDelegate(QStyledItemDelegate):
    """A file row: its name, its folder dimmed, its match count at the right. A line row: the line number
    dimmed, then the text with each match on a highlight."""

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), QFontMetrics(option.font).height() + 6))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget: QWidget | None = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect: QRect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget).adjusted(2, 0, -4, 0)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette = opt.palette
        text_colour = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        dim = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText)
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        painter.save()
        if index.data(IS_FILE_ROLE):
            self._paint_file(painter, opt, rect, index, text_colour, dim, flags)
        else:
            self._paint_line(painter, opt, rect, index, text_colour, dim, flags, selected)
        painter.restore()

    def _paint_file(
        self, painter: QPainter, opt: QStyleOptionViewItem, rect: QRect, index: Index,
        text_colour: QColor, dim: QColor, flags: int,
    ) -> None:  # fmt: skip
        path = str(index.data(PATH_ROLE))
        count = str(index.data(COUNT_ROLE))
        folder, _, name = path.rpartition("/")
        bold = QFont(opt.font)
        bold.setWeight(QFont.Weight.DemiBold)
        metrics = QFontMetrics(opt.font)
        badge_width = metrics.horizontalAdvance(count) + 12
        badge = QRect(rect.right() - badge_width, rect.top() + 3, badge_width, rect.height() - 6)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(opt.palette.color(QPalette.ColorRole.Mid))
        painter.drawRoundedRect(badge, badge.height() / 2, badge.height() / 2)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(badge, int(Qt.AlignmentFlag.AlignCenter), count)
        room = rect.adjusted(0, 0, -badge_width - 8, 0)
        painter.setFont(bold)
        painter.setPen(text_colour)
        name_text = QFontMetrics(bold).elidedText(name, Qt.TextElideMode.ElideMiddle, room.width())
        painter.drawText(room, flags, name_text)
        if folder:
            offset = QFontMetrics(bold).horizontalAdvance(name_text) + 10
            rest = room.adjusted(offset, 0, 0, 0)
            painter.setFont(opt.font)
            painter.setPen(dim)
            painter.drawText(rest, flags, metrics.elidedText(folder, Qt.TextElideMode.ElideLeft, rest.width()))

    def _paint_line(
        self, painter: QPainter, opt: QStyleOptionViewItem, rect: QRect, index: Index,
        text_colour: QColor, dim: QColor, flags: int, selected: bool,
    ) -> None:  # fmt: skip
        number = f"{index.data(LINE_ROLE)}"
        text = str(index.data(Qt.ItemDataRole.DisplayRole)).split(": ", 1)[1]
        spans: tuple[Span, ...] = index.data(SPANS_ROLE) or ()
        metrics = QFontMetrics(opt.font)
        gutter = metrics.horizontalAdvance("00000") + 6
        painter.setFont(opt.font)
        painter.setPen(dim)
        painter.drawText(rect.adjusted(0, 0, -(rect.width() - gutter + 6), 0),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), number)  # fmt: skip
        x = rect.left() + gutter
        right = rect.right()
        cuts = sorted({0, len(text), *(p for span in spans for p in span if 0 <= p <= len(text))})
        inside = [any(s <= a < e for s, e in spans) for a in cuts[:-1]]
        highlight = _highlight(opt.palette)
        bold = QFont(opt.font)
        bold.setWeight(QFont.Weight.DemiBold)
        for (a, b), hit in zip(itertools.pairwise(cuts), inside, strict=False):
            if x >= right:
                break
            part = text[a:b]
            font = bold if hit else opt.font
            part_metrics = QFontMetrics(font)
            width = part_metrics.horizontalAdvance(part)
            if x + width > right:
                part = part_metrics.elidedText(part, Qt.TextElideMode.ElideRight, right - x)
                width = part_metrics.horizontalAdvance(part)
            box = QRect(x, rect.top() + 2, width, rect.height() - 4)
            if hit and not selected:
                painter.fillRect(box.adjusted(-1, 0, 1, 0), highlight)
            painter.setFont(font)
            painter.setPen(text_colour)
            painter.drawText(QRect(x, rect.top(), width + 2, rect.height()), flags, part)
            x += width
