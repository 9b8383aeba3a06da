"""What every group of commands shares: the parts of the window it may use, and how an action is made."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMessageBox, QStyle, QWidget

from projectdesk.core.errors import ProjectDeskError
from projectdesk.ui.dialogs import run_dialog
from projectdesk.ui.tasks import ProgressRelay
from projectdesk.ui.transfers import CANCELLED, FAILED, Transfer, TransferModel

if TYPE_CHECKING:
    from projectdesk.ui.browser import ProjectBrowser
    from projectdesk.ui.editing import EditorFlow
    from projectdesk.ui.feedback import Feedback
    from projectdesk.ui.offline_status import OfflineMonitor
    from projectdesk.ui.session import Session
    from projectdesk.ui.working_folders import WorkingFolders

T = TypeVar("T")


@dataclass(frozen=True)
class CommandContext:
    """The window's parts a command may use (never the window itself)."""

    session: Session
    browser: ProjectBrowser
    editing: EditorFlow
    monitor: OfflineMonitor
    transfer_model: TransferModel
    transfers_dock: QDockWidget
    feedback: Feedback
    parent: QWidget  # dialogs' parent
    folders: WorkingFolders


class CommandGroup(QObject):
    """A menu's worth of commands: its actions, their handlers, and when each is enabled (`update`)."""

    def __init__(self, context: CommandContext) -> None:
        super().__init__(context.parent)
        self.context = context
        self.session = context.session
        self.browser = context.browser
        self.feedback = context.feedback

    # the error sink and task keeper `handler` looks for
    def report_error(self, error: BaseException) -> None:
        self.feedback.report_error(error)

    def adopt_task(self, task: asyncio.Task[None]) -> None:
        self.session.adopt_task(task)

    def update(self) -> None:
        """Enable what makes sense now."""

    def action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: str | QKeySequence.StandardKey | None = None,
        *,
        tip: str = "",
        icon: QStyle.StandardPixmap | None = None,
        widget: QWidget | None = None,
    ) -> QAction:
        """An action; with `widget`, its shortcut works only while that widget has the focus."""
        action = QAction(text, self.context.parent)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon is not None:
            action.setIcon(self.context.parent.style().standardIcon(icon))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        if widget is not None:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            widget.addAction(action)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def toggle(self, text: str, slot: Callable[[bool], object], *, tip: str = "") -> QAction:
        """A checkable action; `set_checked` changes it without calling `slot`."""
        action = QAction(text, self.context.parent)
        action.setCheckable(True)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda checked: slot(bool(checked)))  # the person's clicks only
        return action

    @staticmethod
    def set_checked(action: QAction, checked: bool) -> None:
        if action.isChecked() != checked:
            action.setChecked(checked)

    async def confirm(self, title: str, text: str, informative: str, action_text: str) -> bool:
        """`confirm` over the window."""
        return await confirm(self.context.parent, title, text, informative, action_text)

    async def run_transfer(self, transfer: Transfer, call: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """`call(*args, progress=, cancel=)` as a new row of the transfers panel, in the transfer pool. Returns
        its result for the caller to finish the row with; None when the person cancelled it (the row says so);
        a failure is written on the row and raised."""
        model = self.context.transfer_model
        model.add(transfer)
        self.context.transfers_dock.show()
        relay = ProgressRelay(self)
        relay.progressed.connect(lambda progress: model.update_progress(transfer, progress))
        model.start(transfer)
        try:
            return await self.session.tasks.transfer(call, *args, progress=relay, cancel=transfer.cancel, **kwargs)
        except ProjectDeskError as exc:
            cancelled = transfer.cancel.is_set()
            model.finish(transfer, CANCELLED if cancelled else FAILED, error=exc.message)
            if cancelled:
                return None
            raise
        finally:
            relay.deleteLater()

    async def copy_s3_uri(self, path: str) -> None:
        """Copy the s3:// address of a file (or, with "", of the project) to the clipboard."""
        service, slug = self.session.require_project()
        uri = await self.session.tasks.call(service.s3_uri, slug, path)
        QGuiApplication.clipboard().setText(uri)
        self.feedback.notify(f"Copied {uri}")

    async def reload_tree(self, slug: str) -> None:
        """After files changed: the tree (when shown) and the cache's state."""
        if slug == self.session.slug:
            await self.browser.load_tree(slug, keep_expanded=True)
        self.session.track(self.browser.refresh_status())


async def confirm(parent: QWidget, title: str, text: str, informative: str, action_text: str) -> bool:
    """A warning over `parent` with a destructive button named after what it does; Cancel is the default."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Cancel, parent)
    box.setObjectName("confirmBox")
    box.setInformativeText(informative)
    chosen = box.addButton(action_text, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    await run_dialog(box)
    accepted = box.clickedButton() is chosen
    box.deleteLater()
    return accepted
