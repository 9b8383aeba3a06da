"""Shared Links…: the project snapshots shared from this store (project, created, expires, files, size), with Copy
Link (a fresh link for the rest of the lifetime), Revoke, and a lifecycle rule that lets the bucket delete expired
snapshots itself. The dialog knows no service: it is given the calls, which run off the GUI thread."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from projectdesk.core.errors import ProjectDeskError
from projectdesk.core.shares import ProjectShare, until_text
from projectdesk.core.sizes import human_bytes
from projectdesk.ui.dialogs.owned import OwnsTasks
from projectdesk.ui.tasks import spawn

LoadShares = Callable[[], Awaitable[list[ProjectShare]]]
MakeLink = Callable[[ProjectShare], Awaitable[ProjectShare]]
Revoke = Callable[[ProjectShare], Awaitable[bool]]  # False: the person changed their mind
AddRule = Callable[[], Awaitable[str]]  # the sentence saying what was done
COLUMNS = ("Project", "Created", "Expires", "Files", "Size")
RULE_TIP = (
    "Add a lifecycle rule to the bucket so the server itself deletes snapshots after 7 days (its other rules stay)"
)


def _when(epoch: float) -> str:
    return f"{datetime.fromtimestamp(epoch):%Y-%m-%d %H:%M}"


class SharedLinksDialog(OwnsTasks, QDialog):
    """Attributes:
    shares: the snapshots listed, in the rows' order.
    status: the line saying what the last action did (or why it failed).
    """

    def __init__(
        self, load: LoadShares, make_link: MakeLink, revoke: Revoke, add_rule: AddRule, *, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sharedLinksDialog")
        self.setWindowTitle("Shared Links")
        self._load, self._make_link, self._revoke, self._add_rule = load, make_link, revoke, add_rule
        self.shares: list[ProjectShare] = []
        self.loaded = False
        layout = QVBoxLayout(self)
        intro = QLabel("Projects shared by link from this store. Anyone holding a link can download that zip until it "
                       "expires or is revoked.", self)  # fmt: skip
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTreeWidget(self)
        self.table.setObjectName("sharedLinksTable")
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        layout.addWidget(self.table)
        self.status = QLabel("Loading…", self)
        self.status.setObjectName("sharesStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        row = QHBoxLayout()
        self.copy_button = QPushButton("&Copy Link", self)
        self.revoke_button = QPushButton("&Revoke…", self)
        self.rule_button = QPushButton("Let the &Bucket Delete Expired Snapshots…", self)
        self.rule_button.setToolTip(RULE_TIP)
        for button in (self.copy_button, self.revoke_button):
            button.setEnabled(False)
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.rule_button)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.copy_button.clicked.connect(lambda: self._run(self.copy_link()))
        self.revoke_button.clicked.connect(lambda: self._run(self.revoke_selected()))
        self.rule_button.clicked.connect(lambda: self._run(self.add_rule()))
        self.resize(760, 360)
        self._run(self.reload())

    # ---- the rows -------------------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        self.adopt_task(spawn(coro, self))

    def report_error(self, error: BaseException) -> None:
        self.status.setText(
            error.message if isinstance(error, ProjectDeskError) else f"{type(error).__name__}: {error}"
        )

    async def reload(self) -> None:
        self.shares = await self._load()
        self.loaded = True
        self.table.clear()
        for share in self.shares:
            item = QTreeWidgetItem(
                [share.name, _when(share.created_at), _when(share.expires_at), f"{share.files_count:,}",
                 human_bytes(share.size)]
            )  # fmt: skip
            item.setToolTip(0, f"{share.slug} — share ID {share.share_id}")
            for column in (3, 4):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.addTopLevelItem(item)
        first = self.table.topLevelItem(0)
        if first is not None:
            self.table.setCurrentItem(first)
        count = len(self.shares)
        self.status.setText(f"{count} shared link{'s' if count != 1 else ''}." if count else "No project is shared.")
        self._selection_changed()

    def selected(self) -> ProjectShare | None:
        item = self.table.currentItem()
        if item is None or not item.isSelected():
            return None
        row = self.table.indexOfTopLevelItem(item)
        return self.shares[row] if 0 <= row < len(self.shares) else None

    def _selection_changed(self) -> None:
        chosen = self.selected() is not None
        self.copy_button.setEnabled(chosen)
        self.revoke_button.setEnabled(chosen)

    # ---- the buttons ----------------------------------------------------------------------------------

    async def copy_link(self) -> None:
        share = self.selected()
        if share is None:
            return
        fresh = await self._make_link(share)
        QGuiApplication.clipboard().setText(fresh.url)
        self.status.setText(f"Copied a link to {share.name}'s zip, valid until {until_text(fresh.expires_at)}.")

    async def revoke_selected(self) -> None:
        share = self.selected()
        if share is None or not await self._revoke(share):
            return
        row = self.shares.index(share)
        self.shares.pop(row)
        self.table.takeTopLevelItem(row)
        self.status.setText(f"Revoked the link to {share.name}'s zip: it no longer works.")
        self._selection_changed()

    async def add_rule(self) -> None:
        self.rule_button.setEnabled(False)
        try:
            self.status.setText(await self._add_rule())
        finally:
            self.rule_button.setEnabled(True)
