"""Keeping a working folder in two-way sync while it is edited: `projectdesk-cli sync --watch` and the window.

Each round is an ordinary sync under the three-way rule (`folder_sync.py`); this module only decides *when*:

- Local changes arrive as file-system notifications (watchdog: inotify, FSEvents, ReadDirectoryChangesW; a
  polling observer where none can be had). A batch ends when the folder has been quiet for `quiet` seconds
  (or `longest_batch` after its first event), so an editor's save-by-rename or a `git checkout` of 500 files
  is one round. Events are then checked against the folder's recorded bases — a file whose stat signature
  or content is the one last agreed with is no change — so our own downloads, an editor opening a file or a
  touch start no round.
- Server changes are found by polling: every `poll_first` seconds after a change, doubling while nothing
  changes up to `poll_longest`. A poll lists the project (S3 has no conditional listing) and compares it with
  the server's files as the last round left them; once idle (polls at their longest), a HEAD of the manifest
  comes first (every ProjectDesk writer rewrites it) and the listing is read when that changed or every
  `list_every`-th poll (for the writes of other tools, which leave the manifest alone).
- A round that cannot reach the server leaves the local changes where they are (the folder is the queue: the
  next round's scan finds them all) and is retried with backoff until it can; one that fails otherwise is
  retried the same way.
- `stop` ends the loop; a round running then is cancelled between files (an upload is one PUT: it lands
  whole or not at all), so nothing is half-sent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from projectdesk.core.errors import Cancelled, NotFound, Offline, ProjectDeskError
from projectdesk.core.keys import MANIFEST_NAME
from projectdesk.core.models import FileEntry
from projectdesk.core.threeway import Direction
from projectdesk.services.folder_sync import FolderPlan, FolderReport, FolderSync, ignore_check
from projectdesk.services.hashing import sha256_file
from projectdesk.services.scan import scan_folder
from projectdesk.services.watch_events import WatchEvent, WatchState, WatchTiming, batch_line
from projectdesk.services.workfolders import BaseRow, signature
from projectdesk.storage.atomic import TEMP_PREFIX
from projectdesk.storage.repository import Repository

log = logging.getLogger(__name__)

__all__ = ["FolderWatch", "WatchEvent", "WatchState", "WatchTiming", "batch_line"]


class WatchedService(Protocol):
    """What a watch needs of the project service (ProjectService or CachedProjectService)."""

    repo: Repository
    ignore_patterns: tuple[str, ...]
    folders: FolderSync

    def remote(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...

    def plan_folder(
        self, folder: Path, direction: Direction, *, slug: str | None = None, follow_links: bool = False
    ) -> FolderPlan: ...

    def run_folder(self, plan: FolderPlan, *, cancel: threading.Event | None = None) -> FolderReport: ...


class LocalChanges:
    """Paths changed in the folder, as notifications report them (called from the observer's thread)."""

    def __init__(self, folder: Path, wake: threading.Event) -> None:
        self.folder = folder
        self._wake = wake
        self._lock = threading.Lock()
        self._paths: set[str] = set()
        # Folders made, moved or removed (their files were not each reported); "" when anything may have changed
        # (the kernel's queue overflowed, or a round asks for another).
        self._folders: set[str] = set()
        self.first_at = 0.0
        self.last_at = 0.0

    def dispatch(self, event: Any) -> None:  # watchdog's handler interface
        kind = event.event_type
        if kind in ("opened", "closed_no_write") or (event.is_directory and kind in ("modified", "closed")):
            return  # reads, and a folder's own "modified" (its files' events carry the news)
        names = [event.src_path, getattr(event, "dest_path", "") or ""]
        relative = [r for r in (self._relative(n) for n in names if n) if r is not None]
        if not relative and kind != "lost":
            return
        now = time.monotonic()
        with self._lock:
            if kind == "lost":  # watchdog's EventsLostEvent: the kernel queue overflowed
                self._folders.add("")
            elif event.is_directory:
                self._folders.update(relative)
            else:
                self._paths.update(relative)
            if not self.first_at:
                self.first_at = now
            self.last_at = now
        self._wake.set()

    def _relative(self, name: str | bytes) -> str | None:
        path = os.fsdecode(name)
        try:
            relative = Path(path).relative_to(self.folder).as_posix()
        except ValueError:
            return None
        if relative in ("", "."):
            return None
        if any(part.startswith(TEMP_PREFIX) for part in relative.split("/")):
            return None  # our own staging of downloads
        return relative

    @property
    def pending(self) -> bool:
        with self._lock:
            return bool(self._paths) or bool(self._folders)

    def take(self) -> tuple[set[str], set[str]]:
        """(files, folders) changed since the last take."""
        with self._lock:
            paths, folders = self._paths, self._folders
            self._paths, self._folders = set(), set()
            self.first_at = self.last_at = 0.0
        return paths, folders


def start_observer(folder: Path, changes: LocalChanges) -> Any:
    """watchdog's native observer on `folder` (recursive); its polling one where the native cannot start
    (inotify's watch limit reached, an unsupported file system)."""
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    for make in (Observer, PollingObserver):
        observer = make()
        observer.schedule(changes, os.fspath(folder), recursive=True)  # type: ignore[arg-type]
        try:
            observer.start()
        except OSError as exc:
            log.warning("file notifications unavailable for %s (%s): polling the folder instead", folder, exc)
            continue
        return observer
    raise ProjectDeskError(f"{folder} cannot be watched for changes.")


@dataclass
class _Backoff:
    first: float
    longest: float
    current: float = field(init=False)

    def __post_init__(self) -> None:
        self.current = self.first

    def reset(self) -> None:
        self.current = self.first

    def grow(self) -> float:
        """The wait to use now; the next one doubles."""
        now = self.current
        self.current = min(self.longest, self.current * 2)
        return now


class FolderWatch:
    """Keeps one working folder in sync with its project until `stop` is set."""

    def __init__(
        self,
        service: WatchedService,
        folder: Path,
        slug: str | None = None,
        *,
        on_event: Callable[[WatchEvent], None] = lambda event: None,
        timing: WatchTiming | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.folder = Path(folder).resolve()
        self.slug = slug
        self.on_event = on_event
        self.timing = timing or WatchTiming()
        self._clock = clock
        self.wake = threading.Event()
        self.cancel = threading.Event()  # set by stop(): a running round ends between files
        self.changes = LocalChanges(self.folder, self.wake)
        self._poll = _Backoff(self.timing.poll_first, self.timing.poll_longest)
        self._retry = _Backoff(self.timing.retry_first, self.timing.retry_longest)
        self._seen: dict[str, str] | None = None  # the server's files (path -> ETag) after the last round
        self._manifest_seen: str | None = None  # the manifest's ETag when the server was last listed
        self._polls = 0
        self._left_out: set[str] = set()  # server names the folder does not carry (ignored, unsafe)
        self._ignored: Callable[[str], bool] = lambda path: False
        self._waiting: set[str] = set()  # local changes seen since the last round that reached the server
        self._stopped = threading.Event()
        self._failure: WatchEvent | None = None  # why the last round failed, while it stays failed
        self._retry_soon = False
        self.rounds = 0

    def retry_now(self) -> None:
        """Make a failing watch try again at once (the server is reachable again), not at its next retry."""
        self._retry_soon = True
        self.wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self.cancel.set()
        self.wake.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    # ---- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        """Sync once, then keep syncing on local and server changes until `stop()`. Blocks."""
        observer = start_observer(self.folder, self.changes)
        try:
            due = self._round("start")
            while not self._stopped.is_set():
                self.wake.wait(max(0.0, due - self._clock()))
                self.wake.clear()
                if self._stopped.is_set():
                    break
                if self.changes.pending:
                    self._settle()
                    if self._stopped.is_set():
                        break
                    paths, folders = self.changes.take()
                    if self._real(paths) or self._folder_changed(folders):
                        if not self._failing:
                            due = self._round("local")
                            continue
                        assert self._failure is not None
                        self.on_event(self._failure)  # the count of waiting changes grew; the retry stays due
                if self._retry_soon:
                    self._retry_soon = False
                    if self._failing:
                        self._retry.reset()
                        due = self._clock()
                if self._clock() < due:
                    continue
                if self._failing:
                    due = self._round("retry")
                    continue
                try:
                    changed = self._server_changed()
                except Offline as exc:
                    due = self._failed(WatchState.WAITING, exc)
                    continue
                except Exception:  # as in a round: logged, and the poll tried again later
                    log.exception("checking the server for %s failed", self.folder)
                    changed = False
                due = self._round("server") if changed else self._clock() + self._poll.grow()
        finally:
            observer.stop()
            observer.join(timeout=5)
            with contextlib.suppress(Exception):  # a round cancelled by the stop may have sent some of them
                self._waiting = self._differing(self._waiting)
            self.on_event(WatchEvent(WatchState.STOPPED, waiting=len(self._waiting)))

    @property
    def _failing(self) -> bool:
        return self._failure is not None

    def _settle(self) -> None:
        """Wait until the folder is quiet (or the batch has gone on long enough)."""
        timing = self.timing
        while not self._stopped.is_set():
            now = self._clock()
            first, last = self.changes.first_at, self.changes.last_at
            if not first:
                return
            end = min(last + timing.quiet, first + timing.longest_batch)
            if now >= end:
                return
            self._stopped.wait(end - now)

    def _round(self, reason: str) -> float:
        """One sync; returns when the next poll or retry is due."""
        self.on_event(WatchEvent(WatchState.SYNCING, waiting=len(self._waiting), reason=reason))
        self.rounds += 1
        try:
            self._reach_server()
            plan = self.service.plan_folder(self.folder, Direction.SYNC, slug=self.slug)
            if plan.limit_error is not None:
                raise plan.limit_error
            if plan.is_new and plan.bound:  # the whole project is gone: a sync would empty the folder
                raise NotFound(f"The project '{plan.slug}' is no longer in the store: the folder is left as it is.")
            self.slug = plan.slug
            report = self.service.run_folder(plan, cancel=self.cancel)
        except Cancelled:
            return self._clock()
        except Offline as exc:
            return self._failed(WatchState.WAITING, exc)
        except ProjectDeskError as exc:
            return self._failed(WatchState.FAILED, exc)
        except Exception as exc:  # a bug or an OS error we did not translate: said, logged, retried — never fatal
            log.exception("a sync round of %s failed", self.folder)
            unexpected = ProjectDeskError(f"an unexpected {type(exc).__name__} (the log has the details)")
            return self._failed(WatchState.FAILED, unexpected)
        self._failure = None
        self._retry.reset()
        self._seen = {entry.path: entry.etag for entry in report.entries}
        self._manifest_seen, self._polls = "", 0  # the next poll lists the server
        self._left_out = set(plan.outside) | {name for name, _ in plan.unsafe_remote}
        self._ignored = ignore_check(plan, self.service.ignore_patterns)
        if any(path in self._waiting for path, _ in report.failed):
            self._waiting = {path for path, _ in report.failed}
        else:
            self._waiting.clear()
        moved = report.uploaded or report.downloaded or report.deleted_local or report.deleted_remote
        if moved or report.conflicts:
            self._poll.reset()
        if report.conflicts:
            self.changes.dispatch(_Nudge(self.folder))  # the conflicted copies are sent by the next round
        state = WatchState.CONFLICTS if report.conflicts else WatchState.IN_SYNC
        self.on_event(WatchEvent(state, report=report, reason=reason))
        if report.failed:  # tried again after a while, not at once
            return self._clock() + self._retry.grow()
        return self._clock() + self._poll.current

    def _reach_server(self) -> None:
        """With a cached service that is offline: one probe of the server (it also sends the cache's queue)
        instead of a round planned against the cache's listing."""
        is_offline = getattr(self.service, "is_offline", False)
        if is_offline:
            if getattr(self.service, "forced_offline", False):
                raise Offline("Working offline: the folder's changes wait until you go online.")
            if not self.service.check_online():  # type: ignore[attr-defined]
                raise Offline("The server cannot be reached.")

    def _failed(self, state: WatchState, exc: ProjectDeskError) -> float:
        wait = self._retry.grow()
        if self.slug is not None:
            self.service.folders.note_state(
                self.folder, self.slug, "offline: changes wait" if state == WatchState.WAITING else exc.message
            )
        self._failure = WatchEvent(state, error=exc, waiting=len(self._waiting), retry_in=wait)
        self.on_event(self._failure)
        return self._clock() + wait

    def _real(self, paths: set[str]) -> bool:
        """Whether any of `paths` differs from what the folder last agreed with the server (a change to send);
        those that do are counted as waiting."""
        changed = self._differing(paths)
        self._waiting |= changed
        if changed and self._failure is not None:
            self._failure.waiting = len(self._waiting)
        return bool(changed)

    def _folder_changed(self, folders: set[str]) -> bool:
        """Whether a folder made, moved or removed may hold changes: any outside the ignored folders (`.git`,
        `node_modules`, … : a `git commit` or an `npm install` starts no round)."""
        return any(folder == "" or not self._ignored(f"{folder}/-") for folder in folders)

    def _differing(self, paths: set[str]) -> set[str]:
        if not paths:
            return set()
        binding = self.service.folders.binding(self.folder, self.slug) if self.slug else None
        if binding is None:
            return set(paths)
        bases = self.service.folders.bases_of(binding)
        found: set[str] = set()
        for path in paths:
            if self._ignored(path):
                continue
            local = self.folder / path
            row = bases.get(path)
            try:
                stat = os.lstat(local)
            except FileNotFoundError:
                changed = row is not None
            except OSError:
                changed = True
            else:
                if row is None:
                    changed = not _is_dir(stat)
                elif row.signature is not None and row.signature == signature(stat):
                    changed = False
                else:
                    changed = not _same_content(local, row.base.sha256)
            if changed:
                found.add(path)
        return found

    def _server_changed(self) -> bool:
        """Whether the project changed on the server since the last round.

        The whole listing tells of every write but costs ≈0.1 CPU s per 2,000 files, so once the polls have
        backed off to their longest (an idle folder), a HEAD of the manifest comes first — every ProjectDesk
        writer rewrites it — and the project is listed only when that changed or on every `list_every`-th poll
        (the writes of other tools, which leave the manifest alone)."""
        if self._seen is None or self.slug is None:
            return True
        self._polls += 1
        idle = self._poll.current >= self.timing.poll_longest
        try:
            tag = self._manifest_tag(self.slug) if idle else None
            if idle and tag == self._manifest_seen and self._polls % self.timing.list_every:
                return False
            listing: list[FileEntry] = self.service.remote(self.service.repo.list_files, self.slug)
        except Offline:
            raise
        except ProjectDeskError as exc:
            log.warning("checking %s for changes failed: %s", self.slug, exc)
            return False
        self._manifest_seen = tag  # read before the listing: a later write changes it again
        now = {e.path: e.etag for e in listing if e.path not in self._left_out and not self._ignored(e.path)}
        return now != self._seen

    def _manifest_tag(self, slug: str) -> str | None:
        try:
            entry: FileEntry = self.service.remote(self.service.repo.stat_file, slug, MANIFEST_NAME)
        except NotFound:
            return None
        return entry.etag


class _Nudge:
    """A made-up event that asks for one more round (conflicted copies to send, failures to retry)."""

    event_type = "lost"
    is_directory = False

    def __init__(self, folder: Path) -> None:
        self.src_path = os.fspath(folder)


def _is_dir(stat: os.stat_result) -> bool:
    import stat as stat_module

    return stat_module.S_ISDIR(stat.st_mode)


def _same_content(path: Path, sha256: str) -> bool:
    try:
        if os.path.islink(path):
            from projectdesk.services.hashing import sha256_bytes

            return sha256_bytes(os.readlink(path).encode("utf-8")) == sha256
        return sha256_file(path) == sha256
    except (OSError, UnicodeError):
        return False


def local_changes(folder: Path, bases: dict[str, BaseRow], ignore_patterns: tuple[str, ...] = ()) -> list[str]:
    """The folder's files that differ from what it last agreed with the server (added, changed, deleted),
    without the network: the scan's stat signatures first, content only where those differ."""
    try:
        scan = scan_folder(folder, ignore_patterns=ignore_patterns)
    except ProjectDeskError:
        return []
    changed: list[str] = []
    found: set[str] = set()
    for item in scan.files:
        found.add(item.path)
        row = bases.get(item.path)
        if row is None:
            changed.append(item.path)
            continue
        try:
            stat = os.lstat(item.local_path)
        except OSError:
            changed.append(item.path)
            continue
        if row.signature != signature(stat) and not _same_content(item.local_path, row.base.sha256):
            changed.append(item.path)
    rules = scan.rules
    changed += [p for p in bases if p not in found and not (rules is not None and rules.is_ignored(p))]
    return sorted(changed)
