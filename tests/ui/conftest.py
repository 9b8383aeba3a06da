"""Fixtures for the window tests: one qasync loop for the session, windows on real services, drag helpers.

The asyncio loop is qasync's, marked running for each test (`already_running` style), so handlers and
executors behave as in the app while pytest-qt drives the Qt event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import qasync
import shiboken6
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from projectdesk.cache.store import CacheStore
from projectdesk.config.paths import Paths
from projectdesk.config.profiles import Profile
from projectdesk.services.offline import CachedProjectService
from projectdesk.services.projects import ProjectService
from projectdesk.ui.main_window import MainWindow
from projectdesk.ui.transfers import FINISHED
from tests.conftest import Store


@pytest.fixture(scope="session")
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    qapp.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture
def aloop(qloop: asyncio.AbstractEventLoop) -> Iterator[asyncio.AbstractEventLoop]:
    """The qasync loop, marked as the running loop of this thread for the test."""
    asyncio.events._set_running_loop(qloop)
    try:
        yield qloop
    finally:
        asyncio.events._set_running_loop(None)


@dataclass
class WindowHarness:
    window: MainWindow
    service: ProjectService
    qtbot: Any

    def wait_ready(self, timeout: int = 15000) -> None:
        self.qtbot.waitUntil(
            lambda: self.window.service is not None and not self.window.wait_idle_tasks(), timeout=timeout
        )

    def wait_idle(self, timeout: int = 30000) -> None:
        self.qtbot.waitUntil(lambda: not self.window.wait_idle_tasks(), timeout=timeout)

    def wait_transfers(self, timeout: int = 60000) -> None:
        model = self.window.transfer_model
        self.qtbot.waitUntil(lambda: all(t.state in FINISHED for t in model.transfers()), timeout=timeout)
        self.wait_idle(timeout)

    def open_project(self, slug: str) -> None:
        task = self.window.browser.select_project(slug)
        assert task is not None, f"{slug} is not in the list"
        self.qtbot.waitUntil(task.done, timeout=20000)
        assert self.window.slug == slug

    def open_file(self, path: str) -> Any:
        task = self.window.editing.open_file(path)
        if task is not None:
            self.qtbot.waitUntil(task.done, timeout=30000)
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        page = self.window.editor_area.find_page(self.window.slug, path)
        assert page is not None
        self.qtbot.waitUntil(lambda: page.loaded, timeout=30000)
        return page


@pytest.fixture
def make_window(
    qtbot: Any, aloop: asyncio.AbstractEventLoop, isolated_dirs: Paths
) -> Iterator[Callable[..., WindowHarness]]:
    windows: list[MainWindow] = []

    def make(
        service: ProjectService,
        *,
        wait: bool = True,
        factory: Callable[[Profile], ProjectService] | None = None,
        size: tuple[int, int] | None = (1200, 760),
    ) -> WindowHarness:
        opened = as_window_service(service, isolated_dirs)

        def open_profile(profile: Profile) -> CachedProjectService:
            return opened if factory is None else as_window_service(factory(profile), isolated_dirs)

        window = MainWindow(isolated_dirs, open_profile)
        qtbot.addWidget(window, before_close_func=lambda w: settle_before_close(qtbot, w))
        windows.append(window)
        if size is not None:
            window.resize(*size)
        window.show()
        harness = WindowHarness(window, service, qtbot)
        if wait:
            harness.wait_ready()
        return harness

    yield make
    for window in windows:
        for box in window.findChildren(QDialog):
            box.done(0)
        window.force_close()
        qtbot.waitUntil(lambda w=window: not w.wait_idle_tasks(), timeout=30000)
        window.tasks.shutdown(wait=True)


_caches = iter(range(1_000_000))


def as_window_service(service: ProjectService, paths: Paths) -> CachedProjectService:
    """The window works through the offline cache, as the app opens every store; a plain service a test
    sets its store up with is put behind a cache of its own on the same store (the window closes it)."""
    if isinstance(service, CachedProjectService):
        return service
    cache = CacheStore(paths.cache_root, f"test-{next(_caches)}", service.repo.user_id)
    return CachedProjectService(service.repo, cache, limits=service.limits, data_dir=paths.data_dir)


def settle_before_close(qtbot: Any, window: MainWindow) -> None:
    """Run by pytest-qt right before it closes a test's window (before the fixtures' teardown).

    Closing the window closes its services' SQLite databases, and Session.close does that while the pools
    may still be running a call (a status refresh, a listing): a worker querying a connection closed under
    it kills the process (SIGSEGV, the main thread seen in Tasks.shutdown). Until Session.close closes the
    services through `Tasks.shutdown(then=...)` (test_worker_callbacks.py has the xfail), wait here until
    no task and no job runs, then close the window at once (nothing can start a job in between: that needs
    the event loop). Never raises: an error here would skip the fixtures' teardown, whose own waits report
    a window that does not settle.
    """
    if not shiboken6.isValid(window):
        return
    for box in window.findChildren(QDialog):
        box.done(0)
    with contextlib.suppress(TimeoutError):
        qtbot.waitUntil(lambda: not window.wait_idle_tasks() and not window.tasks.busy(), timeout=30000)
    window.force_close()


def service_for(store: Store) -> ProjectService:
    return ProjectService(store.repo)


def drag_drop(widget: QWidget, paths: list[Path], pos: QPoint | None = None) -> bool:
    """Drag local paths onto a view's viewport and drop them there, as a file manager does.

    Returns whether the drop was accepted.
    """
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = pos or QPoint(widget.width() // 2, widget.height() // 2)
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(point, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    move = QDragMoveEvent(point, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, move)
    drop = QDropEvent(QPointF(point), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()


def wait_for_child(qtbot: Any, parent: QWidget, kind: type, timeout: int = 20000) -> Any:
    found: list[Any] = []

    def check() -> bool:
        for child in parent.findChildren(kind):
            if child.isVisible():
                found.append(child)
                return True
        return False

    qtbot.waitUntil(check, timeout=timeout)
    return found[0]


def answer_box(qtbot: Any, parent: QWidget, button: QMessageBox.StandardButton, timeout: int = 10000) -> str:
    """Click `button` on the message box the window shows; returns the box's text."""
    box = wait_for_child(qtbot, parent, QMessageBox, timeout)
    text = box.text()
    box.button(button).click()
    return str(text)


