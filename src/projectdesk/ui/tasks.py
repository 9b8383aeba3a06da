"""Runs blocking service calls off the GUI thread and carries their results and progress back to it.

Handlers are `async def` methods decorated with `handler`: a qasync slot whose failures reach the
window (a `ProjectDeskError` as its title and message, anything else as an unexpected error) instead
of only a log line.

Worker threads never touch a widget or any other QObject of the window: what they report goes through
`post_to_gui`, one QObject that lives on the GUI thread for the whole process, and is dropped there when
its receiver has been deleted meanwhile (a closed window, a finished transfer's relay). Whatever the jobs
use (a service's database) is closed only once no job runs any more: `Tasks.shutdown(then=...)`.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import sys
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

import qasync
import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal

if TYPE_CHECKING:
    from projectdesk.core.models import Progress
    from projectdesk.ui.transfer_process import TransferProcess

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
CALL_WORKERS = 4  # listing, reading, saving: short calls
TRANSFER_WORKERS = 3  # pushes and pulls at once (each runs its own pool of connections below)
# Seconds: how long a thread running Python keeps the GIL while another waits for it, while transfers run
# (Python's default is 5 ms). A transfer keeps several threads busy in Python (the driver's bookkeeping, the
# CRT's callbacks, the download's writers) and the GUI thread gives the GIL back at each call into Qt, so it
# queued behind them up to 5 ms per call: 269 ms of one 291 ms stall while 2,000 files came down
# (benchmarks/stall.py splits each stall into CPU, run queue and GIL wait). At 1 ms the GIL's share of the
# longest stall was ≤ 3 ms, and the transfers took as long.
TRANSFER_SWITCH_INTERVAL = 0.001


def on_gui_thread() -> bool:
    """Whether this is the GUI thread (Qt's application thread is the main thread here)."""
    return threading.current_thread() is threading.main_thread()


def assert_gui_thread(what: str) -> None:
    """Debug check (skipped under `python -O`): Qt objects are touched only from the GUI thread."""
    assert on_gui_thread(), f"{what} touched from {threading.current_thread().name}, not the GUI thread"


class _GuiPoster(QObject):
    """Runs callables on the GUI thread. One per process, never deleted: a worker may post at any time."""

    _posted = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._posted.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def post(self, fn: Callable[[], object]) -> None:
        self._posted.emit(fn)

    def _run(self, fn: Callable[[], object]) -> None:
        fn()


_poster: _GuiPoster | None = None
_poster_lock = threading.Lock()


def _gui_poster() -> _GuiPoster:
    global _poster
    with _poster_lock:
        if _poster is None:
            poster = _GuiPoster()
            app = QCoreApplication.instance()
            if app is not None and poster.thread() is not app.thread():
                poster.moveToThread(app.thread())
            _poster = poster
        return _poster


def post_to_gui(fn: Callable[..., object], *args: object) -> None:
    """Call `fn(*args)` soon on the GUI thread; callable from any thread.

    When `fn` is a bound method of a QObject that has been deleted by then, nothing is called: a job
    that finishes after its window was closed never reaches into it.
    """
    owner = getattr(fn, "__self__", None)

    def run() -> None:
        if isinstance(owner, QObject) and not shiboken6.isValid(owner):
            return
        fn(*args)

    _gui_poster().post(run)


class _Transferring:
    """While at least one transfer runs in this process (counted: they overlap), Python's thread switch interval is
    shortened, so a transfer's threads hand the GIL to the GUI thread every 1 ms instead of 5."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._running = 0
        self._saved = sys.getswitchinterval()

    def __enter__(self) -> None:
        with self._lock:
            if self._running == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._interval, self._saved))
            self._running += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0:
                sys.setswitchinterval(self._saved)


TRANSFERRING = _Transferring(TRANSFER_SWITCH_INTERVAL)


def freeze_long_lived() -> None:
    """Leave every object alive now out of the cyclic garbage collector's passes (`gc.freeze`); called on the GUI
    thread once a store is open, when what is alive is what the window keeps: its widgets, the modules, the store's
    client and botocore's models (~180,000 objects).

    A full collection holds the GIL from start to end whichever thread starts it: over those objects one took
    100-490 ms, on a transfer's thread, a listing's, or the GUI thread itself, and the window waited for all of it.
    Frozen objects are still freed when their last reference goes; only cycles among them are never collected — the
    price of a store switched away from (its client is retired until quit anyway).
    """
    gc.freeze()


def _transferring(fn: Callable[[], T]) -> Callable[[], T]:
    def run() -> T:
        with TRANSFERRING:
            return fn()

    return run


class _Job:
    """One call in a pool. It lets go of the call (and so of its arguments: services, relays) on the
    worker before the result is handed over, while the awaiting coroutine still holds its own: the job
    never drops the last reference to a Qt object's wrapper on a worker thread. (A failing call's
    traceback refers to its frames until the exception is dropped; keep Qt objects passed to jobs
    parented, so that dropping a wrapper never deletes the object.)"""

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn: Callable[[], Any] | None = fn

    def __call__(self) -> Any:
        fn, self._fn = self._fn, None
        assert fn is not None, "a job runs once"
        try:
            return fn()
        finally:
            del fn


class Tasks:
    """Two bounded thread pools: one for short service calls, one for transfers.

    A long push never queues a file open behind it, and nothing blocking runs on the GUI thread.
    """

    def __init__(
        self,
        *,
        call_workers: int = CALL_WORKERS,
        transfer_workers: int = TRANSFER_WORKERS,
        transfer_process: bool = True,
    ) -> None:
        self._calls = ThreadPoolExecutor(call_workers, thread_name_prefix="pd-call")
        self._transfers = ThreadPoolExecutor(transfer_workers, thread_name_prefix="pd-transfer")
        self._count_lock = threading.Lock()
        self._unfinished = 0
        # Bulk transfers of a service that can be opened again elsewhere run in a worker process
        # (ui/transfer_process.py), started at the first one; False, or where unavailable: on the pool's threads.
        self.use_process = transfer_process
        self._process: TransferProcess | None = None
        _gui_poster()  # created here, on the GUI thread, before any worker posts

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a short blocking call in the call pool and return its result."""
        return await self._submit(self._calls, functools.partial(fn, *args, **kwargs))

    async def transfer(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a transfer (push, pull, import) in the transfer pool and return its result."""
        return await self._submit(self._transfers, _transferring(functools.partial(fn, *args, **kwargs)))

    async def service_transfer(
        self,
        service: object,
        method: str,
        *args: Any,
        progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Any:
        """Run a bulk transfer, `service.<method>(*args, progress=, cancel=)` ("push" or "pull"): in the worker
        process when the service says how to open it there (`transfer_recipe`), else in the transfer pool. Results
        and errors are the same types either way."""
        recipe_of = getattr(service, "transfer_recipe", None)
        recipe = recipe_of() if self.use_process and callable(recipe_of) else None
        process = self.transfer_process() if recipe is not None else None
        if process is None or recipe is None:
            return await self.transfer(getattr(service, method), *args, progress=progress, cancel=cancel)
        with self._count_lock:
            self._unfinished += 1
        try:
            # The window's process still runs Python on other threads meanwhile (pickling the plan, the call pool):
            # the same short switch interval hands the GIL back to the GUI thread sooner.
            with TRANSFERRING:
                return await process.run(recipe, method, args, {}, progress=progress, cancel=cancel)
        finally:
            with self._count_lock:
                self._unfinished -= 1

    def transfer_process(self) -> TransferProcess | None:
        """The worker process's client (made on first use), or None where transfers stay on threads."""
        if self._process is None and self.use_process:
            from projectdesk.ui import transfer_process

            if not transfer_process.available():
                self.use_process = False
                return None
            self._process = transfer_process.TransferProcess(_gui_poster())
        return self._process

    def _submit(self, pool: ThreadPoolExecutor, fn: Callable[[], T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: Future[T] = pool.submit(_Job(fn))
        with self._count_lock:
            self._unfinished += 1
        future.add_done_callback(self._finished)
        return asyncio.wrap_future(future, loop=loop)

    def _finished(self, _future: Future[Any]) -> None:
        with self._count_lock:
            self._unfinished -= 1

    def busy(self) -> int:
        """Jobs submitted and not finished (queued or running) in both pools."""
        with self._count_lock:
            return self._unfinished

    def shutdown(self, *, wait: bool = False, then: Callable[[], object] | None = None) -> None:
        """Stop both pools: queued jobs are dropped, running ones finish (a transfer stops early when
        its cancel event is set first).

        Args:
            wait: block until the running jobs have finished.
            then: called once no job runs any more — close there what the jobs use (a service's
                database), never before: a worker still querying a closed SQLite connection crashes
                the process. With wait=True it is called before returning; otherwise from a helper
                thread (not the GUI thread: it must not touch Qt objects).
        """
        self._calls.shutdown(wait=False, cancel_futures=True)
        self._transfers.shutdown(wait=False, cancel_futures=True)
        if self._process is not None:
            self._stop_process = self._process.shutdown()
            self._process = None
        self.use_process = False
        if wait:
            self._join()
            if then is not None:
                then()
        elif then is not None:
            threading.Thread(target=self._join_then, args=(then,), name="pd-tasks-closer").start()

    _stop_process: Callable[[], None] | None = None

    def _join(self) -> None:
        self._calls.shutdown(wait=True)
        self._transfers.shutdown(wait=True)
        if self._stop_process is not None:
            self._stop_process()  # the worker has cancelled its runs and exited

    def _join_then(self, then: Callable[[], object]) -> None:
        self._join()
        try:
            then()
        except Exception:
            log.exception("closing after the pools stopped failed")


class ProgressRelay(QObject):
    """Carries progress snapshots from a worker thread to the GUI thread.

    Callable from any thread, also after it was closed or deleted (then the call does nothing): the
    worker side only touches plain Python state and the process-wide GUI poster, never this QObject.
    At most one delivery is queued at a time and it carries the newest snapshot, so thousands of small
    files never flood the GUI thread, whatever the caller's rate.

    Signals:
        progressed(Progress): on the GUI thread, the newest snapshot.
    """

    progressed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._latest: Progress | None = None
        self._queued = False
        self._closed = False
        self._poster = _gui_poster()

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            if self._closed:
                return
            self._latest = progress
            if self._queued:
                return
            self._queued = True
        self._poster.post(self._deliver)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Deliver nothing more: what a worker still reports is dropped (the transfer has ended)."""
        with self._lock:
            self._closed = True
            self._latest = None

    def deleteLater(self) -> None:
        """Close, then delete on the GUI thread's next turn (a worker may still hold and call the relay)."""
        self.close()
        super().deleteLater()

    def _deliver(self) -> None:
        assert_gui_thread("ProgressRelay")
        with self._lock:
            latest, self._latest, self._queued = self._latest, None, False
            closed = self._closed
        if latest is None or closed or not shiboken6.isValid(self):  # closed, or deleted with its parent
            return
        self.progressed.emit(latest)


class ErrorSink(Protocol):
    def report_error(self, error: BaseException) -> None: ...


S = TypeVar("S", bound=ErrorSink)


def handler(
    fn: Callable[Concatenate[S, P], Coroutine[Any, Any, None]],
) -> Callable[Concatenate[S, P], asyncio.Task[None]]:
    """An async method as a Qt slot on the asyncio loop (qasync's asyncSlot) whose failures reach the user.

    A ProjectDeskError (or any other exception) becomes `self.report_error(exc)`; unexpected errors
    are also logged with their traceback and re-raised, so tests and the app's excepthook see them.
    Calling the method returns the task, so tests can wait for it; an owner with `adopt_task(task)`
    is handed every task too.
    """

    @functools.wraps(fn)
    async def guarded(self: S, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await fn(self, *args, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            from projectdesk.core.errors import ProjectDeskError

            self.report_error(exc)
            if not isinstance(exc, ProjectDeskError):
                log.exception("unexpected error in %s", fn.__qualname__)
                raise

    slot: Callable[Concatenate[S, P], asyncio.Task[None]] = qasync.asyncSlot()(guarded)

    def start(self: S, /, *args: P.args, **kwargs: P.kwargs) -> asyncio.Task[None]:
        task = slot(self, *args, **kwargs)
        adopt = getattr(self, "adopt_task", None)
        if callable(adopt):  # the window keeps it: closing cancels it, tests can wait for it
            adopt(task)
        return task

    start.__name__, start.__qualname__, start.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    return start


def spawn(coro: Coroutine[Any, Any, None], sink: ErrorSink) -> asyncio.Task[None]:
    """Start a background coroutine whose failure is reported to `sink` (never silently dropped)."""
    from projectdesk.core.errors import ProjectDeskError

    task = asyncio.ensure_future(coro)

    def done(finished: asyncio.Task[None]) -> None:
        if finished.cancelled():
            return
        exc = finished.exception()
        if exc is None:
            return
        sink.report_error(exc)
        if not isinstance(exc, ProjectDeskError):
            log.error("unexpected error in a background task", exc_info=exc)

    task.add_done_callback(done)
    return task
