"""Worker threads and the Qt objects they report to: a job that outlives its relay, its window or the pools
must neither crash the process nor reach into what was closed.

Regressions for the SIGSEGV seen under load (main thread in Tasks.shutdown): (1) a transfer's ProgressRelay
deleted while its worker still reported into it (emitting a signal of a QObject being deleted on the GUI
thread crashes the process), (2) the window closing its services' SQLite connections while a call still
used them (Session.close does it through Tasks.shutdown(then=...)).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject

from projectdesk.cache.store import CacheStore
from projectdesk.core.errors import Cancelled
from projectdesk.core.models import Progress
from projectdesk.services.offline import CachedProjectService
from projectdesk.storage.local import LocalRepository
from projectdesk.ui.jobs import TransferJobs
from projectdesk.ui.tasks import ProgressRelay, Tasks, post_to_gui
from projectdesk.ui.transfers import RUNNING, Transfer, TransferModel
from tests.conftest import make_tree

ROUNDS = 200


def _delete_now(obj: QObject) -> None:
    obj.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_a_relay_deleted_while_its_worker_reports_is_quiet(qtbot: Any) -> None:
    """Before: the worker's signal emit raced the relay's deletion on the GUI thread (SIGSEGV within a
    few hundred rounds), or raised "Signal source has been deleted" inside the transfer."""
    errors: list[BaseException] = []
    late: list[Progress] = []
    for _ in range(ROUNDS):
        owner = QObject()
        relay = ProgressRelay(owner)
        deleted = threading.Event()
        relay.progressed.connect(lambda p, deleted=deleted: late.append(p) if deleted.is_set() else None)
        stop = threading.Event()

        def report(relay: ProgressRelay = relay, stop: threading.Event = stop) -> None:
            n = 0
            while not stop.is_set():
                try:
                    relay(Progress(n, 0, 0, 0))
                except BaseException as exc:
                    errors.append(exc)
                    return
                n += 1

        worker = threading.Thread(target=report)
        worker.start()
        QCoreApplication.processEvents()
        _delete_now(owner)  # the relay goes with its parent (as with the window), the worker still reporting
        deleted.set()
        QCoreApplication.processEvents()
        stop.set()
        worker.join()
    qtbot.wait(20)
    assert errors == []
    assert late == []


def test_a_closed_relay_delivers_nothing(qtbot: Any) -> None:
    relay = ProgressRelay()
    seen: list[Progress] = []
    relay.progressed.connect(seen.append)
    relay(Progress(1, 2, 1, 2))
    relay.close()
    worker = threading.Thread(target=lambda: relay(Progress(2, 2, 2, 2)))
    worker.start()
    worker.join()
    qtbot.wait(20)
    assert seen == [] and relay.closed


class _Feedback:
    def __init__(self) -> None:
        self.errors: list[BaseException] = []

    def report_error(self, error: BaseException) -> None:
        self.errors.append(error)

    def notify(self, message: str, *, timeout_ms: int = 0) -> None:
        pass

    def warn(self, title: str, message: str) -> None:
        pass


class _SlowPull:
    """A pull that reports, waits until told, then reports again (as a transfer finishing its files)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.errors: list[BaseException] = []

    def pull(self, slug: str, dest: Path, *, progress: Any, cancel: threading.Event) -> None:
        progress(Progress(0, 2, 0, 20))
        self.started.set()
        self.release.wait(20)
        try:
            progress(Progress(1, 2, 10, 20))
        except BaseException as exc:  # before: RuntimeError, the relay's C++ object was deleted
            self.errors.append(exc)
        raise Cancelled("Stopped.")


