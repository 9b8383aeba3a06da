"""The Project menu: keep offline, export as zip, copy the project's S3 URI, delete the project, and working
folders (work in a folder kept in sync, open it in an editor, stop, compare a folder's conflicts)."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QProcess, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QStyle, QWidget

from projectdesk.core.errors import InvalidInput, NotFound
from projectdesk.core.threeway import Direction
from projectdesk.services.conflicts import KEEP_BOTH, KEEP_MINE, KEEP_THEIRS
from projectdesk.ui.commands.base import CommandContext, CommandGroup
from projectdesk.ui.commands.conflicts import conflict_choices, resolved_sentence
from projectdesk.ui.dialogs import ask, run_dialog
from projectdesk.ui.feedback import INFO, WARNING
from projectdesk.ui.tasks import handler
from projectdesk.ui.transfers import DONE, FAILED, Transfer
from projectdesk.ui.working_folders import home_relative, open_conflicts, resolve_folder_conflict

if TYPE_CHECKING:
    from projectdesk.services.folder_sync import FolderConflict
    from projectdesk.ui.dialogs.conflict import ConflictDialog

ChooseFolder = Callable[[QWidget, str], Awaitable[Path | None]]  # (parent, title) -> a folder, or None
AskText = Callable[[QWidget, str, str, str], Awaitable[str | None]]  # (parent, title, label, text) -> text
FOLDER = "{folder}"


async def choose_folder(parent: QWidget, title: str) -> Path | None:
    """A folder chosen (or made: the dialog has a New Folder button) in the file dialog; None when cancelled."""
    dialog = QFileDialog(parent, title, str(Path.home()))
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    accepted = await run_dialog(dialog)
    chosen = dialog.selectedFiles()
    dialog.deleteLater()
    return Path(chosen[0]) if accepted and chosen else None


async def ask_text(parent: QWidget, title: str, label: str, text: str) -> str | None:
    """One line of text, or None when cancelled."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
    dialog.setTextValue(text)
    accepted = await run_dialog(dialog)
    value = dialog.textValue()
    dialog.deleteLater()
    return value if accepted else None


def editor_arguments(command: str, folder: Path) -> list[str]:
    """The editor command split like a shell would, `{folder}` replaced (the folder appended when absent)."""
    try:
        args = shlex.split(command)
    except ValueError as exc:
        raise InvalidInput(f"The editor command cannot be read ({exc}): {command}") from None
    if not args:
        raise InvalidInput("The editor command is empty.")
    if not any(FOLDER in arg for arg in args):
        args.append(FOLDER)
    return [arg.replace(FOLDER, str(folder)) for arg in args]


