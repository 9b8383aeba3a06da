"""The window's own menus (File, Edit, View, Help) and its toolbar; the Project and Store menus come from
`commands/`. Construction only: each action calls one of the window's parts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu, QMenuBar, QStyle, QToolBar, QWidget

if TYPE_CHECKING:
    from projectdesk.ui.editing import EditorFlow
    from projectdesk.ui.editor import EditorArea
    from projectdesk.ui.file_tree import FileTreeView
    from projectdesk.ui.find_in_project import FindInProject
    from projectdesk.ui.project_list import ProjectListView
    from projectdesk.ui.uploads import Uploads


class MenuHost(Protocol):
    """What the menus call: the window's parts and its own few commands."""

    uploads: Uploads
    editing: EditorFlow
    find_in_project: FindInProject
    editor_area: EditorArea
    project_view: ProjectListView
    tree_view: FileTreeView
    transfers_dock: QDockWidget

    def menuBar(self) -> QMenuBar: ...
    def addToolBar(self, toolbar: QToolBar) -> None: ...
    def close(self) -> bool: ...
    def refresh(self) -> asyncio.Task[None]: ...
    def find_in_page(self, *, forward: bool) -> None: ...
    def focus_editor(self) -> None: ...
    def focus_filter(self) -> None: ...
    def show_about(self) -> None: ...


@dataclass(frozen=True)
class WindowMenus:
    """The window's own actions, its Help menu (the commands' menus go before it) and its toolbar."""

    new_action: QAction
    import_action: QAction
    download_action: QAction
    save_action: QAction
    close_tab_action: QAction
    quit_action: QAction
    find_action: QAction
    find_next_action: QAction
    find_previous_action: QAction
    goto_action: QAction
    find_in_project_action: QAction
    replace_in_project_action: QAction
    next_result_action: QAction
    previous_result_action: QAction
    refresh_action: QAction
    focus_projects_action: QAction
    focus_files_action: QAction
    focus_editor_action: QAction
    focus_filter_action: QAction
    about_action: QAction
    help_menu: QMenu
    toolbar: QToolBar


def make_action(
    parent: QWidget,
    text: str,
    shortcut: QKeySequence | QKeySequence.StandardKey | str | None,
    slot: Callable[[], object],
    icon: QStyle.StandardPixmap | None = None,
    tip: str = "",
) -> QAction:
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if icon is not None:
        action.setIcon(parent.style().standardIcon(icon))
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(
            f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})" if shortcut else tip
        )
    action.triggered.connect(lambda _checked=False: slot())
    return action


