"""Runs many file transfers on a bounded thread pool, with cancel, throttled progress and per-file errors."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from projectdesk.core.errors import Cancelled, ProjectDeskError, StorageError
from projectdesk.core.models import Progress

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
ProgressCallback = Callable[[Progress], None]
PROGRESS_INTERVAL = 0.05  # seconds: about 20 updates a second, whatever the file count


class _NotStarted(Exception):
    pass


@dataclass
class TransferResult(Generic[T, R]):
    done: list[tuple[T, R]] = field(default_factory=list)
    failed: list[tuple[T, ProjectDeskError]] = field(default_factory=list)


def run_parallel(
    items: Sequence[T],
    work: Callable[[T], R],
    *,
    name_of: Callable[[T], str],
    size_of: Callable[[T], int],
    workers: int,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> TransferResult[T, R]:
    """Run `work` on each item with at most `workers` at once.

    A ProjectDeskError from one item is recorded in `failed` and the others go on; any other
    exception is a bug and is re-raised. Setting `cancel` stops new work, waits for running items
    and raises Cancelled.
    """
    result: TransferResult[T, R] = TransferResult()
    total_bytes = sum(size_of(item) for item in items)
    files_done = 0
    bytes_done = 0
    last_report = 0.0

    def report(current: str, force: bool = False) -> None:
        nonlocal last_report
        now = time.monotonic()
        if progress and (force or now - last_report >= PROGRESS_INTERVAL):
            last_report = now
            progress(Progress(files_done, len(items), bytes_done, total_bytes, current))

    report("", force=True)
    pending: dict[Future[R], T] = {}
    queue = iter(items)

    def guarded(item: T) -> R:
        if cancel is not None and cancel.is_set():  # queued before the cancel: do not start
            raise _NotStarted
        return work(item)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="transfer") as pool:

        def top_up() -> None:
            # Submitting lazily keeps memory flat for 50,000-file projects and lets cancel act fast.
            while len(pending) < workers * 2 and not (cancel and cancel.is_set()):
                item = next(queue, None)
                if item is None:
                    return
                pending[pool.submit(guarded, item)] = item

        top_up()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                item = pending.pop(future)
                try:
                    result.done.append((item, future.result()))
                except _NotStarted:
                    continue
                except ProjectDeskError as exc:
                    log.warning("transfer of %s failed: %s", name_of(item), exc)
                    result.failed.append((item, exc))
                except OSError as exc:
                    result.failed.append((item, StorageError(f"{name_of(item)}: {exc.strerror or exc}")))
                files_done += 1
                bytes_done += size_of(item)
                report(name_of(item))
            top_up()
    if cancel and cancel.is_set():
        raise Cancelled(f"Cancelled after {files_done} of {len(items)} files.")
    report("", force=True)
    return result
