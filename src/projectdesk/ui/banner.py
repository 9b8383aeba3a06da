"""A message strip across the top of the window: errors from background work, and notices."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStyle, QToolButton, QWidget

ERROR, WARNING, INFO = "error", "warning", "info"
_COLOURS = {  # (background, text) for light and dark palettes
    ERROR: (("#fde2e1", "#7a0010"), ("#5c1a1a", "#ffd6d6")),
    WARNING: (("#fff4c2", "#3d3200"), ("#5a4a00", "#fff4c2")),
    INFO: (("#e3f0ff", "#0b3a75"), ("#17324f", "#dcecff")),
}


class Banner(QFrame):
    """Shows one message at a time with a close button; notices hide themselves after a while. A message may
    offer one action (a button beside it, e.g. Sign in with AWS SSO…): clicking it hides the banner and runs it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAutoFillBackground(True)
        self.kind = INFO
        self.icon = QLabel(self)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton(self)
        self.action_button.setObjectName("bannerAction")
        self.action_button.hide()
        self.action_button.clicked.connect(self._run_action)
        self._action: Callable[[], object] | None = None
        close = QToolButton(self)
        close.setAutoRaise(True)
        close.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.icon)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_message(
        self,
        title: str,
        message: str,
        kind: str = ERROR,
        *,
        timeout_ms: int = 0,
        action: tuple[str, Callable[[], object]] | None = None,
    ) -> None:
        """Show `message`; `action` (button text, what it runs) offers the way out of it."""
        self.kind = kind
        self._action = action[1] if action is not None else None
        self.action_button.setText(action[0] if action is not None else "")
        self.action_button.setVisible(action is not None)
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        background, text = _COLOURS[kind][1 if dark else 0]
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(background))
        palette.setColor(QPalette.ColorRole.WindowText, QColor(text))
        self.setPalette(palette)
        self.label.setPalette(palette)
        icon = {
            ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical,
            WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
            INFO: QStyle.StandardPixmap.SP_MessageBoxInformation,
        }[kind]
        self.icon.setPixmap(self.style().standardIcon(icon).pixmap(20, 20))
        self.label.setText(f"<b>{_escape(title)}</b> — {_escape(message)}" if title else _escape(message))
        self.show()
        if timeout_ms:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()

    def text(self) -> str:
        return self.label.text()

    def _run_action(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
