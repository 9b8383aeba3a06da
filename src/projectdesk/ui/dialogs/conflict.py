"""A conflict, side by side: your version on the left, the server's on the right, changed lines highlighted,
scrolling together — and the choice to keep yours, theirs or both."""

from __future__ import annotations

import html

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QShortcut,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from projectdesk.services.conflicts import KEEP_BOTH as KEEP_BOTH  # the choices, as services.offline takes them
from projectdesk.services.conflicts import KEEP_MINE as KEEP_MINE
from projectdesk.services.conflicts import KEEP_THEIRS as KEEP_THEIRS
from projectdesk.ui.diff import ADDED, CHANGED, EQUAL, REMOVED, SideBySide

FILLER = "filler"
_COLOURS = {  # (light, dark) row backgrounds
    CHANGED: ("#fff1b8", "#4a3f14"),
    REMOVED: ("#ffd8d6", "#5a2626"),  # only in yours (left)
    ADDED: ("#d3f4d3", "#1f4a27"),  # only on the server (right)
    FILLER: ("#ececec", "#2a2b2e"),
}


def _dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def row_colour(kind: str, dark: bool) -> QColor | None:
    pair = _COLOURS.get(kind)
    return QColor(pair[1 if dark else 0]) if pair else None


class _Gutter(QWidget):
    def __init__(self, pane: DiffPane) -> None:
        super().__init__(pane)
        self._pane = pane

    def sizeHint(self) -> QSize:
        return QSize(self._pane.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._pane.paint_gutter(self, event)


class DiffPane(QPlainTextEdit):
    """One side of the diff: read-only, no wrapping, each row's background by kind, the file's own line
    numbers in the gutter (blank on filler rows)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._numbers: list[int | None] = []
        self.kinds: list[str] = []
        self._gutter = _Gutter(self)
        self._update_margin()

    def gutter_width(self) -> int:
        largest = max((n for n in self._numbers if n is not None), default=1)
        return 12 + self.fontMetrics().horizontalAdvance("9") * max(3, len(str(largest)))

    def _update_margin(self) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)
        rect = self.contentsRect()
        self._gutter.setGeometry(QRect(rect.left(), rect.top(), self.gutter_width(), rect.height()))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_margin()

    def set_rows(self, lines: list[str | None], numbers: list[int | None], kinds: list[str]) -> None:
        """Fill the pane: one block per row; `None` lines are filler rows."""
        self._numbers = list(numbers)
        self.kinds = [FILLER if line is None else kind for line, kind in zip(lines, kinds, strict=True)]
        dark = _dark(self.palette())
        document = self.document()
        document.clear()
        cursor = QTextCursor(document)
        cursor.beginEditBlock()
        plain = QTextCharFormat()
        for row, (line, kind) in enumerate(zip(lines, self.kinds, strict=True)):
            block = QTextBlockFormat()
            colour = row_colour(kind, dark) if kind != EQUAL else None
            if colour is not None:
                block.setBackground(colour)
            if row == 0:
                cursor.setBlockFormat(block)
            else:
                cursor.insertBlock(block, plain)
            if line:
                cursor.insertText(line)
        cursor.endEditBlock()
        self.moveCursor(QTextCursor.MoveOperation.Start)
        self._update_margin()
        self._gutter.update()

    def scroll_to_row(self, row: int) -> None:
        block = self.document().findBlockByNumber(row)
        if block.isValid():
            cursor = QTextCursor(block)
            self.setTextCursor(cursor)
            self.centerCursor()

    def paint_gutter(self, area: QWidget, event: QPaintEvent) -> None:
        painter = QPainter(area)
        palette = self.palette()
        painter.fillRect(event.rect(), palette.color(QPalette.ColorRole.Window))
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        width = area.width() - 6
        while block.isValid() and top <= event.rect().bottom():
            row = block.blockNumber()
            bottom = top + round(self.blockBoundingRect(block).height())
            number = self._numbers[row] if row < len(self._numbers) else None
            if number is not None and bottom >= event.rect().top():
                painter.drawText(0, top, width, height, int(Qt.AlignmentFlag.AlignRight), str(number))
            block = block.next()
            top = bottom
        painter.end()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        self._gutter.update()


class DiffView(QWidget):
    """Two DiffPanes that scroll together, with headings and a legend.

    Attributes:
        left, right: the panes (yours, the server's).
    """

    def __init__(self, left_title: str, right_title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.left = DiffPane(self)
        self.right = DiffPane(self)
        self.left.setObjectName("diffMine")
        self.right.setObjectName("diffTheirs")
        self.left_title = QLabel(left_title, self)
        self.right_title = QLabel(right_title, self)
        for title in (self.left_title, self.right_title):
            title.setTextFormat(Qt.TextFormat.PlainText)
            font = title.font()
            font.setBold(True)
            title.setFont(font)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.left_title, 0, 0)
        grid.addWidget(self.right_title, 0, 1)
        grid.addWidget(self.left, 1, 0)
        grid.addWidget(self.right, 1, 1)
        grid.setRowStretch(1, 1)
        self._starts: list[int] = []
        self._syncing = False
        for source, target in ((self.left, self.right), (self.right, self.left)):
            source.verticalScrollBar().valueChanged.connect(
                lambda value, t=target: self._sync(t.verticalScrollBar().setValue, value)
            )
            source.horizontalScrollBar().valueChanged.connect(
                lambda value, t=target: self._sync(t.horizontalScrollBar().setValue, value)
            )

    def _sync(self, setter: object, value: int) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            setter(value)  # type: ignore[operator]
        finally:
            self._syncing = False

    def set_diff(self, diff: SideBySide) -> None:
        rows = diff.rows
        kinds = [row.kind for row in rows]
        self.left.set_rows([r.left for r in rows], [r.left_number for r in rows], kinds)
        self.right.set_rows([r.right for r in rows], [r.right_number for r in rows], kinds)
        self._starts = diff.change_starts()

    def change_starts(self) -> list[int]:
        return list(self._starts)

    def go_to_change(self, forward: bool) -> None:
        if not self._starts:
            return
        current = self.left.textCursor().blockNumber()
        if forward:
            target = next((s for s in self._starts if s > current), self._starts[0])
        else:
            target = next((s for s in reversed(self._starts) if s < current), self._starts[-1])
        self.left.scroll_to_row(target)
        self.right.scroll_to_row(target)


class ConflictDialog(QDialog):
    """Shows both versions of a conflicted file and asks which to keep.

    Args:
        title: what the conflict is about, one plain sentence (the conflict's message).
        mine_label / theirs_label: where each version lives (e.g. the conflicted copy's name).
        diff: the aligned rows (ui.diff.side_by_side, computed off the GUI thread).
        can_keep_both: False when keeping both is the same as one of the others (a deletion).

    Attributes:
        choice: KEEP_MINE, KEEP_THEIRS, KEEP_BOTH, or "" when the person decided later.
    """

    def __init__(
        self,
        path: str,
        message: str,
        diff: SideBySide,
        *,
        mine_label: str,
        theirs_label: str,
        explain: dict[str, str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("conflictDialog")
        self.setWindowTitle(f"Conflict: {path}")
        self.choice = ""
        layout = QVBoxLayout(self)
        heading = QLabel(f"{path} was changed in two places", self)
        heading.setTextFormat(Qt.TextFormat.PlainText)
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.2 if font.pointSizeF() > 0 else 12)
        font.setBold(True)
        heading.setFont(font)
        layout.addWidget(heading)
        self.message = QLabel(message, self)
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.message)
        self.view = DiffView(f"Yours — {mine_label}", f"On the server — {theirs_label}", self)
        self.view.set_diff(diff)
        layout.addWidget(self.view, 1)
        changes = diff.changes
        summary = diff.note or f"{changes} change{'s' if changes != 1 else ''}"
        if diff.rows and not diff.note:
            summary += " · Alt+Down / Alt+Up: next / previous change"
        legend = QHBoxLayout()
        self.summary = QLabel(summary, self)
        self.summary.setObjectName("diffSummary")
        legend.addWidget(self.summary, 1)
        dark = _dark(self.palette())
        for kind, text in ((CHANGED, "changed"), (REMOVED, "only in yours"), (ADDED, "only on the server")):
            swatch = QLabel(self)
            colour = row_colour(kind, dark)
            assert colour is not None
            swatch.setFixedSize(14, 14)
            swatch.setStyleSheet(f"background:{colour.name()}; border:1px solid palette(mid);")
            legend.addWidget(swatch)
            legend.addWidget(QLabel(text, self))
        layout.addLayout(legend)

        self.explain = QLabel(self)
        self.explain.setWordWrap(True)
        self.explain.setTextFormat(Qt.TextFormat.RichText)
        self.explain.setText(
            "<br>".join(
                f"<b>{name}</b>: {html.escape(explain[key], quote=False)}"
                for key, name in ((KEEP_MINE, "Keep mine"), (KEEP_THEIRS, "Keep theirs"), (KEEP_BOTH, "Keep both"))
                if key in explain
            )
        )
        layout.addWidget(self.explain)

        buttons = QHBoxLayout()
        self.later_button = QPushButton("Decide &Later", self)
        buttons.addWidget(self.later_button)
        buttons.addStretch(1)
        self.mine_button = QPushButton("Keep &Mine", self)
        self.theirs_button = QPushButton("Keep &Theirs", self)
        self.both_button = QPushButton("Keep &Both", self)
        for key, button in (
            (KEEP_MINE, self.mine_button),
            (KEEP_THEIRS, self.theirs_button),
            (KEEP_BOTH, self.both_button),
        ):
            button.setToolTip(explain.get(key, ""))
            button.setVisible(key in explain)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _checked=False, k=key: self.choose(k))
            buttons.addWidget(button)
        self.later_button.setAutoDefault(False)
        self.later_button.clicked.connect(self.reject)
        layout.addLayout(buttons)
        QShortcut(QKeySequence("Alt+Down"), self, lambda: self.view.go_to_change(True))
        QShortcut(QKeySequence("Alt+Up"), self, lambda: self.view.go_to_change(False))
        self.resize(1100, 680)
        starts = diff.change_starts()
        if starts:
            self.view.left.scroll_to_row(starts[0])
            self.view.right.scroll_to_row(starts[0])
        self.view.left.setFocus()

    def choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()
