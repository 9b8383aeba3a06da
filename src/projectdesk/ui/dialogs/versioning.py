"""The accounts dialog's file-history row: after a connection test, whether the bucket keeps old versions of
files, and — only when it does not — a button that turns bucket versioning on, with what that costs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from projectdesk.config.paths import Paths
    from projectdesk.config.profiles import Profile
    from projectdesk.config.secrets import SecretStore
    from projectdesk.storage.s3client import Credentials

ENABLED, SUSPENDED = "Enabled", "Suspended"
NOTES = {
    ENABLED: "File history: the bucket keeps old versions of files, so history and restore work.",
    SUSPENDED: "File history: versioning is suspended on this bucket, so restores are refused.",
    "": "File history: the bucket keeps no old versions of files (versioning is off).",
}
COST = (
    "Turning it on keeps every version of every file from then on: old versions are kept, and billed, until a "
    "lifecycle rule removes them (for example one that expires old versions after 90 days)."
)


def turn_on_versioning(profile: Profile, paths: Paths, credentials: Credentials | None, secrets: SecretStore) -> str:
    """Blocking: turn versioning on for the profile's bucket (keys typed in the form win); returns the status
    the bucket reports afterwards. Imported here: the store's modules load botocore, which the window defers."""
    from projectdesk.services import history
    from projectdesk.services.connect import open_service

    service = open_service(profile, paths, credentials=credentials, secrets=secrets)
    history.enable_versioning(service)
    return history.versioning_status(service)


class VersioningRow(QWidget):
    """A sentence on file history and, while versioning is off, "Keep File History…" (what it costs beside it).

    Signals:
        enableRequested(): the person asked to turn versioning on.
    """

    enableRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("versioningRow")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel(self)
        self.note.setObjectName("versioningNote")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.note)
        row = QHBoxLayout()
        self.enable_button = QPushButton("Keep File &History (Turn On Bucket Versioning)", self)
        self.enable_button.setAutoDefault(False)
        self.enable_button.setToolTip(COST)
        self.enable_button.clicked.connect(self.enableRequested.emit)
        row.addWidget(self.enable_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.cost = QLabel(COST, self)
        self.cost.setWordWrap(True)
        self.cost.setTextFormat(Qt.TextFormat.PlainText)
        font = self.cost.font()
        font.setPointSizeF(max(font.pointSizeF() * 0.9, 7.0))
        self.cost.setFont(font)
        layout.addWidget(self.cost)
        self.show_status(None)

    def show_status(self, versioning: str | None) -> None:
        """What the bucket said of versioning ("Enabled", "Suspended", ""; None: unknown or not an S3 store)."""
        note = NOTES.get(versioning, "") if versioning is not None else ""
        self.note.setText(note)
        offer = versioning in ("", SUSPENDED)
        self.enable_button.setVisible(offer)
        self.cost.setVisible(offer)
        self.setVisible(bool(note))

    def show_done(self, versioning: str) -> None:
        self.show_status(versioning)
        if versioning == ENABLED:
            self.note.setText(
                "File history is on: the bucket keeps every version of every file from now on; old versions are "
                "kept, and billed, until a lifecycle rule removes them."
            )
