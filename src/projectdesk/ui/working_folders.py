"""Working folders in the window: the folders chosen with Work in Folder kept in sync while the window is open.

Only those: a folder bound by a push (a drop) or by the command line is not watched unless the person chose
it here (the window remembers the choice in its settings, per store). One `FolderWatch` (services/watch.py)
per such folder runs in its own daemon thread (a watch blocks for its lifetime: never in the task pools); its
events come to the GUI thread through `post_to_gui`. What a round moved shows in the status bar, each
folder's state in the project's header and its row in the project list, and what it changed reaches the
window: the open project's tree is reloaded, open pages of changed files without unsaved edits are reloaded,
and a page with unsaved edits keeps them (the banner says the file changed). Watches stop when another store
opens and when the window closes (the session joins their threads before it closes the stores).
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices

from projectdesk.core.errors import ProjectDeskError
from projectdesk.services.watch_events import WatchState, WatchTiming
from projectdesk.storage.atomic import TEMP_PREFIX
from projectdesk.ui.content import TEXT, classify
from projectdesk.ui.editor import CHUNK_CHARS, EditorPage
from projectdesk.ui.feedback import WARNING, Feedback
from projectdesk.ui.resources import icon_path
from projectdesk.ui.sync_state import Connection
from projectdesk.ui.tasks import handler, post_to_gui

if TYPE_CHECKING:
    from projectdesk.services.folder_sync import FolderConflict, FolderReport
    from projectdesk.services.offline import CachedProjectService
    from projectdesk.services.watch import FolderWatch, WatchEvent
    from projectdesk.ui.browser import ProjectBrowser
    from projectdesk.ui.editing import EditorFlow
    from projectdesk.ui.session import Session

log = logging.getLogger(__name__)

Key = tuple[Path, str]  # (the folder, resolved; the project's slug)
CONFLICTS_LINK = "folder-conflicts"
FOLDER_LINK = "folder:"
JOIN_SECONDS = 10.0


def home_relative(folder: Path) -> str:
    """~/code/site for a folder under the home directory, else the whole path."""
    home = Path.home()
    try:
        return "~/" + folder.relative_to(home).as_posix() if folder != home else "~"
    except ValueError:
        return str(folder)


@dataclass
class FolderStatus:
    """How one working folder stands, as its watch last said."""

    folder: Path
    slug: str
    state: WatchState | None = None  # None: the watch is starting
    waiting: int = 0  # local changes seen and not sent yet
    error: str = ""
    conflicts: list[FolderConflict] = field(default_factory=list)  # kept both versions in the last rounds
    missing: bool = False  # the folder is gone: not watched

    @property
    def words(self) -> str:
        """In a few words: "in sync", "syncing…", "3 local changes waiting", "2 conflicts", "offline, …"."""
        waiting = f"{self.waiting} local change{'s' if self.waiting != 1 else ''} waiting" if self.waiting else ""
        if self.missing:
            return "the folder is missing"
        if self.state is None:
            return "starting…"
        if self.state == WatchState.SYNCING:
            return f"syncing… ({waiting})" if waiting else "syncing…"
        if self.state == WatchState.WAITING:
            return f"offline, {waiting}" if waiting else "offline, waiting for the server"
        if self.state == WatchState.FAILED:
            return f"sync failed ({self.error}), retrying" + (f"; {waiting}" if waiting else "")
        if self.state == WatchState.STOPPED:
            return "stopped"
        if self.conflicts:
            n = len(self.conflicts)
            return f"{n} conflict{'s' if n != 1 else ''}"
        return "in sync"

    @property
    def icon(self) -> str:
        """The state icon's name (resources/icons/states)."""
        if self.missing or self.state in (WatchState.WAITING, WatchState.FAILED, WatchState.STOPPED):
            return "offline"
        if self.state in (None, WatchState.SYNCING):
            return "connecting"
        return "conflict" if self.conflicts else "online"

    def line(self) -> str:
        return f"in folder {home_relative(self.folder)} · {self.words}"

    def html(self) -> str:
        """The header's line: the folder as a link that opens it; conflicts as a link that shows them."""
        folder = html.escape(home_relative(self.folder))
        link = html.escape(FOLDER_LINK + str(self.folder), quote=True)
        icon = icon_path(f"states/{self.icon}.svg")
        image = f"<img src='{icon.as_posix()}' width='11' height='11'>&nbsp;" if icon is not None else ""
        text = f'{image}In folder <a href="{link}">{folder}</a> · {html.escape(self.words)}'
        if self.conflicts and self.state in (WatchState.CONFLICTS, WatchState.IN_SYNC):
            text += f' · <a href="{CONFLICTS_LINK}">compare</a>'
        return text


