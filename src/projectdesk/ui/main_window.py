"""The main window: profiles and projects on the left, the file tree in the middle, the editor on the
right, transfers below, connection and pending uploads in the status bar.

Everything the window does goes through a ProjectService (or the cache's superset of it), opened
for the chosen profile in a worker thread after the window has been painted. Handlers are async;
every blocking call runs in `Tasks`; every failure ends up in the banner, the status bar, a transfer
row or a dialog.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pygments.lexer import Lexer
from PySide6.QtCore import QEvent, QItemSelection, QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QIcon, QKeySequence, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from projectdesk import __version__
from projectdesk.config.paths import Paths
from projectdesk.config.profiles import KIND_LOCAL, Profile, ProfileStore
from projectdesk.config.secrets import SecretStore
from projectdesk.core.errors import Cancelled, Conflict, InvalidInput, Offline, ProjectDeskError
from projectdesk.core.models import FileEntry, ProjectInfo
from projectdesk.services.projects import ProjectService, PushPlan
from projectdesk.ui import extras
from projectdesk.ui.actions import WindowActions
from projectdesk.ui.banner import ERROR, INFO, WARNING, Banner
from projectdesk.ui.content import BINARY, IMAGE, TEXT, FileContent, classify
from projectdesk.ui.dialogs import ask, run_dialog
from projectdesk.ui.dialogs.push_preview import PushPreviewDialog
from projectdesk.ui.dialogs.quick_open import QuickOpenDialog
from projectdesk.ui.drops import DroppedItems, sort_drop
from projectdesk.ui.editor import MODIFIED_MARK, EditorArea, EditorPage, decode_image, is_dark
from projectdesk.ui.file_tree import IS_DIR_ROLE, PATH_ROLE, FileTreeModel, FileTreeView, TreeIndex
from projectdesk.ui.formatting import human_bytes
from projectdesk.ui.highlighter import prepare_lexer
from projectdesk.ui.jobs import TransferJobs
from projectdesk.ui.offline_status import OfflineMonitor
from projectdesk.ui.project_list import SLUG_ROLE, ProjectFilterProxy, ProjectListModel, ProjectListView
from projectdesk.ui.resources import app_icon, icon_path, state_icon
from projectdesk.ui.settings import WindowSettings
from projectdesk.ui.staging import remove_staging, stage_drop, staged_links
from projectdesk.ui.tasks import Tasks, handler, spawn
from projectdesk.ui.transfers import Transfer, TransferModel, TransfersPanel

log = logging.getLogger(__name__)

ServiceFactory = Callable[[Profile], ProjectService]
EMPTY_TEXT = "Drop a folder here to create a project"
EMPTY_HINT = "or press Ctrl+N to choose one.\nDropping a .zip imports it."
STATUS_REFRESH_MS = 5000


class MainWindow(QMainWindow):
    """ProjectDesk's window.

    Args:
        paths: where settings live (window.ini beside profiles.toml).
        service_factory: opens the service of a profile (blocking; called in a worker thread).
        profiles: the profile store (defaults to the one under `paths`).

    Signals:
        serviceReady(): a service is open for the selected profile and its project list is shown.
        projectOpened(str): the file tree of this slug is shown.
        fileOpened(object): an EditorPage finished opening.
    """

    serviceReady = Signal()
    projectOpened = Signal(str)
    fileOpened = Signal(object)
    _offlineChanged = Signal(bool)  # emitted from worker threads by the cache's service

    def __init__(
        self,
        paths: Paths,
        service_factory: ServiceFactory,
        *,
        profiles: ProfileStore | None = None,
        tasks: Tasks | None = None,
        secrets: SecretStore | None = None,
    ) -> None:
        super().__init__()
        self._paths = paths
        self.secrets = secrets or SecretStore()  # shared with service_factory: session-only keys live here
        self._factory = service_factory
        self._profiles = profiles or ProfileStore(paths)
        self.tasks = tasks or Tasks()
        self.settings = WindowSettings(paths.config_dir)
        self.service: ProjectService | None = None
        self.profile: Profile | None = None
        self.slug = ""
        self._service_generation = 0
        self._project_generation = 0
        self._started = False
        self._closing = False
        self._close_confirmed = False
        self._tasks_running: set[asyncio.Task[None]] = set()
        self._opening: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._snapshot = extras.SyncSnapshot()
        self._retired: list[ProjectService] = []  # services of profiles switched away from
        self._online: bool | None = None
        self.setWindowTitle("ProjectDesk")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(False)
        self._build_widgets()
        self._build_actions()
        self._build_status_bar()
        self._restore_layout()
        self._load_profiles()
        self.offline_monitor = OfflineMonitor(self)
        self.window_actions = WindowActions(self)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_REFRESH_MS)
        self._status_timer.timeout.connect(self._on_status_timer)
        self._offlineChanged.connect(self._on_offline_changed)
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(self._on_color_scheme)

    # ================================================================================================
    # construction

    def _build_widgets(self) -> None:
        # left: profile selector, filter, project list
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(6, 6, 0, 0)
        profile_row = QHBoxLayout()
        store_label = QLabel("&Store:", left)
        self.profile_box = QComboBox(left)
        self.profile_box.setToolTip("Where projects are stored (profiles: projectdesk-cli profiles add …)")
        self.profile_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        store_label.setBuddy(self.profile_box)
        profile_row.addWidget(store_label)
        profile_row.addWidget(self.profile_box, 1)
        left_layout.addLayout(profile_row)
        self.filter_field = QLineEdit(left)
        self.filter_field.setPlaceholderText("Filter projects (name, slug, stack)")
        self.filter_field.setClearButtonEnabled(True)
        left_layout.addWidget(self.filter_field)
        self.project_model = ProjectListModel(self)
        self.project_proxy = ProjectFilterProxy(self)
        self.project_proxy.setSourceModel(self.project_model)
        self.project_view = ProjectListView(left)
        self.project_view.setObjectName("projectList")
        self.project_view.setModel(self.project_proxy)
        self.project_view.configure_header()
        self.project_view.sortByColumn(ProjectListModel.UPDATED, Qt.SortOrder.DescendingOrder)
        self.project_view.set_placeholder("Loading projects…")
        left_layout.addWidget(self.project_view, 1)

        # middle: project header and file tree
        middle = QWidget(self)
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 6, 0, 0)
        self.project_header = QLabel(middle)
        self.project_header.setTextFormat(Qt.TextFormat.RichText)
        self.project_header.setWordWrap(True)
        self.project_header.setContentsMargins(4, 2, 4, 4)
        middle_layout.addWidget(self.project_header)
        self.tree_model = FileTreeModel(self)
        self.tree_view = FileTreeView(middle)
        self.tree_view.setObjectName("fileTree")
        self.tree_view.setModel(self.tree_model)
        self.tree_view.configure_header()
        self.tree_view.set_placeholder("No project selected")
        middle_layout.addWidget(self.tree_view, 1)

        # right: editor
        self.editor_area = EditorArea(self)
        self.editor_area.set_welcome(self._welcome_html())

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.editor_area)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setStretchFactor(2, 1)
        self.splitter.setSizes([400, 300, 700])
        self.splitter.setChildrenCollapsible(False)

        self.banner = Banner(self)
        central = QWidget(self)
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.banner)
        central_layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        # bottom: transfers
        self.transfer_model = TransferModel(self)
        self.transfers = TransfersPanel(self.transfer_model, self)
        self.transfers_dock = QDockWidget("Transfers", self)
        self.transfers_dock.setObjectName("transfersDock")
        self.transfers_dock.setWidget(self.transfers)
        self.transfers_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetMovable
        )
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.transfers_dock)
        self.resizeDocks([self.transfers_dock], [170], Qt.Orientation.Vertical)

        # signals
        self.profile_box.activated.connect(self._on_profile_activated)
        self.filter_field.textChanged.connect(self._on_filter_changed)
        self.project_view.selectionModel().selectionChanged.connect(self._on_project_selection)
        self.project_view.pathsDropped.connect(self._on_projects_dropped)
        self.tree_view.activated.connect(self._on_tree_activated)
        self.tree_view.pathsDropped.connect(self._on_tree_dropped)
        self.editor_area.closeRequested.connect(self.close_page)
        self.editor_area.currentPageChanged.connect(self._on_page_changed)
        self.editor_area.pageModifiedChanged.connect(self._on_page_modified)
        self.jobs = TransferJobs(self.tasks, self.transfer_model, self, self._track, self)
        self.jobs.started.connect(lambda _transfer: self.transfers_dock.show())
        self.jobs.uploaded.connect(self._on_uploaded)
        self.transfers.retryRequested.connect(self.jobs.retry)
        self.transfers.detailsRequested.connect(self._on_transfer_details)

    def _action(
        self,
        text: str,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None,
        slot: Callable[[], object],
        icon: QStyle.StandardPixmap | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(
                f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})" if shortcut else tip
            )
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        self.new_action = self._action(
            "&New Project from Folder…",
            "Ctrl+N",
            self.choose_folder_to_upload,
            sp.SP_FileDialogNewFolder,
            "Upload a folder as a new project",
        )
        self.import_action = self._action(
            "&Import Zip…",
            "Ctrl+Shift+I",
            self.choose_zip_to_import,
            sp.SP_DialogOpenButton,
            "Import a .zip as a new project",
        )
        self.download_action = self._action(
            "&Download Project…",
            "Ctrl+Shift+D",
            self.choose_download_folder,
            sp.SP_ArrowDown,
            "Download the selected project to a folder",
        )
        self.save_action = self._action(
            "&Save",
            QKeySequence.StandardKey.Save,
            self.save_current,
            sp.SP_DialogSaveButton,
            "Save the file to the store",
        )
        self.close_tab_action = self._action("&Close File", QKeySequence.StandardKey.Close, self.close_current)
        self.quit_action = self._action("&Quit", QKeySequence.StandardKey.Quit, self.close)
        self.find_action = self._action(
            "&Find…", QKeySequence.StandardKey.Find, self.editor_area.open_find, tip="Find in the file"
        )
        self.find_next_action = self._action("Find &Next", QKeySequence.StandardKey.FindNext, self._find_next)
        self.find_previous_action = self._action(
            "Find &Previous", QKeySequence.StandardKey.FindPrevious, self._find_previous
        )
        self.goto_action = self._action(
            "&Go to File…",
            "Ctrl+P",
            self.quick_open,
            sp.SP_FileDialogContentsView,
            "Open a file of the project by name",
        )
        self.refresh_action = self._action(
            "&Refresh", QKeySequence.StandardKey.Refresh, self.refresh, sp.SP_BrowserReload, "Reload projects and files"
        )
        self.focus_projects_action = self._action("&Projects", "Ctrl+1", self.project_view.setFocus)
        self.focus_files_action = self._action("F&iles", "Ctrl+2", self.tree_view.setFocus)
        self.focus_editor_action = self._action("&Editor", "Ctrl+3", self._focus_editor)
        self.focus_filter_action = self._action("Filter Projects", "Ctrl+L", self._focus_filter)
        self.about_action = self._action("&About ProjectDesk", None, self.show_about)
        transfers_toggle = self.transfers_dock.toggleViewAction()
        assert transfers_toggle is not None
        transfers_toggle.setText("&Transfers")
        transfers_toggle.setShortcut(QKeySequence("Ctrl+J"))

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for action in (self.new_action, self.import_action, self.download_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.close_tab_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menu.addMenu("&Edit")
        for action in (self.find_action, self.find_next_action, self.find_previous_action):
            edit_menu.addAction(action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.goto_action)
        view_menu = menu.addMenu("&View")
        view_menu.addAction(self.refresh_action)
        view_menu.addSeparator()
        for action in (
            self.focus_projects_action,
            self.focus_files_action,
            self.focus_editor_action,
            self.focus_filter_action,
        ):
            view_menu.addAction(action)
        view_menu.addAction(transfers_toggle)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.about_action)

        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(18, 18))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.new_action)
        toolbar.addAction(self.import_action)
        toolbar.addSeparator()
        for action in (self.refresh_action, self.save_action, self.goto_action):
            toolbar.addAction(action)
        self.addToolBar(toolbar)
        self._update_actions()

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.position_label = QLabel(self)
        self.connection_icon = QLabel(self)
        self.connection_label = QLabel("Starting…", self)
        self.profile_label = QLabel(self)
        self.pending_label = QLabel(self)
        self.pending_label.hide()
        for label in (self.position_label, self.pending_label, self.profile_label):
            label.setContentsMargins(8, 0, 8, 0)
        bar.addPermanentWidget(self.position_label)
        bar.addPermanentWidget(self.pending_label)
        bar.addPermanentWidget(self.profile_label)
        bar.addPermanentWidget(self.connection_icon)
        bar.addPermanentWidget(self.connection_label)
        self._set_connection("connecting")

    def _welcome_html(self) -> str:
        icon = icon_path("projectdesk-64.png")
        image = f"<p><img src='{icon.as_posix()}' width='64' height='64'></p>" if icon is not None else ""
        return (
            f"{image}<p style='font-size:13pt'>Open a file from the tree</p>"
            "<p>Ctrl+P goes to a file by name · Ctrl+F finds in a file · Ctrl+S saves</p>"
            "<p>Drop files or folders on a folder of the tree to upload them there.</p>"
        )

    # ================================================================================================
    # layout and settings

    def _restore_layout(self) -> None:
        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1320, 820)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)
        splitter = self.settings.splitter()
        if splitter is not None:
            self.splitter.restoreState(splitter)

    def save_layout(self) -> None:
        self.settings.save_layout(self.saveGeometry(), self.saveState(), self.splitter.saveState())
        if self.profile is not None:
            self.settings.set_profile(self.profile.name)
            if self.slug:
                self.settings.set_project(self.profile.name, self.slug)
        self.settings.sync()

    def _load_profiles(self) -> None:
        try:
            profiles = self._profiles.list()
            default = self._profiles.default_name()
        except ProjectDeskError as exc:
            self.report_error(exc)
            profiles, default = [], ""
        self.profile_box.clear()
        for profile in profiles:
            label = profile.name if profile.kind != KIND_LOCAL else "local (this computer)"
            self.profile_box.addItem(label, profile.name)
        wanted = self.settings.profile() or default
        index = self.profile_box.findData(wanted)
        self.profile_box.setCurrentIndex(index if index >= 0 else 0)

    # ================================================================================================
    # start-up: the service is opened only after the first paint

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._apply_palette()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._started:
            self._started = True
            QTimer.singleShot(0, self.start)

    def start(self) -> None:
        """Open the selected profile's service (called once the window has been painted)."""
        self._started = True
        name = self.profile_box.currentData()
        if name:
            self._track(self._switch_profile(str(name), initial=True))
        else:
            self.project_view.set_placeholder("No profile", "Add one with: projectdesk-cli profiles add …")

    def _track(self, coro: Any) -> asyncio.Task[None]:
        """Run a coroutine whose errors are reported; closing the window cancels it."""
        task = spawn(coro, self)
        self.adopt_task(task)
        return task

    def adopt_task(self, task: asyncio.Task[None]) -> None:
        """Keep a running task (handlers hand theirs over): closing the window cancels it."""
        self._tasks_running.add(task)
        task.add_done_callback(self._tasks_running.discard)

    def wait_idle_tasks(self) -> list[asyncio.Task[None]]:
        """The window's background tasks still running (tests wait for these)."""
        return [t for t in self._tasks_running if not t.done()]

    # ================================================================================================
    # errors and status

    def report_error(self, error: BaseException) -> None:
        """Show a failure to the user: the banner (and the status bar); offline also in the indicator."""
        if isinstance(error, Cancelled):
            self.statusBar().showMessage(error.message, 8000)
            return
        if isinstance(error, Offline):
            self._set_connection("offline")
            self.banner.show_message(error.title, error.message, WARNING)
            return
        if isinstance(error, ProjectDeskError):
            self.banner.show_message(error.title, error.message, ERROR)
            self.statusBar().showMessage(f"{error.title}: {error.message}", 10000)
            return
        log.error("unexpected error", exc_info=error)
        self.banner.show_message("Unexpected error", f"{type(error).__name__}: {error}", ERROR)

    def notify(self, message: str, *, timeout_ms: int = 6000) -> None:
        self.statusBar().showMessage(message, timeout_ms)

    def warn(self, title: str, message: str) -> None:
        self.banner.show_message(title, message, WARNING)

    def _set_connection(self, state: str) -> None:
        texts = {"connecting": "Connecting…", "online": "Online", "offline": "Offline"}
        self.connection_icon.setPixmap(state_icon(state).pixmap(14, 14))
        self.connection_label.setText(texts[state])
        self._online = {"online": True, "offline": False}.get(state)
        tips = {
            "online": "Connected to the store",
            "offline": "The store cannot be reached; cached projects stay available",
            "connecting": "Opening the store…",
        }
        self.connection_label.setToolTip(tips[state])

    def _update_profile_label(self) -> None:
        if self.profile is None:
            self.profile_label.clear()
            return
        description = ""
        repo = getattr(self.service, "repo", None)
        if repo is not None:
            description = str(getattr(repo, "description", "") or "")
        if not description:
            description = (
                "this computer"
                if self.profile.kind == KIND_LOCAL
                else f"{self.profile.bucket} @ {self.profile.endpoint_label}"
            )
        self.profile_label.setText(f"{self.profile.name} — {description}")
        self.profile_label.setToolTip(f"Profile {self.profile.name}: {description} (user {self.profile.user_id})")

    def _apply_snapshot(self, snap: extras.SyncSnapshot) -> None:
        self._snapshot = snap
        if snap.offline is not None:
            self._set_connection("offline" if snap.offline else "online")
        count = len(snap.pending)
        self.pending_label.setVisible(bool(count) or bool(snap.conflicts))
        parts = []
        if count:
            parts.append(f"{count} pending upload{'s' if count != 1 else ''}")
        if snap.conflicts:
            parts.append(f"{len(snap.conflicts)} conflict{'s' if len(snap.conflicts) != 1 else ''}")
        self.pending_label.setText(" · ".join(parts))
        self.project_model.set_states(extras.project_states(snap))
        if hasattr(self, "window_actions"):
            self.window_actions.on_snapshot(snap)

    def _on_status_timer(self) -> None:
        if self.service is not None and extras.has_extras(self.service) and not self._closing:
            self._track(self._refresh_status())

    def _on_offline_changed(self, offline: bool) -> None:
        self._set_connection("offline" if offline else "online")
        if not self._closing:
            self.offline_monitor.on_offline_changed(offline)  # retries with backoff, sends the queue when back
            self.window_actions.update()

    async def _refresh_status(self) -> None:
        service = self.service
        if service is None:
            return
        snap = await self.tasks.call(extras.snapshot, service)
        if service is self.service:
            self._apply_snapshot(snap)
            if self.slug:
                states = await self.tasks.call(extras.file_states, service, self.slug, snap)
                if service is self.service:
                    self.tree_model.set_states(states)

    # ================================================================================================
    # profiles

    def _on_profile_activated(self, index: int) -> None:
        name = self.profile_box.itemData(index)
        if name and (self.profile is None or name != self.profile.name):
            self._track(self._switch_profile(str(name)))

    async def _switch_profile(self, name: str, *, initial: bool = False) -> None:
        if not initial and not await self._confirm_discard(self.editor_area.modified_pages()):
            if self.profile is not None:
                self.profile_box.setCurrentIndex(self.profile_box.findData(self.profile.name))
            return
        self._service_generation += 1
        generation = self._service_generation
        self._close_all_pages()
        self._show_project(None)
        self.project_model.set_projects([])
        self.project_view.set_placeholder("Loading projects…")
        if self.service is not None:  # closed on quit: a transfer or a late call may still use it
            self._retired.append(self.service)
        self.service = None
        self._set_connection("connecting")
        profile = self._profiles.get(name)
        self.profile = profile
        self._update_profile_label()
        self.settings.set_profile(name)
        self.notify(f"Opening {name}…")
        try:
            service = await self.tasks.call(self._factory, profile)
        except Exception:
            if generation == self._service_generation:
                self.project_view.set_placeholder("Could not open this store", "See the message above.")
                self._set_connection("offline")
            raise
        if generation != self._service_generation:
            return
        self.service = service
        if hasattr(service, "on_offline_changed"):
            service.on_offline_changed = self._offlineChanged.emit  # called from worker threads
        self._update_profile_label()
        cached = await self.tasks.call(extras.cached_projects, service)
        if cached and generation == self._service_generation:
            self._show_projects(cached)
        await self._refresh_projects(generation)
        if generation != self._service_generation:
            return
        if extras.has_extras(service):
            self._status_timer.start()
        self.serviceReady.emit()
        last = self.settings.project(name)
        if last and self.project_model.project(last) is not None:
            self.select_project(last)

    # ================================================================================================
    # projects

    @handler
    async def refresh(self) -> None:
        """Reload the project list and the open project's files (F5)."""
        if self.service is None:
            return
        await self._refresh_projects(self._service_generation)
        if self.slug:
            await self._load_tree(self.slug, keep_expanded=True)

    async def _refresh_projects(self, generation: int) -> None:
        service = self.service
        if service is None:
            return
        try:
            projects = await self.tasks.call(service.list_projects)
        except Offline as exc:
            self._set_connection("offline")
            if self.project_model.rowCount() == 0:
                self.project_view.set_placeholder("Offline", "Projects show here once the store can be reached.")
            self.banner.show_message(exc.title, exc.message, WARNING)
            return
        except ProjectDeskError:
            if self.project_model.rowCount() == 0:
                self.project_view.set_placeholder("Could not list projects", "See the message above.")
            raise
        if generation != self._service_generation:
            return
        self._show_projects(projects)
        snap = await self.tasks.call(extras.snapshot, service)
        if generation != self._service_generation:
            return
        if snap.offline is None:
            snap.offline = False
        self._apply_snapshot(snap)
        self.notify(f"{len(projects)} project{'s' if len(projects) != 1 else ''}", timeout_ms=4000)

    def _show_projects(self, projects: list[ProjectInfo]) -> None:
        current = self.slug
        self.project_model.set_projects(projects)
        self.project_view.set_placeholder(EMPTY_TEXT, EMPTY_HINT)
        if current:
            self._select_in_view(current)
            self._update_header()

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
        return self._track(self._open_project(slug))

    def _on_project_selection(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        slug = str(indexes[0].data(SLUG_ROLE) or "")
        if slug and slug != self.slug:
            self._track(self._open_project(slug))

    async def _open_project(self, slug: str) -> None:
        if slug == self.slug and self.tree_model.tree_index().file_count:
            return
        pages = [p for p in self.editor_area.modified_pages() if p.slug != slug]
        if not await self._confirm_discard(pages):
            if self.slug:
                self._select_in_view(self.slug)
            return
        for page in list(self.editor_area.pages()):
            if page.slug != slug:
                self.editor_area.remove_page(page)
        self._show_project(slug)
        if self.profile is not None:
            self.settings.set_project(self.profile.name, slug)
        await self._load_tree(slug)

    def _show_project(self, slug: str | None) -> None:
        self.slug = slug or ""
        self._project_generation += 1
        self.tree_model.clear()
        self.tree_view.set_placeholder("Loading files…" if slug else "No project selected")
        self._update_header()
        self.editor_area.set_welcome(self._welcome_html() if slug else "Select a project on the left.")
        self._update_title()
        self._update_actions()

    def _update_header(self) -> None:
        info = self.project_model.project(self.slug) if self.slug else None
        if info is None:
            self.project_header.setText("")
            return
        stack = ", ".join(info.tech_stack)
        self.project_header.setText(
            f"<b>{_escape(info.name)}</b><br><span style='font-size:small'>{_escape(info.slug)} · "
            f"{info.files_count:,} files · {human_bytes(info.total_bytes)}"
            + (f" · {_escape(stack)}" if stack else "")
            + "</span>"
        )

    async def _load_tree(self, slug: str, *, keep_expanded: bool = False) -> None:
        service = self.service
        if service is None:
            return
        generation = self._project_generation
        expanded = self._expanded_paths() if keep_expanded else []
        selected = self._selected_tree_path()
        started = time.perf_counter()

        def load() -> tuple[TreeIndex, dict[str, str]]:
            index = TreeIndex.build(service.list_files(slug), links=service.links(slug))
            return index, extras.file_states(service, slug, self._snapshot)

        try:
            index, states = await self.tasks.call(load)
        except ProjectDeskError:
            if generation == self._project_generation:
                self.tree_view.set_placeholder("Could not list the files", "See the message above.")
            raise
        if generation != self._project_generation or slug != self.slug:
            return
        self.tree_model.set_index(index, states)
        self.tree_view.set_placeholder("This project has no files", "Drop files or folders here to upload them.")
        for path in expanded:
            found = self.tree_model.index_for_path(path)
            if found.isValid():
                self.tree_view.expand(found)
        if selected:
            found = self.tree_model.index_for_path(selected)
            if found.isValid():
                self.tree_view.setCurrentIndex(found)
        hidden = f"; {index.hidden} with unsafe names not shown" if index.hidden else ""
        self.notify(f"{index.file_count:,} files in {(time.perf_counter() - started) * 1000:.0f} ms{hidden}")
        self._update_actions()
        self.projectOpened.emit(slug)

    def _expanded_paths(self) -> list[str]:
        paths: list[str] = []

        def walk(parent: QModelIndex) -> None:
            for row in range(self.tree_model.rowCount(parent)):
                index = self.tree_model.index(row, 0, parent)
                if index.data(IS_DIR_ROLE) and self.tree_view.isExpanded(index):
                    paths.append(str(index.data(PATH_ROLE)))
                    walk(index)

        walk(QModelIndex())
        return paths

    def _selected_tree_path(self) -> str:
        index = self.tree_view.currentIndex()
        return str(index.data(PATH_ROLE) or "") if index.isValid() else ""

    # ================================================================================================
    # files

    def _on_tree_activated(self, index: QModelIndex) -> None:
        if index.isValid() and not index.data(IS_DIR_ROLE):
            self.open_file(str(index.data(PATH_ROLE)))

    def open_file(self, path: str) -> asyncio.Task[None] | None:
        """Open (or show) a file of the current project; returns the task opening it."""
        if not self.slug:
            return None
        existing = self.editor_area.find_page(self.slug, path)
        if existing is not None:
            self.editor_area.show_page(existing)
            return None
        key = (self.slug, path)
        if key in self._opening and not self._opening[key].done():
            return self._opening[key]
        task = self._track(self._open_file(self.slug, path))
        self._opening[key] = task
        task.add_done_callback(lambda _t: self._opening.pop(key, None))
        return task

    async def _open_file(self, slug: str, path: str) -> None:
        service = self.service
        if service is None:
            return
        started = time.perf_counter()
        self.notify(f"Opening {path}…", timeout_ms=0)

        def read() -> tuple[bytes, FileEntry, FileContent, Lexer | None]:
            data, entry = service.open_file(slug, path)
            content = classify(path, data)
            lexer = prepare_lexer(path) if content.kind == TEXT and content.highlight else None
            return data, entry, content, lexer

        data, entry, content, lexer = await self.tasks.call(read)
        if slug != self.slug or self._closing:
            return
        page = EditorPage(slug, path, entry, content, dark=is_dark(self.palette()))
        self.editor_area.add_page(page)
        if content.kind == TEXT:
            await page.load_text(lexer)
            if not page.closed and page.editor is not None:
                page.editor.cursorPositionChanged.connect(self._update_position)
                if self.editor_area.current() is page:
                    page.editor.setFocus()
        elif content.kind == IMAGE:
            image = await self.tasks.call(decode_image, path, data)
            if not page.closed:
                page.show_image(image)
        elif content.kind == BINARY:
            page.show_hex(data)
        if page.closed:
            return
        elapsed = (time.perf_counter() - started) * 1000
        self.notify(f"Opened {path} ({human_bytes(content.size)}) in {elapsed:.0f} ms")
        self._on_page_changed(self.editor_area.current())
        self.fileOpened.emit(page)

    @handler
    async def quick_open(self) -> None:
        """Go to a file of the current project by typing part of its path (Ctrl+P)."""
        if not self.slug:
            self.notify("Select a project first.")
            return
        dialog = QuickOpenDialog(self.tree_model.all_paths(), self)
        dialog.chosen.connect(lambda path: self._reveal_and_open(str(path)))
        await run_dialog(dialog)
        dialog.deleteLater()

    def _reveal_and_open(self, path: str) -> None:
        index = self.tree_model.index_for_path(path)
        if index.isValid():
            self.tree_view.setCurrentIndex(index)
            self.tree_view.scrollTo(index)
        self.open_file(path)

    @handler
    async def save_current(self) -> None:
        """Save the current file (Ctrl+S)."""
        page = self.editor_area.current()
        if page is None:
            return
        await self.save_page(page)

    async def save_page(self, page: EditorPage, *, force: bool = False) -> bool:
        """Store the page's text through the service; True when saved (or nothing to save)."""
        if page.editor is None:
            return True
        if not page.can_save:
            raise InvalidInput(page.content.note or f"{page.path} is read-only here.")
        service = self.service
        if service is None:
            raise Offline("The store is not open yet.")
        data = page.data_to_save()
        document = page.editor.document()
        revision = document.revision()
        # The save replaces the version the page was opened at (or last saved as), never a later one: a plain
        # service fails instead (we ask), the cache keeps both versions (a conflicted copy).
        etag = None if (force or page.entry is None) else page.entry.etag or None
        self.notify(f"Saving {page.path}…", timeout_ms=0)
        try:
            entry: FileEntry = await self.tasks.call(service.write_file, page.slug, page.path, data, if_match=etag)
        except Conflict as exc:
            if getattr(exc, "record", None) is not None:  # the cache kept both versions (a conflicted copy)
                page.mark_saved(None)
                self.banner.show_message(exc.title, exc.message, WARNING)
                await self._load_tree(page.slug, keep_expanded=True)
                self._track(self._refresh_status())
                return True
            answer = await ask(
                self,
                "Changed elsewhere",
                f"{page.path} was changed on the server after you opened it.",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
                informative="Save replaces the server's version with yours. Cancel keeps editing; "
                "your text stays here unsaved.",
                icon=QMessageBox.Icon.Warning,
            )
            if answer != QMessageBox.StandardButton.Save:
                self.notify("Not saved: the file changed on the server.")
                return False
            return await self.save_page(page, force=True)
        if page.editor is not None and page.editor.document().revision() == revision:
            page.mark_saved(entry)
        else:
            page.entry = entry  # edited while saving: still modified, but against the new version
        if page.slug == self.slug and not self.tree_model.update_entry(entry):
            await self._load_tree(page.slug, keep_expanded=True)
        self.notify(f"Saved {page.path} ({human_bytes(len(data))})")
        if extras.has_extras(service):
            self._track(self._refresh_status())
        return True

    def close_current(self) -> None:
        page = self.editor_area.current()
        if page is not None:
            self.close_page(page)

    @handler
    async def close_page(self, page: object) -> None:
        """Close a tab, asking first when it has unsaved edits."""
        if not isinstance(page, EditorPage):
            return
        if page.is_modified:
            answer = await ask(
                self,
                "Unsaved changes",
                f"Save the changes to {page.name} before closing?",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Save,
            )
            if answer == QMessageBox.StandardButton.Cancel:
                return
            if answer == QMessageBox.StandardButton.Save and not await self.save_page(page):
                return
        self.editor_area.remove_page(page)

    async def _confirm_discard(self, pages: list[EditorPage]) -> bool:
        """Ask about unsaved edits in `pages`: save them, discard them, or cancel (False)."""
        if not pages:
            return True
        names = ", ".join(p.name for p in pages[:5]) + (f" and {len(pages) - 5} more" if len(pages) > 5 else "")
        answer = await ask(
            self,
            "Unsaved changes",
            f"{len(pages)} file{'s have' if len(pages) != 1 else ' has'} unsaved changes: {names}.",
            QMessageBox.StandardButton.SaveAll | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.SaveAll,
            informative="Save them before going on?",
        )
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.SaveAll:
            for page in pages:
                try:
                    if not await self.save_page(page):
                        return False
                except ProjectDeskError as exc:
                    self.report_error(exc)
                    return False
        for page in pages:
            page.mark_saved(None)
        return True

    def _close_all_pages(self) -> None:
        for page in list(self.editor_area.pages()):
            self.editor_area.remove_page(page)

    def _on_page_changed(self, page: object) -> None:
        self._update_title()
        self._update_actions()
        self._update_position()

    def _on_page_modified(self, _page: object) -> None:
        self._update_title()
        self._update_actions()

    def _update_title(self) -> None:
        page = self.editor_area.current()
        parts = []
        if page is not None:
            parts.append((MODIFIED_MARK if page.is_modified else "") + page.path)
        info = self.project_model.project(self.slug) if self.slug else None
        if info is not None:
            parts.append(info.name)
        parts.append("ProjectDesk")
        self.setWindowTitle(" — ".join(parts))

    def _update_position(self) -> None:
        page = self.editor_area.current()
        if page is None or page.editor is None:
            self.position_label.setText("")
            return
        cursor = page.editor.textCursor()
        content = page.content
        eol = "CRLF" if content.eol == "\r\n" else "LF"
        encoding = "UTF-8" if content.encoding == "utf-8" else content.encoding
        language = page.highlighter.lexer_name if page.highlighter is not None else "Plain text"
        mode = "" if content.editable else " · read-only"
        self.position_label.setText(
            f"Ln {cursor.blockNumber() + 1}, Col {cursor.positionInBlock() + 1} · {encoding} · {eol} · {language}{mode}"
        )

    def _update_actions(self) -> None:
        page = self.editor_area.current()
        has_project = bool(self.slug)
        self.save_action.setEnabled(page is not None and page.can_save and page.is_modified)
        self.close_tab_action.setEnabled(page is not None)
        self.goto_action.setEnabled(has_project)
        self.download_action.setEnabled(has_project)
        self.find_action.setEnabled(page is not None and page.editor is not None)
        if hasattr(self, "window_actions"):
            self.window_actions.update()

    def _focus_editor(self) -> None:
        page = self.editor_area.current()
        if page is not None and page.editor is not None:
            page.editor.setFocus()

    def _focus_filter(self) -> None:
        self.filter_field.setFocus()
        self.filter_field.selectAll()

    def _find_next(self) -> None:
        if self.editor_area.find_bar.isVisible():
            self.editor_area.find_bar.find_text(forward=True)
        else:
            self.editor_area.open_find()

    def _find_previous(self) -> None:
        if self.editor_area.find_bar.isVisible():
            self.editor_area.find_bar.find_text(forward=False)
        else:
            self.editor_area.open_find()

    # ================================================================================================
    # drops and uploads

    def _on_projects_dropped(self, paths: list[Path], _index: QModelIndex) -> None:
        self.drop_on_projects(paths)

    @handler
    async def drop_on_projects(self, paths: list[Path]) -> None:
        """Folders dropped on the project list become projects (after a preview); zips are imported."""
        items: DroppedItems = await self.tasks.call(sort_drop, list(paths))
        if items.files and not (items.folders or items.zips):
            self.banner.show_message(
                "Not a folder",
                "Drop a folder to create a project, or a .zip to import one. To add files to a project, "
                "drop them on a folder in the file tree.",
                INFO,
                timeout_ms=12000,
            )
            return
        for archive in items.zips:
            self.start_import(archive)
        for folder in items.folders:
            await self.preview_and_upload(folder)

    @handler
    async def choose_folder_to_upload(self) -> None:
        dialog = QFileDialog(self, "Choose a folder to upload as a new project")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        if await run_dialog(dialog) and dialog.selectedFiles():
            await self.preview_and_upload(Path(dialog.selectedFiles()[0]))
        dialog.deleteLater()

    @handler
    async def choose_zip_to_import(self) -> None:
        dialog = QFileDialog(self, "Choose a .zip to import as a new project")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilter("Zip archives (*.zip)")
        if await run_dialog(dialog) and dialog.selectedFiles():
            self.start_import(Path(dialog.selectedFiles()[0]))
        dialog.deleteLater()

    async def preview_and_upload(self, folder: Path) -> PushPlan | None:
        """Scan a folder, show the preview, and upload it as a new project when the user says so."""
        service = self._require_service()
        self.notify(f"Scanning {folder}…", timeout_ms=0)
        plan = await self.tasks.call(service.plan_push, folder)
        self.notify(f"Scanned {folder.name}: {len(plan.scan.files):,} files, {human_bytes(plan.scan.total_bytes)}")
        dialog = PushPreviewDialog(plan, known_slugs=self.project_model.slugs(), parent=self)
        accepted = await run_dialog(dialog)
        chosen = dialog.plan()
        dialog.deleteLater()
        if not accepted:
            self.notify("Upload cancelled.")
            return None
        self.jobs.push(chosen, folder, service)
        return chosen

    def _on_tree_dropped(self, paths: list[Path], index: QModelIndex) -> None:
        if not self.slug:
            self.notify("Select a project first, then drop files on its tree.")
            return
        self.upload_into(self.slug, self.tree_view.folder_at(index), paths)

    @handler
    async def upload_into(self, slug: str, folder: str, paths: list[Path]) -> None:
        """Upload dropped files and folders into `folder` of project `slug` (previewed when something is wrong)."""
        service = self._require_service()
        staging: Path | None = await self.tasks.call(stage_drop, list(paths), folder)
        assert staging is not None
        try:
            bridges = await self.tasks.call(staged_links, staging)
            plan = await self.tasks.call(service.plan_push, staging, slug=slug, remember=False, bridges=bridges)
            where = f"{slug}/{folder}" if folder else slug
            if plan.limit_error is not None or plan.scan.problems or not plan.to_upload:
                dialog = PushPreviewDialog(plan, target=where, parent=self)
                accepted = await run_dialog(dialog)
                dialog.deleteLater()
                if not accepted:
                    self.notify("Upload cancelled.")
                    return
            names = ", ".join(p.name for p in paths[:3]) + (f" +{len(paths) - 3}" if len(paths) > 3 else "")
            self.jobs.push(plan, staging, service, title=f"{names} → {where}", staging=staging)
            staging = None  # the transfer owns it now
        finally:
            if staging is not None:
                await self.tasks.call(remove_staging, staging)

    async def _after_upload(self, slug: str) -> None:
        await self._refresh_projects(self._service_generation)
        if slug == self.slug:
            await self._load_tree(slug, keep_expanded=True)
        elif not self.slug and self.project_model.project(slug) is not None:
            self.select_project(slug)

    def _on_uploaded(self, service: object, slug: str) -> None:
        if service is self.service and not self._closing:
            self._track(self._after_upload(slug))

    def start_import(self, archive: Path) -> Transfer:
        """Import a .zip as a new project, as a transfer row."""
        return self.jobs.import_zip(archive, self._require_service())

    @handler
    async def choose_download_folder(self) -> None:
        """Download the selected project into a folder the user picks."""
        if not self.slug:
            return
        dialog = QFileDialog(self, "Download the project into…")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        accepted = await run_dialog(dialog)
        chosen = dialog.selectedFiles()
        dialog.deleteLater()
        if accepted and chosen:
            self.start_download(self.slug, Path(chosen[0]) / self.slug)

    def start_download(self, slug: str, dest: Path) -> Transfer:
        return self.jobs.download(slug, dest, self._require_service())

    @handler
    async def _on_transfer_details(self, transfer: object) -> None:
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
            self,
        )
        if lines:
            box.setDetailedText("\n".join(lines))
        await run_dialog(box)
        box.deleteLater()

    def _require_service(self) -> ProjectService:
        if self.service is None:
            raise Offline("The store is not open yet; wait a moment or check the message above.")
        return self.service

    # ================================================================================================
    # look

    def _on_color_scheme(self, _scheme: object) -> None:
        self._apply_palette()

    def _apply_palette(self) -> None:
        dark = is_dark(self.palette())
        self.editor_area.set_dark(dark)
        self.editor_area.set_welcome(self._welcome_html() if self.slug else "Select a project on the left.")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_palette()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About ProjectDesk",
            f"<h3>ProjectDesk {__version__}</h3><p>Keep software projects in Amazon S3 or any S3-compatible "
            "store.</p><p>Settings: " + _escape(str(self.settings.path)) + "</p>",
        )

    # ================================================================================================
    # closing

    def force_close(self) -> None:
        """Close without asking (unsaved edits are dropped, transfers cancelled)."""
        self._close_confirmed = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._close_confirmed:
            self.shutdown()
            event.accept()
            return
        modified = self.editor_area.modified_pages()
        running = self.transfer_model.active()
        if not modified and not running:
            self.shutdown()
            event.accept()
            return
        event.ignore()
        self._track(self._confirm_close(modified, running))

    async def _confirm_close(self, modified: list[EditorPage], running: list[Transfer]) -> None:
        if running:
            answer = await ask(
                self,
                "Transfers running",
                f"{len(running)} transfer{'s are' if len(running) != 1 else ' is'} still running.",
                QMessageBox.StandardButton.Abort | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
                informative="Quit cancels them; files already sent stay whole, and Retry next time sends the rest.",
                icon=QMessageBox.Icon.Warning,
            )
            if answer != QMessageBox.StandardButton.Abort:
                return
            for transfer in running:
                transfer.cancel.set()
        if not await self._confirm_discard(modified):
            return
        self._close_confirmed = True
        self.close()

    def shutdown(self) -> None:
        """Save the layout, cancel transfers and pending work; the window is closing."""
        if self._closing:
            return
        self._closing = True
        self._status_timer.stop()
        try:
            self.save_layout()
        except Exception:  # never block quitting on settings
            log.exception("could not save the window layout")
        for transfer in self.transfer_model.active():
            transfer.cancel.set()
        for task in list(self._tasks_running):
            task.cancel()
        for page in list(self.editor_area.pages()):
            page.close_page()
        self.tasks.shutdown(wait=False)
        services = [*self._retired, *([self.service] if self.service is not None else [])]
        self.service = None
        self._retired.clear()
        for service in services:
            if hasattr(service, "on_offline_changed"):
                service.on_offline_changed = None
            try:
                extras.close(service)
            except Exception:  # never block quitting on the cache
                log.exception("could not close the service")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def window_icon() -> QIcon:
    return app_icon()
