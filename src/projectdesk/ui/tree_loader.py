"""Listing the open project's files into the tree without making the window wait for all of them.

The top level comes first (one folder-style listing: `list_top`), then the whole listing page by page
(`list_files_paged`): each page is added to the model shown (rows inserted, never a reset) while a bar under
the tree counts the files ("Listing files… 23,000 of ~100,001") beside a Cancel button (Esc in the tree too).
When the listing ends, the complete index built off the GUI thread (sync states, deleted files, links) either
confirms what the pages built — the usual case, nothing is swapped — or replaces it, the expanded folders,
the current file and the scroll position kept. A cancelled listing keeps what was shown and is not recorded
by the cache; switching project cancels it and drops its late pages.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from projectdesk.core.errors import Cancelled, ProjectDeskError
from projectdesk.ui.file_tree import IS_DIR_ROLE, PATH_ROLE, FileTreeModel, FileTreeView, TreeIndex
from projectdesk.ui.sync_state import file_states
from projectdesk.ui.tasks import TRANSFERRING, post_to_gui

if TYPE_CHECKING:
    from projectdesk.core.models import FileEntry
    from projectdesk.services.offline import CachedProjectService
    from projectdesk.ui.feedback import Feedback
    from projectdesk.ui.session import Session

log = logging.getLogger(__name__)

NO_FILES = ("This project has no files", "Drop files or folders here to upload them.")


def deleted_paths(service: CachedProjectService, slug: str) -> dict[str, float] | None:
    """The project's deleted files (path -> when), or None when the store cannot say (no history, offline)."""
    from projectdesk.services.history import deleted_files  # only when deleted files are shown

    try:
        return {d.path: d.deleted_at for d in deleted_files(service, slug)}
    except ProjectDeskError as exc:
        log.info("deleted files of %s not shown: %s", slug, type(exc).__name__)
        return None


