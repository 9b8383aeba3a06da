"""The window's side of the transfer process (`services/transfer_worker.py`): starts it at the first transfer and
keeps it for the next, sends each run, hears its progress and result without a polling thread (a
QSocketNotifier on the pipe), forwards Cancel, Pause All Transfers and the bandwidth limits, and turns the
process's death into one sentence on every row it was running.

Messages to the worker are pickled and written by one sender thread, in order: a previewed plan of 2,000 files
takes 20-100 ms to pickle, and a worker still starting reads nothing for ~0.4 s; neither may hold up the GUI
thread. The sender also closes each pipe once what was queued before was written (no fd is closed under it).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSocketNotifier, Qt, QTimer, Signal

from projectdesk.core.errors import Cancelled
from projectdesk.core.models import Progress
from projectdesk.services.transfer_worker import STOPPED, TransferProcessStopped, UnexpectedTransferError, loads
from projectdesk.storage.throttle import BANDWIDTH, Bandwidth

if TYPE_CHECKING:
    from projectdesk.core.bandwidth import BandwidthLimits
    from projectdesk.services.offline import ServiceRecipe

log = logging.getLogger(__name__)

WATCH_MS = 50  # while runs are in flight: how often cancel events and the bandwidth state are looked at
STOP_SECONDS = 30.0  # closing: how long the process may take to cancel its runs and exit before it is killed


def available() -> bool:
    """Whether transfers can run in a process of their own here (POSIX, not a frozen bundle: it starts
    `python -m ...` with a socket passed as a file descriptor)."""
    return os.name == "posix" and not getattr(sys, "frozen", False)


@dataclass
class _Pending:
    future: asyncio.Future[Any]
    progress: Callable[[Progress], None] | None
    cancel: threading.Event | None
    cancel_sent: bool = False


class TransferProcess(QObject):
    """One worker process for the window's transfers, started on demand and started again after it died.

    Attributes:
        last_pid: the process id of the worker that sent the latest result or error (tests check it is not ours).
    """

    _unsent = Signal(int, str)  # from the sender thread: a run that could not be pickled (job, the error's type)

    def __init__(self, parent: QObject | None = None, *, bandwidth: Bandwidth = BANDWIDTH) -> None:
        super().__init__(parent)
        self._unsent.connect(self._unsendable, Qt.ConnectionType.QueuedConnection)
        self._bandwidth = bandwidth
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._notifier: QSocketNotifier | None = None
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._sent_bandwidth: tuple[BandwidthLimits, bool] | None = None
        self._watch = QTimer(self)
        self._watch.setInterval(WATCH_MS)
        self._watch.timeout.connect(self._look)
        self.last_pid = 0
        # (pipe, message, job) to write; (pipe, None, 0) closes the pipe; None ends the sender
        self._outbox: queue.SimpleQueue[tuple[Connection, tuple[Any, ...] | None, int] | None] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_all, name="pd-transfer-send", daemon=True)
        self._sender.start()

    @property
    def pid(self) -> int | None:
        """The running worker's process id (None: none is running)."""
        return self._proc.pid if self._proc is not None and self._conn is not None else None

    def running(self) -> int:
        """Runs sent and not answered yet."""
        return len(self._pending)

    # ---- the process ----------------------------------------------------------------------------

    def _start(self) -> Connection:
        ours, theirs = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "projectdesk.services.transfer_worker", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        conn = Connection(ours.detach())
        self._conn = conn
        self._sent_bandwidth = None
        self._notifier = QSocketNotifier(conn.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._readable)
        return conn

    def _send(self, message: tuple[Any, ...], job: int = 0) -> None:
        conn = self._conn if self._conn is not None else self._start()
        self._outbox.put((conn, message, job))

    def _send_all(self) -> None:
        """The sender thread: pickles and writes each message in turn (never touches a Qt object)."""
        while (item := self._outbox.get()) is not None:
            conn, message, job = item
            if message is None:
                conn.close()
                continue
            try:
                data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # a run whose arguments do not pickle: that row fails, the worker is fine
                log.error("a transfer could not be sent to the transfer process", exc_info=exc)
                self._unsent.emit(job, type(exc).__name__)
                continue
            with contextlib.suppress(OSError):  # the worker is gone: the reader sees the pipe's end
                conn.send_bytes(data)

    def _unsendable(self, job: int, why: str) -> None:
        pending = self._pending.get(job)
        if pending is not None and not pending.future.done():
            pending.future.set_exception(UnexpectedTransferError(f"The transfer could not be started ({why})."))

    async def run(
        self,
        recipe: ServiceRecipe,
        method: str,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        *,
        progress: Callable[[Progress], None] | None,
        cancel: threading.Event | None,
    ) -> Any:
        """Run `method` of the service `recipe` opens in the worker and return its result (or raise its error)."""
        job = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[job] = _Pending(future, progress, cancel)
        limits, paused = self._bandwidth.limits, self._bandwidth.paused
        self._send(("run", job, recipe, method, tuple(args), kwargs, limits, paused), job)
        self._sent_bandwidth = (limits, paused)
        if not self._watch.isActive():
            self._watch.start()
        try:
            return await future
        finally:
            self._pending.pop(job, None)
            if not self._pending:
                self._watch.stop()

    def _look(self) -> None:
        """Forward what changed on the window's side: a row's Cancel, Pause All Transfers, the limits."""
        if self._conn is None:
            return
        for job, pending in list(self._pending.items()):
            if pending.cancel is not None and pending.cancel.is_set() and not pending.cancel_sent:
                pending.cancel_sent = True
                self._send(("cancel", job))
        state = (self._bandwidth.limits, self._bandwidth.paused)
        if state != self._sent_bandwidth:
            self._sent_bandwidth = state
            self._send(("bandwidth", *state))

    def _readable(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            while conn.poll():
                self._receive(loads(conn.recv_bytes()))
        except (EOFError, OSError):
            self._died()
        except Exception:  # a message that does not load: the worker cannot be trusted with the rest either
            log.exception("a message from the transfer process could not be read")
            self._died()

    def _receive(self, message: tuple[Any, ...]) -> None:
        kind, job = message[0], message[1]
        pending = self._pending.get(job)
        if pending is None or pending.future.done():
            return
        if kind == "progress":
            if pending.progress is not None:
                pending.progress(message[2])
        elif kind == "result":
            self.last_pid = message[3]
            pending.future.set_result(message[2])
        elif kind == "error":
            self.last_pid = message[3]
            pending.future.set_exception(message[2])

    def _died(self) -> None:
        """The pipe ended: the process exited or was killed. Every run it had fails with one sentence; the next
        run starts a new process."""
        self._close_pipe()
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:  # its pipe is gone (or unreadable) but it lives on: it serves nobody
                proc.kill()
            code = proc.wait()
            if self._pending:
                log.warning(
                    "the transfer process ended (exit status %s) during %d transfer(s)", code, len(self._pending)
                )
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.set_exception(TransferProcessStopped(STOPPED))

    def _close_pipe(self) -> None:
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        if self._conn is not None:
            self._outbox.put((self._conn, None, 0))  # closed by the sender, after what was queued before
            self._conn = None

    def shutdown(self) -> Callable[[], None]:
        """Stop: every run is cancelled in the worker (it stops between files, as a cancel event does) and the
        pipe closed; what is still awaited is cancelled. Returns the wait for the process to exit (call it off the
        GUI thread, before closing what the runs used)."""
        self._watch.stop()
        if self._conn is not None:
            self._send(("stop",))
        self._close_pipe()
        self._outbox.put(None)
        sender = self._sender
        for pending in list(self._pending.values()):
            if not pending.future.done() and not pending.future.get_loop().is_closed():
                pending.future.set_exception(Cancelled("The transfer was stopped: the window closed."))
        proc, self._proc = self._proc, None

        def join() -> None:
            sender.join(timeout=STOP_SECONDS)
            if proc is None:
                return
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("the transfer process did not stop in %.0f s: killed", STOP_SECONDS)
                proc.kill()
                proc.wait()

        return join