class ProjectCommands(CommandGroup):
    """Signals:
    projectDeleted(str): a project was deleted (slug).
    """

    projectDeleted = Signal(str)

    def __init__(self, context: CommandContext) -> None:
        super().__init__(context)
        sp = QStyle.StandardPixmap
        self.keep_offline_action = self.toggle(
            "&Keep Offline",
            lambda keep: self.set_keep_offline(keep),
            tip="Keep every file of the project on this computer",
        )
        self.export_action = self.action(
            "&Export as Zip…", lambda: self.export_zip(), "Ctrl+Shift+E", tip="Save the project as a .zip file"
        )
        self.copy_project_uri_action = self.action(
            "Copy Project's S3 &URI", lambda: self.copy_project_uri(), tip="Copy s3://bucket/…/project/"
        )
        self.delete_project_action = self.action(
            "&Delete Project…",
            lambda: self.delete_project(),
            "Ctrl+Shift+Del",
            tip="Delete the project and every file of it from the store",
            icon=sp.SP_TrashIcon,
        )
        self.delete_project_key = self.action(
            "Delete Project…", lambda: self.delete_project(), "Del", widget=context.browser.project_view
        )
        context.browser.projectOpened.connect(lambda _slug: self.load_keep_offline())
        self.choose_folder: ChooseFolder = choose_folder
        self.ask_text: AskText = ask_text
        self.folder_conflict_dialog: ConflictDialog | None = None
        self.work_in_folder_action = self.action(
            "&Work in Folder…",
            lambda: self.work_in_folder(),
            tip="Pull the project into a folder on this computer and keep the two in sync while ProjectDesk runs",
        )
        self.open_in_editor_action = self.action(
            "Open in E&ditor", lambda: self.open_in_editor(), tip="Open the project's working folder in your editor"
        )
        self.stop_working_action = self.action(
            "&Stop Working in Folder",
            lambda: self.stop_working_in_folder(),
            tip="Stop keeping the working folder in sync; its files stay where they are",
        )
        self.folder_conflicts_action = self.action(
            "Folder Con&flicts…",
            lambda: self.show_folder_conflicts(),
            tip="Compare both versions of files changed in the working folder and on the server",
        )
        self.editor_command_action = self.action(
            "Set Editor &Command…",
            lambda: self.set_editor_command(),
            tip="The command Open in Editor runs, e.g. code {folder}",
        )
        context.folders.stateChanged.connect(lambda _slug: self.update())
        context.folders.conflictsRequested.connect(lambda slug: self.show_folder_conflicts(slug))

    def update(self) -> None:
        has_project = bool(self.session.slug) and self.session.service is not None
        for action in (self.delete_project_action, self.delete_project_key, self.export_action):
            action.setEnabled(has_project)
        status = self.context.folders.status(self.session.slug) if has_project else None
        self.work_in_folder_action.setEnabled(has_project)
        self.open_in_editor_action.setEnabled(has_project)
        self.open_in_editor_action.setText("Open in E&ditor" if status is not None else "Open in E&ditor…")
        self.stop_working_action.setEnabled(status is not None)
        self.folder_conflicts_action.setEnabled(status is not None and bool(status.conflicts))
        self.keep_offline_action.setEnabled(has_project)
        self.copy_project_uri_action.setEnabled(has_project and self.session.can_share)

    @handler
    async def load_keep_offline(self) -> None:
        """Check Keep Offline as the shown project is."""
        service, slug = self.session.service, self.session.slug
        if service is None or not slug:
            self.set_checked(self.keep_offline_action, False)
            return
        kept = await self.session.tasks.call(service.kept_offline, slug)
        if slug == self.session.slug:
            self.set_checked(self.keep_offline_action, kept)

    @handler
    async def set_keep_offline(self, keep: bool) -> None:
        service, slug = self.session.require_project()
        name = self.browser.project_name(slug)
        if keep:
            self.feedback.notify(f"Downloading {name} for offline use…", timeout_ms=0)
        report = await self.session.tasks.transfer(service.set_keep_offline, slug, keep)
        if not keep:
            self.feedback.notify(f"{name} is no longer kept offline: its copies may be removed when the cache is full.")
        elif report is None:
            self.feedback.notify(f"{name} will be downloaded for offline use once the store can be reached.")
        elif report.failed:
            self.feedback.warn(
                "Not all files are offline", f"{len(report.failed)} files of {name} could not be downloaded."
            )
        else:
            self.feedback.notify(f"{name} is kept offline: every file is on this computer.")
        self.session.track(self.browser.refresh_status())

    @handler
    async def copy_project_uri(self) -> None:
        await self.copy_s3_uri("")

    @handler
    async def export_zip(self) -> None:
        _service, slug = self.session.require_project()
        dialog = QFileDialog(self.context.parent, "Export the project as a zip file")
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
        service = self.session.require_service()
        model = self.context.transfer_model
        transfer = Transfer("Export", f"{self.browser.project_name(slug)} → {out.name}", slug=slug)
        report = await self.run_transfer(transfer, service.export_zip, slug, out)
        if report is None:
            return transfer
        if report.failed:
            failures = [(path, error.message) for path, error in report.failed]
            model.finish(transfer, FAILED, error=f"{len(failures)} files could not be read; no zip was written.",
                         failures=failures)  # fmt: skip
        else:
            model.finish(transfer, DONE, detail=str(out))
            self.feedback.notify(f"Exported {len(report.downloaded):,} files to {out}")
        return transfer

    @handler
    async def delete_project(self) -> None:
        service, slug = self.session.require_project()
        name = self.browser.project_name(slug)
        entries = await self.session.tasks.call(service.list_files, slug)
        count = len(entries)
        unsaved = [p for p in self.browser.editor_area.modified_pages() if p.slug == slug]
        informative = (
            f"Every object of the project is removed from {self.session.store_description}. This cannot be "
            "undone; copies you downloaded stay where they are."
        )
        if unsaved:
            informative += f" Unsaved changes in {len(unsaved)} open file(s) are lost."
        folders = self.context.folders.statuses(slug)
        if folders:
            informative += (
                f" Its working folder {home_relative(folders[0].folder)} keeps its files; it is no longer kept in sync."
            )
        text = f"Delete the project “{name}” and its {count:,} file{'s' if count != 1 else ''}?"
        if not await self.confirm("Delete project", text, informative, "Delete Project"):
            return
        for status in folders:  # before the files go: a watch's next round would delete them in the folder too
            await self.context.folders.stop_watching(status.folder, slug)
            await self.session.tasks.call(service.folders.unbind, status.folder, slug)
        self.feedback.notify(f"Deleting {name}…", timeout_ms=0)
        deleted = await self.session.tasks.call(service.delete_project, slug)
        self.context.editing.close_pages(slug)
        if self.session.slug == slug:
            self.browser.show_project(None)
        self.feedback.notify(f"Deleted {name} ({deleted:,} files).")
        self.projectDeleted.emit(slug)
        await self.browser.refresh()

    # ---- working folders ----------------------------------------------------------------------------

    @handler
    async def work_in_folder(self) -> None:
        """Choose (or make) a folder, pull the project into it, and keep the two in sync."""
        _service, slug = self.session.require_project()
        await self.start_working(slug)

    async def start_working(self, slug: str) -> Path | None:
        """Work in Folder for `slug`; returns the folder (None when the person cancelled)."""
        name = self.browser.project_name(slug)
        chosen = await self.choose_folder(self.context.parent, f"Work on {name} in the folder…")
        if chosen is None:
            return None
        folders = self.context.folders
        if folders.watching(chosen, slug):
            self.feedback.notify(f"{name} is already kept in sync with {chosen}.")
            return chosen.resolve()
        folder = await self._folder_to_use(chosen, slug)
        if folder is None:
            return None
        return await self.pull_and_watch(slug, folder)

    async def _folder_to_use(self, chosen: Path, slug: str) -> Path | None:
        """A folder holding other files (and not bound to the project) is used only when the person says so:
        its files would be sent to the project. Else the project goes into a new folder inside it."""
        service = self.session.require_service()

        def look() -> tuple[bool, int]:
            bound = chosen.is_dir() and service.folders.binding(chosen, slug) is not None
            return bound, sum(1 for _ in chosen.iterdir()) if chosen.is_dir() else 0

        bound, items = await self.session.tasks.call(look)
        if bound or not items:
            return chosen
        inside = chosen / slug
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "The folder is not empty",
            f"{home_relative(chosen)} already holds {items:,} item{'s' if items != 1 else ''}.",
            QMessageBox.StandardButton.Cancel,
            self.context.parent,
        )
        box.setObjectName("folderChoiceBox")
        box.setInformativeText(
            f"Put the project in a new folder {inside.name} inside it, or use the folder as it is: files the "
            "project does not have are then sent to it, and files that differ are kept in both versions."
        )
        new_button = box.addButton(f"New Folder “{inside.name}”", QMessageBox.ButtonRole.AcceptRole)
        use_button = box.addButton("Use This Folder", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(new_button)
        await run_dialog(box)
        clicked = box.clickedButton()
        box.deleteLater()
        if clicked is new_button:
            return inside
        return chosen if clicked is use_button else None

    async def pull_and_watch(self, slug: str, folder: Path) -> Path | None:
        """Pull the project into `folder` under the three-way rule (binding it; a row of the transfers panel),
        say what it did, then watch it. None when the pull was cancelled."""
        service = self.session.require_service()
        name = self.browser.project_name(slug)
        self.feedback.notify(f"Comparing {name} with {folder}…", timeout_ms=0)
        plan = await self.session.tasks.call(service.plan_folder, folder, Direction.PULL, slug=slug)
        if plan.is_new:
            raise NotFound(f"There is no project '{slug}' any more.")
        model = self.context.transfer_model
        transfer = Transfer("Work in Folder", f"{name} → {home_relative(plan.folder)}", slug=slug)
        report = await self.run_transfer(transfer, service.run_folder, plan)
        if report is None:
            return None
        folder = plan.folder.resolve()
        failures = [(path, error.message) for path, error in report.failed]
        if failures:
            model.finish(transfer, FAILED, error=f"{len(failures)} files could not be fetched.", failures=failures)
        else:
            model.finish(transfer, DONE, detail=report.summary())
        self.feedback.notify(f"{name} in {folder}: {report.summary()}", timeout_ms=12000)
        if report.failed or report.conflicts:
            self.feedback.announce(
                f"{name} is in {home_relative(folder)}, with problems",
                "; ".join(
                    [f"{p}: {e.message}" for p, e in report.failed[:3]] + [c.message for c in report.conflicts[:3]]
                ),
                WARNING,
            )
        else:
            self.feedback.announce(
                f"Working on {name} in {home_relative(folder)}",
                f"{len(report.downloaded):,} files fetched. While ProjectDesk runs, what changes there is sent to "
                "the store and what changes in the store comes into the folder.",
                INFO,
                timeout_ms=12000,
            )
        self.context.folders.watch(folder, slug)
        self.update()
        return folder

    @handler
    async def open_in_editor(self) -> None:
        """Open the project's working folder with the editor command (else the desktop's default); a project
        without one is offered Work in Folder first."""
        _service, slug = self.session.require_project()
        folder = self.context.folders.folder_of(slug)
        if folder is None:
            name = self.browser.project_name(slug)
            answer = await ask(
                self.context.parent,
                "No working folder",
                f"{name} has no working folder on this computer yet.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Yes,
                informative="Work in Folder pulls it into a folder you choose and keeps the two in sync. Do it now?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            folder = await self.start_working(slug)
            if folder is None:
                return
        self.open_folder(folder)

    def open_folder(self, folder: Path) -> None:
        if not folder.is_dir():
            raise InvalidInput(f"{folder} is not there any more: Stop Working in Folder, then Work in Folder again.")
        command = self.browser.settings.editor_command()
        if not command:
            if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
                raise InvalidInput(
                    f"Nothing here opens folders. Set the command of your editor (Project ▸ Set Editor Command…) "
                    f"or open {folder} yourself."
                )
            self.feedback.notify(f"Opened {folder}")
            return
        args = editor_arguments(command, folder)
        started, _pid = QProcess.startDetached(args[0], args[1:], str(folder))
        if not started:
            raise InvalidInput(f"“{args[0]}” could not be started. Check Project ▸ Set Editor Command…")
        self.feedback.notify(f"Opened {home_relative(folder)} with {Path(args[0]).name}")

    @handler
    async def set_editor_command(self) -> None:
        settings = self.browser.settings
        text = await self.ask_text(
            self.context.parent,
            "Editor command",
            "The command Open in Editor runs, {folder} standing for the project's folder (e.g. code {folder}).\n"
            "Leave it empty to open the folder as the desktop does.",
            settings.editor_command(),
        )
        if text is None:
            return
        if text.strip():
            editor_arguments(text, Path.home())  # raises when it cannot be split
        settings.set_editor_command(text)
        settings.sync()
        self.feedback.notify(f"Editor command: {text.strip()}" if text.strip() else "Folders open as the desktop does.")

    @handler
    async def stop_working_in_folder(self) -> None:
        """Stop the watch and forget the binding; the folder's files stay."""
        service, slug = self.session.require_project()
        folder = self.context.folders.folder_of(slug)
        if folder is None:
            self.feedback.notify("This project has no working folder.")
            return
        await self.context.folders.stop_watching(folder, slug)
        await self.session.tasks.call(service.folders.unbind, folder, slug)
        self.update()
        self.feedback.announce(
            f"No longer working in {home_relative(folder)}",
            f"{self.browser.project_name(slug)} and the folder are not kept in sync any more. Its files stay where "
            "they are.",
            INFO,
            timeout_ms=12000,
        )

    @handler
    async def show_folder_conflicts(self, slug: str = "") -> None:
        """Compare the two versions of each conflict in the working folder and apply the choice there."""
        slug = slug or self.session.require_project()[1]
        shown = 0
        for status in self.context.folders.statuses(slug):
            conflicts = await self.session.tasks.call(open_conflicts, status.folder, status.conflicts)
            self.context.folders.set_conflicts(status.folder, slug, conflicts)
            for conflict in conflicts:
                shown += 1
                if not await self.resolve_folder_conflict(slug, status.folder, conflict):
                    return
        if not shown:
            self.feedback.notify("No conflicts in the working folder.")
        self.update()

    async def resolve_folder_conflict(self, slug: str, folder: Path, conflict: FolderConflict) -> bool:
        """One conflict side by side: the folder's copy (yours) and the file (the server's). False: decided later."""
        from projectdesk.ui.dialogs.conflict import ConflictDialog
        from projectdesk.ui.diff import side_by_side

        tasks = self.session.tasks
        mine = await tasks.call((folder / conflict.copy_path).read_bytes)
        theirs = await tasks.call((folder / conflict.path).read_bytes)
        diff = await tasks.call(side_by_side, mine, theirs)
        dialog = ConflictDialog(
            conflict.path,
            conflict.message,
            diff,
            mine_label=Path(conflict.copy_path).name,
            theirs_label=Path(conflict.path).name,
            explain=conflict_choices("edit", conflict.path, conflict.copy_path),
            parent=self.context.parent,
        )
        self.folder_conflict_dialog = dialog
        await run_dialog(dialog)
        self.folder_conflict_dialog = None
        choice = dialog.choice
        dialog.deleteLater()
        if choice not in (KEEP_MINE, KEEP_THEIRS, KEEP_BOTH):
            self.feedback.notify("Decided later: both versions stay in the folder until you choose.")
            return False
        await tasks.call(resolve_folder_conflict, folder, conflict, choice)
        for status in self.context.folders.statuses(slug):
            if status.folder == folder:
                self.context.folders.set_conflicts(folder, slug, [c for c in status.conflicts if c != conflict])
        self.feedback.notify(resolved_sentence(choice, "edit", conflict.path, conflict.copy_path), timeout_ms=12000)
        return True
