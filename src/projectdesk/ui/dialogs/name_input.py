"""A one-field dialog for a file path inside a project (new file, rename), checked as you type."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from projectdesk.core.errors import InvalidKey
from projectdesk.core.keys import safe_relative_path


class PathDialog(QDialog):
    """Asks for a path; OK stays disabled while the path is unsafe or `problem(path)` names a problem.

    Attributes:
        field: the path being typed.
        ok_button: the accept button.
        error: the problem shown under the field ('' when none).
    """

    def __init__(
        self,
        title: str,
        prompt: str,
        initial: str,
        *,
        ok_text: str = "OK",
        problem: Callable[[str], str] | None = None,
        select_stem: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("pathDialog")
        self.setWindowTitle(title)
        self._problem = problem
        layout = QVBoxLayout(self)
        label = QLabel(prompt, self)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.field = QLineEdit(initial, self)
        self.field.setMinimumWidth(420)
        label.setBuddy(self.field)
        layout.addWidget(self.field)
        self.error_label = QLabel(self)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok is not None
        self.ok_button = ok
        self.ok_button.setText(ok_text)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.error = ""
        self.field.textChanged.connect(self._check)
        self._check(initial)
        name_start = initial.rfind("/") + 1
        if select_stem:
            dot = initial.rfind(".")
            end = dot if dot > name_start else len(initial)
            self.field.setSelection(name_start, end - name_start)
        else:
            self.field.setCursorPosition(len(initial))

    def path(self) -> str:
        return self.field.text().strip()

    def _check(self, _text: str = "") -> None:
        path = self.path()
        error = ""
        if not path or path.endswith("/"):
            error = "Type a file name." if path else ""
        else:
            try:
                safe_relative_path(path)
            except InvalidKey as exc:
                error = exc.message
            if not error and self._problem is not None:
                error = self._problem(path)
        self.error = error
        self.error_label.setText(error)
        self.ok_button.setEnabled(bool(path) and not path.endswith("/") and not error)
