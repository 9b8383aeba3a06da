"""File history and point-in-time restore, the widgets: a file's versions (`FileHistoryDialog`), one version
read-only (`VersionDialog`), two versions side by side (`CompareDialog`) and the whole project as of a moment
(`RestoreDialog`: a date-time picker, the project's pushes and saves, the preview). They know nothing of
services: the flow (ui/commands/history.py) fills them and answers their signals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from projectdesk.ui.dialogs import bold_label
from projectdesk.ui.dialogs.conflict import DiffView
from projectdesk.ui.formatting import human_bytes, long_date, relative_time

if TYPE_CHECKING:
    from projectdesk.core.models import FileVersion
    from projectdesk.services.history import Moment, RestorePlan
    from projectdesk.ui.diff import SideBySide

VERSION_ROLE = Qt.ItemDataRole.UserRole + 1
STEP_ROLE = Qt.ItemDataRole.UserRole + 2
MOMENT_ROLE = Qt.ItemDataRole.UserRole + 3
COST_SENTENCE = "Old versions are kept, and billed, until a lifecycle rule removes them."


def when_text(epoch: float) -> str:
    """'5 min ago · 2026-12-06 14:02:13'."""
    return f"{relative_time(epoch)} · {long_date(epoch)}"


def _sentence(parent: QWidget, name: str) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class FileHistoryDialog(QDialog):
    """A file's versions, newest first: when, size, who wrote it (on request), current / deleted.

    Signals (the flow does the work; the dialog stays open):
        openRequested(object): show a FileVersion read-only.
        compareRequested(object, object): older FileVersion, newer FileVersion or None (the current file).
        compareEditRequested(object): a FileVersion against the open page's unsaved text.
        restoreRequested(object): make a FileVersion current again.
        writersRequested(): fill the "Who wrote it" column.
    """

    openRequested = Signal(object)
    compareRequested = Signal(object, object)
    compareEditRequested = Signal(object)
    restoreRequested = Signal(object)
    writersRequested = Signal()

    WHEN, SIZE, WRITER, NOTE = range(4)

    def __init__(self, path: str, project: str, *, has_edit: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fileHistoryDialog")
        self.setWindowTitle(f"History of {path}")
        self.path = path
        self.has_edit = has_edit
        self.versions: list[FileVersion] = []
        self._items: list[QTreeWidgetItem] = []
        layout = QVBoxLayout(self)
        layout.addWidget(bold_label(f"{path} — {project}", self))
        self.summary = _sentence(self, "historySummary")
        self.summary.setText("Reading the file's versions…")
        layout.addWidget(self.summary)
        self.table = QTreeWidget(self)
        self.table.setObjectName("historyTable")
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setAllColumnsShowFocus(True)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setHeaderLabels(["When", "Size", "Who wrote it", ""])
        header = self.table.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(self.WHEN, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(self.SIZE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(self.WRITER, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table, 1)
        self.message = _sentence(self, "historyMessage")
        self.message.hide()
        layout.addWidget(self.message)

        row = QHBoxLayout()
        self.open_button = QPushButton("&Open", self)
        self.compare_button = QPushButton("Compare with &Current", self)
        self.compare_two_button = QPushButton("Compare &Two Selected", self)
        self.compare_edit_button = QPushButton("Compare with Your &Edit", self)
        self.compare_edit_button.setToolTip("Compare the version with the text in the editor, unsaved edits included")
        self.restore_button = QPushButton("&Restore…", self)
        self.restore_button.setToolTip("Make this version the current one (a new version: it can be undone)")
        self.writers_button = QPushButton("&Who Wrote It?", self)
        self.writers_button.setToolTip("Ask the store who wrote each version (one request per version)")
        for button in (self.open_button, self.compare_button, self.compare_two_button, self.compare_edit_button,
                       self.restore_button, self.writers_button):  # fmt: skip
            button.setAutoDefault(False)
            row.addWidget(button)
        row.addStretch(1)
        self.close_button = QPushButton("Close", self)
        self.close_button.setAutoDefault(False)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        self.compare_edit_button.setVisible(has_edit)

        self.open_button.clicked.connect(lambda: self._emit_one(self.openRequested.emit))
        self.compare_button.clicked.connect(lambda: self._emit_one(lambda v: self.compareRequested.emit(v, None)))
        self.compare_two_button.clicked.connect(self._compare_two)
        self.compare_edit_button.clicked.connect(lambda: self._emit_one(self.compareEditRequested.emit))
        self.restore_button.clicked.connect(lambda: self._emit_one(self.restoreRequested.emit))
        self.writers_button.clicked.connect(self.writersRequested.emit)
        self.close_button.clicked.connect(self.accept)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda *_: self._emit_one(self.openRequested.emit))
        self._update_buttons()
        self.resize(800, 400)

    # ---- data in ------------------------------------------------------------------------------------

    def set_versions(self, versions: Sequence[FileVersion]) -> None:
        """Show the versions (newest first, as `file_history` gives them); the newest is selected."""
        self.versions = list(versions)
        self.table.clear()
        self._items = []
        dim = self.palette().color(self.palette().ColorGroup.Disabled, self.palette().ColorRole.Text)
        for version in self.versions:
            item = QTreeWidgetItem(self.table)
            self._items.append(item)
            item.setData(0, VERSION_ROLE, version)
            item.setText(self.WHEN, when_text(version.last_modified))
            item.setToolTip(self.WHEN, f"Version {version.version_id}")
            item.setTextAlignment(self.SIZE, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            notes = []
            if version.is_delete_marker:
                notes.append("deleted")
                for column in range(self.table.columnCount()):
                    item.setForeground(column, dim)
            else:
                item.setText(self.SIZE, human_bytes(version.size))
            if version.is_latest:
                notes.append("current")
                font = item.font(self.WHEN)
                font.setBold(True)
                for column in range(self.table.columnCount()):
                    item.setFont(column, font)
            item.setText(self.NOTE, ", ".join(notes))
        count = sum(1 for v in self.versions if not v.is_delete_marker)
        deletions = len(self.versions) - count
        text = f"{count} version{'s' if count != 1 else ''}"
        if deletions:
            text += f" and {deletions} deletion{'s' if deletions != 1 else ''}"
        latest = self.versions[0] if self.versions else None
        if latest is not None and latest.is_delete_marker:
            text += "; the file is deleted now: restore a version to bring it back"
        self.summary.setText(text + ", newest first.")
        if self._items:
            self.table.setCurrentItem(self._items[0])
        self._update_buttons()

    def set_writers(self, writers: dict[str, str]) -> None:
        """Fill "Who wrote it" (version id -> "projectdesk" or "" for another tool)."""
        for item in self._items:
            version: FileVersion = item.data(0, VERSION_ROLE)
            if version.is_delete_marker:
                continue
            writer = writers.get(version.version_id)
            if writer is not None:
                item.setText(self.WRITER, "ProjectDesk" if writer == "projectdesk" else "another tool")
        self.writers_button.setEnabled(False)

    def show_message(self, text: str) -> None:
        """A sentence under the list (an error, or what was done)."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # ---- selection ----------------------------------------------------------------------------------

    def selected_versions(self) -> list[FileVersion]:
        """The selected versions, newest first."""
        chosen = {id(item) for item in self.table.selectedItems()}
        return [item.data(0, VERSION_ROLE) for item in self._items if id(item) in chosen]

    def select(self, *rows: int) -> None:
        """Select these rows (0 is the newest)."""
        self.table.clearSelection()
        for number, row in enumerate(rows):
            item = self._items[row]
            if number == 0:
                self.table.setCurrentItem(item)
            item.setSelected(True)

    def _emit_one(self, emit: object) -> None:
        chosen = [v for v in self.selected_versions() if not v.is_delete_marker]
        if len(chosen) == 1:
            emit(chosen[0])  # type: ignore[operator]

    def _compare_two(self) -> None:
        chosen = [v for v in self.selected_versions() if not v.is_delete_marker]
        if len(chosen) == 2:
            newer, older = chosen
            self.compareRequested.emit(older, newer)

    def _update_buttons(self) -> None:
        chosen = self.selected_versions()
        one = len(chosen) == 1 and not chosen[0].is_delete_marker
        self.open_button.setEnabled(one)
        self.compare_button.setEnabled(one and not chosen[0].is_latest and not self._deleted_now())
        self.compare_edit_button.setEnabled(one)
        self.restore_button.setEnabled(one and not chosen[0].is_latest)
        self.compare_two_button.setEnabled(len(chosen) == 2 and not any(v.is_delete_marker for v in chosen))

    def _deleted_now(self) -> bool:
        return bool(self.versions) and self.versions[0].is_delete_marker


