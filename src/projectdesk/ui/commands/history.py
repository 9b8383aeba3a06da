"""File history and point-in-time restore (services/history.py): a file's versions (open, compare, restore, who
wrote them), deleted files in the tree (undelete), and the whole project restored as of a moment (preview, then a
row of the transfers panel). A store without versioning says so in one sentence and offers to turn it on."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from projectdesk.core.errors import Conflict, InvalidInput, NoHistory, ProjectDeskError
from projectdesk.ui.commands.base import CommandContext, CommandGroup, confirm
from projectdesk.ui.dialogs import run_dialog
from projectdesk.ui.feedback import INFO, WARNING
from projectdesk.ui.formatting import long_date
from projectdesk.ui.tasks import handler
from projectdesk.ui.transfers import DONE, FAILED, Transfer

if TYPE_CHECKING:
    from projectdesk.core.models import FileVersion
    from projectdesk.services.history import RestorePlan, RestoreReport, RestoreStep
    from projectdesk.services.offline import CachedProjectService
    from projectdesk.ui.dialogs.history import (
        CompareDialog,
        FileHistoryDialog,
        RestoreDialog,
        VersionDialog,
    )

ENABLE_TEXT = "Keep File History"


class HistoryCommands(CommandGroup):
    """Attributes (tests drive them): the dialogs while they are open, else None —
    history_dialog, restore_dialog, compare_dialog, version_dialog; last_report: the last restore's report.

    Signals:
        serverChanged(str): a restore or undelete changed the project's files on the server (slug).
    """

    serverChanged = Signal(str)

    def __init__(self, context: CommandContext) -> None:
        super().__init__(context)
        self.history_dialog: FileHistoryDialog | None = None
        self.restore_dialog: RestoreDialog | None = None
        self.compare_dialog: CompareDialog | None = None
        self.version_dialog: VersionDialog | None = None
        self.last_report: RestoreReport | None = None
        self.file_history_action = self.action(
            "File &History…",
            lambda: self.show_history(),
            "Ctrl+Alt+H",  # Ctrl+Shift+H is Replace in Project
            tip="The file's earlier versions: open, compare or restore one",
        )
        self.page_history_action = self.action(
            "History of the Open &File…",
            lambda: self.show_page_history(),
            tip="Earlier versions of the file in the editor, to compare with your edit or restore",
        )
        self.show_deleted_action = self.toggle(
            "Show &Deleted Files",
            lambda show: self.set_show_deleted(show),
            tip="Show the project's deleted files in the tree, greyed, to bring them back",
        )
        self.undelete_action = self.action(
            "&Undelete", lambda: self.undelete_selected(), tip="Bring the deleted file back as its last version"
        )
        self.restore_to_action = self.action(
            "Restore &to…",
            lambda: self.restore_to(),
            tip="Bring the whole project back as it was at an earlier moment (preview first)",
        )

    def update(self) -> None:
        has_project = bool(self.session.slug) and self.session.service is not None
        path, is_dir = self.browser.selected_path()
        deleted = bool(path) and self.browser.tree_model.deleted_at(path) is not None
        self.file_history_action.setEnabled(has_project and bool(path) and not is_dir)
        page = self.browser.editor_area.current()
        self.page_history_action.setEnabled(has_project and page is not None and page.slug == self.session.slug)
        self.undelete_action.setEnabled(has_project and deleted)
        self.restore_to_action.setEnabled(has_project)
        self.show_deleted_action.setEnabled(self.session.service is not None)
        self.set_checked(self.show_deleted_action, self.browser.show_deleted)

    # ---- versioning -----------------------------------------------------------------------------------

    async def history_available(self, service: CachedProjectService, *, writing: bool = False) -> bool:
        """True when the store keeps versions; else the one sentence, and (when the bucket allows) the offer
        to turn versioning on."""
        from projectdesk.services import history
        from projectdesk.ui.dialogs.history import (
            COST_SENTENCE,
        )

        try:
            await self.session.tasks.call(history.require_history, service, writing=writing)
            return True
        except NoHistory as exc:
            sentence = exc.message
        status = await self.session.tasks.call(history.versioning_status, service)
        box = QMessageBox(QMessageBox.Icon.Information, "No file history", sentence,
                          QMessageBox.StandardButton.Close, self.context.parent)  # fmt: skip
        box.setObjectName("noHistoryBox")
        enable = None
        if status in ("", history.SUSPENDED):
            box.setInformativeText(
                f"Turn versioning on for this bucket now? From then on every version of every file is kept. "
                f"{COST_SENTENCE}"
            )
            enable = box.addButton(ENABLE_TEXT, QMessageBox.ButtonRole.AcceptRole)
        await run_dialog(box)
        chosen = enable is not None and box.clickedButton() is enable
        box.deleteLater()
        if chosen:
            await self.session.tasks.call(history.enable_versioning, service)
            self.feedback.announce(
                "File history is on",
                f"The bucket keeps every version of every file from now on. {COST_SENTENCE}",
                INFO,
                timeout_ms=12000,
            )
        return False

    # ---- one file -----------------------------------------------------------------------------------

    @handler
    async def show_history(self, path: str = "") -> None:
        """The history of `path` (else the tree's selected file)."""
        service, slug = self.session.require_project()
        if not path:
            path, is_dir = self.browser.selected_path()
            if not path or is_dir:
                raise InvalidInput("Select a file to see its history.")
        if not await self.history_available(service):
            return
        await self.run_history(service, slug, path)

    @handler
    async def show_page_history(self) -> None:
        """The history of the file in the editor (with Compare with Your Edit)."""
        page = self.browser.editor_area.current()
        if page is None or page.slug != self.session.slug:
            raise InvalidInput("Open a file first.")
        service, slug = self.session.require_project()
        if not await self.history_available(service):
            return
        await self.run_history(service, slug, page.path)

    async def run_history(self, service: CachedProjectService, slug: str, path: str) -> None:
        from projectdesk.ui.dialogs.history import (
            FileHistoryDialog,
        )

        page = self.browser.editor_area.find_page(slug, path)
        has_edit = page is not None and page.editor is not None and page.loaded
        dialog = FileHistoryDialog(path, self.browser.project_name(slug), has_edit=has_edit, parent=self.context.parent)
        self.history_dialog = dialog
        dialog.openRequested.connect(lambda version: self.open_version(dialog, slug, path, version))
        dialog.compareRequested.connect(lambda older, newer: self.compare(dialog, slug, path, older, newer))
        dialog.compareEditRequested.connect(lambda version: self.compare_with_edit(dialog, slug, path, version))
        dialog.restoreRequested.connect(lambda version: self.restore_version(dialog, slug, path, version))
        dialog.writersRequested.connect(lambda: self.fill_writers(dialog, slug, path))
        self.load_versions(dialog, slug, path)
        await run_dialog(dialog)
        if self.history_dialog is dialog:
            self.history_dialog = None
        dialog.deleteLater()

    async def _in_dialog(self, dialog: FileHistoryDialog, work: object) -> None:
        """Await `work`; a failure is said in the dialog (it stays open)."""
        try:
            await work  # type: ignore[misc]
        except ProjectDeskError as exc:
            dialog.show_message(exc.message)

    @handler
    async def load_versions(self, dialog: FileHistoryDialog, slug: str, path: str) -> None:
        from projectdesk.services import history

        service = self.session.require_service()

        async def load() -> None:
            versions = await self.session.tasks.call(history.file_history, service, slug, path)
            dialog.set_versions(versions)

        await self._in_dialog(dialog, load())

    @handler
    async def fill_writers(self, dialog: FileHistoryDialog, slug: str, path: str) -> None:
        from projectdesk.services import history

        service = self.session.require_service()
        dialog.writers_button.setEnabled(False)
        dialog.show_message("Asking who wrote each version…")

        async def ask() -> None:
            writers = await self.session.tasks.call(history.version_writers, service, slug, path, dialog.versions)
            dialog.set_writers(writers)
            others = sum(1 for w in writers.values() if w != "projectdesk")
            dialog.show_message(
                f"{others} version{' was' if others == 1 else 's were'} written by another tool (the web app, the "
                "AWS console, …): they carry no ProjectDesk mark."
                if others
                else "Every version was written by ProjectDesk."
            )

        await self._in_dialog(dialog, ask())

    @handler
    async def open_version(self, parent: FileHistoryDialog, slug: str, path: str, version: FileVersion) -> None:
        from projectdesk.services import history
        from projectdesk.ui.dialogs.history import (
            VersionDialog,
        )
        from projectdesk.ui.diff import decode_text

        service = self.session.require_service()
        try:
            data = await self.session.tasks.call(history.read_version, service, slug, path, version.version_id)
        except ProjectDeskError as exc:
            parent.show_message(exc.message)
            return
        text = await self.session.tasks.call(decode_text, data)
        dialog = VersionDialog(path, version, text, len(data), parent=parent)
        self.version_dialog = dialog
        await run_dialog(dialog)
        if self.version_dialog is dialog:
            self.version_dialog = None
        dialog.deleteLater()

    @handler
    async def compare(
        self, parent: FileHistoryDialog, slug: str, path: str, older: FileVersion, newer: FileVersion | None
    ) -> None:
        """`older` against `newer` (None: the file on the server now), side by side."""
        from projectdesk.services import history
        from projectdesk.ui.dialogs.history import (
            when_text,
        )

        service = self.session.require_service()
        newer_id = newer.version_id if newer is not None else None
        try:
            before, after = await self.session.tasks.call(
                history.version_pair, service, slug, path, older.version_id, newer_id
            )
        except ProjectDeskError as exc:
            parent.show_message(exc.message)
            return
        right = f"Current — {path}" if newer is None else f"Version of {when_text(newer.last_modified)}"
        await self._show_diff(parent, path, before, after, f"Version of {when_text(older.last_modified)}", right)

    @handler
    async def compare_with_edit(self, parent: FileHistoryDialog, slug: str, path: str, version: FileVersion) -> None:
        """The version against the open page's text (unsaved edits included)."""
        from projectdesk.services import history
        from projectdesk.ui.dialogs.history import (
            when_text,
        )

        service = self.session.require_service()
        page = self.browser.editor_area.find_page(slug, path)
        if page is None or page.editor is None or page.closed:
            parent.show_message(f"{path} is not open in the editor any more.")
            return
        mine = page.text().encode("utf-8")
        try:
            data = await self.session.tasks.call(history.read_version, service, slug, path, version.version_id)
        except ProjectDeskError as exc:
            parent.show_message(exc.message)
            return
        edited = " (unsaved)" if page.is_modified else ""
        left = f"Version of {when_text(version.last_modified)}"
        await self._show_diff(parent, path, data, mine, left, f"Your edit{edited}")

    async def _show_diff(self, parent: QWidget, path: str, left: bytes, right: bytes, left_title: str,
                         right_title: str) -> None:  # fmt: skip
        from projectdesk.ui.dialogs.history import (
            CompareDialog,
        )
        from projectdesk.ui.diff import side_by_side

        diff = await self.session.tasks.call(side_by_side, left, right)
        dialog = CompareDialog(f"Compare: {path}", left_title, right_title, diff, parent=parent)
        self.compare_dialog = dialog
        await run_dialog(dialog)
        if self.compare_dialog is dialog:
            self.compare_dialog = None
        dialog.deleteLater()

    @handler
    async def restore_version(self, parent: FileHistoryDialog, slug: str, path: str, version: FileVersion) -> None:
        """Make `version` current again (asked first); a change by someone else meanwhile is never overwritten."""
        from projectdesk.services import history

        service = self.session.require_service()
        when = long_date(version.last_modified)
        page = self.browser.editor_area.find_page(slug, path)
        informative = (
            "It becomes the current version, as a new version: the one it replaces stays in the history, and "
            "restoring that one undoes this."
        )
        if page is not None and page.is_modified:
            informative += (
                " Your unsaved edits in the open tab are kept; saving them then keeps both versions (yours as a "
                "conflicted copy)."
            )
        if not await confirm(parent, "Restore", f"Restore {path} as it was at {when}?", informative, "Restore"):
            return
        parent.show_message(f"Restoring the version of {when}…")
        try:
            await self.session.tasks.call(history.restore_file, service, slug, path, version.version_id)
        except Conflict as exc:
            parent.show_message(exc.message + " The list shows the versions as they are now.")
            self.load_versions(parent, slug, path)
            return
        except ProjectDeskError as exc:
            parent.show_message(exc.message)
            return
        sentence = (
            f"Restored {path} as it was at {when}. To undo, restore the version it replaced (now second in the list)."
        )
        parent.show_message(sentence)
        self.feedback.notify(sentence, timeout_ms=12000)
        self.load_versions(parent, slug, path)
        await self.after_server_change(slug, {path})

    # ---- deleted files ----------------------------------------------------------------------------------

    @handler
    async def set_show_deleted(self, show: bool) -> None:
        service = self.session.require_service()
        if show and not await self.history_available(service):
            self.set_checked(self.show_deleted_action, False)
            return
        self.browser.show_deleted = show
        self.set_checked(self.show_deleted_action, show)
        if self.session.slug:
            await self.browser.load_tree(self.session.slug, keep_expanded=True)
            if show:
                count = len(self.browser.tree_model.tree_index().deleted)
                self.feedback.notify(
                    f"{count} deleted file{'s' if count != 1 else ''} shown, greyed: right-click one to undelete it."
                    if count
                    else "This project has no deleted files."
                )

    @handler
    async def undelete_selected(self) -> None:
        from projectdesk.services import history

        service, slug = self.session.require_project()
        path, _ = self.browser.selected_path()
        if not path or self.browser.tree_model.deleted_at(path) is None:
            raise InvalidInput("Select a deleted file (View ▸ Show Deleted Files) to bring it back.")
        await self.session.tasks.call(history.undelete, service, slug, path)
        self.feedback.notify(f"Brought {path} back as its last version.", timeout_ms=10000)
        await self.after_server_change(slug, {path})
        self.browser.reveal(path)

    # ---- the whole project as of a moment ---------------------------------------------------------------

    @handler
    async def restore_to(self) -> None:
        """Pick a moment, preview what would change, then restore (a row of the transfers panel)."""
        from projectdesk.ui.dialogs.history import (
            RestoreDialog,
        )

        service, slug = self.session.require_project()
        if not await self.history_available(service, writing=True):
            return
        dialog = RestoreDialog(self.browser.project_name(slug), parent=self.context.parent)
        self.restore_dialog = dialog
        dialog.previewRequested.connect(lambda at: self.preview(dialog, slug, at))
        dialog.stepChosen.connect(lambda step: self.show_step(dialog, slug, step))
        self.load_moments(dialog, slug)
        accepted = await run_dialog(dialog)
        plan = dialog.plan
        if self.restore_dialog is dialog:
            self.restore_dialog = None
        dialog.deleteLater()
        if accepted and plan is not None and not plan.is_empty:
            await self.run_restore(plan)

    @handler
    async def load_moments(self, dialog: RestoreDialog, slug: str) -> None:
        from projectdesk.services import history

        service = self.session.require_service()
        try:
            moments = await self.session.tasks.call(history.moments, service, slug)
        except ProjectDeskError as exc:
            dialog.show_error(exc.message)
            return
        dialog.set_moments(moments)

    @handler
    async def preview(self, dialog: RestoreDialog, slug: str, at: float) -> None:
        from projectdesk.services import history

        service = self.session.require_service()
        dialog.show_busy(f"Comparing the project as of {long_date(at)} with now…")
        try:
            plan = await self.session.tasks.call(history.plan_restore, service, slug, at)
        except ProjectDeskError as exc:
            dialog.show_error(exc.message)
            return
        if dialog.moment() == at:  # else the person chose another moment meanwhile
            dialog.set_plan(plan)
        else:
            dialog.show_error("Preview shows what a restore to this moment would change.")

    @handler
    async def show_step(self, parent: RestoreDialog, slug: str, step: RestoreStep) -> None:
        """One file of the preview: its version of then (left) against now (right)."""
        from projectdesk.services import history
        from projectdesk.ui.dialogs.history import (
            CompareDialog,
        )
        from projectdesk.ui.diff import side_by_side

        service = self.session.require_service()

        def read() -> tuple[bytes | None, bytes | None]:
            then = history.read_version(service, slug, step.path, step.target.version_id) if step.target else None
            now = history.read_version(service, slug, step.path, step.current.version_id) if step.current else None
            return then, now

        try:
            then, now = await self.session.tasks.call(read)
        except ProjectDeskError as exc:
            parent.show_error(exc.message)
            return
        diff = await self.session.tasks.call(side_by_side, then, now)
        if then is None:
            diff.note = "Added since that moment: a restore deletes it."
        elif now is None:
            diff.note = "Deleted since that moment: a restore brings it back."
        left = "Then" if then is not None else "Then — not there yet"
        right = "Now" if now is not None else "Now — deleted"
        dialog = CompareDialog(f"{step.path}: then and now", left, right, diff, parent=parent)
        self.compare_dialog = dialog
        await run_dialog(dialog)
        if self.compare_dialog is dialog:
            self.compare_dialog = None
        dialog.deleteLater()

    async def run_restore(self, plan: RestorePlan) -> Transfer:
        """Carry the previewed plan out as a row of the transfers panel; say what was done and how to undo it."""
        from projectdesk.services import history

        service = self.session.require_service()
        slug = plan.slug
        name = self.browser.project_name(slug)
        model = self.context.transfer_model
        transfer = Transfer("Restore", f"{name} as of {long_date(plan.at)}", slug=slug)
        try:
            report = await self.run_transfer(transfer, history.run_restore, service, plan)
        except ProjectDeskError:
            await self.after_server_change(slug, (step.path for step in plan.steps))  # some may have landed
            raise
        if report is None:
            await self.after_server_change(slug, (step.path for step in plan.steps))
            return transfer
        self.last_report = report
        undo = f"Restore to {long_date(report.undo_at)} undoes this."
        problems = [(p, e.message) for p, e in report.failed] + list(report.conflicts)
        if problems:
            model.finish(transfer, FAILED, error=f"{report.summary()}.", failures=problems)
            self.feedback.announce(
                f"{name} restored as of {long_date(plan.at)}, with problems",
                f"{report.summary()}: " + "; ".join(m for _, m in problems[:3]) + f" {undo}",
                WARNING,
            )
        else:
            model.finish(transfer, DONE, detail=f"{report.summary()}. {undo}")
            self.feedback.announce(
                f"{name} restored as of {long_date(plan.at)}", f"{report.summary()}. {undo}", INFO, timeout_ms=20000
            )
        await self.after_server_change(slug, (step.path for step in plan.steps))
        return transfer

    # ---- after a change on the server ---------------------------------------------------------------------

    async def after_server_change(self, slug: str, paths: Iterable[str]) -> None:
        """As after any server change: the project's row, the tree, and the open pages of the changed files
        (a clean page shows the new version, a deleted file's tab closes, unsaved edits are kept)."""
        changed = set(paths)
        service = self.session.service
        if service is None:
            return
        await self.reload_tree(slug)
        infos = await self.session.tasks.call(service.cached_projects)
        info = next((i for i in infos if i.slug == slug), None)
        if info is not None and self.session.is_current(service):
            self.browser.project_model.update_project(info)
            if slug == self.session.slug:
                self.browser.update_header()
        for page in list(self.browser.editor_area.pages()):
            if page.slug != slug or page.path not in changed or page.closed:
                continue
            if page.is_modified:
                self.feedback.warn(
                    "File restored on the server",
                    f"{page.path} changed on the server while you edited it here; your unsaved edits are kept. Saving "
                    "keeps both versions (yours as a conflicted copy).",
                )
            elif slug == self.session.slug and self.browser.tree_model.entry(page.path) is None:
                self.context.editing.close_pages(slug, {page.path})
            else:
                await self.context.folders.reload_page(page)
        self.serverChanged.emit(slug)
