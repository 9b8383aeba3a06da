"""The window's commands, one module per menu (store, project, files, conflicts, history); this module puts their
actions into the menu bar, the toolbar and the context menus, and enables them as the session changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtWidgets import QMenu, QMenuBar, QToolBar

from projectdesk.ui.commands.base import CommandContext, CommandGroup
from projectdesk.ui.commands.conflicts import ConflictCommands
from projectdesk.ui.commands.files import FileCommands
from projectdesk.ui.commands.history import HistoryCommands
from projectdesk.ui.commands.project import ProjectCommands
from projectdesk.ui.commands.share import ShareCommands
from projectdesk.ui.commands.sign_in import SignInCommands
from projectdesk.ui.commands.store import StoreCommands
from projectdesk.ui.commands.transfers import TransferCommands

if TYPE_CHECKING:
    from PySide6.QtGui import QAction

__all__ = ["CommandContext", "Commands"]


def _menu_named(menu_bar: QMenuBar, title: str) -> QMenu | None:
    for action in menu_bar.actions():
        menu = action.menu()
        if action.text() == title and isinstance(menu, QMenu):
            return menu
    return None


class Commands(QObject):
    """Every command group, and where their actions show.

    Args:
        context: the window's parts the commands use.
        shared: the window's own actions that also show in these menus (download, refresh), by name.
    """

    def __init__(self, context: CommandContext, *, download: QAction, refresh: QAction) -> None:
        super().__init__(context.parent)
        self.context = context
        self.store = StoreCommands(context)
        self.project = ProjectCommands(context)
        self.files = FileCommands(context)
        self.conflicts = ConflictCommands(context)
        self.history = HistoryCommands(context)
        self.sign_in = SignInCommands(context)
        self.share = ShareCommands(context)
        self.transfers = TransferCommands(context)  # Pause All Transfers, and the store's bandwidth limits
        self.groups: tuple[CommandGroup, ...] = (self.store, self.project, self.files, self.conflicts, self.history,
                                                 self.sign_in, self.share)  # fmt: skip
        self._download = download
        self._refresh = refresh
        browser = context.browser
        browser.tree_view.selectionModel().currentChanged.connect(lambda *_: self.update())
        browser.tree_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        browser.tree_view.customContextMenuRequested.connect(self._tree_menu)
        browser.project_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        browser.project_view.customContextMenuRequested.connect(self._project_menu)
        for signal in (browser.serviceReady, browser.projectOpened, browser.projectShown):
            signal.connect(lambda *_: self.update())
        context.session.snapshotChanged.connect(lambda _snap: self.update())
        context.session.connectionChanged.connect(lambda _state: self.update())

    def update(self) -> None:
        """Enable what makes sense now."""
        for group in self.groups:
            group.update()

    # ---- menus --------------------------------------------------------------------------------------

    def add_menus(self, menu_bar: QMenuBar, before: QAction | None) -> None:
        """The Project and Store menus, before `before` (the Help menu)."""
        project, files = self.project, self.files
        project_menu = QMenu("&Project", menu_bar)
        for action in (project.keep_offline_action, project.export_action, self._download,
                       project.copy_project_uri_action, self.share.share_project_action,
                       self.share.shared_links_action, project.delete_project_action):  # fmt: skip
            project_menu.addAction(action)
        project_menu.addSection("Working folder")
        for action in (project.work_in_folder_action, project.open_in_editor_action, project.folder_conflicts_action,
                       project.stop_working_action, project.editor_command_action):  # fmt: skip
            project_menu.addAction(action)
        project_menu.addSection("Selected file")
        for action in (files.new_file_action, files.rename_action, files.delete_file_action, files.copy_uri_action,
                       files.share_action):  # fmt: skip
            project_menu.addAction(action)
        project_menu.addAction(self.history.file_history_action)
        project_menu.addSeparator()
        project_menu.addAction(self.history.restore_to_action)
        project_menu.addAction(self.conflicts.resolve_action)
        store = self.store
        store_menu = QMenu("&Store", menu_bar)
        for action in (store.accounts_action, store.work_offline_action, store.retry_action, store.send_action):
            store_menu.addAction(action)
        store_menu.addAction(self.sign_in.sign_in_action)
        store_menu.addSeparator()
        store_menu.addAction(store.cache_folder_action)
        store_menu.addAction(self.transfers.pause_action)
        history = self.history
        for title, action in (("&View", history.show_deleted_action), ("&Edit", history.page_history_action)):
            own = _menu_named(menu_bar, title) or project_menu  # the window's own View and Edit menus
            own.addSeparator()
            own.addAction(action)
        for menu in (project_menu, store_menu):
            if before is not None:
                menu_bar.insertMenu(before, menu)
            else:
                menu_bar.addMenu(menu)
        self.project_menu, self.store_menu = project_menu, store_menu

    def add_to_toolbar(self, toolbar: QToolBar) -> None:
        toolbar.addSeparator()
        toolbar.addAction(self.files.share_action)
        toolbar.addAction(self.conflicts.conflicts_tool_action)
        toolbar.addAction(self.transfers.pause_action)

    def tree_menu(self) -> QMenu:
        """The file tree's context menu."""
        files = self.files
        menu = QMenu(self.context.parent)
        path, is_dir = self.context.browser.selected_path()
        if path and self.context.browser.tree_model.deleted_at(path) is not None:  # a deleted file, shown greyed
            menu.addAction(self.history.undelete_action)
            menu.addAction(self.history.file_history_action)
            return menu
        if path and not is_dir:
            menu.addAction(files.open_action)
            menu.addSeparator()
        for action in (files.new_file_action, files.rename_action, files.delete_file_action):
            menu.addAction(action)
        if path and not is_dir:
            menu.addAction(self.history.file_history_action)
        menu.addSeparator()
        menu.addAction(files.copy_uri_action)
        menu.addAction(files.share_action)
        if self.conflicts.resolve_action.isEnabled():
            menu.addAction(self.conflicts.resolve_action)
        menu.addSeparator()
        menu.addAction(self._download)
        menu.addAction(self._refresh)
        return menu

    def project_menu_for_list(self) -> QMenu:
        """The project list's context menu."""
        project = self.project
        menu = QMenu(self.context.parent)
        for action in (project.keep_offline_action, self._download, project.export_action,
                       project.copy_project_uri_action, self.share.share_project_action):  # fmt: skip
            menu.addAction(action)
        menu.addSeparator()
        for action in (project.work_in_folder_action, project.open_in_editor_action, project.stop_working_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(project.delete_project_action)
        menu.addSeparator()
        menu.addAction(self._refresh)
        return menu

    def _tree_menu(self, pos: QPoint) -> None:
        self.update()
        view = self.context.browser.tree_view
        self.tree_menu().popup(view.viewport().mapToGlobal(pos))

    def _project_menu(self, pos: QPoint) -> None:
        self.update()
        if not self.context.session.slug:
            return
        view = self.context.browser.project_view
        self.project_menu_for_list().popup(view.viewport().mapToGlobal(pos))
