"""The window's project, file and store commands: the Project and Store menus, toolbar buttons, the
context menus of the project list and the file tree, and their shortcuts.

Each command is an async handler: blocking work runs in the window's `Tasks`, failures reach the window's
banner. Commands that change the bucket ask first (naming what goes) and refresh the views after.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QStyle, QToolBar, QWidget

from projectdesk.core.errors import InvalidInput, ProjectDeskError
from projectdesk.services.projects import ShareLink
from projectdesk.ui.banner import INFO
from projectdesk.ui.dialogs import run_dialog
from projectdesk.ui.dialogs.accounts import AccountsDialog
from projectdesk.ui.dialogs.conflict import KEEP_BOTH, KEEP_MINE, KEEP_THEIRS, ConflictDialog
from projectdesk.ui.dialogs.name_input import PathDialog
from projectdesk.ui.dialogs.share_link import ShareLinkDialog
from projectdesk.ui.diff import side_by_side
from projectdesk.ui.file_tree import IS_DIR_ROLE, PATH_ROLE
from projectdesk.ui.resources import state_icon
from projectdesk.ui.tasks import ProgressRelay, handler
from projectdesk.ui.transfers import CANCELLED, DONE, FAILED, Transfer

if TYPE_CHECKING:
    from projectdesk.ui.extras import SyncSnapshot
    from projectdesk.ui.main_window import MainWindow

PENDING_NOTE = (
    "Your latest changes to this file are still waiting to be uploaded: until they are, the link gives the "
    "version on the server."
)


def _has(service: object, name: str) -> bool:
    return callable(getattr(service, name, None))


def _name_of(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def conflict_choices(kind: str, path: str, copy_path: str | None) -> dict[str, str]:
    """What each choice does, in plain words, for the kind of conflict (services.offline's kinds)."""
    name = _name_of(path)
    if kind == "edit" and copy_path:
        copy = _name_of(copy_path)
        return {
            KEEP_MINE: f"your version replaces the server's as {name}, and the copy “{copy}” is deleted.",
            KEEP_THEIRS: f"the server's version stays as {name}, and your copy “{copy}” is deleted.",
            KEEP_BOTH: f"the server's version stays as {name}, and yours as “{copy}”.",
        }
    if kind == "deleted-remotely":
        return {
            KEEP_MINE: f"your version stays as {name} (it had been deleted on the server).",
            KEEP_THEIRS: f"{name} is deleted, as it was on the server.",
        }
    return {
        KEEP_MINE: f"{name} is deleted after all (unless someone changes it again first).",
        KEEP_THEIRS: f"the server's new version of {name} stays.",
    }


def resolved_sentence(choice: str, kind: str, path: str, copy_path: str | None) -> str:
    """What was done, in one sentence: 'Kept yours: …', 'Kept the server's version: …', 'Kept both: …'."""
    what = conflict_choices(kind, path, copy_path).get(choice, "")
    label = {KEEP_MINE: "Kept yours", KEEP_THEIRS: "Kept the server's version", KEEP_BOTH: "Kept both"}[choice]
    return f"{label}: {what}" if what else f"{label}."


class WindowActions(QObject):
    """Builds and runs the window's commands.

    Args:
        window: the main window (its service, views, tasks and banner).

    Attributes:
        open_url: how a folder is shown in the file manager (QDesktopServices.openUrl; tests replace it).
        accounts_dialog, conflict_dialog, share_dialog: the dialog open now (tests drive them), else None.

    Signals:
        projectDeleted(str): a project was deleted (slug).
        filesChanged(str): files of a project were created, renamed or deleted (slug).
        conflictResolved(object, str): a conflict record and the choice made.
        linkCopied(object): a ShareLink was copied to the clipboard.
    """

    projectDeleted = Signal(str)
    filesChanged = Signal(str)
    conflictResolved = Signal(object, str)
    linkCopied = Signal(object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        self.accounts_dialog: AccountsDialog | None = None
        self.conflict_dialog: ConflictDialog | None = None
        self.share_dialog: ShareLinkDialog | None = None
        self._conflicts = 0
        self._build()
        window.tree_view.selectionModel().currentChanged.connect(lambda *_: self.update())
        window.serviceReady.connect(self._on_service_ready)
        window.projectOpened.connect(lambda _slug: self._load_keep_offline())
        self.update()

    # ---- the window's error sink --------------------------------------------------------------------

    def report_error(self, error: BaseException) -> None:
        self.w.report_error(error)

    def adopt_task(self, task: Any) -> None:
        self.w.adopt_task(task)

    # ---- construction -------------------------------------------------------------------------------

    def _action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: str | QKeySequence.StandardKey | None = None,
        *,
        tip: str = "",
        icon: QStyle.StandardPixmap | None = None,
        checkable: bool = False,
        widget: QWidget | None = None,
    ) -> QAction:
        """An action; with `widget`, its shortcut works only while that widget has the focus."""
        action = QAction(text, self.w)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon is not None:
            action.setIcon(self.w.style().standardIcon(icon))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setCheckable(checkable)
        if widget is not None:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            widget.addAction(action)
        if checkable:
            action.toggled.connect(lambda checked: self._on_toggled(action, checked))
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self._slots[action] = slot
        return action

    def _on_toggled(self, action: QAction, checked: bool) -> None:
        if getattr(self, "_quiet", False):
            return
        self._slots[action]()

    def _build(self) -> None:
        w = self.w
        sp = QStyle.StandardPixmap
        self._slots: dict[QAction, Callable[[], object]] = {}
        self._quiet = False
        tree, projects = w.tree_view, w.project_view
        # store
        self.accounts_action = self._action(
            "&Manage Stores…", lambda: self.manage_stores(), "Ctrl+,", tip="Add, edit or remove stores and their keys"
        )
        self.work_offline_action = self._action(
            "&Work Offline", lambda: self.toggle_work_offline(), tip="Use the cache only", checkable=True
        )
        self.retry_action = self._action(
            "&Reconnect Now", lambda: w.offline_monitor.retry_now(), tip="Try to reach the store now"
        )
        self.send_action = self._action(
            "&Send Queued Changes", lambda: w.offline_monitor.send_queue(), tip="Upload what is waiting now"
        )
        self.cache_folder_action = self._action(
            "Open &Cache Folder", lambda: self.open_cache_folder(), tip="Show the offline copies in the file manager"
        )
        # project
        self.keep_offline_action = self._action(
            "&Keep Offline",
            lambda: self.toggle_keep_offline(),
            tip="Keep every file of the project on this computer",
            checkable=True,
        )
        self.export_action = self._action(
            "&Export as Zip…", lambda: self.export_zip(), "Ctrl+Shift+E", tip="Save the project as a .zip file"
        )
        self.copy_project_uri_action = self._action(
            "Copy Project's S3 &URI", lambda: self.copy_s3_uri(project=True), tip="Copy s3://bucket/…/project/"
        )
        self.delete_project_action = self._action(
            "&Delete Project…",
            lambda: self.delete_project(),
            "Ctrl+Shift+Del",
            tip="Delete the project and every file of it from the store",
            icon=sp.SP_TrashIcon,
        )
        self.delete_project_key = self._action("Delete Project…", lambda: self.delete_project(), "Del", widget=projects)
        # files of the tree
        self.new_file_action = self._action(
            "&New File…", lambda: self.new_file(), "Ctrl+Shift+N", tip="Create an empty file in the selected folder"
        )
        self.rename_action = self._action("&Rename…", lambda: self.rename_file(), "F2", widget=tree)
        self.delete_file_action = self._action(
            "De&lete…", lambda: self.delete_files(), QKeySequence.StandardKey.Delete, widget=tree
        )
        self.copy_uri_action = self._action(
            "Copy S3 UR&I", lambda: self.copy_s3_uri(), "Ctrl+Shift+C", tip="Copy the s3:// address of the file"
        )
        self.share_action = self._action(
            "Copy &Share Link…",
            lambda: self.share_link(),
            "Ctrl+Shift+L",
            tip="A link anyone can download the file with, for up to 7 days",
        )
        self.share_action.setIcon(w.style().standardIcon(sp.SP_DialogYesButton))
        self.resolve_action = self._action(
            "Resolve &Conflicts…",
            lambda: self.resolve_conflicts(),
            "Ctrl+Shift+R",
            tip="Compare both versions of a conflicted file and choose",
        )
        self.resolve_action.setIcon(state_icon("conflict"))
        self.open_action = self._action("&Open", self._open_current)

        menu_bar = w.menuBar()
        help_action = menu_bar.actions()[-1] if menu_bar.actions() else None
        self.project_menu = QMenu("&Project", w)
        for action in (self.keep_offline_action, self.export_action, w.download_action, self.copy_project_uri_action):
            self.project_menu.addAction(action)
        self.project_menu.addAction(self.delete_project_action)
        self.project_menu.addSection("Selected file")
        for action in (self.new_file_action, self.rename_action, self.delete_file_action, self.copy_uri_action):
            self.project_menu.addAction(action)
        self.project_menu.addAction(self.share_action)
        self.project_menu.addSeparator()
        self.project_menu.addAction(self.resolve_action)
        self.store_menu = QMenu("&Store", w)
        for action in (self.accounts_action, self.work_offline_action, self.retry_action, self.send_action):
            self.store_menu.addAction(action)
        self.store_menu.addSeparator()
        self.store_menu.addAction(self.cache_folder_action)
        menu_bar.insertMenu(help_action, self.project_menu) if help_action else menu_bar.addMenu(self.project_menu)
        menu_bar.insertMenu(help_action, self.store_menu) if help_action else menu_bar.addMenu(self.store_menu)

        self._toolbar = w.findChild(QToolBar, "mainToolbar")
        if self._toolbar is not None:
            self._toolbar.addSeparator()
            self._toolbar.addAction(self.share_action)
            # a toolbar button of its own, shown only while there are conflicts (the menu entry stays)
            self.conflicts_tool_action = QAction(state_icon("conflict"), "Resolve Conflicts", w)
            self.conflicts_tool_action.setToolTip("Compare both versions of a conflicted file and choose")
            self.conflicts_tool_action.triggered.connect(lambda _checked=False: self.resolve_conflicts())
            self.conflicts_tool_action.setVisible(False)
            self._toolbar.addAction(self.conflicts_tool_action)

        tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        tree.customContextMenuRequested.connect(self._tree_menu)
        projects.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        projects.customContextMenuRequested.connect(self._project_menu)

    # ---- context menus ------------------------------------------------------------------------------

    def tree_menu(self) -> QMenu:
        menu = QMenu(self.w)
        path, is_dir = self._tree_item()
        if path and not is_dir:
            menu.addAction(self.open_action)
            menu.addSeparator()
        for action in (self.new_file_action, self.rename_action, self.delete_file_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.copy_uri_action)
        menu.addAction(self.share_action)
        if self.resolve_action.isEnabled():
            menu.addAction(self.resolve_action)
        menu.addSeparator()
        menu.addAction(self.w.download_action)
        menu.addAction(self.w.refresh_action)
        return menu

    def project_menu_for_list(self) -> QMenu:
        menu = QMenu(self.w)
        for action in (self.keep_offline_action, self.w.download_action, self.export_action):
            menu.addAction(action)
        menu.addAction(self.copy_project_uri_action)
        menu.addSeparator()
        menu.addAction(self.delete_project_action)
        menu.addSeparator()
        menu.addAction(self.w.refresh_action)
        return menu

    def _tree_menu(self, pos: QPoint) -> None:
        self.update()
        menu = self.tree_menu()
        menu.popup(self.w.tree_view.viewport().mapToGlobal(pos))

    def _project_menu(self, pos: QPoint) -> None:
        self.update()
        if not self.w.slug:
            return
        menu = self.project_menu_for_list()
        menu.popup(self.w.project_view.viewport().mapToGlobal(pos))

    # ---- state --------------------------------------------------------------------------------------

    def _tree_item(self) -> tuple[str, bool]:
        index = self.w.tree_view.currentIndex()
        if not index.isValid():
            return "", False
        return str(index.data(PATH_ROLE) or ""), bool(index.data(IS_DIR_ROLE))

    def _s3(self) -> bool:
        repo = getattr(self.w.service, "repo", None)
        return bool(getattr(repo, "supports_share_links", False))

    def update(self) -> None:
        """Enable what makes sense now (the window calls this whenever its own actions change)."""
        if not hasattr(self, "open_action"):
            return
        w = self.w
        service = w.service
        has_project = bool(w.slug) and service is not None
        path, is_dir = self._tree_item()
        s3 = self._s3()
        cached = _has(service, "set_keep_offline")
        for action in (self.delete_project_action, self.delete_project_key, self.export_action, self.new_file_action):
            action.setEnabled(has_project)
        self.keep_offline_action.setEnabled(has_project and cached)
        self.copy_project_uri_action.setEnabled(has_project and s3)
        self.rename_action.setEnabled(has_project and bool(path) and not is_dir)
        self.delete_file_action.setEnabled(has_project and bool(path))
        self.copy_uri_action.setEnabled(has_project and s3)
        self.share_action.setEnabled(has_project and s3 and bool(path) and not is_dir)
        self.open_action.setEnabled(has_project and bool(path) and not is_dir)
        self.cache_folder_action.setEnabled(_has(service, "cache_folder"))
        self.work_offline_action.setEnabled(_has(service, "go_offline"))
        offline = bool(getattr(service, "is_offline", False))
        forced = bool(getattr(service, "forced_offline", False))
        self.retry_action.setEnabled(offline and not forced)
        self.send_action.setEnabled(_has(service, "flush_outbox") and not offline)
        self._set_checked(self.work_offline_action, forced)
        tip = "" if s3 or service is None else "Share links and S3 URIs need an S3 store."
        self.share_action.setToolTip(tip or "A link anyone can download the file with, for up to 7 days")
        self._update_conflicts()

    def _set_checked(self, action: QAction, checked: bool) -> None:
        if action.isChecked() != checked:
            self._quiet = True
            try:
                action.setChecked(checked)
            finally:
                self._quiet = False

    def _update_conflicts(self) -> None:
        count = self._conflicts
        self.resolve_action.setEnabled(count > 0)
        self.resolve_action.setText(f"Resolve &Conflicts ({count})…" if count else "Resolve &Conflicts…")
        tool = getattr(self, "conflicts_tool_action", None)
        if tool is not None:
            tool.setVisible(count > 0)
            tool.setText(f"{count} Conflict{'s' if count != 1 else ''}" if count else "Resolve Conflicts")

    def on_snapshot(self, snap: SyncSnapshot) -> None:
        """The window's periodic status (pending uploads, conflicts, offline)."""
        self._conflicts = len(snap.conflicts)
        self.w.offline_monitor.on_snapshot(snap)
        self.update()

    def _on_service_ready(self) -> None:
        self._conflicts = 0
        self.update()

    @handler
    async def _load_keep_offline(self) -> None:
        service, slug = self.w.service, self.w.slug
        if not slug or not _has(service, "kept_offline"):
            self._set_checked(self.keep_offline_action, False)
            return
        kept = bool(await self.w.tasks.call(service.kept_offline, slug))  # type: ignore[union-attr]
        if slug == self.w.slug:
            self._set_checked(self.keep_offline_action, kept)
        self.update()

    # ---- helpers ------------------------------------------------------------------------------------

    def _require(self) -> tuple[Any, str]:
        service = self.w.service
        if service is None:
            raise InvalidInput("The store is not open yet.")
        if not self.w.slug:
            raise InvalidInput("Select a project first.")
        return service, self.w.slug

    def _project_name(self, slug: str) -> str:
        info = self.w.project_model.project(slug)
        return info.name if info is not None else slug

    async def _confirm(self, title: str, text: str, informative: str, action_text: str) -> bool:
        """A warning with a destructive button named after what it does; Cancel is the default."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Cancel, self.w)
        box.setObjectName("confirmBox")
        box.setInformativeText(informative)
        confirm = box.addButton(action_text, QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        await run_dialog(box)
        accepted = box.clickedButton() is confirm
        box.deleteLater()
        return accepted

    async def _reload_tree(self, slug: str) -> None:
        if slug == self.w.slug:
            await self.w._load_tree(slug, keep_expanded=True)
        self.filesChanged.emit(slug)
        self.w._track(self.w._refresh_status())

    def _close_pages(self, slug: str, paths: set[str] | None = None) -> None:
        for page in list(self.w.editor_area.pages()):
            if page.slug == slug and (paths is None or page.path in paths):
                self.w.editor_area.remove_page(page)

    # ---- store commands -----------------------------------------------------------------------------

    @handler
    async def manage_stores(self) -> None:
        """The accounts dialog; afterwards the store list is read again and a changed store reopened."""
        w = self.w
        dialog = AccountsDialog(w._paths, w._profiles, w.secrets, w.tasks, w)
        self.accounts_dialog = dialog
        await run_dialog(dialog)
        self.accounts_dialog = None
        changed, added = list(dialog.changed), list(dialog.added)
        dialog.deleteLater()
        if not changed:
            return
        current = w.profile.name if w.profile is not None else ""
        w._load_profiles()
        names = [w.profile_box.itemData(i) for i in range(w.profile_box.count())]
        target = ""
        if added and added[-1] in names:
            target = added[-1]
        elif current in changed:
            target = current if current in names else str(w.profile_box.itemData(0))
        if current in names:
            w.profile_box.setCurrentIndex(names.index(current))
        if target:
            w.profile_box.setCurrentIndex(names.index(target))
            await w._switch_profile(target, initial=target != current)

    @handler
    async def toggle_work_offline(self) -> None:
        service = self.w.service
        if not _has(service, "go_offline"):
            return
        if self.work_offline_action.isChecked():
            await self.w.tasks.call(service.go_offline)  # type: ignore[union-attr]
            self.w.notify("Working offline: nothing is sent until you go online again.")
        else:
            self.w.notify("Going online…", timeout_ms=0)
            online = await self.w.tasks.call(service.go_online)  # type: ignore[union-attr]
            if online:
                self.w._set_connection("online")
                self.w.offline_monitor.on_offline_changed(False)
            else:
                self.w.offline_monitor.on_offline_changed(True)
        self.update()

    @handler
    async def open_cache_folder(self) -> None:
        service = self.w.service
        if not _has(service, "cache_folder"):
            raise InvalidInput("This store keeps no offline cache.")
        folder: Path = await self.w.tasks.call(service.cache_folder, self.w.slug or None)  # type: ignore[union-attr]
        self.open_url(QUrl.fromLocalFile(str(folder)))
        self.w.notify(f"Opened {folder}")

    # ---- project commands ---------------------------------------------------------------------------

    @handler
    async def toggle_keep_offline(self) -> None:
        service, slug = self._require()
        keep = self.keep_offline_action.isChecked()
        name = self._project_name(slug)
        if keep:
            self.w.notify(f"Downloading {name} for offline use…", timeout_ms=0)
        report = await self.w.tasks.transfer(service.set_keep_offline, slug, keep)
        if not keep:
            self.w.notify(f"{name} is no longer kept offline: its copies may be removed when the cache is full.")
        elif report is None:
            self.w.notify(f"{name} will be downloaded for offline use once the store can be reached.")
        elif report.failed:
            self.w.warn("Not all files are offline", f"{len(report.failed)} files of {name} could not be downloaded.")
        else:
            self.w.notify(f"{name} is kept offline: every file is on this computer.")
        self.w._track(self.w._refresh_status())

    @handler
    async def export_zip(self) -> None:
        _service, slug = self._require()
        dialog = QFileDialog(self.w, "Export the project as a zip file")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("Zip archives (*.zip)")
        dialog.setDefaultSuffix("zip")
        dialog.selectFile(f"{slug}.zip")
        accepted = await run_dialog(dialog)
        chosen = dialog.selectedFiles()
        dialog.deleteLater()
        if accepted and chosen:
            await self.start_export(slug, Path(chosen[0]))

    async def start_export(self, slug: str, out: Path) -> Transfer:
        """Export as a transfer row (progress, cancel, the reason for any failure)."""
        service = self.w.service
        if service is None:
            raise InvalidInput("The store is not open yet.")
        model = self.w.transfer_model
        transfer = model.add(Transfer("Export", f"{self._project_name(slug)} → {out.name}", slug=slug))
        self.w.transfers_dock.show()
        relay = ProgressRelay(self)
        relay.progressed.connect(lambda progress: model.update_progress(transfer, progress))
        model.start(transfer)
        try:
            report = await self.w.tasks.transfer(service.export_zip, slug, out, progress=relay, cancel=transfer.cancel)
        except ProjectDeskError as exc:
            state = CANCELLED if transfer.cancel.is_set() else FAILED
            model.finish(transfer, state, error=exc.message)
            if state == FAILED:
                raise
            return transfer
        finally:
            relay.deleteLater()
        if report.failed:
            failures = [(path, error.message) for path, error in report.failed]
            model.finish(transfer, FAILED, error=f"{len(failures)} files could not be read; no zip was written.",
                         failures=failures)  # fmt: skip
        else:
            model.finish(transfer, DONE, detail=str(out))
            self.w.notify(f"Exported {len(report.downloaded):,} files to {out}")
        return transfer

    @handler
    async def delete_project(self) -> None:
        service, slug = self._require()
        name = self._project_name(slug)
        entries = await self.w.tasks.call(service.list_files, slug)
        count = len(entries)
        where = self.w.profile_label.text().split(" — ", 1)[-1]
        unsaved = [p for p in self.w.editor_area.modified_pages() if p.slug == slug]
        informative = (
            f"Every object of the project is removed from {where}. This cannot be undone; copies you "
            "downloaded stay where they are."
        )
        if unsaved:
            informative += f" Unsaved changes in {len(unsaved)} open file(s) are lost."
        text = f"Delete the project “{name}” and its {count:,} file{'s' if count != 1 else ''}?"
        if not await self._confirm("Delete project", text, informative, "Delete Project"):
            return
        self.w.notify(f"Deleting {name}…", timeout_ms=0)
        deleted = await self.w.tasks.call(service.delete_project, slug)
        self._close_pages(slug)
        if self.w.slug == slug:
            self.w._show_project(None)
        self.w.notify(f"Deleted {name} ({deleted:,} files).")
        self.projectDeleted.emit(slug)
        await self.w.refresh()

    @handler
    async def copy_s3_uri(self, *, project: bool = False) -> None:
        service, slug = self._require()
        path = "" if project else self._tree_item()[0]
        uri = await self.w.tasks.call(service.s3_uri, slug, path)
        QGuiApplication.clipboard().setText(uri)
        self.w.notify(f"Copied {uri}")

    @handler
    async def share_link(self) -> None:
        service, slug = self._require()
        path, is_dir = self._tree_item()
        if not path or is_dir:
            raise InvalidInput("Select a file to share.")
        states = await self.w.tasks.call(service.file_states, slug) if _has(service, "file_states") else {}
        note = PENDING_NOTE if states.get(path) == "dirty" else ""

        async def make(seconds: int) -> ShareLink:
            link: ShareLink = await self.w.tasks.call(service.share_link, slug, path, seconds)
            return link

        dialog = ShareLinkDialog(path, make, note=note, parent=self.w)
        self.share_dialog = dialog
        await run_dialog(dialog)
        self.share_dialog = None
        if dialog.copied and dialog.link is not None:
            self.w.notify(
                f"Copied a share link for {path}, valid until {dialog.sentence.text().rsplit(' until ', 1)[-1]}"
            )
            self.linkCopied.emit(dialog.link)
        dialog.deleteLater()

    # ---- file commands ------------------------------------------------------------------------------

    def _open_current(self) -> None:
        path, is_dir = self._tree_item()
        if path and not is_dir:
            self.w.open_file(path)

    def _folders(self) -> set[str]:
        folders: set[str] = set()
        for path in self.w.tree_model.all_paths():
            parts = path.split("/")[:-1]
            folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return folders

    def _path_problem(self, exclude: str = "") -> Callable[[str], str]:
        files = set(self.w.tree_model.all_paths()) - {exclude}
        folders = self._folders()

        def problem(path: str) -> str:
            if path == exclude:
                return "That is its name already."
            if path in files:
                return f"{path} exists already."
            if path in folders:
                return f"{path} is a folder."
            parents = {"/".join(path.split("/")[: i + 1]) for i in range(path.count("/"))}
            clash = sorted(parents & files)
            return f"{clash[0]} is a file, so it cannot hold other files." if clash else ""

        return problem

    @handler
    async def new_file(self) -> None:
        service, slug = self._require()
        folder = self.w.tree_view.folder_at(self.w.tree_view.currentIndex())
        dialog = PathDialog(
            "New file",
            f"Name of the new file in {self._project_name(slug)} (folders with /):",
            f"{folder}/" if folder else "",
            ok_text="Create",
            problem=self._path_problem(),
            parent=self.w,
        )
        accepted = await run_dialog(dialog)
        path = dialog.path()
        dialog.deleteLater()
        if not accepted or not path:
            return
        await self.w.tasks.call(service.create_file, slug, path, b"")
        self.w.notify(f"Created {path}")
        await self._reload_tree(slug)
        index = self.w.tree_model.index_for_path(path)
        if index.isValid():
            self.w.tree_view.setCurrentIndex(index)
            self.w.tree_view.scrollTo(index)
        self.w.open_file(path)

    @handler
    async def rename_file(self) -> None:
        service, slug = self._require()
        old, is_dir = self._tree_item()
        if not old or is_dir:
            raise InvalidInput("Select a file to rename.")
        dialog = PathDialog(
            "Rename",
            f"New name for {old}:",
            old,
            ok_text="Rename",
            problem=self._path_problem(exclude=old),
            select_stem=True,
            parent=self.w,
        )
        accepted = await run_dialog(dialog)
        new = dialog.path()
        dialog.deleteLater()
        if not accepted or not new or new == old:
            return
        page = self.w.editor_area.find_page(slug, old)
        if page is not None and page.is_modified and not await self.w._confirm_discard([page]):
            return
        was_open = page is not None
        self.w.notify(f"Renaming {old}…", timeout_ms=0)
        await self.w.tasks.call(service.rename_file, slug, old, new)
        self._close_pages(slug, {old})
        self.w.notify(f"Renamed {old} to {new}")
        await self._reload_tree(slug)
        index = self.w.tree_model.index_for_path(new)
        if index.isValid():
            self.w.tree_view.setCurrentIndex(index)
        if was_open:
            self.w.open_file(new)

    @handler
    async def delete_files(self) -> None:
        service, slug = self._require()
        path, is_dir = self._tree_item()
        if not path:
            raise InvalidInput("Select a file or folder to delete.")
        paths = [p for p in self.w.tree_model.all_paths() if p.startswith(path + "/")] if is_dir else [path]
        if not paths:
            return
        name = self._project_name(slug)
        text = (
            f"Delete the folder {path} and its {len(paths):,} file{'s' if len(paths) != 1 else ''} from “{name}”?"
            if is_dir
            else f"Delete {path} from “{name}”?"
        )
        offline = bool(getattr(service, "is_offline", False))
        informative = (
            "It is removed from the store"
            + (" as soon as the store can be reached" if offline else "")
            + "; this cannot be undone."
        )
        unsaved = [p for p in self.w.editor_area.modified_pages() if p.slug == slug and p.path in set(paths)]
        if unsaved:
            informative += f" Unsaved changes in {len(unsaved)} open file(s) are lost."
        if not await self._confirm("Delete", text, informative, "Delete"):
            return
        if len(paths) == 1 and not is_dir:
            await self.w.tasks.call(service.delete_file, slug, paths[0])
        else:
            await self.w.tasks.call(service.delete_files, slug, paths)
        self._close_pages(slug, set(paths))
        what = f"{path} ({len(paths)} files)" if is_dir else path
        self.w.notify(f"Deleted {what}" + (" here; the store follows once online." if offline else "."))
        await self._reload_tree(slug)

    # ---- conflicts ----------------------------------------------------------------------------------

    @handler
    async def resolve_conflicts(self) -> None:
        """Open the diff view of a conflict: the selected file's, else one in this project, else any."""
        service = self.w.service
        if not _has(service, "conflicts"):
            raise InvalidInput("This store keeps no conflicts: every save goes straight to the server.")
        records = await self.w.tasks.call(service.conflicts)  # type: ignore[union-attr]
        if not records:
            self._conflicts = 0
            self.update()
            self.w.notify("No conflicts: every change is in place.")
            return
        path, _ = self._tree_item()
        slug = self.w.slug
        record = next((r for r in records if r.slug == slug and path in (r.path, r.copy_path)), None)
        record = record or next((r for r in records if r.slug == slug), None) or records[0]
        if record.slug != self.w.slug:
            task = self.w.select_project(record.slug)
            if task is not None:
                await task
        await self.resolve(record)

    async def resolve(self, record: Any) -> str:
        """Show one conflict side by side and apply the choice; returns it ('' when decided later)."""
        w = self.w
        service = w.service
        if service is None:
            return ""
        versions = await w.tasks.call(service.conflict_versions, record.id)  # type: ignore[attr-defined]
        diff = await w.tasks.call(side_by_side, versions.mine, versions.theirs)
        explain = conflict_choices(record.kind, record.path, record.copy_path)
        mine_label = _name_of(versions.mine_path) if versions.mine is not None else "deleted here"
        theirs_label = _name_of(versions.theirs_path) if versions.theirs is not None else "deleted on the server"
        dialog = ConflictDialog(
            record.path,
            record.message,
            diff,
            mine_label=mine_label,
            theirs_label=theirs_label,
            explain=explain,
            parent=w,
        )
        self.conflict_dialog = dialog
        await run_dialog(dialog)
        self.conflict_dialog = None
        choice = dialog.choice
        dialog.deleteLater()
        if not choice:
            w.notify("Decided later: both versions stay until you choose.")
            return ""
        touched = {record.path} | ({record.copy_path} if record.copy_path else set())
        pages = [p for p in w.editor_area.pages() if p.slug == record.slug and p.path in touched]
        if not await w._confirm_discard([p for p in pages if p.is_modified]):
            return ""
        reopen = any(p.path == record.path for p in pages)
        self._close_pages(record.slug, touched)
        await w.tasks.call(service.resolve_conflict, record.id, choice)  # type: ignore[attr-defined]
        sentence = resolved_sentence(choice, record.kind, record.path, record.copy_path)
        w.notify(sentence, timeout_ms=12000)
        w.banner.show_message("Conflict resolved", sentence, INFO, timeout_ms=12000)
        self._conflicts = max(0, self._conflicts - 1)
        self.update()
        self.conflictResolved.emit(record, choice)
        await self._reload_tree(record.slug)
        if reopen and w.tree_model.entry(record.path) is not None:
            w.open_file(record.path)
        return choice
