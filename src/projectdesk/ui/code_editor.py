"""The code editor widget: a plain-text editor with line numbers and the current line marked, and the
find bar under it (find next/previous, match case)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QShortcut,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QStyle,
    QTextEdit,
    QToolButton,
    QWidget,
)


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


class _LineNumbers(QWidget):
    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self._editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self._editor.line_number_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._editor.paint_line_numbers(self, event)


class CodeEditor(QPlainTextEdit):
    """A plain-text editor with line numbers, a current-line highlight, auto-indent and spaces for Tab."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._numbers = _LineNumbers(self)
        self._margin = -1
        self._search_selections: list[QTextEdit.ExtraSelection] = []
        self.indent = "    "
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.setFont(font)
        self._digit_width = self.fontMetrics().horizontalAdvance("9")
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 4)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.blockCountChanged.connect(self._update_margin)
        self.updateRequest.connect(self._on_update_request)
        self.cursorPositionChanged.connect(self._update_selections)
        self._update_margin()
        self._update_selections()

    # ---- line numbers ---------------------------------------------------------------------------

    def line_number_width(self) -> int:
        digits = max(3, len(str(max(1, self.blockCount()))))
        return 14 + self._digit_width * digits

    def _update_margin(self) -> None:
        width = self.line_number_width()
        if width != self._margin:  # setViewportMargins relays out the viewport even when nothing changed
            self._margin = width
            self.setViewportMargins(width, 0, 0, 0)
            rect = self.contentsRect()
            self._numbers.setGeometry(QRect(rect.left(), rect.top(), width, rect.height()))

    def _on_update_request(self, rect: QRect, dy: int) -> None:
        if dy:
            self._numbers.scroll(0, dy)
        else:
            self._numbers.update(0, rect.y(), self._numbers.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._update_margin()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        rect = self.contentsRect()
        self._numbers.setGeometry(QRect(rect.left(), rect.top(), self.line_number_width(), rect.height()))

    def paint_line_numbers(self, area: QWidget, event: QPaintEvent) -> None:
        painter = QPainter(area)
        palette = self.palette()
        painter.fillRect(event.rect(), palette.color(QPalette.ColorRole.Window))
        current = self.textCursor().blockNumber()
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        bottom = top + round(self.blockBoundingRect(block).height())
        height = self.fontMetrics().height()
        width = area.width() - 6
        dim = palette.color(QPalette.ColorRole.PlaceholderText)
        bright = palette.color(QPalette.ColorRole.Text)
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                painter.setPen(bright if number == current else dim)
                painter.drawText(0, top, width, height, int(Qt.AlignmentFlag.AlignRight), str(number + 1))
            block = block.next()
            top = bottom
            bottom = top + round(self.blockBoundingRect(block).height())
            number += 1
        painter.end()

    # ---- selections -----------------------------------------------------------------------------

    def set_search_selections(self, selections: list[QTextEdit.ExtraSelection]) -> None:
        self._search_selections = selections
        self._update_selections()

    def _update_selections(self) -> None:
        selections: list[QTextEdit.ExtraSelection] = []
        if not self.isReadOnly() or self.document().blockCount() > 1:
            line = QTextEdit.ExtraSelection()
            color = QColor(self.palette().color(QPalette.ColorRole.Highlight))
            color.setAlpha(28)
            line.format.setBackground(color)
            line.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            cursor = self.textCursor()
            cursor.clearSelection()
            line.cursor = cursor
            selections.append(line)
        self.setExtraSelections(selections + self._search_selections)
        self._numbers.update()

    # ---- typing ---------------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.isReadOnly():
            super().keyPressEvent(event)
            return
        key = event.key()
        if key == Qt.Key.Key_Tab and not event.modifiers() and not self.textCursor().hasSelection():
            self.insertPlainText(self.indent)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            line = self.textCursor().block().text()
            leading = line[: len(line) - len(line.lstrip(" \t"))]
            super().keyPressEvent(event)
            if leading:
                self.insertPlainText(leading)
            return
        super().keyPressEvent(event)


class FindBar(QWidget):
    """Find in the current editor: Enter finds the next match, Shift+Enter the previous, Escape closes.

    Signals:
        closed(): the bar was closed (focus goes back to the editor).
    """

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._editor: CodeEditor | None = None
        self.field = QLineEdit(self)
        self.field.setPlaceholderText("Find")
        self.field.setClearButtonEnabled(True)
        self.case = QCheckBox("Match case", self)
        self.status = QLabel(self)
        style = self.style()
        self._previous = self._button(
            style.standardIcon(QStyle.StandardPixmap.SP_ArrowUp), "Previous match (Shift+Enter)"
        )
        self._next = self._button(style.standardIcon(QStyle.StandardPixmap.SP_ArrowDown), "Next match (Enter)")
        close = self._button(style.standardIcon(QStyle.StandardPixmap.SP_DialogCloseButton), "Close (Escape)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.addWidget(self.field, 1)
        layout.addWidget(self._previous)
        layout.addWidget(self._next)
        layout.addWidget(self.case)
        layout.addWidget(self.status)
        layout.addWidget(close)
        self.field.textEdited.connect(lambda _text: self.find_text(forward=True, incremental=True))
        self.field.returnPressed.connect(lambda: self.find_text(forward=True))
        self.case.toggled.connect(lambda _on: self.find_text(forward=True, incremental=True))
        self._previous.clicked.connect(lambda: self.find_text(forward=False))
        self._next.clicked.connect(lambda: self.find_text(forward=True))
        close.clicked.connect(self.close_bar)
        QShortcut(
            QKeySequence(Qt.Key.Key_Escape), self, self.close_bar, context=Qt.ShortcutContext.WidgetWithChildrenShortcut
        )
        QShortcut(
            QKeySequence("Shift+Return"),
            self.field,
            lambda: self.find_text(forward=False),
            context=Qt.ShortcutContext.WidgetShortcut,
        )
        self.hide()

    def _button(self, icon: object, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(icon)  # type: ignore[arg-type]
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    def open_for(self, editor: CodeEditor | None) -> None:
        self._editor = editor
        if editor is not None:
            selected = editor.textCursor().selectedText()
            if selected and "\u2029" not in selected:
                self.field.setText(selected)
        self.status.clear()
        self.show()
        self.field.setFocus()
        self.field.selectAll()

    def close_bar(self) -> None:
        self.hide()
        if self._editor is not None:
            self._editor.set_search_selections([])
            self._editor.setFocus()
        self.closed.emit()

    def find_text(self, *, forward: bool, incremental: bool = False) -> bool:
        """Select the next (or previous) match; wraps around the document. Returns whether one was found."""
        editor = self._editor
        text = self.field.text()
        if editor is None or not text:
            self.status.clear()
            return False
        flags = QTextDocument.FindFlag(0)
        if self.case.isChecked():
            flags |= QTextDocument.FindFlag.FindCaseSensitively
        if not forward:
            flags |= QTextDocument.FindFlag.FindBackward
        document = editor.document()
        cursor = editor.textCursor()
        if incremental:
            cursor.setPosition(cursor.selectionStart())
        found = document.find(text, cursor, flags)
        if found.isNull():  # wrap around
            start = QTextCursor(document)
            if not forward:
                start.movePosition(QTextCursor.MoveOperation.End)
            found = document.find(text, start, flags)
        if found.isNull():
            self.status.setText("No results")
            editor.set_search_selections([])
            return False
        self.status.setText("")
        editor.setTextCursor(found)
        editor.centerCursor()
        selection = QTextEdit.ExtraSelection()
        color = QColor("#ffd54f")
        color.setAlpha(140)
        selection.format.setBackground(color)
        selection.cursor = found
        editor.set_search_selections([selection])
        return True
