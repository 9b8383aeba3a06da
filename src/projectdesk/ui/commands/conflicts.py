"""Resolving conflicts: both versions side by side, then keep mine, theirs or both — said in plain words."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal

from projectdesk.services.conflicts import KEEP_BOTH, KEEP_MINE, KEEP_THEIRS, Choice
from projectdesk.ui.commands.base import CommandContext, CommandGroup
from projectdesk.ui.dialogs import run_dialog
from projectdesk.ui.feedback import INFO
from projectdesk.ui.resources import state_icon
from projectdesk.ui.tasks import handler

if TYPE_CHECKING:
    from projectdesk.cache.index import ConflictRecord
    from projectdesk.ui.dialogs.conflict import ConflictDialog
    from projectdesk.ui.sync_state import SyncSnapshot

CHOICES: dict[str, Choice] = {KEEP_MINE: KEEP_MINE, KEEP_THEIRS: KEEP_THEIRS, KEEP_BOTH: KEEP_BOTH}


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
    labels: dict[str, str] = {KEEP_MINE: "Kept yours", KEEP_THEIRS: "Kept the server's version", KEEP_BOTH: "Kept both"}
    label = labels[choice]
    return f"{label}: {what}" if what else f"{label}."


class ConflictCommands(CommandGroup):
    """Attributes:
    conflict_dialog: the diff view while it is open (tests drive it), else None.
    conflicts_tool_action: the toolbar's button, shown only while there are conflicts.

    Signals:
    conflictResolved(object, str): a conflict record and the choice made.
    """

    conflictResolved = Signal(object, str)

    def __init__(self, context: CommandContext) -> None:
        super().__init__(context)
        self.conflict_dialog: ConflictDialog | None = None
        self._count = 0
        self.resolve_action = self.action(
            "Resolve &Conflicts…",
            lambda: self.resolve_conflicts(),
            "Ctrl+Shift+R",
            tip="Compare both versions of a conflicted file and choose",
        )
        self.resolve_action.setIcon(state_icon("conflict"))
        self.conflicts_tool_action = self.action(
            "Resolve Conflicts",
            lambda: self.resolve_conflicts(),
            tip="Compare both versions of a conflicted file and choose",
        )
        self.conflicts_tool_action.setIcon(state_icon("conflict"))
        self.conflicts_tool_action.setVisible(False)
        self.session.snapshotChanged.connect(self._on_snapshot)
        context.browser.serviceReady.connect(lambda: self._set_count(0))

    def _on_snapshot(self, snap: SyncSnapshot) -> None:
        self._set_count(len(snap.conflicts))

    def _set_count(self, count: int) -> None:
        self._count = count
        self.update()

    def update(self) -> None:
        count = self._count
        self.resolve_action.setEnabled(count > 0)
        self.resolve_action.setText(f"Resolve &Conflicts ({count})…" if count else "Resolve &Conflicts…")
        self.conflicts_tool_action.setVisible(count > 0)
        self.conflicts_tool_action.setText(
            f"{count} Conflict{'s' if count != 1 else ''}" if count else "Resolve Conflicts"
        )

    @handler
    async def resolve_conflicts(self) -> None:
        """Open the diff view of a conflict: the selected file's, else one in this project, else any."""
        service = self.session.require_service()
        records = await self.session.tasks.call(service.conflicts)
        if not records:
            self._set_count(0)
            self.feedback.notify("No conflicts: every change is in place.")
            return
        path, _ = self.browser.selected_path()
        slug = self.session.slug
        record = next((r for r in records if r.slug == slug and path in (r.path, r.copy_path)), None)
        record = record or next((r for r in records if r.slug == slug), None) or records[0]
        if record.slug != self.session.slug:
            task = self.browser.select_project(record.slug)
            if task is not None:
                await task
        await self.resolve(record)

    async def resolve(self, record: ConflictRecord) -> str:
        """Show one conflict side by side and apply the choice; returns it ('' when decided later)."""
        from projectdesk.ui.dialogs.conflict import ConflictDialog
        from projectdesk.ui.diff import side_by_side

        service = self.session.service
        if service is None:
            return ""
        tasks = self.session.tasks
        versions = await tasks.call(service.conflict_versions, record.id)
        diff = await tasks.call(side_by_side, versions.mine, versions.theirs)
        mine_label = _name_of(versions.mine_path) if versions.mine is not None else "deleted here"
        theirs_label = _name_of(versions.theirs_path) if versions.theirs is not None else "deleted on the server"
        dialog = ConflictDialog(
            record.path,
            record.message,
            diff,
            mine_label=mine_label,
            theirs_label=theirs_label,
            explain=conflict_choices(record.kind, record.path, record.copy_path),
            parent=self.context.parent,
        )
        self.conflict_dialog = dialog
        await run_dialog(dialog)
        self.conflict_dialog = None
        choice = CHOICES.get(dialog.choice)
        dialog.deleteLater()
        if choice is None:
            self.feedback.notify("Decided later: both versions stay until you choose.")
            return ""
        editing = self.context.editing
        touched = {record.path} | ({record.copy_path} if record.copy_path else set())
        pages = [p for p in self.browser.editor_area.pages() if p.slug == record.slug and p.path in touched]
        if not await editing.confirm_discard([p for p in pages if p.is_modified]):
            return ""
        reopen = any(p.path == record.path for p in pages)
        editing.close_pages(record.slug, touched)
        await tasks.call(service.resolve_conflict, record.id, choice)
        sentence = resolved_sentence(choice, record.kind, record.path, record.copy_path)
        self.feedback.notify(sentence, timeout_ms=12000)
        self.feedback.announce("Conflict resolved", sentence, INFO, timeout_ms=12000)
        self._set_count(max(0, self._count - 1))
        self.conflictResolved.emit(record, choice)
        await self.reload_tree(record.slug)
        if reopen and self.browser.tree_model.entry(record.path) is not None:
            editing.open_file(record.path)
        return choice
