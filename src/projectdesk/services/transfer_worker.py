"""The window's bulk transfers in a process of their own (issue #18: the window never stalls).

A transfer's threads run Python (botocore, the bookkeeping, the CRT's callbacks, the cache's SQLite writes) and
hold the GIL while the kernel preempts them; in the window's process the GUI thread waited for it. Here they have
their own interpreter. The window (`ui/transfer_process.py`) starts this module as
`python -m projectdesk.services.transfer_worker FD` with one end of a socket pair as FD, and keeps the process for
the next transfer. No Qt here.

Messages are pickled tuples, one per `Connection.send_bytes`:

- window → worker: `("run", job, recipe, method, args, kwargs, limits, paused)` runs `method` ("push" or "pull") of
  the service `recipe` opens (`ServiceRecipe`: the same profile's cached service; the cache is safe for several
  processes) on a thread of its own, with the window's bandwidth limits and pause state; `("cancel", job)` sets
  that run's cancel event; `("bandwidth", limits, paused)` applies a change; `("stop",)` or the pipe's end
  cancels every run, waits for them and exits.
- worker → window: `("progress", job, Progress)` at most `PROGRESS_PER_SECOND` times a second per run (the
  newest snapshot), then `("result", job, value, pid)` or `("error", job, exception, pid)`.

Errors cross as their own types: `dumps` pickles a `ProjectDeskError` (also one inside a result) by its class,
args and attributes, without calling its `__init__` again (`ConflictedCopy(record)` could not be unpickled
otherwise). Credentials travel only inside the recipe, over this pipe.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import pickle
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from projectdesk.core.errors import ProjectDeskError, StorageError
from projectdesk.core.models import Progress

if TYPE_CHECKING:
    from projectdesk.core.bandwidth import BandwidthLimits
    from projectdesk.services.offline import CachedProjectService, ServiceRecipe

log = logging.getLogger(__name__)

METHODS = frozenset({"push", "pull"})  # the service calls a worker runs
PROGRESS_PER_SECOND = 20  # at most this many progress messages a second per run
STOPPED = "The transfer process stopped unexpectedly; files already sent are complete; Retry sends the rest."


class TransferProcessStopped(StorageError):
    """The worker process ended (killed, or a native library crashed in it) while a transfer ran."""

    title = "Transfer stopped"


class UnexpectedTransferError(StorageError):
    """A failure in the worker that is not one of ours (a bug): its type is named, its text is not copied."""

    title = "Transfer failed"


def _rebuild_error(cls: type[ProjectDeskError], args: tuple[Any, ...], state: dict[str, Any]) -> ProjectDeskError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, ProjectDeskError):
            return _rebuild_error, (type(obj), obj.args, dict(obj.__dict__))
        return NotImplemented


def dumps(obj: object) -> bytes:
    """Pickle `obj`, with every `ProjectDeskError` in it rebuilt on loading without its `__init__`."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    return pickle.loads(data)


def _lean(value: Any) -> Any:
    """A run's report without the server's files afterwards and the new manifest (`entries`, `manifest`): this
    process's cache has recorded both, the window's rows never read them, and unpickling 2,000 entries on the GUI
    thread is most of the result's cost there (its allocations also set off the window's garbage collections)."""
    from projectdesk.services.folder_sync import FolderReport

    return dataclasses.replace(value, entries=[], manifest=None) if isinstance(value, FolderReport) else value


class _Run:
    __slots__ = ("cancel", "progress", "sent_at", "thread")

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.progress: Progress | None = None  # the newest snapshot not sent yet
        self.sent_at = 0.0
        self.thread: threading.Thread | None = None