def build_menus(window: MenuHost, parent: QWidget) -> WindowMenus:
    """The window's own actions (File, Edit, View, Help) and its toolbar; the commands add their menus."""
    sp = QStyle.StandardPixmap
    new_action = make_action(
        parent,
        "&New Project from Folder…",
        "Ctrl+N",
        lambda: window.uploads.choose_folder_to_upload(),
        sp.SP_FileDialogNewFolder,
        "Upload a folder as a new project",
    )
    import_action = make_action(
        parent,
        "&Import Zip…",
        "Ctrl+Shift+I",
        lambda: window.uploads.choose_zip_to_import(),
        sp.SP_DialogOpenButton,
        "Import a .zip as a new project",
    )
    download_action = make_action(
        parent,
        "&Download Project…",
        "Ctrl+Shift+D",
        lambda: window.uploads.choose_download_folder(),
        sp.SP_ArrowDown,
        "Download the selected project to a folder",
    )
    save_action = make_action(
        parent,
        "&Save",
        QKeySequence.StandardKey.Save,
        lambda: window.editing.save_current(),
        sp.SP_DialogSaveButton,
        "Save the file to the store",
    )
    close_tab_action = make_action(
        parent, "&Close File", QKeySequence.StandardKey.Close, lambda: window.editing.close_current()
    )
    quit_action = make_action(parent, "&Quit", QKeySequence.StandardKey.Quit, window.close)
    find_action = make_action(
        parent, "&Find…", QKeySequence.StandardKey.Find, window.editor_area.open_find, tip="Find in the file"
    )
    find_next_action = make_action(
        parent, "Find &Next", QKeySequence.StandardKey.FindNext, lambda: window.find_in_page(forward=True)
    )
    find_previous_action = make_action(
        parent, "Find &Previous", QKeySequence.StandardKey.FindPrevious, lambda: window.find_in_page(forward=False)
    )
    goto_action = make_action(
        parent,
        "&Go to File…",
        "Ctrl+P",
        lambda: window.editing.quick_open(),
        sp.SP_FileDialogContentsView,
        "Open a file of the project by name",
    )
    find_in_project_action = make_action(
        parent,
        "Find in Pro&ject…",
        "Ctrl+Shift+F",
        lambda: window.find_in_project.show_panel(),
        sp.SP_FileDialogDetailedView,
        "Find text in every file of the project",
    )
    find_in_project_action.setIconText("Find in Project")
    replace_in_project_action = make_action(
        parent,
        "&Replace in Project…",
        "Ctrl+Shift+H",
        lambda: window.find_in_project.show_panel(replace=True),
        tip="Replace text in every file of the project",
    )
    next_result_action = make_action(
        parent, "Next &Result", "F4", lambda: window.find_in_project.step(True), tip="Go to the next search result"
    )
    previous_result_action = make_action(
        parent,
        "Previous Res&ult",
        "Shift+F4",
        lambda: window.find_in_project.step(False),
        tip="Go to the previous search result",
    )
    refresh_action = make_action(
        parent,
        "&Refresh",
        QKeySequence.StandardKey.Refresh,
        lambda: window.refresh(),
        sp.SP_BrowserReload,
        "Reload projects and files",
    )
    focus_projects_action = make_action(parent, "&Projects", "Ctrl+1", window.project_view.setFocus)
    focus_files_action = make_action(parent, "F&iles", "Ctrl+2", window.tree_view.setFocus)
    focus_editor_action = make_action(parent, "&Editor", "Ctrl+3", window.focus_editor)
    focus_filter_action = make_action(parent, "Filter Projects", "Ctrl+L", window.focus_filter)
    about_action = make_action(parent, "&About ProjectDesk", None, window.show_about)
    transfers_toggle = window.transfers_dock.toggleViewAction()
    assert transfers_toggle is not None
    transfers_toggle.setText("&Transfers")
    transfers_toggle.setShortcut(QKeySequence("Ctrl+J"))

    menu = window.menuBar()
    file_menu = menu.addMenu("&File")
    for action in (new_action, import_action, download_action):
        file_menu.addAction(action)
    file_menu.addSeparator()
    file_menu.addAction(save_action)
    file_menu.addAction(close_tab_action)
    file_menu.addSeparator()
    file_menu.addAction(quit_action)
    edit_menu = menu.addMenu("&Edit")
    for action in (find_action, find_next_action, find_previous_action):
        edit_menu.addAction(action)
    edit_menu.addSeparator()
    for action in (find_in_project_action, replace_in_project_action, next_result_action, previous_result_action):
        edit_menu.addAction(action)
    edit_menu.addSeparator()
    edit_menu.addAction(goto_action)
    view_menu = menu.addMenu("&View")
    view_menu.addAction(refresh_action)
    view_menu.addSeparator()
    for action in (
        focus_projects_action,
        focus_files_action,
        focus_editor_action,
        focus_filter_action,
    ):
        view_menu.addAction(action)
    view_menu.addAction(transfers_toggle)
    help_menu = menu.addMenu("&Help")
    help_menu.addAction(about_action)

    toolbar = QToolBar("Main", parent)
    toolbar.setObjectName("mainToolbar")
    toolbar.setMovable(False)
    toolbar.setIconSize(QSize(18, 18))
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toolbar.addAction(new_action)
    toolbar.addAction(import_action)
    toolbar.addSeparator()
    for action in (refresh_action, save_action, goto_action, find_in_project_action):
        toolbar.addAction(action)
    window.addToolBar(toolbar)
    return WindowMenus(
        new_action=new_action,
        import_action=import_action,
        download_action=download_action,
        save_action=save_action,
        close_tab_action=close_tab_action,
        quit_action=quit_action,
        find_action=find_action,
        find_next_action=find_next_action,
        find_previous_action=find_previous_action,
        goto_action=goto_action,
        find_in_project_action=find_in_project_action,
        replace_in_project_action=replace_in_project_action,
        next_result_action=next_result_action,
        previous_result_action=previous_result_action,
        refresh_action=refresh_action,
        focus_projects_action=focus_projects_action,
        focus_files_action=focus_files_action,
        focus_editor_action=focus_editor_action,
        focus_filter_action=focus_filter_action,
        about_action=about_action,
        help_menu=help_menu,
        toolbar=toolbar,
    )
