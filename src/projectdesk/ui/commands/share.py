"""Project ▸ Share Project… and Shared Links… (services/share.py): a zip snapshot of the project made as a row of the
transfers panel (progress, Cancel), its link said plainly; the snapshots listed, linked again and revoked; and, once
a store opens, its expired snapshots removed in the background."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal

from projectdesk.core import shares
from projectdesk.core.errors import ProjectDeskError
from projectdesk.core.sizes import human_bytes
from projectdesk.ui.commands.base import CommandContext, CommandGroup
from projectdesk.ui.dialogs import run_dialog
from projectdesk.ui.tasks import handler
from projectdesk.ui.transfers import DONE, Transfer

if TYPE_CHECKING:
    from projectdesk.core.shares import ProjectShare
    from projectdesk.ui.dialogs.share_project import ProjectLinkDialog, ShareProjectDialog
    from projectdesk.ui.dialogs.shared_links import SharedLinksDialog

log = logging.getLogger(__name__)

SHARE_TIP = "Share the whole project as a zip, by a link anyone can download it with for up to 7 days"
LINKS_TIP = "The projects shared by link: copy a link again, or revoke it"
NEED_S3 = "Sharing by link needs an S3 store."
PENDING_NOTE = (
    "Some of your changes to this project are still waiting to be uploaded: the zip holds the files as the "
    "server has them."
)
LIFECYCLE_DONE = (
    "Added the lifecycle rule '{rule}': the bucket deletes snapshots {days} days after they were made, whatever "
    "its other rules say (they were kept)."
)
LIFECYCLE_THERE = "The bucket has the lifecycle rule '{rule}' already: it deletes snapshots itself."


class ShareCommands(CommandGroup):
    """Attributes (tests drive them): share_dialog, link_dialog, links_dialog while open, else None.

    Signals:
    shared(object): a ProjectShare was made.
    expiredRemoved(int): the background cleanup removed that many expired snapshots.
    """

    shared = Signal(object)
    expiredRemoved = Signal(int)

    def __init__(self, context: CommandContext) -> None:
        super().__init__(context)
        self.share_dialog: ShareProjectDialog | None = None
        self.link_dialog: ProjectLinkDialog | None = None
        self.links_dialog: SharedLinksDialog | None = None
        self.share_project_action = self.action("S&hare Project…", lambda: self.share_project(), tip=SHARE_TIP)
        self.shared_links_action = self.action("Shared Lin&ks…", lambda: self.shared_links(), tip=LINKS_TIP)
        context.session.serviceOpened.connect(lambda: self.remove_expired())

    def update(self) -> None:
        has_service = self.session.service is not None
        can_share = self.session.can_share
        self.share_project_action.setEnabled(bool(self.session.slug) and can_share)
        self.shared_links_action.setEnabled(can_share)
        shareable = can_share or not has_service
        self.share_project_action.setToolTip(SHARE_TIP if shareable else NEED_S3)
        self.shared_links_action.setToolTip(LINKS_TIP if shareable else NEED_S3)

    # ---- Share Project… ---------------------------------------------------------------------------------

    @handler
    async def share_project(self) -> None:
        from projectdesk.services import share as service_share
        from projectdesk.ui.dialogs.share_project import ProjectLinkDialog, ShareProjectDialog

        service, slug = self.session.require_project()
        name = self.browser.project_name(slug)
        info = self.browser.project_model.project(slug)
        summary = service_share.project_summary(info) if info is not None else slug
        states = await self.session.tasks.call(service.file_states, slug)
        note = PENDING_NOTE if "dirty" in states.values() else ""
        dialog = ShareProjectDialog(name, summary, note=note, parent=self.context.parent)
        self.share_dialog = dialog
        accepted = await run_dialog(dialog)
        self.share_dialog = None
        seconds = dialog.seconds()
        dialog.deleteLater()
        if not accepted:
            return
        transfer = Transfer("Pack", f"{name} → share link", slug=slug)
        made = await self.run_transfer(transfer, service_share.share_project, service, slug, seconds)
        if made is None:
            return
        self.context.transfer_model.finish(
            transfer, DONE, detail=f"{shares.files_text(made.files_count)}, {human_bytes(made.size)} zip"
        )
        self.shared.emit(made)
        link = ProjectLinkDialog(made, parent=self.context.parent)
        self.link_dialog = link
        await run_dialog(link)
        self.link_dialog = None
        if link.copied:
            self.feedback.notify(f"Copied the link to {name}'s zip, valid until {shares.until_text(made.expires_at)}")
        link.deleteLater()

    # ---- Shared Links… ----------------------------------------------------------------------------------

    @handler
    async def shared_links(self) -> None:
        from projectdesk.services import share as service_share
        from projectdesk.ui.dialogs.shared_links import SharedLinksDialog

        service = self.session.require_service()
        tasks = self.session.tasks

        async def load() -> list[ProjectShare]:
            listing = await tasks.call(service_share.list_shares, service)
            return listing.shares

        async def make_link(share: ProjectShare) -> ProjectShare:
            return await tasks.call(service_share.fresh_link, service, share)

        async def revoke(share: ProjectShare) -> bool:
            text = f"Revoke the link to {share.name}'s zip?"
            informative = "The snapshot is deleted: the link stops working at once, for everyone who has it."
            if not await self.confirm("Revoke link", text, informative, "Revoke"):
                return False
            await tasks.call(service_share.revoke, service, share)
            return True

        async def add_rule() -> str:
            added = await tasks.call(service_share.add_lifecycle_rule, service)
            sentence = LIFECYCLE_DONE if added else LIFECYCLE_THERE
            return sentence.format(rule=shares.LIFECYCLE_RULE_ID, days=shares.LIFECYCLE_DAYS)

        dialog = SharedLinksDialog(load, make_link, revoke, add_rule, parent=self.context.parent)
        self.links_dialog = dialog
        await run_dialog(dialog)
        self.links_dialog = None
        dialog.deleteLater()

    # ---- expired snapshots, once a store opens -----------------------------------------------------------

    @handler
    async def remove_expired(self) -> None:
        """In the background; a failure (offline, a key that may not list shares/) is logged, not shown."""
        from projectdesk.services import share as service_share

        service = self.session.service
        if service is None or not self.session.can_share or service.is_offline:
            return
        try:
            removed = await self.session.tasks.call(service_share.remove_expired, service)
        except ProjectDeskError as exc:
            log.info("expired snapshots were not removed: %s", exc)
            return
        if removed:
            self.feedback.notify(f"Removed {removed} expired shared zip{'s' if removed != 1 else ''}.")
        self.expiredRemoved.emit(removed)
