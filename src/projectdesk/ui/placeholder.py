"""A minimal main window until the full one lands: shows the active profile and how to use the CLI."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import ProfileStore


class PlaceholderWindow(QMainWindow):
    def __init__(self, paths: Paths | None = None) -> None:
        super().__init__()
        paths = paths or Paths.default()
        profile = ProfileStore(paths).get(None)
        self.setWindowTitle("ProjectDesk")
        text = (
            f"<h2>ProjectDesk</h2><p>Profile: <b>{profile.name}</b> ({profile.kind})</p>"
            "<p>The project browser is on its way. Meanwhile, every operation works from the "
            "terminal:<br><code>projectdesk-cli push FOLDER</code>, <code>projectdesk-cli list</code>, "
            "<code>projectdesk-cli pull SLUG DEST</code>.</p>"
        )
        label = QLabel(text)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        self.setCentralWidget(label)
        self.resize(720, 420)