def _run_queue_wait() -> float:
    """Seconds the calling thread has waited for a CPU (Linux's schedstat), 0.0 where unknown."""
    try:
        with open("/proc/thread-self/schedstat") as handle:
            return int(handle.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


class StallProbe:
    """A 10 ms QTimer on the GUI thread.

    `longest` is the largest wall-clock gap between two ticks: what a user feels, including time the
    thread waited for the GIL or for a CPU on a busy machine. `longest_cpu` is the most CPU time the
    GUI thread itself spent between two ticks: the work our code did in one go. `longest_ours` is the
    largest gap less the time the GUI thread waited in Linux's run queue for a CPU (its schedstat): what
    our own process makes the window wait — its work and the GIL held by its other threads — whatever other
    processes keep the CPUs busy with (equal to `longest` where schedstat is not available).
    """

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.longest = 0.0
        self.longest_cpu = 0.0
        self.longest_ours = 0.0
        self.queued_in_longest = 0.0  # the run-queue wait within the longest gap
        self.ticks = 0
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._last_queued = _run_queue_wait()
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now, cpu, queued = time.perf_counter(), time.thread_time(), _run_queue_wait()
        gap = now - self._last
        if gap > self.longest:
            self.longest, self.queued_in_longest = gap, queued - self._last_queued
        self.longest_cpu = max(self.longest_cpu, cpu - self._last_cpu)
        self.longest_ours = max(self.longest_ours, gap - (queued - self._last_queued))
        self._last, self._last_cpu, self._last_queued = now, cpu, queued
        self.ticks += 1

    def __enter__(self) -> StallProbe:
        self._last, self._last_cpu, self._last_queued = time.perf_counter(), time.thread_time(), _run_queue_wait()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.stop()

    def __str__(self) -> str:
        return (
            f"longest GUI stall {self.longest * 1000:.0f} ms ({self.queued_in_longest * 1000:.0f} ms of it waiting "
            f"for a CPU; at most {self.longest_ours * 1000:.0f} ms not counting that; GUI-thread CPU in one go at "
            f"most {self.longest_cpu * 1000:.0f} ms)"
        )
