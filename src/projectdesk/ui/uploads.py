"""Getting files in and out: folders and zips dropped or chosen become projects (after a preview), files
dropped on the tree go into a folder of the project, and projects are downloaded into a folder. Each runs
as a row of the transfers panel (`jobs.TransferJobs`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from projectdesk.ui.dialogs import run_dialog
from projectdesk.ui.drops import DroppedItems, sort_drop
from projectdesk.ui.feedback import INFO, Feedback
from projectdesk.ui.formatting import human_bytes
from projectdesk.ui.staging import new_staging_folder, remove_staging, stage_drop, staged_links
from projectdesk.ui.tasks import handler
from projectdesk.ui.transfers import Transfer

if TYPE_CHECKING:
    from projectdesk.services.projects import PushPlan
    from projectdesk.ui.browser import ProjectBrowser
    from projectdesk.ui.dialogs.push_preview import PushPreviewDialog
    from projectdesk.ui.jobs import TransferJobs
    from projectdesk.ui.session import Session


class Uploads(QObject):
    """Drops, uploads, zip imports and downloads for the window.

    Attributes:
        preview: the preview dialog open now (tests drive it), else None.
    """

    def __init__(
        self, session: Session, browser: ProjectBrowser, jobs: TransferJobs, feedback: Feedback, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.browser = browser
        self.jobs = jobs
        self.feedback = feedback
        self._parent = parent
        self.preview: PushPreviewDialog | None = None
        self._new_projects: set[str] = set()  # made here: selected once their upload lands
        browser.project_view.pathsDropped.connect(self._on_projects_dropped)
        browser.tree_view.pathsDropped.connect(self._on_tree_dropped)
        jobs.uploaded.connect(self._on_uploaded)

    # the error sink and task keeper `handler` looks for
    def report_error(self, error: BaseException) -> None:
        self.feedback.report_error(error)

    def adopt_task(self, task: asyncio.Task[None]) -> None:
        self.session.adopt_task(task)

    # ---- new projects -------------------------------------------------------------------------------

    def _on_projects_dropped(self, paths: list[Path], _index: QModelIndex) -> None:
        self.drop_on_projects(paths)

    @handler
    async def drop_on_projects(self, paths: list[Path]) -> None:
        """Folders and zips dropped on the project list become projects, each after a preview."""
        items: DroppedItems = await self.session.tasks.call(sort_drop, list(paths))
        if items.files and not (items.folders or items.zips):
            self.feedback.announce(
                "Not a folder",
                "Drop a folder to create a project, or a .zip to import one. To add files to a project, "
                "drop them on a folder in the file tree.",
                INFO,
                timeout_ms=12000,
            )
            return
        for archive in items.zips:
            await self.preview_and_import(archive)
        for folder in items.folders:
            await self.preview_and_upload(folder)

    @handler
    async def choose_folder_to_upload(self) -> None:
        dialog = QFileDialog(self._parent, "Choose a folder to upload as a new project")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        if await run_dialog(dialog) and dialog.selectedFiles():
            await self.preview_and_upload(Path(dialog.selectedFiles()[0]))
        dialog.deleteLater()

    @handler
    async def choose_zip_to_import(self) -> None:
        dialog = QFileDialog(self._parent, "Choose a .zip to import as a new project")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilter("Zip archives (*.zip)")
        if await run_dialog(dialog) and dialog.selectedFiles():
            await self.preview_and_import(Path(dialog.selectedFiles()[0]))
        dialog.deleteLater()

    async def preview_and_upload(self, folder: Path) -> PushPlan | None:
        """Scan a folder, show the preview, and upload it as a new project when the person says so."""
        service = self.session.require_service()
        self.feedback.notify(f"Scanning {folder}…", timeout_ms=0)
        plan = await self.session.tasks.call(service.plan_push, folder)
        self.feedback.notify(
            f"Scanned {folder.name}: {len(plan.scan.files):,} files, {human_bytes(plan.scan.total_bytes)}"
        )
        chosen = await self._preview(plan)
        if chosen is not None:
            self.jobs.push(chosen, folder, service)
        return chosen

    async def preview_and_import(self, archive: Path) -> PushPlan | None:
        """Check and unpack a zip, show the same preview as for a folder (named after the zip, editable),
        and upload it as a new project when the person says so; nothing is sent before."""
        service = self.session.require_service()
        self.feedback.notify(f"Unpacking {archive.name}…", timeout_ms=0)
        staging: Path | None = await self.session.tasks.call(new_staging_folder)
        assert staging is not None
        try:
            folder, notes = await self.session.tasks.call(service.unpack_zip, archive, staging)
            plan = await self.session.tasks.call(service.plan_push, folder, name=archive.stem, remember=False)
            self.feedback.notify(
                f"{archive.name}: {len(plan.scan.files):,} files, {human_bytes(plan.scan.total_bytes)}"
                + (f"; {len(notes)} link{'s' if len(notes) != 1 else ''} kept as plain files" if notes else "")
            )
            chosen = await self._preview(plan, source=str(archive))
            if chosen is not None:
                self.jobs.push(chosen, folder, service, title=f"{archive.name} → {chosen.name}", staging=staging)
                staging = None  # the transfer owns it now
            return chosen
        finally:
            if staging is not None:
                await self.session.tasks.call(remove_staging, staging)

    async def _preview(self, plan: PushPlan, source: str = "") -> PushPlan | None:
        from projectdesk.ui.dialogs.push_preview import PushPreviewDialog

        dialog = PushPreviewDialog(
            plan, known_slugs=self.browser.project_model.slugs(), source=source, parent=self._parent
        )
        self.preview = dialog
        accepted = await run_dialog(dialog)
        self.preview = None
        chosen = dialog.plan()
        dialog.deleteLater()
        if not accepted:
            self.feedback.notify("Upload cancelled.")
            return None
        if chosen.is_new:
            self._new_projects.add(chosen.slug)
        return chosen

    # ---- into a project -----------------------------------------------------------------------------

    def _on_tree_dropped(self, paths: list[Path], index: QModelIndex) -> None:
        if not self.session.slug:
            self.feedback.notify("Select a project first, then drop files on its tree.")
            return
        self.upload_into(self.session.slug, self.browser.tree_view.folder_at(index), paths)

    @handler
    async def upload_into(self, slug: str, folder: str, paths: list[Path]) -> None:
        """Upload dropped files and folders into `folder` of project `slug` (previewed when something is wrong)."""
        from projectdesk.ui.dialogs.push_preview import PushPreviewDialog

        service = self.session.require_service()
        staging: Path | None = await self.session.tasks.call(stage_drop, list(paths), folder)
        assert staging is not None
        try:
            bridges = await self.session.tasks.call(staged_links, staging)
            plan = await self.session.tasks.call(service.plan_push, staging, slug=slug, remember=False, bridges=bridges)
            where = f"{slug}/{folder}" if folder else slug
            if plan.limit_error is not None or plan.scan.problems or not plan.to_upload:
                dialog = PushPreviewDialog(plan, target=where, parent=self._parent)
                self.preview = dialog
                accepted = await run_dialog(dialog)
                self.preview = None
                dialog.deleteLater()
                if not accepted:
                    self.feedback.notify("Upload cancelled.")
                    return
            names = ", ".join(p.name for p in paths[:3]) + (f" +{len(paths) - 3}" if len(paths) > 3 else "")
            self.jobs.push(plan, staging, service, title=f"{names} → {where}", staging=staging)
            staging = None  # the transfer owns it now
        finally:
            if staging is not None:
                await self.session.tasks.call(remove_staging, staging)

    def _on_uploaded(self, service: object, slug: str) -> None:
        if service is self.session.service and not self.session.closing:
            self.session.track(self._after_upload(slug))

    async def _after_upload(self, slug: str) -> None:
        """A push or import landed: list the projects again and show the new one (or its new files)."""
        await self.browser.refresh_projects()
        # a project made here is shown once it landed, unless that would close pages with unsaved edits
        new = slug in self._new_projects and not self.browser.editor_area.modified_pages()
        self._new_projects.discard(slug)
        if slug == self.session.slug:
            await self.browser.load_tree(slug, keep_expanded=True)
        elif self.browser.project_model.project(slug) is not None and (new or not self.session.slug):
            self.browser.select_project(slug)

    # ---- out of the store ---------------------------------------------------------------------------

    @handler
    async def choose_download_folder(self) -> None:
        """Download the selected project into a folder the person picks."""
        slug = self.session.slug
        if not slug:
            return
        dialog = QFileDialog(self._parent, "Download the project into…")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        accepted = await run_dialog(dialog)
        chosen = dialog.selectedFiles()
        dialog.deleteLater()
        if accepted and chosen:
            self.start_download(slug, Path(chosen[0]) / slug)

    def start_download(self, slug: str, dest: Path) -> Transfer:
        return self.jobs.download(slug, dest, self.session.require_service())

    @handler
    async def show_transfer_details(self, transfer: object) -> None:
        """Every file a transfer could not move, and why."""
        if not isinstance(transfer, Transfer):
            return
        lines = [f"{path}: {reason}" for path, reason in transfer.failures[:200]]
        if len(transfer.failures) > 200:
            lines.append(f"… and {len(transfer.failures) - 200} more")
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            f"{transfer.kind}: {transfer.title}",
            transfer.error or "Some files had problems.",
            QMessageBox.StandardButton.Close,
            self._parent,
        )
        if lines:
            box.setDetailedText("\n".join(lines))
        await run_dialog(box)
        box.deleteLater()
