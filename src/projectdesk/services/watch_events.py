"""What a folder's watch (services/watch.py) tells its owner — its state, its events and its timing — apart
from the watch itself, so the window can speak of folders before it loads the sync engine."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from projectdesk.core.errors import ProjectDeskError
    from projectdesk.services.folder_sync import FolderReport


@dataclass(frozen=True)
class WatchTiming:
    quiet: float = 0.3  # a batch of local changes ends after this long without a new event...
    longest_batch: float = 3.0  # ...or this long after its first one (a file written for minutes)
    poll_first: float = 2.0  # the server is listed this often after a change...
    poll_longest: float = 30.0  # ...backing off to this while nothing changes (a listing costs CPU: <1 % idle)
    list_every: int = 2  # idle: polls per full listing while the manifest stays the same (other tools' writes)
    retry_first: float = 1.0  # a round that failed is tried again after this...
    retry_longest: float = 30.0  # ...doubling up to this


class WatchState(enum.Enum):
    SYNCING = "syncing"
    IN_SYNC = "in sync"
    CONFLICTS = "conflicts"  # the last round kept both versions of some files
    WAITING = "waiting"  # the server cannot be reached: local changes wait
    FAILED = "failed"  # the last round failed (a message says why); retried with backoff
    STOPPED = "stopped"


@dataclass
class WatchEvent:
    """What a watch tells its owner: a round began or ended, or it is waiting for the server."""

    state: WatchState
    report: FolderReport | None = None
    error: ProjectDeskError | None = None
    waiting: int = 0  # local changes seen and not yet sent
    retry_in: float = 0.0
    reason: str = ""  # what started the round: "start", "local", "server", "retry"

    def line(self) -> str:
        """One line for a terminal or a status bar."""
        waiting = f"{self.waiting} local change{'s' if self.waiting != 1 else ''} waiting; " if self.waiting else ""
        why = self.error.message if self.error else "the server cannot be reached"
        if self.state == WatchState.WAITING:
            return f"offline ({why}): {waiting}retrying in {self.retry_in:.0f} s"
        if self.state == WatchState.FAILED:
            return f"sync failed ({why}): {waiting}retrying in {self.retry_in:.0f} s"
        if self.report is None:
            return str(self.state.value)
        return batch_line(self.report)


def batch_line(report: FolderReport) -> str:
    """ "↑ 3 files, ↓ 1 file, 1 conflict: a.txt (yours kept as …)" — what one round moved."""

    def files(n: int) -> str:
        return f"{n} file{'s' if n != 1 else ''}"

    parts = []
    if report.uploaded:
        parts.append(f"↑ {files(len(report.uploaded))}")
    if report.downloaded:
        parts.append(f"↓ {files(len(report.downloaded))}")
    if report.deleted_remote:
        parts.append(f"deleted on the server: {files(len(report.deleted_remote))}")
    if report.deleted_local:
        parts.append(f"deleted here: {files(len(report.deleted_local))}")
    if report.failed:
        parts.append(f"{len(report.failed)} failed: " + ", ".join(f"{p} ({e.message})" for p, e in report.failed[:3]))
    if report.conflicts:
        n = len(report.conflicts)
        parts.append(f"{n} conflict{'s' if n != 1 else ''}: " + "; ".join(c.message for c in report.conflicts[:3]))
    return ", ".join(parts) if parts else "in sync"
