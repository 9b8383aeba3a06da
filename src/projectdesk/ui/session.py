"""The window's session: which store is open (its service and profile), which project is shown, the tasks
running for them, and the cache's state as last read. No widgets: views follow its signals.

Every store is opened as the cache's CachedProjectService (the app's factory: `open_cached_service`), so the
session and the commands are typed against it and never guess what the service can do.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from projectdesk.config.profiles import KIND_LOCAL, Profile, ProfileStore
from projectdesk.core.errors import InvalidInput, Offline
from projectdesk.ui.sync_state import Connection, SyncSnapshot, TreeState, file_states, snapshot
from projectdesk.ui.tasks import ErrorSink, Tasks, freeze_long_lived, post_to_gui, spawn

if TYPE_CHECKING:
    from projectdesk.config.paths import Paths
    from projectdesk.config.secrets import SecretStore
    from projectdesk.services.offline import CachedProjectService

log = logging.getLogger(__name__)

ServiceFactory = Callable[[Profile], "CachedProjectService"]
THREAD_JOIN_SECONDS = 10.0  # closing waits this long for long-lived workers (folder watches) to end


class Session(QObject):
    """The open store and project, and the work running for them.

    Args:
        paths, profiles, secrets: where profiles and keys live (the accounts dialog edits them).
        factory: opens a profile's service (blocking; called in a worker thread).
        tasks: the thread pools.
        sink: where failures of background work are reported (the window).

    Signals:
        connectionChanged(Connection): connecting, online or offline.
        offlineChanged(bool): the service went offline or came back (emitted from worker threads; Qt
            queues it to the GUI thread).
        serviceOpened(): a service is open for `profile` (its project list is not loaded yet).
        snapshotChanged(SyncSnapshot): pending uploads, conflicts and cache use as just read.
    """

    connectionChanged = Signal(object)
    offlineChanged = Signal(bool)
    serviceOpened = Signal()
    snapshotChanged = Signal(object)

    def __init__(
        self,
        paths: Paths,
        factory: ServiceFactory,
        profiles: ProfileStore,
        secrets: SecretStore,
        tasks: Tasks,
        sink: ErrorSink,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.paths = paths
        self.profiles = profiles
        self.secrets = secrets
        self.tasks = tasks
        self._factory = factory
        self._sink = sink
        self.service: CachedProjectService | None = None
        self.profile: Profile | None = None
        self.slug = ""
        self.connection = Connection.CONNECTING
        self.snapshot = SyncSnapshot()
        self.service_generation = 0  # bumped when a store is opened: late results of the old one are dropped
        self.project_generation = 0  # bumped when another project is shown
        self.closing = False
        self._running: set[asyncio.Task[None]] = set()
        self._retired: list[CachedProjectService] = []  # services of stores switched away from
        self._threads: list[tuple[threading.Thread, Callable[[], None]]] = []  # long-lived workers, their stop

    # ---- tasks --------------------------------------------------------------------------------------

    def track(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a coroutine whose failure is reported; closing the window cancels it."""
        task = spawn(coro, self._sink)
        self.adopt_task(task)
        return task

    def adopt_task(self, task: asyncio.Task[None]) -> None:
        """Keep a running task (handlers hand theirs over): closing cancels it, tests wait for it."""
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    def running_tasks(self) -> list[asyncio.Task[None]]:
        return [t for t in self._running if not t.done()]

    def start_thread(self, name: str, run: Callable[[], None], stop: Callable[[], None]) -> threading.Thread:
        """Run a long-lived worker that uses a service outside the pools (a folder watch) in a daemon thread.
        Closing calls `stop` and closes the services only once the thread has ended."""
        self._threads = [(t, s) for t, s in self._threads if t.is_alive()]
        thread = threading.Thread(target=run, name=name, daemon=True)
        self._threads.append((thread, stop))
        thread.start()
        return thread

    # ---- what is open -------------------------------------------------------------------------------

    def require_service(self) -> CachedProjectService:
        if self.service is None:
            raise Offline("The store is not open yet; wait a moment or check the message above.")
        return self.service

    def require_project(self) -> tuple[CachedProjectService, str]:
        service = self.service
        if service is None:
            raise InvalidInput("The store is not open yet.")
        if not self.slug:
            raise InvalidInput("Select a project first.")
        return service, self.slug

    def is_current(self, service: CachedProjectService | None) -> bool:
        return service is not None and service is self.service and not self.closing

    @property
    def store_description(self) -> str:
        """Where the projects are, in words ("bucket @ host", "this computer")."""
        if self.service is not None:
            return self.service.repo.description
        if self.profile is None:
            return ""
        return (
            "this computer"
            if self.profile.kind == KIND_LOCAL
            else f"{self.profile.bucket} @ {self.profile.endpoint_label}"
        )

    @property
    def can_share(self) -> bool:
        """S3 stores give s3:// URIs and share links; the local store does not."""
        return self.service is not None and self.service.repo.supports_share_links

    def set_connection(self, state: Connection) -> None:
        self.connection = state
        self.connectionChanged.emit(state)

    def show_project(self, slug: str) -> None:
        self.slug = slug
        self.project_generation += 1

    # ---- opening a store ----------------------------------------------------------------------------

    async def open_profile(self, name: str) -> CachedProjectService | None:
        """Open the profile's store (the old one is retired, closed on quit: a transfer may still use it).
        Returns the service, or None when another store was chosen meanwhile."""
        self.service_generation += 1
        generation = self.service_generation
        if self.service is not None:
            self._retired.append(self.service)
        self.service = None
        self.snapshot = SyncSnapshot()
        self.slug = ""
        self.profile = self.profiles.get(name)
        self.set_connection(Connection.CONNECTING)
        try:
            service = await self.tasks.call(self._factory, self.profile)
        except Exception as exc:
            if generation == self.service_generation:
                self.set_connection(Connection.OFFLINE if isinstance(exc, Offline) else Connection.FAILED)
            raise
        if generation != self.service_generation or self.closing:
            self._retired.append(service)
            return None
        self.service = service
        # called from worker threads: posted to the GUI thread, dropped once the session is gone
        service.on_offline_changed = lambda offline: post_to_gui(self._offline_changed, offline)
        freeze_long_lived()  # the window, the modules and the store's client: full collections no longer scan them
        self.serviceOpened.emit()
        return service

    def _offline_changed(self, offline: bool) -> None:
        if not self.closing:
            self.offlineChanged.emit(offline)

    # ---- the cache's state --------------------------------------------------------------------------

    async def refresh_status(self) -> tuple[SyncSnapshot, dict[str, TreeState]] | None:
        """Read the cache's state (and the shown project's file states); None when the store changed."""
        service = self.service
        if service is None or self.closing:
            return None
        slug = self.slug
        snap = await self.tasks.call(snapshot, service)
        states = await self.tasks.call(file_states, service, slug, snap) if slug else {}
        if not self.is_current(service):
            return None
        self.apply_snapshot(snap)
        return snap, states

    def apply_snapshot(self, snap: SyncSnapshot) -> None:
        """The cache's state as just read; it says offline or not, but not whether the store let us in: a
        refused sign-in stays FAILED until a listing succeeds (`connected`)."""
        if self.service is not None:  # read on a worker, maybe before the latest change: the service's state now
            snap.offline, snap.forced_offline = self.service.is_offline, self.service.forced_offline
        self.snapshot = snap
        if snap.offline:
            self.set_connection(Connection.OFFLINE)
        elif self.connection is not Connection.FAILED:
            self.set_connection(Connection.ONLINE)
        self.snapshotChanged.emit(snap)

    def connected(self) -> None:
        """The store answered a request of ours."""
        self.set_connection(Connection.ONLINE)

    # ---- closing ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Cancel the running work and close every service opened (the cache's database)."""
        self.closing = True
        for task in list(self._running):
            task.cancel()
        services = [*self._retired, *([self.service] if self.service is not None else [])]
        self.service = None
        self._retired.clear()
        for service in services:
            service.on_offline_changed = None
        threads, self._threads = self._threads, []
        for _thread, stop in threads:
            stop()

        def close_services() -> None:  # on a helper thread, once no job uses them any more
            deadline = time.monotonic() + THREAD_JOIN_SECONDS
            for thread, _stop in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            if any(thread.is_alive() for thread, _stop in threads):  # never close a database a worker still uses
                log.warning("a worker thread did not stop in time: the stores are left to the process's exit")
                return
            for service in services:
                try:
                    service.close()
                except Exception:  # never block quitting on the cache
                    log.exception("could not close the service")

        # A worker still querying a closed SQLite connection crashes the process: close after the jobs.
        self.tasks.shutdown(wait=False, then=close_services)