class ListingBar(QWidget):
    """ "Listing files… N" and a Cancel button, under the tree while a listing runs.

    Signals:
        cancelRequested(): Cancel was clicked.
    """

    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("listingBar")
        self.label = QLabel(self)
        self.button = QPushButton("Cancel", self)
        self.button.setToolTip("Stop listing the project's files (Esc); what is shown stays")
        self.button.clicked.connect(self.cancelRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.hide()


def expanded_paths(model: FileTreeModel, view: FileTreeView) -> list[str]:
    """The folders expanded in the view, parents before their children."""
    paths: list[str] = []

    def walk(parent: QModelIndex) -> None:
        for row in range(model.rowCount(parent)):
            index = model.index(row, 0, parent)
            if index.data(IS_DIR_ROLE) and view.isExpanded(index):
                paths.append(str(index.data(PATH_ROLE)))
                walk(index)

    walk(QModelIndex())
    return paths


@dataclass
class _Listing:
    """One listing of one project, from the click to its end."""

    slug: str
    generation: int  # the session's project generation it belongs to
    total: int  # files the project's info says it holds (0: unknown)
    started: float = field(default_factory=time.perf_counter)
    cancel: threading.Event = field(default_factory=threading.Event)
    drained: asyncio.Event = field(default_factory=asyncio.Event)  # every page posted has been applied
    count: int = 0  # files listed so far
    waiting: list[str] = field(default_factory=list)  # expanded folders not there yet, expanded when they come
    selected: str = ""  # the current file to select again once it is there


class TreeLoader(QObject):
    """Lists one project at a time into the tree model (`load`); `cancel` stops it, `drop` forgets it.

    Attributes (measured, seconds from the start of the last load): `top_shown_in`, `all_shown_in`.
    """

    def __init__(
        self,
        session: Session,
        feedback: Feedback,
        model: FileTreeModel,
        view: FileTreeView,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session, self.feedback, self.model, self.view = session, feedback, model, view
        self.bar = ListingBar(view.parentWidget())
        holder = view.parentWidget()
        layout = holder.layout() if holder is not None else None
        if isinstance(layout, QBoxLayout):
            layout.insertWidget(layout.indexOf(view) + 1, self.bar)
        self.bar.cancelRequested.connect(self.cancel)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), view, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.cancel)
        self._listing: _Listing | None = None
        self.top_shown_in: float | None = None
        self.all_shown_in: float | None = None

    @property
    def loading(self) -> bool:
        return self._listing is not None

    @property
    def listed(self) -> int:
        """Files listed so far by the listing running (0 when none runs)."""
        return self._listing.count if self._listing is not None else 0

    def cancel(self) -> None:
        """Stop the listing running (Cancel, Esc): what is shown stays, the cache records nothing."""
        listing = self._listing
        if listing is None:
            return
        listing.cancel.set()
        self._listing = None
        self.bar.hide()  # folders not reached stay marked (their size "…")
        self.feedback.notify(
            f"Listing cancelled: {listing.count:,} files shown, the project may hold more (F5 lists it again)",
            timeout_ms=0,
        )

    def drop(self) -> None:
        """Forget the listing running (another project is shown): it stops at its next page."""
        if self._listing is not None:
            self._listing.cancel.set()
            self._listing = None
            self.bar.hide()

    async def load(
        self, slug: str, *, keep_tree: bool, expanded: list[str], selected: str, show_deleted: bool, total: int = 0
    ) -> TreeIndex | None:
        """List `slug` into the tree; the complete index when the listing ended, None when it was cancelled or
        overtaken. `keep_tree` (a reload of the project shown): the tree stays as it is until the complete
        index replaces it; otherwise the top level replaces it at once and pages fill it in."""
        session = self.session
        service = session.service
        if service is None:
            return None
        self.drop()
        listing = self._listing = _Listing(slug, session.project_generation, total, selected=selected)
        self.top_shown_in = self.all_shown_in = None
        snap = session.snapshot
        shown: dict[str, FileEntry] = {}  # what the pages put in the tree (last word per path): the worker's
        self._progress(listing)

        def current() -> bool:  # on any thread
            return not (listing.cancel.is_set() or session.closing or listing.generation != session.project_generation)

        def on_page(entries: list[FileEntry]) -> None:  # on the listing's thread
            if not current():
                raise Cancelled("Listing the files was cancelled.")
            if not keep_tree:
                shown.update((entry.path, entry) for entry in entries)
            post_to_gui(self._page_arrived, listing, entries, not keep_tree)

        def work() -> tuple[TreeIndex | None, dict[str, str], dict[str, str]]:
            """The complete index — None when the pages showed exactly the final listing —, states and links."""
            try:
                with TRANSFERRING:  # as a transfer: the GIL handed over every 1 ms
                    if not keep_tree:
                        top = service.list_top(slug)
                        shown.update((entry.path, entry) for entry in top.files)
                        post_to_gui(self._top_arrived, listing, TreeIndex.top(top.folders, top.files), expanded)
                    final = service.list_files_paged(slug, on_page, listing.cancel)
                    deleted = deleted_paths(service, slug) if show_deleted else None
                    links = service.links(slug)
                    states = {path: state.value for path, state in file_states(service, slug, snap).items()}
                    if not keep_tree and not deleted and shown == {entry.path: entry for entry in final}:
                        return None, states, links
                    return TreeIndex.build(final, links=links, deleted=deleted), states, links
            finally:
                post_to_gui(listing.drained.set)

        try:
            index, states, links = await session.tasks.call(work)
        except ProjectDeskError as exc:
            await listing.drained.wait()
            if self._listing is listing:
                self._listing = None
                self.bar.hide()
            if isinstance(exc, Cancelled):
                return None
            raise
        await listing.drained.wait()
        if self._listing is not listing or not current():
            return None
        self._listing = None
        self.bar.hide()
        if index is None:  # the pages showed the final listing: the rows stay
            self.model.end_listing()
            self.model.set_links(links)
            self.model.take_states(states)
            self._restore(listing)
            index = self.model.tree_index()
        else:
            scroll = self.view.verticalScrollBar().value()
            listing.waiting = expanded_paths(self.model, self.view)  # as they are now: expanded meanwhile too
            listing.selected = self._current_path() or listing.selected
            self.model.set_index(index, states)
            self._restore(listing)
            self.view.verticalScrollBar().setValue(scroll)
        self.view.set_placeholder(*NO_FILES)
        self.all_shown_in = time.perf_counter() - listing.started
        return index

    # ---- on the GUI thread, posted by the listing ---------------------------------------------------

    def _top_arrived(self, listing: _Listing, top: TreeIndex, expanded: list[str]) -> None:
        if listing is not self._listing:
            return
        self.model.set_index(top)
        self.view.set_placeholder(*NO_FILES)
        listing.waiting = list(expanded)
        self._restore(listing)
        self.top_shown_in = time.perf_counter() - listing.started

    def _page_arrived(self, listing: _Listing, entries: list[FileEntry], show: bool) -> None:
        if listing is not self._listing:
            return  # cancelled, or another project is shown: a late page is dropped
        listing.count += len(entries)
        if show:
            self.model.add_entries(entries)
            if listing.waiting or listing.selected:
                self._restore(listing)
        self._progress(listing)

    def _progress(self, listing: _Listing) -> None:
        of = f" of ~{listing.total:,}" if listing.total > listing.count else ""
        text = f"Listing files… {listing.count:,}{of}"
        self.bar.label.setText(text)
        self.bar.show()
        if not self.model.rowCount():
            self.view.set_placeholder(text)
        self.feedback.notify(text, timeout_ms=0)

    def _restore(self, listing: _Listing) -> None:
        """Expand the folders waiting to be expanded that are there now; select the file once it is there."""
        waiting: list[str] = []
        for path in listing.waiting:
            found = self.model.index_for_path(path)
            if found.isValid():
                self.view.expand(found)
            else:
                waiting.append(path)
        listing.waiting = waiting
        if listing.selected:
            found = self.model.index_for_path(listing.selected)
            if found.isValid():
                self.view.setCurrentIndex(found)
                listing.selected = ""

    def _current_path(self) -> str:
        index = self.view.currentIndex()
        return str(index.data(PATH_ROLE) or "") if index.isValid() else ""
