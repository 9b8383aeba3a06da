"""Runs blocking service calls off the GUI thread and carries their results and progress back to it.

Handlers are `async def` methods decorated with `handler`: a qasync slot whose failures reach the
window (a `ProjectDeskError` as its title and message, anything else as an unexpected error) instead
of only a log line.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import qasync
from PySide6.QtCore import QObject, Qt, Signal

from projectdesk.core.models import Progress

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
CALL_WORKERS = 4  # listing, reading, saving: short calls
TRANSFER_WORKERS = 3  # pushes and pulls at once (each runs its own pool of connections below)


class Tasks:
    """Two bounded thread pools: one for short service calls, one for transfers.

    A long push never queues a file open behind it, and nothing blocking runs on the GUI thread.
    """

    def __init__(self, *, call_workers: int = CALL_WORKERS, transfer_workers: int = TRANSFER_WORKERS) -> None:
        self._calls = ThreadPoolExecutor(call_workers, thread_name_prefix="pd-call")
        self._transfers = ThreadPoolExecutor(transfer_workers, thread_name_prefix="pd-transfer")

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a short blocking call in the call pool and return its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._calls, functools.partial(fn, *args, **kwargs))

    async def transfer(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a transfer (push, pull, import) in the transfer pool and return its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._transfers, functools.partial(fn, *args, **kwargs))

    def shutdown(self, *, wait: bool = False) -> None:
        self._calls.shutdown(wait=wait, cancel_futures=True)
        self._transfers.shutdown(wait=wait, cancel_futures=True)


class ProgressRelay(QObject):
    """Carries progress snapshots from a worker thread to the GUI thread.

    Callable from any thread. At most one delivery is queued at a time and it carries the newest
    snapshot, so thousands of small files never flood the GUI thread, whatever the caller's rate.

    Signals:
        progressed(Progress): on the GUI thread, the newest snapshot.
    """

    progressed = Signal(object)
    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._latest: Progress | None = None
        self._queued = False
        self._wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            self._latest = progress
            if self._queued:
                return
            self._queued = True
        self._wake.emit()

    def _on_wake(self) -> None:
        with self._lock:
            latest, self._latest, self._queued = self._latest, None, False
        if latest is not None:
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
