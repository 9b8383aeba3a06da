"""How the window's parts speak to the person: the status bar, the banner and errors (the main window
implements it; the parts never reach into the window itself)."""

from __future__ import annotations

from typing import Protocol

from projectdesk.ui.banner import ERROR, INFO, WARNING

__all__ = ["ERROR", "INFO", "WARNING", "Feedback"]


class Feedback(Protocol):
    def report_error(self, error: BaseException) -> None:
        """A failure: the banner (and the status bar)."""

    def notify(self, message: str, *, timeout_ms: int = 6000) -> None:
        """A passing message in the status bar."""

    def warn(self, title: str, message: str) -> None:
        """Something the person should read: the banner, as a warning."""

    def announce(self, title: str, message: str, level: str = INFO, *, timeout_ms: int = 0) -> None:
        """The banner, at `level` (INFO, WARNING, ERROR); `timeout_ms` 0 keeps it until dismissed."""