def changed_paths(report: FolderReport) -> set[str]:
    """The project's paths a round changed, here or on the server."""
    paths = {*report.uploaded, *report.downloaded, *report.deleted_remote, *report.deleted_local}
    for conflict in report.conflicts:
        paths.update((conflict.path, conflict.copy_path))
    return paths


def open_conflicts(folder: Path, conflicts: list[FolderConflict]) -> list[FolderConflict]:
    """The conflicts whose two versions are both still in the folder (blocking: it looks at the files)."""
    return [c for c in conflicts if (folder / c.path).is_file() and (folder / c.copy_path).is_file()]


def resolve_folder_conflict(folder: Path, conflict: FolderConflict, choice: str) -> None:
    """Apply a choice in the folder (the watch sends it): "mine" puts the conflicted copy in the file's place,
    "theirs" deletes the copy, "both" keeps both (blocking)."""
    copy, target = folder / conflict.copy_path, folder / conflict.path
    if choice == "mine":
        staged = target.with_name(f"{TEMP_PREFIX}{target.name}")
        staged.write_bytes(copy.read_bytes())
        os.replace(staged, target)
        copy.unlink()
    elif choice == "theirs":
        copy.unlink()


class WorkingFolders(QObject):
    """Runs one FolderWatch per folder of the session's store chosen with Work in Folder; keeps what each said.

    Args:
        timing: the watches' timing (tests pass short ones); the attribute may be changed before watches start.

    Signals:
        stateChanged(str): a folder of this slug changed state (or was bound or unbound).
        watchEvent(str, object): a slug and a WatchEvent, on the GUI thread.
        conflictsRequested(str): the header's "compare" link was clicked for this slug.
    """

    stateChanged = Signal(str)
    watchEvent = Signal(str, object)
    conflictsRequested = Signal(str)

    def __init__(
        self,
        session: Session,
        browser: ProjectBrowser,
        editing: EditorFlow,
        feedback: Feedback,
        *,
        timing: WatchTiming | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.browser = browser
        self.editing = editing
        self.feedback = feedback
        self.timing = timing or WatchTiming()
        self._watches: dict[Key, FolderWatch] = {}
        self._threads: dict[Key, threading.Thread] = {}
        self._status: dict[Key, FolderStatus] = {}
        self._refreshing: asyncio.Task[None] | None = None
        self._refresh_again = False
        self._round_line = ""  # what the last round moved, said once the tree shows it
        session.serviceOpened.connect(self._on_service_opened)
        session.connectionChanged.connect(self._on_connection)
        browser.folder_note = self.note_html
        browser.header.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        browser.header.linkActivated.connect(self._on_link)

    # the error sink and task keeper `handler` looks for
    def report_error(self, error: BaseException) -> None:
        self.feedback.report_error(error)

    def adopt_task(self, task: asyncio.Task[None]) -> None:
        self.session.adopt_task(task)

    # ---- what the window shows ----------------------------------------------------------------------

    def statuses(self, slug: str) -> list[FolderStatus]:
        return [status for (_folder, s), status in self._status.items() if s == slug]

    def status(self, slug: str) -> FolderStatus | None:
        found = self.statuses(slug)
        return found[0] if found else None

    def folder_of(self, slug: str) -> Path | None:
        """The project's working folder (the first bound, when there are several)."""
        status = self.status(slug)
        return status.folder if status is not None else None

    def note(self, slug: str) -> str:
        """A line ("in folder ~/code/site · in sync") for each of the project's folders ("" when it has none)."""
        return "; ".join(status.line() for status in self.statuses(slug))

    def note_html(self, slug: str) -> str:
        return "<br>".join(status.html() for status in self.statuses(slug))

    def watching(self, folder: Path, slug: str) -> bool:
        return (Path(folder).resolve(), slug) in self._watches

    def set_conflicts(self, folder: Path, slug: str, conflicts: list[FolderConflict]) -> None:
        """The folder's conflicts still open (after the person resolved some)."""
        status = self._status.get((Path(folder).resolve(), slug))
        if status is not None:
            status.conflicts = list(conflicts)
            self._changed(slug)

    def threads(self) -> list[threading.Thread]:
        """The threads of the running watches."""
        return list(self._threads.values())

    # ---- starting and stopping ----------------------------------------------------------------------

    @handler
    async def _on_service_opened(self) -> None:
        """Watch every bound folder of the newly opened store."""
        self.stop_all()
        service = self.session.service
        if service is None:
            return
        records = await self.session.tasks.call(service.folders.records)
        if not self.session.is_current(service):
            return
        store = service.folders.store_key
        chosen = set(self.browser.settings.working_folders(store))
        bound = {(r.binding.slug, str(r.binding.folder)) for r in records}
        if chosen - bound:  # unbound meanwhile (projectdesk-cli unbind): forgotten here too
            self.browser.settings.set_working_folders(store, sorted(chosen & bound))
        for slug, folder in sorted(chosen & bound):
            self.watch(Path(folder), slug)

    def _on_connection(self, state: Connection) -> None:
        if state is Connection.CONNECTING and self.session.service is None:  # another store is being opened
            self.stop_all()
        elif state is Connection.ONLINE:  # back online: the folders' waiting changes go now, not at their retry
            for watch in self._watches.values():
                watch.retry_now()

    def watch(self, folder: Path, slug: str) -> None:
        """Keep `folder` in sync with `slug` (already bound: pulled once) until stopped, in later runs too."""
        from projectdesk.services.watch import FolderWatch

        service = self.session.service
        if service is None or self.session.closing:
            return
        key = (Path(folder).resolve(), slug)
        if key in self._watches:
            return
        self._remember(service, key, True)
        status = FolderStatus(key[0], slug)
        self._status[key] = status
        if not key[0].is_dir():
            status.missing = True
            self._changed(slug)
            return
        watch = FolderWatch(service, key[0], slug, timing=self.timing)
        watch.on_event = lambda event: post_to_gui(self._on_event, key, watch, event)
        self._watches[key] = watch
        self._threads[key] = self.session.start_thread(f"pd-watch-{slug}", lambda: self._run(key, watch), watch.stop)
        self._changed(slug)

    def _run(self, key: Key, watch: FolderWatch) -> None:  # on the watch's thread
        try:
            watch.run()
        except Exception as exc:  # the folder cannot be watched (removed, no notifications nor polling)
            if not isinstance(exc, ProjectDeskError):
                log.exception("the watch of %s failed", key[0])
            post_to_gui(self._on_failed, key, watch, exc)

    def _remember(self, service: CachedProjectService, key: Key, watched: bool) -> None:
        store = service.folders.store_key
        pairs = set(self.browser.settings.working_folders(store))
        pair = (key[1], str(key[0]))
        if (pair in pairs) != watched:
            self.browser.settings.set_working_folders(store, sorted(pairs ^ {pair}))
            self.browser.settings.sync()

    async def stop_watching(self, folder: Path, slug: str) -> None:
        """Stop the folder's watch (not watched in later runs either) and wait, off the GUI thread, until its
        thread has ended."""
        key = (Path(folder).resolve(), slug)
        if self.session.service is not None:
            self._remember(self.session.service, key, False)
        watch = self._watches.pop(key, None)
        thread = self._threads.pop(key, None)
        self._status.pop(key, None)
        if watch is not None:
            watch.stop()
        if thread is not None:
            await self.session.tasks.call(thread.join, JOIN_SECONDS)
        self._changed(slug)

    def stop_all(self) -> None:
        """Stop every watch (their threads end on their own; the session joins them before closing)."""
        slugs = {slug for _folder, slug in self._status}
        for watch in self._watches.values():
            watch.stop()
        self._watches.clear()
        self._threads.clear()
        self._status.clear()
        for slug in slugs:
            self._changed(slug)

    # ---- events (GUI thread) ------------------------------------------------------------------------

    def _on_failed(self, key: Key, watch: FolderWatch, error: Exception) -> None:
        if self._watches.get(key) is not watch or self.session.closing:
            return
        status = self._status[key]
        status.state = WatchState.FAILED
        status.error = error.message if isinstance(error, ProjectDeskError) else str(error)
        self._changed(key[1])
        self.feedback.notify(f"{self.browser.project_name(key[1])}: the folder is not kept in sync ({status.error})")

    def _on_event(self, key: Key, watch: FolderWatch, event: WatchEvent) -> None:
        status = self._status.get(key)
        if status is None or self._watches.get(key) is not watch or self.session.closing:
            return  # a watch that was stopped
        slug = key[1]
        before = (status.state, status.waiting, status.error)
        status.state = event.state
        status.waiting = event.waiting
        status.error = event.error.message if event.error is not None else ""
        report = event.report
        if report is not None:
            known = {c.path: c for c in status.conflicts}
            known.update({c.path: c for c in report.conflicts})
            status.conflicts = list(known.values())
        if event.state == WatchState.IN_SYNC and status.conflicts:  # resolved ones drop out of the count
            status.conflicts = open_conflicts(key[0], status.conflicts)
        self._changed(slug)
        self.watchEvent.emit(slug, event)
        name = self.browser.project_name(slug)
        if event.state in (WatchState.WAITING, WatchState.FAILED) and before != (
            status.state,
            status.waiting,
            status.error,
        ):
            self.feedback.notify(f"{name}: {event.line()}", timeout_ms=10000)  # once, not at every retry
        if report is None:
            return
        changed = changed_paths(report)
        line = f"{name}: {event.line()}" if changed or report.failed else ""
        if slug == self.session.slug and changed:
            self._round_line = line  # said after the tree's reload (whose "N files" would replace it)
        elif line:
            self.feedback.notify(line, timeout_ms=10000)
        if report.conflicts:
            first = report.conflicts[0]
            more = f" (and {len(report.conflicts) - 1} more)" if len(report.conflicts) > 1 else ""
            self.feedback.announce(
                "Changed in two places",
                f"{first.path}{more} changed in {home_relative(key[0])} and on the server: both versions are kept "
                f"(yours as {first.copy_path}). Project ▸ Folder Conflicts compares them.",
                WARNING,
            )
        if changed:
            self._after_round(slug, changed, report)

    def _changed(self, slug: str) -> None:
        notes: dict[str, tuple[str, str]] = {}
        for status in self._status.values():
            notes.setdefault(status.slug, (status.icon, self.note(status.slug)))
        self.browser.project_model.set_folder_notes(notes)
        if slug == self.session.slug:
            self.browser.update_header()
        self.stateChanged.emit(slug)

    def _on_link(self, link: str) -> None:
        if link == CONFLICTS_LINK and self.session.slug:
            self.conflictsRequested.emit(self.session.slug)
        elif link.startswith(FOLDER_LINK):
            QDesktopServices.openUrl(QUrl.fromLocalFile(link[len(FOLDER_LINK) :]))

    # ---- the window after a round -------------------------------------------------------------------

    def _after_round(self, slug: str, changed: set[str], report: FolderReport) -> None:
        """The project's row (its counts), the tree of the open project, and its open pages of the files the
        round changed."""
        if report.manifest is not None:
            self.session.track(self._update_row(slug))
        if slug == self.session.slug:
            self._refresh_tree()
        now = {entry.path: entry.etag for entry in report.entries}  # the server's versions after the round
        for page in self.browser.editor_area.pages():
            if page.slug != slug or page.path not in changed or page.closed:
                continue
            if page.entry is not None and page.entry.etag and now.get(page.path) == page.entry.etag:
                continue  # the page shows that version already (its own save, come into the folder)
            if page.is_modified:
                self.feedback.warn(
                    "File changed in the working folder",
                    f"{page.path} changed while you edited it here; your unsaved edits are kept. Saving keeps both "
                    "versions (yours as a conflicted copy); closing the tab without saving shows the new one.",
                )
            elif page.path not in now:
                self.editing.close_pages(slug, {page.path})
                self.feedback.notify(f"{page.path} was deleted; its tab was closed.")
            else:
                self.session.track(self.reload_page(page))

    async def _update_row(self, slug: str) -> None:
        service = self.session.service
        if service is None:
            return
        infos = await self.session.tasks.call(service.cached_projects)  # the index, kept up to date by the round
        info = next((i for i in infos if i.slug == slug), None)
        if info is not None and self.session.is_current(service):
            self.browser.project_model.update_project(info)
            if slug == self.session.slug:
                self.browser.update_header()

    def _refresh_tree(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            self._refresh_again = True
            return
        self._refreshing = self.session.track(self._reload_tree())

    async def _reload_tree(self) -> None:
        try:
            while True:
                self._refresh_again = False
                slug = self.session.slug
                if slug:
                    await self.browser.load_tree(slug, keep_expanded=True)
                    await self.browser.refresh_status()
                if not self._refresh_again:
                    break
        finally:
            line, self._round_line = self._round_line, ""
            if line and not self.session.closing:
                self.feedback.notify(line, timeout_ms=10000)

    async def reload_page(self, page: EditorPage) -> None:
        """Show the file's current version in an open page without unsaved edits (the cursor stays)."""
        service = self.session.service
        if service is None or page.closed:
            return
        data, entry = await self.session.tasks.call(service.open_file, page.slug, page.path)
        if page.closed or page.is_modified or not page.loaded:
            return
        if page.entry is not None and entry.etag and entry.etag == page.entry.etag:
            return  # the page shows this version already (saved from here)
        content = classify(page.path, data)
        editor = page.editor
        same_kind = content.kind == TEXT and page.content.kind == TEXT and content.editable == page.content.editable
        if editor is None or not same_kind or len(content.text) > CHUNK_CHARS:
            current = self.browser.editor_area.current() is page
            self.editing.close_pages(page.slug, {page.path})
            if page.slug == self.session.slug:
                task = self.editing.open_file(page.path)
                if task is not None and not current:
                    await task
            return
        position, scroll = editor.textCursor().position(), editor.verticalScrollBar().value()
        page.content = content
        editor.setPlainText(content.text)
        editor.document().setModified(False)
        cursor = editor.textCursor()
        cursor.setPosition(min(position, len(content.text)))
        editor.setTextCursor(cursor)
        editor.verticalScrollBar().setValue(scroll)
        page.entry = entry
