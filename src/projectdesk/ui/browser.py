"""Browsing a store: switching stores, the project list (loading, filtering, selecting) and the open
project's header and file tree.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelection, QObject, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit

from projectdesk.config.profiles import KIND_LOCAL
from projectdesk.core.errors import Cancelled, Offline, ProjectDeskError
from projectdesk.ui.editor import EditorArea, EditorPage
from projectdesk.ui.feedback import WARNING, Feedback
from projectdesk.ui.file_tree import IS_DIR_ROLE, PATH_ROLE, FileTreeModel, FileTreeView
from projectdesk.ui.formatting import human_bytes
from projectdesk.ui.project_list import SLUG_ROLE, ProjectFilterProxy, ProjectListModel, ProjectListView
from projectdesk.ui.sync_state import Connection, SyncSnapshot, project_states, snapshot
from projectdesk.ui.tasks import post_to_gui
from projectdesk.ui.tree_loader import TreeLoader, expanded_paths

if TYPE_CHECKING:
    from projectdesk.core.models import ProjectInfo
    from projectdesk.services.offline import CachedProjectService
    from projectdesk.ui.session import Session
    from projectdesk.ui.settings import WindowSettings

log = logging.getLogger(__name__)

EMPTY_TEXT = "Drop a folder here to create a project"
EMPTY_HINT = "or press Ctrl+N to choose one.\nDropping a .zip imports it."

ConfirmDiscard = Callable[[list[EditorPage]], Awaitable[bool]]


async def _keep_all(_pages: list[EditorPage]) -> bool:
    return True


class ProjectBrowser(QObject):
    """Loads stores, projects and file trees into the views, dropping results that arrive too late.

    Attributes:
        confirm_discard: asks about unsaved pages before they are closed (the editor flow's).
        show_deleted: the tree shows deleted files too (a versioned store's; View ▸ Show Deleted Files).

    Signals:
        serviceReady(): a store is open and its project list shown.
        projectOpened(str): the file tree of this slug is shown.
        projectShown(str): another project (or none: "") is now the current one; its tree is loading.
    """

    serviceReady = Signal()
    projectOpened = Signal(str)
    projectShown = Signal(str)

    def __init__(
        self,
        session: Session,
        feedback: Feedback,
        settings: WindowSettings,
        *,
        profile_box: QComboBox,
        filter_field: QLineEdit,
        project_model: ProjectListModel,
        project_proxy: ProjectFilterProxy,
        project_view: ProjectListView,
        header: QLabel,
        tree_model: FileTreeModel,
        tree_view: FileTreeView,
        editor_area: EditorArea,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.feedback = feedback
        self.settings = settings
        self.profile_box = profile_box
        self.filter_field = filter_field
        self.project_model = project_model
        self.project_proxy = project_proxy
        self.project_view = project_view
        self.header = header
        self.tree_model = tree_model
        self.tree_view = tree_view
        self.editor_area = editor_area
        self.confirm_discard: ConfirmDiscard = _keep_all
        self.folder_note: Callable[[str], str] = lambda _slug: ""  # the header's working-folder line (HTML)
        self.show_deleted = False
        self._load_generation = 0  # bumped per project-list load: batches of an older one are dropped
        self._load_started = 0.0
        self.first_rows_in: float | None = None  # seconds from a load's start to its first rows (measured)
        self.loaded_in: float | None = None  # seconds the last complete load took
        self.tree_loader = TreeLoader(session, feedback, tree_model, tree_view, self)  # the open project's files
        profile_box.activated.connect(self._on_profile_activated)
        filter_field.textChanged.connect(self._on_filter_changed)
        project_view.selectionModel().selectionChanged.connect(self._on_project_selection)
        session.snapshotChanged.connect(self._on_snapshot)

    # ---- stores -------------------------------------------------------------------------------------

    def load_profiles(self) -> None:
        """Fill the store box from the profiles (the last one used selected)."""
        try:
            profiles = self.session.profiles.list()
            default = self.session.profiles.default_name()
        except ProjectDeskError as exc:
            self.feedback.report_error(exc)
            profiles, default = [], ""
        self.profile_box.clear()
        for profile in profiles:
            label = profile.name if profile.kind != KIND_LOCAL else "local (this computer)"
            self.profile_box.addItem(label, profile.name)
        wanted = self.settings.profile() or default
        index = self.profile_box.findData(wanted)
        self.profile_box.setCurrentIndex(index if index >= 0 else 0)

    def profile_names(self) -> list[str]:
        return [str(self.profile_box.itemData(i)) for i in range(self.profile_box.count())]

    def _on_profile_activated(self, index: int) -> None:
        name = self.profile_box.itemData(index)
        profile = self.session.profile
        if name and (profile is None or name != profile.name):
            self.session.track(self.switch_profile(str(name)))

    async def switch_profile(self, name: str, *, initial: bool = False) -> None:
        """Open another store (after asking about unsaved edits) and show its projects."""
        session = self.session
        if not initial and not await self.confirm_discard(self.editor_area.modified_pages()):
            if session.profile is not None:
                self.profile_box.setCurrentIndex(self.profile_box.findData(session.profile.name))
            return
        for page in list(self.editor_area.pages()):
            self.editor_area.remove_page(page)
        self.show_project(None)
        self._load_generation += 1  # a listing of the previous store still running stops at its next batch
        self.project_model.set_projects([])
        self.project_view.set_placeholder("Loading projects…")
        self.settings.set_profile(name)
        self.feedback.notify(f"Opening {name}…")
        opening = asyncio.ensure_future(session.open_profile(name))
        shown_cached = await self._show_last_listed(name, session.service_generation + 1)
        try:
            service = await opening
        except Exception:
            if session.profile is not None and session.profile.name == name:
                self.project_view.set_placeholder("Could not open this store", "See the message above.")
            raise
        if service is None:
            return
        generation = session.service_generation
        if not shown_cached:
            cached = await session.tasks.call(service.cached_projects)
            if cached and generation == session.service_generation:
                self._show_projects(cached)
        await self.refresh_projects()
        if generation != session.service_generation:
            return
        self.serviceReady.emit()
        last = self.settings.project(name)
        if last and self.project_model.project(last) is not None:
            self.select_project(last)

    async def _show_last_listed(self, name: str, generation: int) -> bool:
        """Show the store's projects as the cache last listed them while the store itself opens (for S3 that means
        importing botocore and making a client: longer than this read). True when rows were shown."""
        from projectdesk.cache.projects_table import last_listed_projects

        session = self.session
        try:
            profile = session.profiles.get(name)
            cached = await session.tasks.call(
                last_listed_projects, session.paths.cache_root, profile.name, profile.user_id
            )
        except ProjectDeskError:
            return False  # opening the store says what is wrong
        if not cached or generation != session.service_generation or self.project_model.rowCount():
            return False
        self._show_projects(cached)
        return True

    # ---- projects -----------------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Reload the project list and the open project's files (F5)."""
        if self.session.service is None:
            return
        await self.refresh_projects()
        if self.session.slug:
            await self.load_tree(self.session.slug, keep_expanded=True)

    async def refresh_projects(self) -> None:
        session = self.session
        service = session.service
        if service is None:
            return
        generation = session.service_generation
        self._load_generation += 1
        load = self._load_generation
        started = self._load_started = time.perf_counter()
        self.first_rows_in = None
        self.project_model.begin_load()
        self.feedback.notify("Loading projects…", timeout_ms=0)

        def arrived(infos: list[ProjectInfo], done: int, total: int) -> None:  # on the listing's thread
            if session.closing or generation != session.service_generation or load != self._load_generation:
                raise Cancelled("Listing the projects was cancelled.")  # the store changed or the window closed
            post_to_gui(self._rows_arrived, load, infos, done, total)

        try:
            projects = await session.tasks.call(service.list_projects, arrived)
        except Cancelled:
            return
        except ProjectDeskError as exc:
            if load == self._load_generation:
                self.feedback.notify("")  # the banner says what happened
            self._list_failed(exc, generation)
            return
        if generation != session.service_generation or load != self._load_generation:
            return
        self._list_done(service, projects, started)
        snap = await session.tasks.call(snapshot, service)
        if generation != session.service_generation:
            return
        session.apply_snapshot(snap)
        self.feedback.notify(f"{len(projects):,} project{'s' if len(projects) != 1 else ''}", timeout_ms=4000)

    def _list_failed(self, exc: ProjectDeskError, generation: int) -> None:
        """Offline: the cached rows stay, the banner says so; another failure is raised to the banner."""
        session = self.session
        if isinstance(exc, Offline):
            session.set_connection(Connection.OFFLINE)
            if self.project_model.rowCount() == 0:
                self.project_view.set_placeholder("Offline", "Projects show here once the store can be reached.")
            self.feedback.announce(exc.title, exc.message, WARNING)
            return
        if generation == session.service_generation:
            session.set_connection(Connection.FAILED)  # e.g. sign-in refused: not "Connecting…" forever
        if self.project_model.rowCount() == 0:
            self.project_view.set_placeholder("Could not list projects", "See the message above.")
        raise exc

    def _list_done(self, service: CachedProjectService, projects: list[ProjectInfo], started: float) -> None:
        if not service.is_offline:
            self.session.connected()
        self.project_model.add_projects(projects)
        self.project_model.end_load(projects)
        self.project_view.set_placeholder(EMPTY_TEXT, EMPTY_HINT)
        if self.session.slug:
            self._select_in_view(self.session.slug)
            self.update_header()
        self.loaded_in = time.perf_counter() - started

    def _rows_arrived(self, load: int, infos: list[ProjectInfo], done: int, total: int) -> None:
        """A batch of the listing in progress: shown at once, with how many of how many in the status bar."""
        if load != self._load_generation or self.session.closing:
            return
        self.project_model.add_projects(infos)
        if self.first_rows_in is None:
            self.first_rows_in = time.perf_counter() - self._load_started
            service = self.session.service
            if service is not None and not service.is_offline:
                self.session.connected()  # the store answered: not "Connecting…" while the rest arrives
        self.project_view.set_placeholder(EMPTY_TEXT, EMPTY_HINT)
        if done < total:
            self.feedback.notify(f"Loading projects… {done:,} of ~{total:,}", timeout_ms=0)

    def _show_projects(self, projects: list[ProjectInfo]) -> None:
        self.project_model.set_projects(projects)
        self.project_view.set_placeholder(EMPTY_TEXT, EMPTY_HINT)
        if self.session.slug:
            self._select_in_view(self.session.slug)
            self.update_header()

    def _on_snapshot(self, snap: SyncSnapshot) -> None:
        self.project_model.set_states({slug: state.value for slug, state in project_states(snap).items()})

    def _on_filter_changed(self, text: str) -> None:
        self.project_proxy.set_query(text)
        if text and self.project_proxy.rowCount() == 0 and self.project_model.rowCount():
            self.project_view.set_placeholder(f"No project matches “{text}”")
        else:
            self.project_view.set_placeholder(EMPTY_TEXT, EMPTY_HINT)

    def _select_in_view(self, slug: str) -> bool:
        row = self.project_model.row_of(slug)
        if row < 0:
            return False
        index = self.project_proxy.mapFromSource(self.project_model.index(row, 0))
        if not index.isValid():
            return False
        selection = self.project_view.selectionModel()
        selection.blockSignals(True)
        self.project_view.setCurrentIndex(index)
        selection.blockSignals(False)
        self.project_view.viewport().update()
        self.project_view.scrollTo(index)
        return True

    def select_project(self, slug: str) -> asyncio.Task[None] | None:
        """Select and open a project (as a click would); returns the task opening it."""
        if not self._select_in_view(slug):
            return None
        return self.session.track(self._open_project(slug))

    def _on_project_selection(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        slug = str(indexes[0].data(SLUG_ROLE) or "")
        if slug and slug != self.session.slug:
            self.session.track(self._open_project(slug))

    async def _open_project(self, slug: str) -> None:
        if slug == self.session.slug and self.tree_model.tree_index().file_count:
            return
        pages = [p for p in self.editor_area.modified_pages() if p.slug != slug]
        if not await self.confirm_discard(pages):
            if self.session.slug:
                self._select_in_view(self.session.slug)
            return
        for page in list(self.editor_area.pages()):
            if page.slug != slug:
                self.editor_area.remove_page(page)
        self.show_project(slug)
        if self.session.profile is not None:
            self.settings.set_project(self.session.profile.name, slug)
        await self.load_tree(slug)

    def show_project(self, slug: str | None) -> None:
        """Make `slug` (or none) the current project; its tree loads separately."""
        self.session.show_project(slug or "")
        self.tree_loader.drop()  # a listing of the project shown before stops; its late pages are dropped
        self.tree_model.clear()
        self.tree_view.set_placeholder("Loading files…" if slug else "No project selected")
        self.update_header()
        self.projectShown.emit(slug or "")

    def project_name(self, slug: str) -> str:
        info = self.project_model.project(slug)
        return info.name if info is not None else slug

    def update_header(self) -> None:
        slug = self.session.slug
        info = self.project_model.project(slug) if slug else None
        if info is None:
            self.header.setText("")
            return
        stack = ", ".join(info.tech_stack)
        self.header.setText(
            f"<b>{html.escape(info.name)}</b><br><span style='font-size:small'>{html.escape(info.slug)} · "
            f"{info.files_count:,} files · {human_bytes(info.total_bytes)}"
            + (f" · {html.escape(stack)}" if stack else "")
            + "</span>"
            + (f"<br><span style='font-size:small'>{note}</span>" if (note := self.folder_note(slug)) else "")
        )

    # ---- the file tree ------------------------------------------------------------------------------

    async def load_tree(self, slug: str, *, keep_expanded: bool = False) -> None:
        """List the project's files into the tree: its top level at once, the rest as it arrives, with a count
        and Cancel (`tree_loader`); `keep_expanded` (a reload) keeps the tree shown until the new one is
        complete, with its expanded folders and selection."""
        session = self.session
        if session.service is None:
            return
        generation = session.project_generation
        started = time.perf_counter()
        keep = keep_expanded and bool(self.tree_model.rowCount())
        info = self.project_model.project(slug)
        try:
            index = await self.tree_loader.load(
                slug,
                keep_tree=keep,
                expanded=self._expanded_paths() if keep_expanded else [],
                selected=self.selected_path()[0],
                show_deleted=self.show_deleted,
                total=info.files_count if info is not None else 0,
            )
        except ProjectDeskError:
            if generation == session.project_generation:
                self.tree_view.set_placeholder("Could not list the files", "See the message above.")
            raise
        if index is None or generation != session.project_generation or slug != session.slug:
            return
        hidden = f"; {index.hidden} with unsafe names not shown" if index.hidden else ""
        self.feedback.notify(f"{index.file_count:,} files in {(time.perf_counter() - started) * 1000:.0f} ms{hidden}")
        self.projectOpened.emit(slug)

    async def refresh_status(self) -> None:
        """Read the cache's state again: the list's badges (through the session's signal) and the tree's."""
        slug = self.session.slug
        result = await self.session.refresh_status()
        if result is not None and slug == self.session.slug:
            self.tree_model.set_states({path: state.value for path, state in result[1].items()})

    def _expanded_paths(self) -> list[str]:
        return expanded_paths(self.tree_model, self.tree_view)

    def selected_path(self) -> tuple[str, bool]:
        """The tree's current item: (path, is a folder); ("", False) when none."""
        index = self.tree_view.currentIndex()
        if not index.isValid():
            return "", False
        return str(index.data(PATH_ROLE) or ""), bool(index.data(IS_DIR_ROLE))

    def reveal(self, path: str) -> None:
        """Select `path` in the tree and scroll to it (when it is there)."""
        index = self.tree_model.index_for_path(path)
        if index.isValid():
            self.tree_view.setCurrentIndex(index)
            self.tree_view.scrollTo(index)

    def folders(self) -> set[str]:
        """Every folder of the shown project (as paths)."""
        folders: set[str] = set()
        for path in self.tree_model.all_paths():
            parts = path.split("/")[:-1]
            folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return folders
