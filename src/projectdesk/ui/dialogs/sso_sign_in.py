"""The AWS SSO sign-in dialog: the code to confirm, the page to confirm it on (Open Browser, Copy Code), and
what the sign-in is waiting for. `SignInCommands` (ui/commands/sign_in.py) runs the sign-in and fills it;
closing it (Cancel) sets `cancel`, which ends the background wait within a moment."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from projectdesk.ui.dialogs import bold_label
from projectdesk.ui.dialogs.owned import OwnsTasks


class SsoSignInDialog(OwnsTasks, QDialog):
    """Args:
        aws_profile, start_url: what is being signed in to (shown).
        open_url: opens a page in the browser (the command's; tests record it).

    Attributes:
        cancel: set when the dialog is closed before the sign-in finished.
        url: the page to open ("" until the sign-in has started).
        user_code: the code the page must show ("" until then).
    """

    def __init__(
        self, aws_profile: str, start_url: str, *, open_url: Callable[[str], object], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ssoSignInDialog")
        self.setWindowTitle("Sign in with AWS SSO")
        self.cancel = threading.Event()
        self.url = ""
        self.user_code = ""
        self._open_url = open_url
        layout = QVBoxLayout(self)
        heading = bold_label(f"Sign in to AWS profile '{aws_profile}'", self)
        layout.addWidget(heading)
        intro = QLabel(
            f"Your browser opens the sign-in page of {start_url}. Check that it shows this code, then choose "
            "Allow. ProjectDesk waits here and opens the store once you have.",
            self,
        )
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.code_label = QLabel("…", self)
        self.code_label.setObjectName("ssoUserCode")
        self.code_label.setTextFormat(Qt.TextFormat.PlainText)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        code_font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        code_font.setPointSizeF(code_font.pointSizeF() * 2.2)
        code_font.setBold(True)
        self.code_label.setFont(code_font)
        layout.addWidget(self.code_label)
        self.url_field = QLineEdit(self)
        self.url_field.setReadOnly(True)
        self.url_field.setPlaceholderText("Asking AWS for a sign-in code…")
        self.url_field.setMinimumWidth(480)
        layout.addWidget(self.url_field)
        self.status = QLabel("Asking AWS for a sign-in code…", self)
        self.status.setObjectName("ssoStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(self)
        self.open_button = QPushButton("&Open Browser", self)
        self.copy_button = QPushButton("&Copy Code", self)
        for button in (self.open_button, self.copy_button):
            button.setEnabled(False)
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        self.open_button.clicked.connect(self.open_page)
        self.copy_button.clicked.connect(self.copy_code)
        layout.addWidget(buttons)

    def show_code(self, user_code: str, url: str) -> None:
        self.user_code, self.url = user_code, url
        self.code_label.setText(user_code)
        self.url_field.setText(url)
        self.url_field.setCursorPosition(0)
        self.status.setText("Waiting for you to approve the code in the browser…")
        self.open_button.setEnabled(True)
        self.copy_button.setEnabled(True)
        self.open_button.setDefault(True)

    def show_error(self, message: str) -> None:
        """The sign-in failed: the sentence, and the dialog left to be closed."""
        self.status.setText(message)
        self.open_button.setEnabled(False)
        self.close_button.setText("Close")

    def open_page(self) -> None:
        if self.url:
            self._open_url(self.url)

    def copy_code(self) -> None:
        if self.user_code:
            QGuiApplication.clipboard().setText(self.user_code)
            self.status.setText(f"Copied {self.user_code}. Waiting for you to approve it in the browser…")

    def done(self, result: int) -> None:
        self.cancel.set()
        super().done(result)
