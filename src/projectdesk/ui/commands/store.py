"""The Store menu: manage stores and their keys, work offline, reconnect, send the queue, the cache folder."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from projectdesk.ui.commands.base import CommandContext, CommandGroup
from projectdesk.ui.dialogs import run_dialog
from projectdesk.ui.tasks import handler

if TYPE_CHECKING:
    from projectdesk.ui.dialogs.accounts import AccountsDialog


class StoreCommands(CommandGroup):
    """Attributes:
    open_url: how a folder is shown in the file manager (QDesktopServices.openUrl; tests replace it).
    accounts_dialog: the accounts dialog while it is open (tests drive it), else None.
    """

    def __init__(self, context: CommandContext) -> None:
        super().__init__(context)
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        self.accounts_dialog: AccountsDialog | None = None
        monitor = context.monitor
        self.accounts_action = self.action(
            "&Manage Stores…", lambda: self.manage_stores(), "Ctrl+,", tip="Add, edit or remove stores and their keys"
        )
        self.work_offline_action = self.toggle(
            "&Work Offline", lambda checked: monitor.set_work_offline(checked), tip="Use the cache only"
        )
        self.retry_action = self.action("&Reconnect Now", lambda: monitor.retry_now(), tip="Try to reach the store now")
        self.send_action = self.action(
            "&Send Queued Changes", lambda: monitor.send_queue(), tip="Upload what is waiting now"
        )
        self.cache_folder_action = self.action(
            "Open &Cache Folder", lambda: self.open_cache_folder(), tip="Show the offline copies in the file manager"
        )
        monitor.workOfflineChanged.connect(lambda forced: self.set_checked(self.work_offline_action, forced))

    def update(self) -> None:
        service = self.session.service
        opened = service is not None
        offline = service is not None and service.is_offline
        forced = service is not None and service.forced_offline
        self.cache_folder_action.setEnabled(opened)
        self.work_offline_action.setEnabled(opened)
        self.retry_action.setEnabled(offline and not forced)
        self.send_action.setEnabled(opened and not offline)
        self.set_checked(self.work_offline_action, forced)

    @handler
    async def manage_stores(self) -> None:
        """The accounts dialog; afterwards the store list is read again and a changed store reopened."""
        from projectdesk.ui.dialogs.accounts import AccountsDialog

        session, browser = self.session, self.browser
        dialog = AccountsDialog(session.paths, session.profiles, session.secrets, session.tasks, self.context.parent)
        self.accounts_dialog = dialog
        await run_dialog(dialog)
        self.accounts_dialog = None
        changed, added = list(dialog.changed), list(dialog.added)
        dialog.deleteLater()
        if not changed:
            return
        current = session.profile.name if session.profile is not None else ""
        browser.load_profiles()
        names = browser.profile_names()
        target = ""
        if added and added[-1] in names:
            target = added[-1]
        elif current in changed:
            target = current if current in names else (names[0] if names else "")
        if current in names:
            browser.profile_box.setCurrentIndex(names.index(current))
        if target:
            browser.profile_box.setCurrentIndex(names.index(target))
            await browser.switch_profile(target, initial=target != current)

    @handler
    async def open_cache_folder(self) -> None:
        service = self.session.require_service()
        folder = await self.session.tasks.call(service.cache_folder, self.session.slug or None)
        self.open_url(QUrl.fromLocalFile(str(folder)))
        self.feedback.notify(f"Opened {folder}")
