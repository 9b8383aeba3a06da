"""The transfers panel: every upload and download with progress, speed, time left, cancel and retry.

`Transfer` records and `TransferModel` are plain data and a plain table model (tested without a
window); progress arrives through ProgressRelay (tasks.py), so the GUI thread sees at most one
update per transfer per event-loop turn.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from projectdesk.core.bandwidth import BandwidthLimits, rate_label
from projectdesk.ui.formatting import duration_text, human_bytes, rate_text
from projectdesk.ui.tasks import assert_gui_thread

if TYPE_CHECKING:
    from PySide6.QtGui import QAction, QPainter

    from projectdesk.core.models import Progress

AnyIndex = QModelIndex | QPersistentModelIndex

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = frozenset({DONE, FAILED, CANCELLED})
# Which way each kind of row moves bytes (for "limited to …"); a restore copies on the server: neither.
_DIRECTIONS = {"Upload": "up", "Import": "up", "Download": "down", "Export": "down", "Work in Folder": "both"}
TRANSFER_ROLE = Qt.ItemDataRole.UserRole + 1
_ids = itertools.count(1)


class RateMeter:
    """Bytes per second over the last few seconds (a sliding window, steadier than one interval)."""

    def __init__(self, window: float = 3.0) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, when: float, bytes_done: int) -> None:
        self._samples.append((when, bytes_done))
        while len(self._samples) > 2 and when - self._samples[0][0] > self._window:
            self._samples.popleft()

    def rate(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


@dataclass(eq=False)
class Transfer:
    """One upload, download or import as the panel shows it."""

    kind: str  # "Upload", "Download", "Import"
    title: str
    detail: str = ""  # e.g. "12 skipped by ignore rules"
    slug: str = ""
    state: str = QUEUED
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    current: str = ""
    started: float = 0.0
    finished: float = 0.0
    error: str = ""  # why it failed, for people
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) per failed file
    cancel: threading.Event = field(default_factory=threading.Event)
    retry: Callable[[], object] | None = None  # set by whoever started it; None: cannot be retried
    id: int = field(default_factory=lambda: next(_ids))
    meter: RateMeter = field(default_factory=RateMeter)

    @property
    def fraction(self) -> float:
        if self.bytes_total:
            return min(1.0, self.bytes_done / self.bytes_total)
        if self.files_total:
            return min(1.0, self.files_done / self.files_total)
        return 1.0 if self.state == DONE else 0.0

    @property
    def rate(self) -> float:
        return self.meter.rate()

    def time_left(self) -> float | None:
        rate = self.rate
        if self.state != RUNNING or rate <= 0:
            return None
        return max(0.0, (self.bytes_total - self.bytes_done) / rate)

    def apply(self, progress: Progress, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self.state == QUEUED:
            self.state = RUNNING
            self.started = self.started or now
        self.files_done, self.files_total = progress.files_done, progress.files_total
        self.bytes_done, self.bytes_total = progress.bytes_done, progress.bytes_total
        self.current = progress.current or self.current
        self.meter.add(now, progress.bytes_done)

    def status_text(self) -> str:
        if self.state == QUEUED:
            return "Waiting…"
        if self.state == RUNNING:
            if self.cancel.is_set():
                return "Cancelling…"
            return f"{self.kind}ing {self.current}".rstrip()  # Uploading, Downloading, Importing
        elapsed = duration_text(self.finished - self.started) if self.finished and self.started else ""
        if self.state == DONE:
            return f"Done in {elapsed}" + (f" — {self.detail}" if self.detail else "") if elapsed else "Done"
        if self.state == CANCELLED:
            return self.error or "Cancelled"
        return f"Failed: {self.error}" if self.error else "Failed"


class TransferModel(QAbstractTableModel):
    """Transfers as rows, newest at the bottom: what, progress, amount, speed, time left, status.

    GUI thread only (checked in debug runs): workers report through a ProgressRelay, never to the model.
    """

    TITLE, PROGRESS, AMOUNT, SPEED, LEFT, STATUS = range(6)
    HEADERS = ("Transfer", "Progress", "Amount", "Speed", "Time left", "Status")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: list[Transfer] = []
        self.bandwidth = BandwidthLimits()  # the limits in force (storage/throttle.py), said on running rows
        self.paused = False

    def set_bandwidth(self, limits: BandwidthLimits, paused: bool) -> None:
        """The process's limits and pause as the rows should say them (GUI thread)."""
        assert_gui_thread("TransferModel")
        if (limits, paused) == (self.bandwidth, self.paused):
            return
        self.bandwidth, self.paused = limits, paused
        if self._items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._items) - 1, len(self.HEADERS) - 1))

    def limit_text(self, transfer: Transfer) -> str:
        """`limited to 2 MiB/s` while a limit applies to this running row's direction, else ""."""
        direction = _DIRECTIONS.get(transfer.kind, "")
        if transfer.state != RUNNING or not direction:
            return ""
        up, down = self.bandwidth.up, self.bandwidth.down
        if direction == "both" and up != down:  # a sync moves both ways
            ways = [f"{rate_label(up)} up"] if up else []
            ways += [f"{rate_label(down)} down"] if down else []
            return "limited to " + ", ".join(ways)
        rate = down if direction == "down" else up
        return f"limited to {rate_label(rate)}" if rate else ""

    def add(self, transfer: Transfer) -> Transfer:
        assert_gui_thread("TransferModel")
        row = len(self._items)
        self.beginInsertRows(QModelIndex(), row, row)
        self._items.append(transfer)
        self.endInsertRows()
        return transfer

    def transfers(self) -> list[Transfer]:
        return list(self._items)

    def active(self) -> list[Transfer]:
        return [t for t in self._items if t.state not in FINISHED]

    def at(self, row: int) -> Transfer | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def row_of(self, transfer: Transfer) -> int:
        return next((i for i, t in enumerate(self._items) if t is transfer), -1)

    def update_progress(self, transfer: Transfer, progress: Progress) -> None:
        if transfer.state in FINISHED:
            return  # a late snapshot after the end
        transfer.apply(progress)
        self.changed(transfer)

    def start(self, transfer: Transfer) -> None:
        transfer.state = RUNNING
        transfer.started = time.monotonic()
        self.changed(transfer)

    def finish(
        self,
        transfer: Transfer,
        state: str,
        *,
        error: str = "",
        failures: list[tuple[str, str]] | None = None,
        detail: str | None = None,
    ) -> None:
        transfer.state = state
        transfer.finished = time.monotonic()
        transfer.started = transfer.started or transfer.finished
        transfer.error = error
        transfer.failures = list(failures or [])
        if detail is not None:
            transfer.detail = detail
        if state == DONE and transfer.files_total:
            transfer.files_done = transfer.files_total
            transfer.bytes_done = transfer.bytes_total
        self.changed(transfer)

    def changed(self, transfer: Transfer) -> None:
        assert_gui_thread("TransferModel")
        row = self.row_of(transfer)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.HEADERS) - 1))

    def clear_finished(self) -> int:
        assert_gui_thread("TransferModel")
        keep = [t for t in self._items if t.state not in FINISHED]
        removed = len(self._items) - len(keep)
        if removed:
            self.beginResetModel()
            self._items = keep
            self.endResetModel()
        return removed

    # ---- QAbstractItemModel ----------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        transfer = self.at(index.row()) if index.isValid() else None
        if transfer is None:
            return None
        column = index.column()
        if role == TRANSFER_ROLE:
            return transfer
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(transfer, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(transfer)
        if role == Qt.ItemDataRole.DecorationRole and column == self.TITLE:
            style = QApplication.style()
            icon = {
                DONE: QStyle.StandardPixmap.SP_DialogApplyButton,
                FAILED: QStyle.StandardPixmap.SP_MessageBoxCritical,
                CANCELLED: QStyle.StandardPixmap.SP_DialogCancelButton,
            }.get(
                transfer.state,
                QStyle.StandardPixmap.SP_ArrowDown if transfer.kind == "Download" else QStyle.StandardPixmap.SP_ArrowUp,
            )
            return style.standardIcon(icon)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (self.AMOUNT, self.SPEED, self.LEFT):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, transfer: Transfer, column: int) -> str:
        if column == self.TITLE:
            return f"{transfer.kind}: {transfer.title}"
        if column == self.PROGRESS:
            return f"{transfer.files_done:,} / {transfer.files_total:,} files"
        if column == self.AMOUNT:
            if not transfer.bytes_total:
                return ""
            if transfer.state == DONE:
                return human_bytes(transfer.bytes_total)
            return f"{human_bytes(transfer.bytes_done)} of {human_bytes(transfer.bytes_total)}"
        held = self.paused and transfer.state == RUNNING  # no bytes move: no speed, no time left
        if column == self.SPEED:
            return rate_text(transfer.rate) if transfer.state == RUNNING and transfer.rate > 0 and not held else ""
        if column == self.LEFT:
            left = None if held else transfer.time_left()
            return duration_text(left) if left is not None else ""
        status = transfer.status_text()
        if transfer.state == RUNNING and self.paused and not transfer.cancel.is_set():
            status = "Paused — " + status
        limit = self.limit_text(transfer)
        return f"{status} — {limit}" if limit else status

    @staticmethod
    def _tooltip(transfer: Transfer) -> str:
        lines = [f"{transfer.kind}: {transfer.title}"]
        if transfer.detail:
            lines.append(transfer.detail)
        if transfer.error:
            lines.append(transfer.error)
        for path, reason in transfer.failures[:15]:
            lines.append(f"• {path}: {reason}")
        if len(transfer.failures) > 15:
            lines.append(f"… and {len(transfer.failures) - 15} more")
        return "\n".join(lines)


class ProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as the platform's progress bar."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        transfer = index.data(TRANSFER_ROLE)
        if index.column() != TransferModel.PROGRESS or not isinstance(transfer, Transfer):
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum = 0
        bar.maximum = 1000
        bar.progress = round(transfer.fraction * 1000)
        bar.text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        bar.textVisible = True
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)


class TransfersPanel(QWidget):
    """The list of transfers with Cancel, Retry and Clear finished.

    Signals:
        retryRequested(object): the user asked to retry a failed or cancelled Transfer.
        detailsRequested(object): the user asked for the failure details of a Transfer.
    """

    retryRequested = Signal(object)
    detailsRequested = Signal(object)

    def __init__(self, model: TransferModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.view = QTreeView(self)
        self.view.setModel(model)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAllColumnsShowFocus(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setItemDelegateForColumn(TransferModel.PROGRESS, ProgressDelegate(self.view))
        header = self.view.header()
        header.setStretchLastSection(True)
        metrics = self.fontMetrics()
        for column, sample in (
            (TransferModel.TITLE, "Upload: portfolio-site → new project portfolio"),
            (TransferModel.PROGRESS, "0,000 / 0,000 files  ....."),
            (TransferModel.AMOUNT, "000.0 MB of 000.0 MB"),
            (TransferModel.SPEED, "000.0 MB/s"),
            (TransferModel.LEFT, "00 min 00 s"),
        ):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 24)
        self.summary = QLabel("No transfers yet. Drop a folder on the project list to upload it.", self)
        # The sentence gives way to the buttons in a narrow window (cut, not wrapped): it must not set the window's
        # narrowest width, which would push the window past a small screen.
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.cancel_button = QPushButton("Cancel", self)
        self.retry_button = QPushButton("Retry", self)
        self.details_button = QPushButton("Details…", self)
        self.clear_button = QPushButton("Clear finished", self)
        self.pause_button = QToolButton(self)  # shows the window's Pause All Transfers action (set_pause_action)
        self.pause_button.setObjectName("pauseTransfers")
        self.pause_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.pause_button.hide()
        self.cancel_button.setToolTip("Stop the selected transfer (files already sent stay whole)")
        self.retry_button.setToolTip("Send again what failed or was cancelled")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(6, 4, 6, 0)
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.pause_button)
        for button in (self.cancel_button, self.retry_button, self.details_button, self.clear_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)
        self.cancel_button.clicked.connect(self._on_cancel)
        self.retry_button.clicked.connect(self._on_retry)
        self.details_button.clicked.connect(self._on_details)
        self.clear_button.clicked.connect(self._on_clear)
        self.view.doubleClicked.connect(lambda _index: self._on_details())
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        model.dataChanged.connect(lambda *_: self._update_buttons())
        model.rowsInserted.connect(self._on_inserted)
        model.modelReset.connect(self._update_buttons)
        self._update_buttons()

    def set_pause_action(self, action: QAction) -> None:
        """Show `action` (Pause All Transfers / Resume Transfers) as the panel's pause button."""
        self.pause_button.setDefaultAction(action)
        self.pause_button.show()

    def selected(self) -> Transfer | None:
        indexes = self.view.selectionModel().selectedRows()
        return self.model.at(indexes[0].row()) if indexes else None

    def select(self, transfer: Transfer) -> None:
        row = self.model.row_of(transfer)
        if row >= 0:
            self.view.setCurrentIndex(self.model.index(row, 0))

    def _on_inserted(self, _parent: QModelIndex, _first: int, last: int) -> None:
        self.view.setCurrentIndex(self.model.index(last, 0))
        self.view.scrollToBottom()
        self._update_buttons()

    def _update_buttons(self) -> None:
        transfer = self.selected()
        self.cancel_button.setEnabled(
            transfer is not None and transfer.state not in FINISHED and not transfer.cancel.is_set()
        )
        self.retry_button.setEnabled(
            transfer is not None and transfer.state in (FAILED, CANCELLED) and transfer.retry is not None
        )
        self.details_button.setEnabled(transfer is not None and bool(transfer.error or transfer.failures))
        self.clear_button.setEnabled(any(t.state in FINISHED for t in self.model.transfers()))
        items = self.model.transfers()
        if items:
            running = sum(1 for t in items if t.state not in FINISHED)
            failed = sum(1 for t in items if t.state == FAILED)
            parts = [f"{running} running" if running else "Nothing running"]
            if failed:
                parts.append(f"{failed} failed")
            self.summary.setText(", ".join(parts))

    def _on_cancel(self) -> None:
        transfer = self.selected()
        if transfer is not None and transfer.state not in FINISHED:
            transfer.cancel.set()
            self.model.changed(transfer)

    def _on_retry(self) -> None:
        transfer = self.selected()
        if transfer is not None and transfer.retry is not None:
            self.retryRequested.emit(transfer)

    def _on_details(self) -> None:
        transfer = self.selected()
        if transfer is not None and (transfer.error or transfer.failures):
            self.detailsRequested.emit(transfer)

    def _on_clear(self) -> None:
        self.model.clear_finished()
        if not self.model.transfers():
            self.summary.setText("No transfers.")
