"""Dialogs of the window, and a way to await one from a handler without a nested event loop."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QMessageBox, QWidget


async def run_dialog(dialog: QDialog) -> int:
    """Show `dialog` window-modal (`open()`, not `exec()`) and wait for its result on the asyncio loop.

    A nested exec() inside a coroutine would run other tasks re-entrantly; this never does.
    """
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not future.done():
            future.set_result(result)

    dialog.finished.connect(finished)
    dialog.destroyed.connect(lambda *_: finished(QDialog.DialogCode.Rejected.value))
    dialog.open()
    return await future


async def ask(
    parent: QWidget,
    title: str,
    text: str,
    buttons: QMessageBox.StandardButton,
    default: QMessageBox.StandardButton,
    *,
    informative: str = "",
    icon: QMessageBox.Icon = QMessageBox.Icon.Question,
) -> QMessageBox.StandardButton:
    """A message box awaited like run_dialog; returns the button clicked (Escape: the escape button)."""
    box = QMessageBox(icon, title, text, buttons, parent)
    box.setDefaultButton(default)
    if informative:
        box.setInformativeText(informative)
    box.setObjectName("askBox")
    await run_dialog(box)
    clicked = box.clickedButton()
    answer = box.standardButton(clicked) if clicked is not None else QMessageBox.StandardButton.Cancel
    box.deleteLater()
    return answer


def bold_label(text: str, parent: QWidget) -> QLabel:
    """A dialog's heading: plain text (names from the store are never read as markup), in bold."""
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label
