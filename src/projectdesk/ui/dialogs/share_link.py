"""The share-link dialog: how long the link should work (at most 7 days), said plainly, and the link itself."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from projectdesk.core.errors import ProjectDeskError
from projectdesk.core.shares import MAX_SHARE_SECONDS

if TYPE_CHECKING:
    from projectdesk.services.projects import ShareLink
from projectdesk.ui.dialogs import bold_label
from projectdesk.ui.dialogs.owned import OwnsTasks
from projectdesk.ui.tasks import spawn

EXPIRY_CHOICES = (  # (label, seconds)
    ("1 hour", 3600),
    ("1 day", 86400),
    ("3 days", 3 * 86400),
    ("7 days (the longest S3 allows)", MAX_SHARE_SECONDS),
)
DEFAULT_EXPIRY = 86400

MakeLink = Callable[[int], Awaitable["ShareLink"]]


def until_text(epoch: float, now: float | None = None) -> str:
    """'Tue 3 Dec 14:05' (the year added when it is not this year's)."""
    when = datetime.fromtimestamp(epoch)
    current = datetime.fromtimestamp(time.time() if now is None else now)
    text = f"{when:%a} {when.day} {when:%b %H:%M}"
    return text if when.year == current.year else f"{text} {when.year}"


def share_sentence(path: str, expires_at: float, now: float | None = None) -> str:
    return f"Anyone with this link can download {path} until {until_text(expires_at, now)}."


class ShareLinkDialog(OwnsTasks, QDialog):
    """Makes a presigned link for one file and copies it.

    Args:
        path: the file, as shown to the person.
        make_link: signs a link valid for the given seconds (runs off the GUI thread).
        note: shown under the sentence, e.g. that the latest edit is not uploaded yet.

    Attributes:
        link: the newest ShareLink made (None until the first one is ready).
        copied: the link was copied to the clipboard.
    """

    def __init__(self, path: str, make_link: MakeLink, *, note: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shareLinkDialog")
        self.setWindowTitle(f"Share {path.rsplit('/', 1)[-1]}")
        self._path = path
        self._make_link = make_link
        self._generation = 0
        self.link: ShareLink | None = None
        self.copied = False
        layout = QVBoxLayout(self)
        heading = bold_label(f"Share a download link for {path}", self)
        layout.addWidget(heading)
        form = QFormLayout()
        self.expiry = QComboBox(self)
        for label, seconds in EXPIRY_CHOICES:
            self.expiry.addItem(label, seconds)
        self.expiry.setCurrentIndex(self.expiry.findData(DEFAULT_EXPIRY))
        expiry_label = QLabel("Link &works for:", self)
        expiry_label.setBuddy(self.expiry)
        form.addRow(expiry_label, self.expiry)
        self.url_field = QLineEdit(self)
        self.url_field.setReadOnly(True)
        self.url_field.setPlaceholderText("Signing…")
        self.url_field.setMinimumWidth(520)
        url_label = QLabel("Lin&k:", self)
        url_label.setBuddy(self.url_field)
        form.addRow(url_label, self.url_field)
        layout.addLayout(form)
        self.sentence = QLabel(self)
        self.sentence.setObjectName("shareSentence")
        self.sentence.setWordWrap(True)
        self.sentence.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.sentence)
        self.note = QLabel(note, self)
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setVisible(bool(note))
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(self)
        self.copy_button = QPushButton("&Copy Link", self)
        self.copy_button.setDefault(True)
        self.copy_button.setEnabled(False)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self.copy_and_close)
        layout.addWidget(buttons)
        self.expiry.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh()

    def report_error(self, error: BaseException) -> None:
        message = error.message if isinstance(error, ProjectDeskError) else f"{type(error).__name__}: {error}"
        self.sentence.setText(message)
        self.url_field.clear()
        self.url_field.setPlaceholderText("No link")
        self.copy_button.setEnabled(False)

    def refresh(self) -> None:
        """Sign a new link for the chosen expiry (off the GUI thread)."""
        self._generation += 1
        generation = self._generation
        self.copy_button.setEnabled(False)
        self.url_field.clear()
        self.url_field.setPlaceholderText("Signing…")
        seconds = int(self.expiry.currentData())

        async def sign() -> None:
            link = await self._make_link(seconds)
            if generation != self._generation:
                return
            self.link = link
            self.url_field.setText(link.url)
            self.url_field.setCursorPosition(0)
            self.sentence.setText(share_sentence(self._path, link.expires_at))
            self.copy_button.setEnabled(True)

        self.adopt_task(spawn(sign(), self))

    def copy_and_close(self) -> None:
        if self.link is None:
            return
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(self.link.url)
        self.copied = True
        self.accept()