class Worker:
    """Serves one window: runs its transfers, each on a thread, and answers over `conn`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._runs: dict[int, _Run] = {}
        self._services: dict[bytes, CachedProjectService] = {}
        self._services_lock = threading.Lock()
        self._stopping = threading.Event()

    def send(self, message: tuple[Any, ...]) -> None:
        data = dumps(message)
        with self._send_lock:
            self._conn.send_bytes(data)

    def serve(self) -> None:
        flusher = threading.Thread(target=self._flush_progress, name="pd-worker-progress", daemon=True)
        flusher.start()
        try:
            while True:
                try:
                    message = loads(self._conn.recv_bytes())
                except (EOFError, OSError):
                    break  # the window closed its end (or died): stop
                if message[0] == "stop":
                    break
                self._handle(message)
        finally:
            self._stop()

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "run":
            _, job, recipe, method, args, kwargs, limits, paused = message
            self._bandwidth(limits, paused)
            run = _Run()
            with self._lock:
                self._runs[job] = run
            run.thread = threading.Thread(
                target=self._run, args=(job, run, recipe, method, args, kwargs), name=f"pd-worker-run-{job}"
            )
            run.thread.start()
        elif kind == "cancel":
            with self._lock:
                found = self._runs.get(message[1])
            if found is not None:
                found.cancel.set()
        elif kind == "bandwidth":
            self._bandwidth(message[1], message[2])

    @staticmethod
    def _bandwidth(limits: BandwidthLimits, paused: bool) -> None:
        from projectdesk.storage.throttle import BANDWIDTH

        if BANDWIDTH.limits != limits:
            BANDWIDTH.set_limits(limits)
        if paused and not BANDWIDTH.paused:
            BANDWIDTH.pause()
        elif not paused and BANDWIDTH.paused:
            BANDWIDTH.resume()

    def _service(self, recipe: ServiceRecipe) -> CachedProjectService:
        key = pickle.dumps(recipe)
        with self._services_lock:
            service = self._services.get(key)
            if service is None:
                service = self._services[key] = recipe.open()
            return service

    def _run(
        self, job: int, run: _Run, recipe: ServiceRecipe, method: str, args: Sequence[Any], kwargs: dict[str, Any]
    ) -> None:
        def progress(snapshot: Progress) -> None:
            run.progress = snapshot  # sent by the flusher

        reply: tuple[Any, ...]
        try:
            if method not in METHODS:
                raise UnexpectedTransferError(f"The transfer process does not run '{method}'.")
            call = getattr(self._service(recipe), method)
            value = _lean(call(*args, progress=progress, cancel=run.cancel, **kwargs))
            reply = ("result", job, value, os.getpid())
        except ProjectDeskError as exc:
            reply = ("error", job, exc, os.getpid())
        except Exception as exc:
            log.exception("unexpected error in a transfer")
            error = UnexpectedTransferError(f"The transfer stopped on an unexpected error ({type(exc).__name__}).")
            reply = ("error", job, error, os.getpid())
        with self._lock:
            self._runs.pop(job, None)
        try:
            self.send(reply)
        except (OSError, ValueError):
            pass  # the window is gone
        except Exception as exc:  # a value that does not pickle: say so rather than leave the row waiting
            log.exception("a transfer's result could not be sent")
            error = UnexpectedTransferError(f"The transfer's result could not be sent ({type(exc).__name__}).")
            with contextlib.suppress(OSError, ValueError):
                self.send(("error", job, error, os.getpid()))

    def _flush_progress(self) -> None:
        interval = 1 / PROGRESS_PER_SECOND
        while not self._stopping.wait(interval):
            with self._lock:
                pending = [(job, run) for job, run in self._runs.items() if run.progress is not None]
            for job, run in pending:
                snapshot, run.progress = run.progress, None
                if snapshot is None:
                    continue
                try:
                    self.send(("progress", job, snapshot))
                except (OSError, ValueError):
                    return

    def _stop(self) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.cancel.set()
        for run in runs:
            if run.thread is not None:
                run.thread.join()
        self._stopping.set()
        with self._services_lock:
            for service in self._services.values():
                try:
                    service.close()
                except Exception:
                    log.exception("closing a service in the transfer process failed")
            self._services.clear()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: `python -m projectdesk.services.transfer_worker FD`."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="transfer process: %(levelname)s %(name)s: %(message)s")
    conn = Connection(int(args[0]))
    # Loaded before the first run arrives: the window starts this process when its first transfer begins.
    import projectdesk.services.offline  # noqa: F401

    Worker(conn).serve()
    conn.close()
    return 0


__all__ = ["STOPPED", "TransferProcessStopped", "UnexpectedTransferError", "Worker", "dumps", "loads"]

if __name__ == "__main__":  # run from the module under its own name: pickles name its functions there, not __main__
    from projectdesk.services import transfer_worker

    sys.exit(transfer_worker.main())
