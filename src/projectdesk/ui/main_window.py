"""The main window: stores and projects on the left, the file tree in the middle, the editor on the right,
transfers below, connection and pending uploads in the status bar.

The window builds the widgets and wires the parts that do the work, each in its own module: the session
(`session.py`: the open store, project and tasks), browsing (`browser.py`), the editor flow (`editing.py`),
drops, uploads and downloads (`uploads.py`), offline and the queue (`offline_status.py`) and the menus'
commands (`commands/`). The parts talk to the session, to the views they are given and to `Feedback` —
which the window implements — never to the window itself.
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QIcon, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from projectdesk.config.profiles import ProfileStore
from projectdesk.config.secrets import SecretStore
from projectdesk.core.errors import Cancelled, Offline, ProjectDeskError, SignInRequired
from projectdesk.ui.banner import ERROR, INFO, WARNING, Banner
from projectdesk.ui.browser import ProjectBrowser
from projectdesk.ui.commands import CommandContext, Commands
from projectdesk.ui.commands.sign_in import SIGN_IN_TEXT, sign_in_sentence
from projectdesk.ui.dialogs import ask
from projectdesk.ui.editing import EditorFlow
from projectdesk.ui.editor import MODIFIED_MARK, EditorArea, EditorPage, is_dark
from projectdesk.ui.file_tree import DELETED_ROLE, IS_DIR_ROLE, PATH_ROLE, FileTreeModel, FileTreeView
from projectdesk.ui.find_in_project import FindInProject
from projectdesk.ui.find_panel import make_find_dock
from projectdesk.ui.jobs import TransferJobs
from projectdesk.ui.offline_status import OfflineMonitor
from projectdesk.ui.project_list import ProjectFilterProxy, ProjectListModel, ProjectListView
from projectdesk.ui.resources import app_icon, icon_path, state_icon
from projectdesk.ui.session import ServiceFactory, Session
from projectdesk.ui.settings import WindowSettings
from projectdesk.ui.sync_state import Connection, SyncSnapshot
from projectdesk.ui.tasks import Tasks, handler
from projectdesk.ui.transfers import Transfer, TransferModel, TransfersPanel
from projectdesk.ui.uploads import Uploads
from projectdesk.ui.window_menus import build_menus
from projectdesk.ui.working_folders import WorkingFolders

if TYPE_CHECKING:
    from projectdesk.config.paths import Paths
    from projectdesk.services.offline import CachedProjectService

log = logging.getLogger(__name__)

__all__ = ["MainWindow", "ServiceFactory", "window_icon"]

STATUS_REFRESH_MS = 5000


class MainWindow(QMainWindow):
    """ProjectDesk's window.

    Args:
        paths: where settings live (window.ini beside profiles.toml).
        service_factory: opens the service of a profile (blocking; called in a worker thread).
        profiles: the profile store (defaults to the one under `paths`).

    Attributes:
        session, browser, editing, uploads, monitor (the offline monitor), working_folders, commands: the
            window's parts.

    Signals:
        serviceReady(): a service is open for the selected profile and its project list is shown.
        projectOpened(str): the file tree of this slug is shown.
        fileOpened(object): an EditorPage finished opening.
    """

    serviceReady = Signal()
    projectOpened = Signal(str)
    fileOpened = Signal(object)

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
        self.tasks = tasks or Tasks()
        self.settings = WindowSettings(paths.config_dir)
        # `secrets` is shared with service_factory: session-only keys live there
        self.session = Session(paths, service_factory, profiles or ProfileStore(paths), secrets or SecretStore(),
                               self.tasks, self, self)  # fmt: skip
        self._started = False
        self._close_confirmed = False
        self.setWindowTitle("ProjectDesk")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(False)
        self._build_widgets()
        self._build_parts()
        self.menus = build_menus(self, self)
        self._build_status_bar()
        self._wire()
        self._restore_layout()
        self.browser.load_profiles()
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_REFRESH_MS)
        self._status_timer.timeout.connect(self._on_status_timer)
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: self._apply_palette())

    # ---- what is open (read-only views of the session) ----------------------------------------------

    @property
    def service(self) -> CachedProjectService | None:
        return self.session.service

    @property
    def slug(self) -> str:
        return self.session.slug

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

        # bottom, beside transfers: find in project (hidden until Edit ▸ Find in Project)
        self.find_dock, self.find_panel = make_find_dock(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.find_dock)
        self.tabifyDockWidget(self.transfers_dock, self.find_dock)
        self.find_dock.hide()

        # signals
        self.jobs = TransferJobs(self.tasks, self.transfer_model, self, self.session.track, self)
        self.jobs.started.connect(lambda _transfer: self.transfers_dock.show())
        self.transfers.retryRequested.connect(self.jobs.retry)

    def _build_parts(self) -> None:
        self.browser = ProjectBrowser(
            self.session, self, self.settings, profile_box=self.profile_box, filter_field=self.filter_field,
            project_model=self.project_model, project_proxy=self.project_proxy, project_view=self.project_view,
            header=self.project_header, tree_model=self.tree_model, tree_view=self.tree_view,
            editor_area=self.editor_area, parent=self,
        )  # fmt: skip
        self.position_label = QLabel(self)
        self.editing = EditorFlow(self.session, self.browser, self.editor_area, self, self.position_label, self)
        self.uploads = Uploads(self.session, self.browser, self.jobs, self, self)
        self.monitor = OfflineMonitor(self.session, self, self.browser.refresh, self)
        self.working_folders = WorkingFolders(self.session, self.browser, self.editing, self, parent=self)
        self.find_in_project = FindInProject(self.session, self.browser, self.editing, self.find_panel,
                                             self.find_dock, self, self)  # fmt: skip
        left = self.project_view.parentWidget()
        layout = left.layout() if left is not None else None
        if isinstance(layout, QVBoxLayout):
            layout.insertWidget(layout.indexOf(self.project_view), self.monitor.strip)

    def _build_commands(self) -> None:
        context = CommandContext(
            session=self.session, browser=self.browser, editing=self.editing, monitor=self.monitor,
            transfer_model=self.transfer_model, transfers_dock=self.transfers_dock, feedback=self, parent=self,
            folders=self.working_folders,
        )  # fmt: skip
        self.commands = Commands(context, download=self.menus.download_action, refresh=self.menus.refresh_action)
        menu_bar = self.menuBar()
        self.commands.add_menus(menu_bar, self.menus.help_menu.menuAction())
        self.commands.add_to_toolbar(self.menus.toolbar)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
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
        self._show_connection(Connection.CONNECTING)

    def _wire(self) -> None:
        session, browser, editing = self.session, self.browser, self.editing
        self._build_commands()
        session.connectionChanged.connect(self._show_connection)
        session.snapshotChanged.connect(self._show_pending)
        session.serviceOpened.connect(self._update_profile_label)
        browser.serviceReady.connect(self._on_service_ready)
        browser.projectOpened.connect(self.projectOpened.emit)
        browser.projectOpened.connect(lambda _slug: self._update_actions())
        browser.projectShown.connect(self._on_project_shown)
        editing.fileOpened.connect(self.fileOpened.emit)
        editing.fileOpened.connect(lambda _page: self._on_page_changed())
        self.monitor.tipChanged.connect(self.connection_label.setToolTip)
        self.tree_view.activated.connect(self._on_tree_activated)
        self.editor_area.closeRequested.connect(editing.close_page)
        self.editor_area.currentPageChanged.connect(lambda _page: self._on_page_changed())
        self.editor_area.pageModifiedChanged.connect(lambda _page: self._on_page_changed())
        self.transfers.detailsRequested.connect(self.uploads.show_transfer_details)
        self._update_actions()

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
        profile = self.session.profile
        if profile is not None:
            self.settings.set_profile(profile.name)
            if self.session.slug:
                self.settings.set_project(profile.name, self.session.slug)
        self.settings.sync()

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
            self.session.track(self.browser.switch_profile(str(name), initial=True))
        else:
            self.project_view.set_placeholder("No profile", "Add one with: projectdesk-cli profiles add …")
            self._show_connection(Connection.FAILED)

    def _on_service_ready(self) -> None:
        self._status_timer.start()
        self.monitor.service_ready()
        self._update_actions()
        self.serviceReady.emit()

    def wait_idle_tasks(self) -> list[asyncio.Task[None]]:
        """The window's background tasks still running (tests wait for these)."""
        return self.session.running_tasks()

    def adopt_task(self, task: asyncio.Task[None]) -> None:
        self.session.adopt_task(task)

    @handler
    async def refresh(self) -> None:
        """Reload the project list and the open project's files (F5)."""
        await self.browser.refresh()

    # ================================================================================================
    # Feedback: how the parts speak to the person

    def report_error(self, error: BaseException) -> None:
        """Show a failure: the banner (and the status bar); offline also in the indicator."""
        if isinstance(error, Cancelled):
            self.statusBar().showMessage(error.message, 8000)
            return
        if isinstance(error, Offline):
            self.session.set_connection(Connection.OFFLINE)
            self.banner.show_message(error.title, error.message, WARNING)
            return
        if isinstance(error, SignInRequired):  # an AWS SSO sign-in missing or expired: offer it (no AWS CLI needed)
            sign_in = self.commands.sign_in
            message = sign_in_sentence(error.aws_profile)
            self.banner.show_message(error.title, message, ERROR, action=(SIGN_IN_TEXT, sign_in.sign_in))
            self.statusBar().showMessage(f"{error.title}: {message}", 10000)
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

    def announce(self, title: str, message: str, level: str = INFO, *, timeout_ms: int = 0) -> None:
        self.banner.show_message(title, message, level, timeout_ms=timeout_ms)

    # ================================================================================================
    # the status bar

    def _show_connection(self, state: Connection) -> None:
        self.connection_icon.setPixmap(state_icon(state.icon).pixmap(14, 14))
        self.connection_label.setText(state.text)
        self.connection_label.setToolTip(state.tip)

    def _update_profile_label(self) -> None:
        profile = self.session.profile
        if profile is None:
            self.profile_label.clear()
            return
        description = self.session.store_description
        self.profile_label.setText(f"{profile.name} — {description}")
        self.profile_label.setToolTip(f"Profile {profile.name}: {description} (user {profile.user_id})")

    def _show_pending(self, snap: SyncSnapshot) -> None:
        count = len(snap.pending)
        self.pending_label.setVisible(bool(count) or bool(snap.conflicts))
        parts = []
        if count:
            parts.append(f"{count} pending upload{'s' if count != 1 else ''}")
        if snap.conflicts:
            parts.append(f"{len(snap.conflicts)} conflict{'s' if len(snap.conflicts) != 1 else ''}")
        self.pending_label.setText(" · ".join(parts))

    def _on_status_timer(self) -> None:
        if self.session.service is not None and not self.session.closing:
            self.session.track(self.browser.refresh_status())

    # ================================================================================================
    # views

    def _on_project_shown(self, slug: str) -> None:
        self.editor_area.set_welcome(self._welcome_html() if slug else "Select a project on the left.")
        self._update_title()
        self._update_actions()

    def _on_tree_activated(self, index: QModelIndex) -> None:
        if not index.isValid() or index.data(IS_DIR_ROLE):
            return
        if index.data(DELETED_ROLE) is not None:  # a deleted file shown: its history (old versions, Undelete)
            self.commands.history.show_history(str(index.data(PATH_ROLE)))
        else:
            self.editing.open_file(str(index.data(PATH_ROLE)))

    def _on_page_changed(self) -> None:
        self._update_title()
        self._update_actions()
        self.editing.update_position()

    def _update_title(self) -> None:
        page = self.editor_area.current()
        parts = []
        if page is not None:
            parts.append((MODIFIED_MARK if page.is_modified else "") + page.path)
        info = self.project_model.project(self.session.slug) if self.session.slug else None
        if info is not None:
            parts.append(info.name)
        parts.append("ProjectDesk")
        self.setWindowTitle(" — ".join(parts))

    def _update_actions(self) -> None:
        page = self.editor_area.current()
        has_project = bool(self.session.slug)
        self.menus.save_action.setEnabled(page is not None and page.can_save and page.is_modified)
        self.menus.close_tab_action.setEnabled(page is not None)
        self.menus.goto_action.setEnabled(has_project)
        self.menus.find_in_project_action.setEnabled(has_project)
        self.menus.replace_in_project_action.setEnabled(has_project)
        self.menus.download_action.setEnabled(has_project)
        self.menus.find_action.setEnabled(page is not None and page.editor is not None)
        self.commands.update()

    def focus_editor(self) -> None:
        page = self.editor_area.current()
        if page is not None and page.editor is not None:
            page.editor.setFocus()

    def focus_filter(self) -> None:
        self.filter_field.setFocus()
        self.filter_field.selectAll()

    def find_in_page(self, *, forward: bool) -> None:
        if self.editor_area.find_bar.isVisible():
            self.editor_area.find_bar.find_text(forward=forward)
        else:
            self.editor_area.open_find()

    # ================================================================================================
    # look

    def _apply_palette(self) -> None:
        dark = is_dark(self.palette())
        self.editor_area.set_dark(dark)
        self.editor_area.set_welcome(self._welcome_html() if self.session.slug else "Select a project on the left.")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_palette()

    def show_about(self) -> None:
        from projectdesk import __version__

        QMessageBox.about(
            self,
            "About ProjectDesk",
            f"<h3>ProjectDesk {__version__}</h3><p>Keep software projects in Amazon S3 or any S3-compatible "
            "store.</p><p>Settings: " + html.escape(str(self.settings.path)) + "</p>",
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
        self.session.track(self._confirm_close(modified, running))

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
        if not await self.editing.confirm_discard(modified):
            return
        self._close_confirmed = True
        self.close()

    def shutdown(self) -> None:
        """Save the layout, cancel transfers and pending work, close the stores; the window is closing."""
        if self.session.closing:
            return
        self.session.closing = True
        self._status_timer.stop()
        try:
            self.save_layout()
        except Exception:  # never block quitting on settings
            log.exception("could not save the window layout")
        for transfer in self.transfer_model.active():
            transfer.cancel.set()
        for page in list(self.editor_area.pages()):
            page.close_page()
        self.session.close()


def window_icon() -> QIcon:
    return app_icon()
