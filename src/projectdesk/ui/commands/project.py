"""The Project menu: keep offline, export as zip, copy the project's S3 URI, delete the project."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QStyle

from projectdesk.core.errors import ProjectDeskError
from projectdesk.ui.commands.base import CommandContext, CommandGroup
from projectdesk.ui.dialogs import run_dialog
from projectdesk.ui.tasks import ProgressRelay, handler
from projectdesk.ui.transfers import CANCELLED, DONE, FAILED, Transfer


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

    def update(self) -> None:
        has_project = bool(self.session.slug) and self.session.service is not None
        for action in (self.delete_project_action, self.delete_project_key, self.export_action):
            action.setEnabled(has_project)
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
        transfer = model.add(Transfer("Export", f"{self.browser.project_name(slug)} → {out.name}", slug=slug))
        self.context.transfers_dock.show()
        relay = ProgressRelay(self)
        relay.progressed.connect(lambda progress: model.update_progress(transfer, progress))
        model.start(transfer)
        try:
            report = await self.session.tasks.transfer(
                service.export_zip, slug, out, progress=relay, cancel=transfer.cancel
            )
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
        text = f"Delete the project “{name}” and its {count:,} file{'s' if count != 1 else ''}?"
        if not await self.confirm("Delete project", text, informative, "Delete Project"):
            return
        self.feedback.notify(f"Deleting {name}…", timeout_ms=0)
        deleted = await self.session.tasks.call(service.delete_project, slug)
        self.context.editing.close_pages(slug)
        if self.session.slug == slug:
            self.browser.show_project(None)
        self.feedback.notify(f"Deleted {name} ({deleted:,} files).")
        self.projectDeleted.emit(slug)
        await self.browser.refresh()
