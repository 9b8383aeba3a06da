"""Runs many file transfers with bounded parallelism, cancel, throttled progress and per-file errors.

Two drivers share the bookkeeping (progress, per-file errors, cancel):

- `run_parallel` calls a blocking `work(item)` on a thread pool (any store, and S3 through boto3);
- `run_async` calls `start(item, finish)`, which begins a transfer that completes on another thread
  (the AWS Common Runtime's event loop) and hands back a `finish` callable; the calling thread runs it,
  so all bookkeeping (renames, results, progress) happens on one thread and no worker threads are needed.

Both report progress from the calling thread, about 20 times a second whatever the file count.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from projectdesk.core.errors import Cancelled, ProjectDeskError, StorageError
from projectdesk.core.models import Progress
from projectdesk.storage.throttle import BANDWIDTH, transfer_scope

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
ProgressCallback = Callable[[Progress], None]
# Called on the driving thread as each item succeeds (e.g. to record a landed upload at once).
DoneCallback = Callable[[T, R], None]
PROGRESS_INTERVAL = 0.05  # seconds: about 20 updates a second, whatever the file count
CANCEL_POLL = 0.1  # seconds: how often a waiting driver looks at the cancel event


class _NotStarted(Exception):
    pass


@dataclass
class TransferResult(Generic[T, R]):
    done: list[tuple[T, R]] = field(default_factory=list)
    failed: list[tuple[T, ProjectDeskError]] = field(default_factory=list)


class _Book(Generic[T, R]):
    """Results, per-file errors and throttled progress of one batch (touched by the calling thread only)."""

    def __init__(
        self,
        items: Sequence[T],
        name_of: Callable[[T], str],
        size_of: Callable[[T], int],
        progress: ProgressCallback | None,
        on_done: DoneCallback[T, R] | None = None,
    ) -> None:
        self.result: TransferResult[T, R] = TransferResult()
        self.on_done = on_done
        self.name_of = name_of
        self.size_of = size_of
        self.progress = progress
        self.files_total = len(items)
        self.bytes_total = sum(size_of(item) for item in items)
        self.files_done = 0
        self.bytes_done = 0
        self._last_report = 0.0

    def report(self, current: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if self.progress and (force or now - self._last_report >= PROGRESS_INTERVAL):
            self._last_report = now
            self.progress(Progress(self.files_done, self.files_total, self.bytes_done, self.bytes_total, current))

    def settle(self, item: T, outcome: Callable[[], R], counted_bytes: int = 0) -> None:
        """Record the outcome of one item (`outcome()` returns its result or raises)."""
        try:
            value = outcome()
            self.result.done.append((item, value))
            if self.on_done is not None:
                self.on_done(item, value)
        except (_NotStarted, Cancelled):
            self.bytes_done -= counted_bytes
            return
        except ProjectDeskError as exc:
            log.warning("transfer of %s failed: %s", self.name_of(item), exc)
            self.result.failed.append((item, exc))
        except OSError as exc:
            error = StorageError(f"{self.name_of(item)}: {exc.strerror or exc}")
            if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):  # a full disk, or quota
                from projectdesk.storage import errors  # here: it loads botocore, which local stores never need

                if exc.filename:  # the file being written: its folder is named, with the room this item needs
                    error = errors.disk_full_error(Path(os.fsdecode(exc.filename)), self.size_of(item))
                else:
                    error = errors.DiskFull(f"The disk being written to is full ({self.name_of(item)}).")
            log.warning("transfer of %s failed: %s", self.name_of(item), error)
            self.result.failed.append((item, error))
        self.files_done += 1
        self.bytes_done += self.size_of(item) - counted_bytes
        self.report(self.name_of(item))


def run_parallel(
    items: Sequence[T],
    work: Callable[[T], R],
    *,
    name_of: Callable[[T], str],
    size_of: Callable[[T], int],
    workers: int,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    on_done: DoneCallback[T, R] | None = None,
) -> TransferResult[T, R]:
    """Run `work` on each item with at most `workers` at once.

    A ProjectDeskError (or OSError) from one item is recorded in `failed` and the others go on; any
    other exception is a bug and is re-raised. Setting `cancel` stops new work, waits for running
    items and raises Cancelled.
    """
    book: _Book[T, R] = _Book(items, name_of, size_of, progress, on_done)
    book.report(force=True)
    workers = max(1, workers)
    finished: queue.SimpleQueue[tuple[int, T, Future[R]]] = queue.SimpleQueue()
    # Bytes of files still in flight (charged by storage/throttle.py as their bodies move), so a large file's
    # row advances before it ends: (index, bytes) from the workers, counted on this thread.
    moving: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    advanced: dict[int, int] = {}
    queue_iter = iter(enumerate(items))
    in_flight = 0

    def guarded(index: int, item: T) -> R:
        if cancel is not None and cancel.is_set():  # queued before the cancel: do not start
            raise _NotStarted
        # its bodies pause with the window's Pause, and stop on cancel while paused; its bytes are reported
        with transfer_scope(cancel, lambda count: moving.put((index, count))):
            BANDWIDTH.wait_running()  # no file starts while paused
            return work(item)

    def count_moving() -> None:
        current = ""
        while True:
            try:
                index, count = moving.get_nowait()
            except queue.Empty:
                break
            item = items[index]
            room = size_of(item) - advanced.get(index, 0)  # a body sent again after a retry counts once
            step = max(0, min(count, room))
            advanced[index] = advanced.get(index, 0) + step
            book.bytes_done += step
            current = name_of(item)
        if current:
            book.report(current)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="transfer") as pool:

        def top_up() -> None:
            # Submitting lazily keeps memory flat for 50,000-file projects and lets cancel act fast.
            nonlocal in_flight
            while in_flight < workers * 2 and not (cancel and cancel.is_set()):
                nxt = next(queue_iter, None)
                if nxt is None:
                    return
                index, item = nxt
                future = pool.submit(guarded, index, item)
                future.add_done_callback(lambda f, i=index, item=item: finished.put((i, item, f)))  # type: ignore[misc]
                in_flight += 1

        top_up()
        while in_flight:
            try:
                index, item, future = finished.get(timeout=PROGRESS_INTERVAL)
            except queue.Empty:
                count_moving()
                continue
            in_flight -= 1
            count_moving()
            book.settle(item, future.result, advanced.pop(index, 0))
            top_up()
    if cancel and cancel.is_set():
        raise Cancelled(f"Cancelled after {book.files_done} of {len(items)} files.")
    book.report(force=True)
    return book.result


class Cancellable(Protocol):
    def cancel(self) -> None: ...


Finish = Callable[[], R]
# start(item, finish_callback, advance_callback) -> handle; finish_callback may be called from any thread,
# exactly once, with a callable the driver runs on its own thread; advance(n) reports n more bytes.
Starter = Callable[[T, Callable[[Finish[R]], None], Callable[[int], None]], Cancellable | None]


def run_async(
    items: Sequence[T],
    start: Starter[T, R],
    *,
    name_of: Callable[[T], str],
    size_of: Callable[[T], int],
    window: int,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    on_done: DoneCallback[T, R] | None = None,
) -> TransferResult[T, R]:
    """Keep up to `window` transfers started by `start` in flight; same results and errors as run_parallel.

    `start` raising a ProjectDeskError or OSError fails that item only. On cancel, no new transfer is
    started, those in flight are asked to stop and waited for, then Cancelled is raised.
    """
    book: _Book[T, R] = _Book(items, name_of, size_of, progress, on_done)
    book.report(force=True)
    window = max(1, window)
    events: queue.SimpleQueue[tuple[int, int, Finish[R] | None]] = queue.SimpleQueue()
    handles: dict[int, Cancellable | None] = {}
    advanced: dict[int, int] = {}
    pending: dict[int, T] = {}
    queue_iter = iter(enumerate(items))
    cancelled = False
    bug: BaseException | None = None

    lookahead: list[tuple[int, T]] = []  # the next item, once taken from the iterator

    def more() -> bool:
        if not lookahead:
            nxt = next(queue_iter, None)
            if nxt is None:
                return False
            lookahead.append(nxt)
        return True

    def top_up() -> None:
        while len(pending) < window and not cancelled and bug is None:
            if cancel is not None and cancel.is_set():
                return
            if BANDWIDTH.paused:  # the CRT cannot be paused mid-file: no new file starts while paused
                return
            if not more():
                return
            index, item = lookahead.pop()

            def finish(outcome: Finish[R], index: int = index) -> None:
                events.put((index, 0, outcome))

            def advance(nbytes: int, index: int = index) -> None:
                events.put((index, nbytes, None))

            pending[index] = item
            try:
                handles[index] = start(item, finish, advance)
            except (ProjectDeskError, OSError) as exc:
                error = exc
                events.put((index, 0, lambda error=error: _raise(error)))  # type: ignore[misc]

    def stop_all() -> None:
        for handle in list(handles.values()):
            if handle is not None:
                try:
                    handle.cancel()
                except Exception:  # already finished
                    log.debug("cancel of a finished transfer", exc_info=True)

    top_up()
    while pending or (not cancelled and bug is None and more()):  # more(): paused with files left
        try:
            index, nbytes, outcome = events.get(timeout=CANCEL_POLL)
        except queue.Empty:
            index, nbytes, outcome = -1, 0, None
        if not cancelled and cancel is not None and cancel.is_set():
            cancelled = True
            stop_all()
        if index < 0:
            top_up()  # after a resume
            continue
        if outcome is None:  # bytes of a large file in progress
            advanced[index] = advanced.get(index, 0) + nbytes
            book.bytes_done += nbytes
            book.report(name_of(pending[index]))
            continue
        item = pending.pop(index)
        handles.pop(index, None)
        counted = advanced.pop(index, 0)
        try:
            book.settle(item, outcome, counted)
        except BaseException as exc:  # a bug: stop everything, wait for what runs, then raise it
            if bug is None:
                bug = exc
                stop_all()
        top_up()
    if bug is not None:
        raise bug
    if cancelled or (cancel is not None and cancel.is_set()):
        raise Cancelled(f"Cancelled after {book.files_done} of {len(items)} files.")
    book.report(force=True)
    return book.result


def _raise(error: BaseException) -> R:  # type: ignore[type-var]
    raise error
