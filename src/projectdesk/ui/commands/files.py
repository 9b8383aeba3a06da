"""Commands on the tree's files: open, new, rename, delete, copy the S3 URI, share a link."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QStyle

from projectdesk.core.errors import InvalidInput
from projectdesk.ui.commands.base import CommandContext, CommandGroup
from projectdesk.ui.dialogs import run_dialog
from projectdesk.ui.tasks import handler

if TYPE_CHECKING:
    from projectdesk.services.projects import ShareLink
    from projectdesk.ui.dialogs.share_link import ShareLinkDialog

PENDING_NOTE = (
    "Your latest changes to this file are still waiting to be uploaded: until they are, the link gives the "
    "version on the server."
)
SHARE_TIP = "A link anyone can download the file with, for up to 7 days"


class FileCommands(CommandGroup):
    """Attributes:
    share_dialog: the share dialog while it is open (tests drive it), else None.

    Signals:
    filesChanged(str): files of a project were created, renamed or deleted (slug).
    linkCopied(object): a ShareLink was copied to the clipboard.
    """

    filesChanged = Signal(str)
    linkCopied = Signal(object)

    def __init__(self, context: CommandContext) -> None:
        super().__init__(context)
        tree = context.browser.tree_view
        self.share_dialog: ShareLinkDialog | None = None
        self.open_action = self.action("&Open", self.open_selected)
        self.new_file_action = self.action(
            "&New File…", lambda: self.new_file(), "Ctrl+Shift+N", tip="Create an empty file in the selected folder"
        )
        self.rename_action = self.action("&Rename…", lambda: self.rename_file(), "F2", widget=tree)
        self.delete_file_action = self.action(
            "De&lete…", lambda: self.delete_files(), QKeySequence.StandardKey.Delete, widget=tree
        )
        self.copy_uri_action = self.action(
            "Copy S3 UR&I", lambda: self.copy_file_uri(), "Ctrl+Shift+C", tip="Copy the s3:// address of the file"
        )
        self.share_action = self.action("Copy &Share Link…", lambda: self.share_link(), "Ctrl+Shift+L", tip=SHARE_TIP)
        self.share_action.setIcon(context.parent.style().standardIcon(QStyle.StandardPixmap.SP_DialogYesButton))

    def update(self) -> None:
        has_project = bool(self.session.slug) and self.session.service is not None
        path, is_dir = self.browser.selected_path()
        if path and self.browser.tree_model.deleted_at(path) is not None:
            path = ""  # a deleted file shown greyed (View ▸ Show Deleted Files): only Undelete and its history
        is_file = bool(path) and not is_dir
        can_share = self.session.can_share
        self.new_file_action.setEnabled(has_project)
        self.rename_action.setEnabled(has_project and is_file)
        self.delete_file_action.setEnabled(has_project and bool(path))
        self.copy_uri_action.setEnabled(has_project and can_share)
        self.share_action.setEnabled(has_project and can_share and is_file)
        self.open_action.setEnabled(has_project and is_file)
        shareable = can_share or self.session.service is None
        self.share_action.setToolTip(SHARE_TIP if shareable else "Share links and S3 URIs need an S3 store.")

    def open_selected(self) -> None:
        path, is_dir = self.browser.selected_path()
        if path and not is_dir:
            self.context.editing.open_file(path)

    def _path_problem(self, exclude: str = "") -> Callable[[str], str]:
        """Why a new name cannot be used (taken by a file or folder, or under a file), or ""."""
        files = set(self.browser.tree_model.all_paths()) - {exclude}
        folders = self.browser.folders()

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

    async def _changed(self, slug: str) -> None:
        await self.reload_tree(slug)
        self.filesChanged.emit(slug)

    @handler
    async def new_file(self) -> None:
        from projectdesk.ui.dialogs.name_input import PathDialog

        service, slug = self.session.require_project()
        tree = self.browser.tree_view
        folder = tree.folder_at(tree.currentIndex())
        dialog = PathDialog(
            "New file",
            f"Name of the new file in {self.browser.project_name(slug)} (folders with /):",
            f"{folder}/" if folder else "",
            ok_text="Create",
            problem=self._path_problem(),
            parent=self.context.parent,
        )
        accepted = await run_dialog(dialog)
        path = dialog.path()
        dialog.deleteLater()
        if not accepted or not path:
            return
        await self.session.tasks.call(service.create_file, slug, path, b"")
        self.feedback.notify(f"Created {path}")
        await self._changed(slug)
        self.context.editing.reveal_and_open(path)

    @handler
    async def rename_file(self) -> None:
        from projectdesk.ui.dialogs.name_input import PathDialog

        service, slug = self.session.require_project()
        old, is_dir = self.browser.selected_path()
        if not old or is_dir:
            raise InvalidInput("Select a file to rename.")
        dialog = PathDialog(
            "Rename",
            f"New name for {old}:",
            old,
            ok_text="Rename",
            problem=self._path_problem(exclude=old),
            select_stem=True,
            parent=self.context.parent,
        )
        accepted = await run_dialog(dialog)
        new = dialog.path()
        dialog.deleteLater()
        if not accepted or not new or new == old:
            return
        editing = self.context.editing
        page = self.browser.editor_area.find_page(slug, old)
        if page is not None and page.is_modified and not await editing.confirm_discard([page]):
            return
        self.feedback.notify(f"Renaming {old}…", timeout_ms=0)
        await self.session.tasks.call(service.rename_file, slug, old, new)
        editing.close_pages(slug, {old})
        self.feedback.notify(f"Renamed {old} to {new}")
        await self._changed(slug)
        if page is not None:
            editing.reveal_and_open(new)
        else:
            self.browser.reveal(new)

    @handler
    async def delete_files(self) -> None:
        service, slug = self.session.require_project()
        path, is_dir = self.browser.selected_path()
        if not path:
            raise InvalidInput("Select a file or folder to delete.")
        paths = [p for p in self.browser.tree_model.all_paths() if p.startswith(path + "/")] if is_dir else [path]
        if not paths:
            return
        name = self.browser.project_name(slug)
        text = (
            f"Delete the folder {path} and its {len(paths):,} file{'s' if len(paths) != 1 else ''} from “{name}”?"
            if is_dir
            else f"Delete {path} from “{name}”?"
        )
        offline = service.is_offline
        informative = (
            "It is removed from the store"
            + (" as soon as the store can be reached" if offline else "")
            + "; this cannot be undone."
        )
        doomed = set(paths)
        unsaved = [p for p in self.browser.editor_area.modified_pages() if p.slug == slug and p.path in doomed]
        if unsaved:
            informative += f" Unsaved changes in {len(unsaved)} open file(s) are lost."
        if not await self.confirm("Delete", text, informative, "Delete"):
            return
        if len(paths) == 1 and not is_dir:
            await self.session.tasks.call(service.delete_file, slug, paths[0])
        else:
            await self.session.tasks.call(service.delete_files, slug, paths)
        self.context.editing.close_pages(slug, doomed)
        what = f"{path} ({len(paths)} files)" if is_dir else path
        self.feedback.notify(f"Deleted {what}" + (" here; the store follows once online." if offline else "."))
        await self._changed(slug)

    @handler
    async def copy_file_uri(self) -> None:
        await self.copy_s3_uri(self.browser.selected_path()[0])

    @handler
    async def share_link(self) -> None:
        from projectdesk.ui.dialogs.share_link import ShareLinkDialog

        service, slug = self.session.require_project()
        path, is_dir = self.browser.selected_path()
        if not path or is_dir:
            raise InvalidInput("Select a file to share.")
        states = await self.session.tasks.call(service.file_states, slug)
        note = PENDING_NOTE if states.get(path) == "dirty" else ""

        async def make(seconds: int) -> ShareLink:
            link: ShareLink = await self.session.tasks.call(service.share_link, slug, path, seconds)
            return link

        dialog = ShareLinkDialog(path, make, note=note, parent=self.context.parent)
        self.share_dialog = dialog
        await run_dialog(dialog)
        self.share_dialog = None
        if dialog.copied and dialog.link is not None:
            until = dialog.sentence.text().rsplit(" until ", 1)[-1]
            self.feedback.notify(f"Copied a share link for {path}, valid until {until}")
            self.linkCopied.emit(dialog.link)
        dialog.deleteLater()