class VersionDialog(QDialog):
    """One version of a file, read-only (text; else what it is)."""

    def __init__(self, path: str, version: FileVersion, text: str | None, size: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("versionDialog")
        self.setWindowTitle(f"{path} as of {long_date(version.last_modified)}")
        layout = QVBoxLayout(self)
        layout.addWidget(bold_label(f"{path} — {when_text(version.last_modified)} (read-only)", self))
        self.view = QPlainTextEdit(self)
        self.view.setObjectName("versionText")
        self.view.setReadOnly(True)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setPlainText(text if text is not None else f"Binary data, {size:,} bytes: not shown as text.")
        layout.addWidget(self.view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(820, 560)


class CompareDialog(QDialog):
    """Two versions side by side (older left, newer right), changed lines highlighted, scrolling together."""

    def __init__(self, title: str, left: str, right: str, diff: SideBySide, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareDialog")
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        self.view = DiffView(left, right, self)
        self.view.set_diff(diff)
        layout.addWidget(self.view, 1)
        changes = diff.changes
        self.summary = QLabel(diff.note or f"{changes} change{'s' if changes != 1 else ''}", self)
        self.summary.setObjectName("diffSummary")
        layout.addWidget(self.summary)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(1100, 640)
        starts = diff.change_starts()
        if starts:
            self.view.left.scroll_to_row(starts[0])
            self.view.right.scroll_to_row(starts[0])


class RestoreDialog(QDialog):
    """The project as of a moment: pick a date and time (or one of its pushes and saves), preview, restore.

    Signals:
        previewRequested(float): compare the project as of this moment (epoch seconds) with now.
        stepChosen(object): a RestoreStep clicked in the preview (show its diff).

    Attributes:
        plan: the previewed RestorePlan (None until a preview arrives; cleared when the moment changes).
    """

    previewRequested = Signal(float)
    stepChosen = Signal(object)

    def __init__(self, project: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("restoreDialog")
        self.setWindowTitle(f"Restore {project} to an earlier moment")
        self.plan: RestorePlan | None = None
        self._groups: list[QTreeWidgetItem] = []
        layout = QVBoxLayout(self)
        intro = _sentence(self, "restoreIntro")
        intro.setText(
            f"Bring every file of {project} back as it was at a moment: files changed since get their version of "
            "then, files added since are deleted, files deleted since come back. Nothing is lost: the restore "
            "itself can be undone."
        )
        layout.addWidget(intro)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("&As of:", self))
        self.when = QDateTimeEdit(self)
        self.when.setObjectName("restoreWhen")
        self.when.setCalendarPopup(True)
        self.when.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.when.setDateTime(QDateTime.currentDateTime())
        pick.itemAt(0).widget().setBuddy(self.when)  # type: ignore[union-attr]
        pick.addWidget(self.when)
        self.preview_button = QPushButton("&Preview", self)
        self.preview_button.setAutoDefault(False)
        pick.addWidget(self.preview_button)
        pick.addStretch(1)
        layout.addLayout(pick)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        left = QWidget(splitter)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(bold_label("Pushes and saves", left))
        self.moments = QListWidget(left)
        self.moments.setObjectName("restoreMoments")
        left_layout.addWidget(self.moments, 1)
        right = QWidget(splitter)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(bold_label("What a restore would change", right))
        self.preview = QTreeWidget(right)
        self.preview.setObjectName("restorePreview")
        self.preview.setHeaderLabels(["File", "Restore does"])
        self.preview.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.preview.header().setStretchLastSection(False)
        self.preview.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        right_layout.addWidget(self.preview, 1)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)
        self.summary = _sentence(self, "restoreSummary")
        self.summary.setText("Choose a moment, then Preview. Click a file of the preview to see what changes.")
        layout.addWidget(self.summary)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.restore_button = buttons.addButton("&Restore", QDialogButtonBox.ButtonRole.AcceptRole)
        assert self.restore_button is not None
        self.restore_button.setEnabled(False)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.preview_button.clicked.connect(lambda: self.previewRequested.emit(self.moment()))
        self.moments.currentItemChanged.connect(self._moment_picked)
        self.moments.itemDoubleClicked.connect(lambda *_: self.previewRequested.emit(self.moment()))
        self.when.dateTimeChanged.connect(lambda _value: self._clear_plan())
        self.preview.itemActivated.connect(self._step_clicked)
        self.preview.itemClicked.connect(self._step_clicked)
        self.resize(920, 540)
        self.moments.setFocus()

    def moment(self) -> float:
        """The moment chosen, in epoch seconds: the push or save picked in the list (exact), else the end of the
        picker's second (versions stamped within it count)."""
        from projectdesk.services.history import Moment

        seconds = self.when.dateTime().toSecsSinceEpoch()
        item = self.moments.currentItem()
        picked = item.data(MOMENT_ROLE) if item is not None else None
        if isinstance(picked, Moment) and int(picked.at) == seconds:
            return picked.at
        return seconds + 0.999

    def set_moment(self, epoch: float) -> None:
        self.when.setDateTime(QDateTime.fromSecsSinceEpoch(int(epoch)))

    def set_moments(self, moments: Sequence[Moment]) -> None:
        """The project's pushes and saves, newest first; picking one sets the date and time."""
        self.moments.clear()
        for moment in moments:
            text = when_text(moment.at) + ("  (now)" if moment.is_latest else "")
            item = QListWidgetItem(text, self.moments)
            item.setData(MOMENT_ROLE, moment)
        if not moments:
            self.moments.addItem("No pushes or saves recorded yet.")

    def _moment_picked(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        from projectdesk.services.history import Moment

        moment = item.data(MOMENT_ROLE) if item is not None else None
        if isinstance(moment, Moment):
            self.set_moment(moment.at)

    def _clear_plan(self) -> None:
        self.plan = None
        self.preview.clear()
        self._groups = []
        self.restore_button.setEnabled(False)
        self.summary.setText("Preview shows what a restore to this moment would change.")

    def show_busy(self, text: str) -> None:
        self.summary.setText(text)
        self.preview_button.setEnabled(False)

    def show_error(self, text: str) -> None:
        self.summary.setText(text)
        self.preview_button.setEnabled(True)

    def set_plan(self, plan: RestorePlan) -> None:
        """Show what a restore as of `plan.at` would do, grouped; Restore is enabled when it would do anything."""
        self.plan = plan
        self.preview_button.setEnabled(True)
        self.preview.clear()
        self._groups = []
        groups = (
            ("Changed since — restored", plan.changed, "restore the version of then"),
            ("Added since — deleted", plan.added, "delete"),
            ("Deleted since — restored", plan.deleted, "bring back"),
        )
        for title, steps, does in groups:
            if not steps:
                continue
            group = QTreeWidgetItem(self.preview, [f"{title} ({len(steps)})", ""])
            self._groups.append(group)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            for step in steps:
                item = QTreeWidgetItem(group, [step.path, does])
                item.setData(0, STEP_ROLE, step)
                item.setToolTip(0, f"{step.path}: click to compare the version of then with the current one")
            group.setExpanded(True)
        at = datetime.fromtimestamp(int(plan.at)).strftime("%Y-%m-%d %H:%M:%S")
        if plan.is_empty:
            text = f"As of {at} the project was as it is now: nothing to restore ({len(plan.unchanged)} unchanged)."
        else:
            text = f"As of {at}: {plan.summary()}."
        if plan.skipped:
            text += f" {len(plan.skipped)} file(s) with unsafe names are left as they are."
        self.summary.setText(text)
        self.restore_button.setEnabled(not plan.is_empty)

    def steps_shown(self) -> dict[str, list[str]]:
        """The preview's paths by kind ("changed", "added", "deleted"): what a person reads."""
        found: dict[str, list[str]] = {"changed": [], "added": [], "deleted": []}
        kinds = {"Changed": "changed", "Added": "added", "Deleted": "deleted"}
        for group in self._groups:
            kind = kinds[group.text(0).split(" ", 1)[0]]
            found[kind] = [step.text(0) for step in (group.child(i) for i in range(group.childCount())) if step]
        return found

    def _step_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        from projectdesk.services.history import RestoreStep

        step = item.data(0, STEP_ROLE)
        if isinstance(step, RestoreStep):
            self.stepChosen.emit(step)
