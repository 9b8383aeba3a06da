"""Share Project…: how long the link to the project's zip snapshot should work (before it is made), and the link
said plainly once it is (`ProjectLinkDialog`)."""

from __future__ import annotations

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

from projectdesk.core.shares import ProjectShare, share_sentence
from projectdesk.ui.dialogs import bold_label
from projectdesk.ui.dialogs.share_link import DEFAULT_EXPIRY, EXPIRY_CHOICES

SNAPSHOT_NOTE = (
    "The zip is made now from the files on the server and stored beside the projects; later changes are not in it. "
    "Revoke it in Project ▸ Shared Links… to end the link early."
)


def _plain(text: str, parent: QWidget, name: str = "") -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


class ShareProjectDialog(QDialog):
    """Asks how long the link should work; accepted: `seconds()` is the choice.

    Args:
        name: the project's name; summary: e.g. "13 files, 58.9 KB"; note: e.g. that edits wait to be sent.
    """

    def __init__(self, name: str, summary: str, *, note: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shareProjectDialog")
        self.setWindowTitle(f"Share {name}")
        layout = QVBoxLayout(self)
        self.heading = bold_label(f"Share {name} ({summary}) as a zip, by link", self)
        layout.addWidget(self.heading)
        form = QFormLayout()
        self.expiry = QComboBox(self)
        for label, seconds in EXPIRY_CHOICES:
            self.expiry.addItem(label, seconds)
        self.expiry.setCurrentIndex(self.expiry.findData(DEFAULT_EXPIRY))
        expiry_label = QLabel("Link &works for:", self)
        expiry_label.setBuddy(self.expiry)
        form.addRow(expiry_label, self.expiry)
        layout.addLayout(form)
        layout.addWidget(_plain(SNAPSHOT_NOTE, self))
        self.note = _plain(note, self, "shareNote")
        self.note.setVisible(bool(note))
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(self)
        self.create_button = QPushButton("Create &Link", self)
        self.create_button.setDefault(True)
        buttons.addButton(self.create_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def seconds(self) -> int:
        return int(self.expiry.currentData())


class ProjectLinkDialog(QDialog):
    """The link to a snapshot, the sentence saying what it gives and until when, and Copy Link.

    Attributes:
        copied: the link was copied to the clipboard.
    """

    def __init__(self, share: ProjectShare, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("projectLinkDialog")
        self.setWindowTitle(f"Share {share.name}")
        self.share = share
        self.copied = False
        layout = QVBoxLayout(self)
        layout.addWidget(bold_label(f"{share.name} is shared", self))
        self.url_field = QLineEdit(share.url, self)
        self.url_field.setReadOnly(True)
        self.url_field.setCursorPosition(0)
        self.url_field.setMinimumWidth(560)
        form = QFormLayout()
        url_label = QLabel("Lin&k:", self)
        url_label.setBuddy(self.url_field)
        form.addRow(url_label, self.url_field)
        layout.addLayout(form)
        self.sentence = _plain(share_sentence(share), self, "shareSentence")
        layout.addWidget(self.sentence)
        if share.skipped:
            count = len(share.skipped)
            layout.addWidget(_plain(f"{count} file(s) with names unsafe on a computer were left out of the zip.", self))
        buttons = QDialogButtonBox(self)
        self.copy_button = QPushButton("&Copy Link", self)
        self.copy_button.setDefault(True)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self.copy_and_close)
        layout.addWidget(buttons)

    def copy_and_close(self) -> None:
        QGuiApplication.clipboard().setText(self.share.url)
        self.copied = True
        self.accept()
