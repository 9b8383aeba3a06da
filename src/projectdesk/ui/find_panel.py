"""The Find in Project panel: what to find (and replace), where, the running count and the results tree. A widget
only: the flow (find_in_project.py) runs the search and fills it."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from projectdesk.ui.find_results import FindResultsModel, ResultDelegate

ERROR_STYLE = "color: #c62828;"
# A tree view lays out every shown row again when rows are added under an expanded file (hundreds of ms at
# 100,000 rows): a file with more results than this is shown collapsed (its row says how many), and once this
# many result lines are shown, new files arrive collapsed too.
EXPAND_FILE_LINES = 500
EXPAND_TOTAL_LINES = 5_000


def split_globs(text: str) -> list[str]:
    """Globs typed in a field: "*.py, src/**" → ["*.py", "src/**"] (commas or spaces between them)."""
    return [part for chunk in text.split(",") for part in chunk.split() if part]


class FindPanel(QWidget):
    """The panel's widgets.

    Signals:
        searchRequested(): Enter in the pattern field or Search.
        cancelRequested(): Cancel.
        replaceRequested(): Replace All….
        resultChosen(QModelIndex, bool): a result clicked (False) or activated with Enter / double-click (True).
    """

    searchRequested = Signal()
    cancelRequested = Signal()
    replaceRequested = Signal()
    resultChosen = Signal(object, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findInProject")
        self.pattern_field = QLineEdit(self)
        self.pattern_field.setPlaceholderText("Find in project")
        self.pattern_field.setClearButtonEnabled(True)
        self.regex_box = QCheckBox("Re&gex", self)
        self.regex_box.setToolTip("The pattern is a regular expression (ripgrep's syntax); off: plain text")
        self.case_box = QCheckBox("Match &case", self)
        self.word_box = QCheckBox("&Whole word", self)
        self.search_button = QPushButton("Search", self)
        self.search_button.setDefault(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.replace_field = QLineEdit(self)
        self.replace_field.setPlaceholderText("Replace with")
        self.replace_field.setToolTip(
            "The replacement text; with Regex, \\1 or \\g<name> puts in a group (Python's syntax)"
        )
        self.replace_button = QPushButton("Replace All…", self)
        self.replace_button.setToolTip("Preview the replacement in every file found, then write the files you choose")
        self.replace_button.setEnabled(False)
        self.include_field = QLineEdit(self)
        self.include_field.setPlaceholderText("Files to include (e.g. *.py, src/**)")
        self.exclude_field = QLineEdit(self)
        self.exclude_field.setPlaceholderText("Files to exclude (the profile's ignore rules apply too)")
        self.cached_box = QCheckBox("Cached files only", self)
        self.cached_box.setToolTip("Search only the copies already in the offline cache (fetch nothing)")
        for field in (self.pattern_field, self.include_field, self.exclude_field):
            field.returnPressed.connect(self.searchRequested)
        self.search_button.clicked.connect(lambda _c=False: self.searchRequested.emit())
        self.cancel_button.clicked.connect(lambda _c=False: self.cancelRequested.emit())
        self.replace_button.clicked.connect(lambda _c=False: self.replaceRequested.emit())
        self.replace_field.returnPressed.connect(self.replaceRequested)

        self.status = QLabel(self)
        self.status.setObjectName("findStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(200)
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.not_searched_link = QLabel(self)
        self.not_searched_link.setTextFormat(Qt.TextFormat.RichText)
        self.not_searched_link.linkActivated.connect(lambda _link: self.toggle_not_searched())
        self.not_searched_link.hide()
        self.not_searched_list = QListWidget(self)
        self.not_searched_list.setObjectName("notSearched")
        self.not_searched_list.setMaximumHeight(90)
        self.not_searched_list.hide()

        self.model = FindResultsModel(self)
        self.view = QTreeView(self)
        self.view.setObjectName("findResults")
        self.view.setModel(self.model)
        self.view.setHeaderHidden(True)
        self.view.setUniformRowHeights(True)
        self.view.setItemDelegate(ResultDelegate(self.view))
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setExpandsOnDoubleClick(False)
        self.view.clicked.connect(lambda index: self._chosen(index, False))
        self.view.activated.connect(lambda index: self._chosen(index, True))
        self._shown_lines = 0  # result lines under expanded files
        self.model.rowsInserted.connect(self._expand_new)
        self.model.modelReset.connect(self._count_shown)
        self.model.rowsRemoved.connect(lambda *_: self._count_shown())

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        grid.addWidget(self.pattern_field, 0, 0)
        find_row = QHBoxLayout()
        for widget in (self.regex_box, self.case_box, self.word_box):
            find_row.addWidget(widget)
        find_row.addStretch(1)
        find_row.addWidget(self.search_button)
        find_row.addWidget(self.cancel_button)
        grid.addLayout(find_row, 0, 1)
        grid.addWidget(self.replace_field, 1, 0)
        replace_row = QHBoxLayout()
        replace_row.addWidget(self.replace_button)
        replace_row.addStretch(1)
        replace_row.addWidget(self.cached_box)
        grid.addLayout(replace_row, 1, 1)
        globs = QHBoxLayout()
        globs.addWidget(self.include_field)
        globs.addWidget(self.exclude_field)
        grid.addLayout(globs, 2, 0, 1, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.not_searched_link)
        status_row.addWidget(self.progress)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(grid)
        layout.addLayout(status_row)
        layout.addWidget(self.not_searched_list)
        layout.addWidget(self.view, 1)
        self.setFocusProxy(self.pattern_field)

    # ---- what the flow sets ------------------------------------------------------------------------

    def set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        self.replace_button.setEnabled(not running and self.model.matches > 0)
        if not running:
            self.progress.hide()

    def say(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if error else "")
        if error:
            palette = self.status.palette()
            self.status.setPalette(palette)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setVisible(total > 0)
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, total))

    def set_not_searched(self, items: list[tuple[str, str]]) -> None:
        self.not_searched_list.clear()
        self.not_searched_list.addItems([f"{path} — {why}" for path, why in items])
        self.not_searched_list.hide()
        if not items:
            self.not_searched_link.hide()
            return
        colour = self.palette().color(QPalette.ColorRole.Link).name()
        self.not_searched_link.setText(f"<a href='show' style='color:{colour}'>show the list</a>")
        self.not_searched_link.show()

    def toggle_not_searched(self) -> None:
        self.not_searched_list.setVisible(not self.not_searched_list.isVisible())

    def focus_pattern(self) -> None:
        self.pattern_field.setFocus()
        self.pattern_field.selectAll()

    def _chosen(self, index: QModelIndex, activated: bool) -> None:
        if self.model.line_at(index) is not None:
            self.resultChosen.emit(index, activated)

    def _expand_new(self, parent: QModelIndex, first: int, last: int) -> None:
        """New files open expanded while few lines are shown; a file that grows past EXPAND_FILE_LINES closes
        (adding rows under a collapsed file costs the view nothing)."""
        if not parent.isValid():
            for row in range(first, last + 1):
                index = self.model.index(row, 0)
                lines = self.model.rowCount(index)
                if self._shown_lines + lines <= EXPAND_TOTAL_LINES and lines <= EXPAND_FILE_LINES:
                    self.view.expand(index)
                    self._shown_lines += lines
        elif self.view.isExpanded(parent):
            lines = self.model.rowCount(parent)
            if lines > EXPAND_FILE_LINES:
                self.view.collapse(parent)
                self._shown_lines -= lines - (last - first + 1)
            else:
                self._shown_lines += last - first + 1

    def _count_shown(self) -> None:
        self._shown_lines = sum(
            self.model.rowCount(index)
            for index in (self.model.index(row, 0) for row in range(self.model.rowCount()))
            if self.view.isExpanded(index)
        )


def make_find_dock(parent: QWidget) -> tuple[QDockWidget, FindPanel]:
    """The panel in a dock at the bottom of the window (closable and movable, as the transfers panel)."""
    panel = FindPanel(parent)
    dock = QDockWidget("Find in Project", parent)
    dock.setObjectName("findDock")
    dock.setWidget(panel)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetMovable)
    return dock, panel
