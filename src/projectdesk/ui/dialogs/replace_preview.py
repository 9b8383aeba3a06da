"""Replace in project, before anything is written: the files with their replacement counts (each checked to be
written), and the side-by-side diff of the selected one (ui/dialogs/conflict.py's DiffView)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from projectdesk.services.replace import plural
from projectdesk.ui.dialogs.conflict import DiffView

if TYPE_CHECKING:
    from projectdesk.ui.diff import SideBySide

PATH = Qt.ItemDataRole.UserRole + 1


class ReplacePreviewDialog(QDialog):
    """The files a replacement changes, checkable, and the diff of the selected one.

    Args:
        files: (path, replacements) of each file that would change.
        skipped: (path, why) of matched files left alone.

    Signals:
        diffWanted(str): the diff of this path is needed (computed off the GUI thread, given to `show_diff`).
    """

    diffWanted = Signal(str)

    def __init__(
        self,
        heading: str,
        files: list[tuple[str, int]],
        skipped: list[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("replacePreview")
        self.setWindowTitle("Replace in Project")
        self._counts = dict(files)
        title = QLabel(heading, self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setWordWrap(True)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        self.list = QListWidget(self)
        self.list.setObjectName("replaceFiles")
        for path, count in files:
            item = QListWidgetItem(f"{path}  ({count})", self.list)
            item.setData(PATH, path)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setToolTip(f"{plural(count, 'replacement')} in {path}")
        self.view = DiffView("Now", "After the replacement", self)
        self.view_note = QLabel(self)
        self.view_note.setTextFormat(Qt.TextFormat.PlainText)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.view, 1)
        right_layout.addWidget(self.view_note)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 800])
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.skipped_note = QLabel(self)
        self.skipped_note.setTextFormat(Qt.TextFormat.PlainText)
        self.skipped_note.setWordWrap(True)
        if skipped:
            names = ", ".join(f"{path} ({why})" for path, why in skipped[:8])
            more = f" and {len(skipped) - 8} more" if len(skipped) > 8 else ""
            self.skipped_note.setText(f"Left alone: {names}{more}.")
        self.skipped_note.setVisible(bool(skipped))
        self.cancel_button = QPushButton("Cancel", self)
        self.replace_button = QPushButton(self)
        self.replace_button.setDefault(True)
        self.cancel_button.clicked.connect(self.reject)
        self.replace_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.replace_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.skipped_note)
        layout.addLayout(buttons)
        self.list.currentItemChanged.connect(self._selected)
        self.list.itemChanged.connect(lambda _item: self._update_summary())
        QShortcut(QKeySequence("Alt+Down"), self, lambda: self.view.go_to_change(True))
        QShortcut(QKeySequence("Alt+Up"), self, lambda: self.view.go_to_change(False))
        self.resize(1100, 640)
        self._update_summary()
        if self.list.count():
            self.list.setCurrentRow(0)

    def chosen(self) -> list[str]:
        """The paths still checked."""
        return [
            str(item.data(PATH))
            for i in range(self.list.count())
            if (item := self.list.item(i)) is not None and item.checkState() == Qt.CheckState.Checked
        ]

    def show_diff(self, path: str, diff: SideBySide) -> None:
        item = self.list.currentItem()
        if item is None or item.data(PATH) != path:
            return
        self.view.set_diff(diff)
        self.view_note.setText(diff.note)
        starts = diff.change_starts()
        if starts:
            self.view.left.scroll_to_row(starts[0])
            self.view.right.scroll_to_row(starts[0])

    def _selected(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None:
            self.view_note.setText("Comparing…")
            self.diffWanted.emit(str(item.data(PATH)))

    def _update_summary(self) -> None:
        chosen = self.chosen()
        count = sum(self._counts.get(path, 0) for path in chosen)
        self.summary.setText(f"{plural(count, 'replacement')} in {plural(len(chosen), 'file')}")
        self.replace_button.setText(f"Replace in {plural(len(chosen), 'File')}")
        self.replace_button.setEnabled(bool(chosen))