def test_a_cancelled_download_reports_into_nothing_after_its_relay_is_gone(
    qtbot: Any, aloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    """The window's shutdown cancels the job's task: its relay is deleted at once while the worker runs on."""
    tasks = Tasks()
    model = TransferModel()
    owner = QObject()
    running: list[asyncio.Task[None]] = []
    jobs = TransferJobs(tasks, model, _Feedback(), lambda coro: running.append(asyncio.ensure_future(coro)), owner)
    service = _SlowPull()
    transfer: Transfer = jobs.download("demo", tmp_path / "demo", service)  # type: ignore[arg-type]
    qtbot.waitUntil(service.started.is_set, timeout=10000)
    [task] = running
    task.cancel()
    qtbot.waitUntil(task.done, timeout=10000)
    qtbot.wait(20)  # runs the relay's deleteLater
    assert jobs.findChildren(ProgressRelay) == []
    service.release.set()
    tasks.shutdown(wait=True)
    qtbot.wait(20)
    assert service.errors == []
    assert transfer.state == RUNNING and transfer.files_done == 0  # the late snapshot went nowhere
    _delete_now(owner)


def test_shutdown_then_runs_once_the_running_jobs_finished(qtbot: Any, aloop: asyncio.AbstractEventLoop) -> None:
    tasks = Tasks(call_workers=1)
    inside, release = threading.Event(), threading.Event()
    ran: list[str] = []
    order: list[str] = []

    def blocking() -> None:
        inside.set()
        release.wait(20)
        order.append("job finished")

    first = asyncio.ensure_future(tasks.call(blocking))
    queued = asyncio.ensure_future(tasks.call(lambda: ran.append("queued")))
    qtbot.waitUntil(inside.is_set, timeout=10000)
    assert tasks.busy() == 2
    tasks.shutdown(then=lambda: order.append("closed"))
    qtbot.wait(50)
    assert order == []  # not while a job runs
    release.set()
    qtbot.waitUntil(lambda: order == ["job finished", "closed"], timeout=10000)
    qtbot.waitUntil(lambda: first.done() and queued.done(), timeout=10000)
    assert ran == [] and queued.cancelled()  # a job still queued never starts
    assert tasks.busy() == 0


def test_post_to_gui_skips_a_deleted_receiver(qtbot: Any) -> None:
    class Receiver(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.got: list[int] = []

        def take(self, value: int) -> None:
            self.got.append(value)

    alive, gone = Receiver(), Receiver()
    gone_got = gone.got
    worker = threading.Thread(target=lambda: (post_to_gui(alive.take, 1), post_to_gui(gone.take, 2)))
    worker.start()
    worker.join()
    _delete_now(gone)
    qtbot.waitUntil(lambda: alive.got == [1], timeout=5000)
    assert gone_got == []


def test_the_transfer_model_is_for_the_gui_thread_only(qtbot: Any) -> None:
    model = TransferModel()
    failures: list[BaseException] = []

    def add() -> None:
        try:
            model.add(Transfer("Upload", "from a worker"))
        except AssertionError as exc:
            failures.append(exc)

    worker = threading.Thread(target=add)
    worker.start()
    worker.join()
    assert len(failures) == 1 and "GUI thread" in str(failures[0])
    assert model.rowCount() == 0


def test_closing_the_window_closes_its_services_only_after_their_running_calls(
    make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    repo = LocalRepository(tmp_path / "store")
    service = CachedProjectService(repo, CacheStore(tmp_path / "cache", "local", "anonymous"))
    plan = service.plan_push(make_tree(tmp_path / "Demo", {"README.md": b"# demo\n"}), name="Demo")
    service.push(plan)
    h = make_window(service, factory=lambda _profile: service)
    inside, release = threading.Event(), threading.Event()
    running = threading.Event()
    closed_while_running: list[bool] = []
    real_close = service.close

    def close() -> None:
        closed_while_running.append(running.is_set())
        real_close()

    service.close = close  # type: ignore[method-assign]

    def a_call_using_the_service() -> None:  # stands for a status refresh or a listing
        running.set()
        inside.set()
        release.wait(20)
        running.clear()

    call = asyncio.ensure_future(h.window.tasks.call(a_call_using_the_service))
    qtbot.waitUntil(inside.is_set, timeout=10000)
    h.window.force_close()
    release.set()
    qtbot.waitUntil(lambda: bool(closed_while_running), timeout=10000)
    qtbot.waitUntil(call.done, timeout=10000)
    assert closed_while_running == [False]
