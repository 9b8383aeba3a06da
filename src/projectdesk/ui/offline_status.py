"""Offline in the window: a strip over the project list, retries with backoff while the store cannot be
reached, and — when it answers again — the queued changes sent and the result told to the person.

The cache's service does the work (`check_online` sends the outbox once the server answers; `flush_outbox`
sends it in order); this module decides when to ask and says what happened.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from projectdesk.ui.feedback import INFO, WARNING, Feedback
from projectdesk.ui.resources import state_icon
from projectdesk.ui.sync_state import Connection, Pair, SyncSnapshot, pending_and_conflicts
from projectdesk.ui.tasks import handler

if TYPE_CHECKING:
    from projectdesk.services.offline import CachedProjectService
    from projectdesk.ui.session import Session

RETRY_DELAYS = (2.0, 4.0, 8.0, 16.0, 30.0, 60.0)  # seconds between tries while offline, then every 60 s


@dataclass
class FlushOutcome:
    """What sending the queue did, for people: which queued changes went out, what is still waiting,
    which conflicts appeared (both versions kept), what failed."""

    sent: list[Pair] = field(default_factory=list)
    still: int = 0
    conflicts: list[Pair] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    offline: bool = False

    def sentence(self) -> str:
        parts: list[str] = []
        if self.sent:
            names = ", ".join(path for _, path in self.sent[:3]) + (
                f" and {len(self.sent) - 3} more" if len(self.sent) > 3 else ""
            )
            parts.append(f"{len(self.sent)} queued change{'s' if len(self.sent) != 1 else ''} uploaded ({names})")
        if self.conflicts:
            count = len(self.conflicts)
            parts.append(f"{count} conflict{'s' if count != 1 else ''} (both versions kept)")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.still:
            parts.append(f"{self.still} still waiting" + (" (offline again)" if self.offline else ""))
        if not parts:
            parts.append("nothing was waiting to be uploaded")
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + "."


def flush_and_compare(service: CachedProjectService, before: list[Pair], conflicts_before: set[Pair]) -> FlushOutcome:
    """Blocking: send the outbox (waiting for a pass already running) and compare with `before`."""
    report = service.flush_outbox()
    pending, conflicts = pending_and_conflicts(service)
    still = set(pending)
    return FlushOutcome(
        sent=[pair for pair in before if pair not in still],
        still=len(pending),
        conflicts=sorted(conflicts - conflicts_before),
        failed=[where for where, _ in report.failed],
        offline=report.offline,
    )


class OfflineStrip(QFrame):
    """The notice above the project list while offline, with a Retry Now button.

    Signals:
        retryRequested(): the person pressed Retry Now.
    """

    retryRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("offlineStrip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 6)
        top = QHBoxLayout()
        icon = QLabel(self)
        icon.setPixmap(state_icon("offline").pixmap(16, 16))
        self.title = QLabel("<b>Offline</b>", self)
        self.retry_button = QPushButton("Retry &Now", self)
        self.retry_button.setAutoDefault(False)
        self.retry_button.clicked.connect(self.retryRequested.emit)
        top.addWidget(icon)
        top.addWidget(self.title, 1)
        top.addWidget(self.retry_button)
        outer.addLayout(top)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        outer.addWidget(self.label)
        self.hide()

    def set_text(self, text: str, *, forced: bool) -> None:
        self.title.setText("<b>Working offline</b>" if forced else "<b>Offline</b>")
        self.label.setText(text)
        self.retry_button.setText("Go &Online" if forced else "Retry &Now")


class OfflineMonitor(QObject):
    """Watches the session's service while it is offline, and sends the queue when it is back.

    While offline (not by the person's choice), it calls `check_online()` off the GUI thread after 2, 4, 8,
    16, 30 and then every 60 seconds; "Retry Now" tries at once. Once the store answers, the queued
    changes are sent — by one pass at a time: a second request while one runs waits for it — and the
    outcome is told (conflicts in the banner too), and the views are refreshed.

    Args:
        refresh: reloads the project list and the open project (after a send changed the server).

    Attributes:
        strip: the notice above the project list (the window places it).
        offline: the monitor's view of the connection.
        last_outcome: what the latest send did.

    Signals:
        flushed(FlushOutcome): the queue was sent.
        tipChanged(str): the connection indicator's tooltip.
        workOfflineChanged(bool): the person's Work Offline choice changed (here or by Go Online).
    """

    flushed = Signal(object)
    tipChanged = Signal(str)
    workOfflineChanged = Signal(bool)

    def __init__(
        self,
        session: Session,
        feedback: Feedback,
        refresh: Callable[[], Awaitable[None]],
        parent: QObject | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.feedback = feedback
        self._refresh = refresh
        self._clock = clock
        self.offline = False
        self.last_outcome: FlushOutcome | None = None
        self._attempt = 0
        self._due = 0.0
        self._before: list[Pair] = []
        self._conflicts_before: set[Pair] = set()
        self._sending: asyncio.Task[None] | None = None
        self._retry_timer = QTimer(self)
        self._retry_timer.setSingleShot(True)
        self._retry_timer.timeout.connect(lambda: self.retry_now())
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._update_text)
        self.strip = OfflineStrip()
        self.strip.retryRequested.connect(self._on_retry_requested)
        session.offlineChanged.connect(self.on_offline_changed)
        session.snapshotChanged.connect(self.on_snapshot)

    # the error sink and task keeper `handler` looks for
    def report_error(self, error: BaseException) -> None:
        self.feedback.report_error(error)

    def adopt_task(self, task: asyncio.Task[None]) -> None:
        self.session.adopt_task(task)

    def _forced(self) -> bool:
        service = self.session.service
        return service is not None and service.forced_offline

    # ---- what the session tells us -----------------------------------------------------------------

    def on_offline_changed(self, offline: bool) -> None:
        """The service went offline or came back (on the GUI thread)."""
        if self.session.closing:
            return
        self.session.set_connection(Connection.OFFLINE if offline else Connection.ONLINE)
        if offline == self.offline:
            if offline:
                self._show()
            return
        self.offline = offline
        if offline:
            self._enter_offline()
        else:
            self._back_online()

    def on_snapshot(self, snap: SyncSnapshot) -> None:
        """The periodic status (no network): remember what is queued, to tell what was sent later."""
        if snap.offline:
            self._before = list(snap.pending)
            self._conflicts_before = set(snap.conflicts)
            if not self.offline:
                self.on_offline_changed(True)
        elif self.offline:
            self.on_offline_changed(False)

    def service_ready(self) -> None:
        """A store was opened: show its state; changes queued in an earlier session are sent now."""
        service = self.session.service
        self._retry_timer.stop()
        self.offline = False
        if service is not None and service.is_offline:
            self.on_offline_changed(True)
            return
        self._countdown.stop()
        self.strip.hide()
        self.send_queue(quiet_when_empty=True)

    # ---- offline ------------------------------------------------------------------------------------

    def _enter_offline(self) -> None:
        self._attempt = 0
        self.feedback.notify("Offline: cached projects stay available; saves wait to be uploaded.", timeout_ms=10000)
        self._schedule()
        self._show()

    def _schedule(self) -> None:
        self._retry_timer.stop()
        if self._forced() or self.session.service is None:
            self._due = 0.0
            return
        delay = RETRY_DELAYS[min(self._attempt, len(RETRY_DELAYS) - 1)]
        self._due = self._clock() + delay
        self._retry_timer.start(int(delay * 1000))
        self._countdown.start()

    def seconds_to_retry(self) -> float:
        return max(0.0, self._due - self._clock()) if self._retry_timer.isActive() else 0.0

    def _show(self) -> None:
        self.strip.show()
        self._update_text()

    def _update_text(self) -> None:
        if not self.offline:
            self._countdown.stop()
            return
        forced = self._forced()
        if forced:
            text = "Nothing is sent or fetched until you go online; cached projects and files stay available."
            tip = "Working offline (Store ▸ Work Offline)"
        else:
            wait = self.seconds_to_retry()
            when = f"Next try in {wait:.0f} s." if wait >= 1 else "Trying now…"
            text = f"Cached projects and files stay available and editable; saves wait to be uploaded. {when}"
            tip = f"The store cannot be reached; {when[0].lower()}{when[1:]}"
        self.strip.set_text(text, forced=forced)
        self.tipChanged.emit(tip)

    def _on_retry_requested(self) -> None:
        if self._forced():
            self.set_work_offline(False)
        else:
            self.retry_now()

    @handler
    async def retry_now(self) -> None:
        """Try the store now (the retry timer and Retry Now); on success the queue is sent."""
        service = self.session.service
        if service is None or not self.offline or self._forced():
            return
        self._retry_timer.stop()
        self._due = 0.0
        self._update_text()
        before, conflicts = await self.session.tasks.call(pending_and_conflicts, service)
        self._before, self._conflicts_before = before, conflicts
        online = await self.session.tasks.call(service.check_online)
        if not self.session.is_current(service):
            return
        if online:
            self.on_offline_changed(False)  # also reported by the service's own signal; the second is ignored
        else:
            self._attempt += 1
            self._schedule()
            self._update_text()

    # ---- the person's choice ------------------------------------------------------------------------

    @handler
    async def set_work_offline(self, offline: bool) -> None:
        """Store ▸ Work Offline (and the strip's Go Online): nothing is sent or fetched until going online."""
        service = self.session.require_service()
        if offline:
            await self.session.tasks.call(service.go_offline)
            self.feedback.notify("Working offline: nothing is sent until you go online again.")
        else:
            self.feedback.notify("Going online…", timeout_ms=0)
            online = await self.session.tasks.call(service.go_online)
            self.on_offline_changed(not online)
        self.workOfflineChanged.emit(service.forced_offline)

    # ---- back online --------------------------------------------------------------------------------

    def _back_online(self) -> None:
        self._retry_timer.stop()
        self._countdown.stop()
        self.strip.hide()
        self.tipChanged.emit(Connection.ONLINE.tip)
        if self.session.service is None:
            return
        self.feedback.notify("Back online: sending queued changes…", timeout_ms=0)
        self.send_queue(prefix="Back online: ")

    @handler
    async def send_queue(self, prefix: str = "", *, quiet_when_empty: bool = False) -> None:
        """Send what is queued now and say what happened (also Store ▸ Send Queued Changes). One pass at
        a time: asked again while one runs, this waits for it instead of telling the same sends twice."""
        running = self._sending
        if running is not None and not running.done():
            await asyncio.shield(running)
            return
        self._sending = asyncio.ensure_future(self._send(prefix, quiet_when_empty))
        self.session.adopt_task(self._sending)  # closing the window cancels it
        await asyncio.shield(self._sending)

    async def _send(self, prefix: str, quiet_when_empty: bool) -> None:
        session = self.session
        service = session.service
        if service is None:
            return
        before, conflicts = list(self._before), set(self._conflicts_before)
        if not before:
            before, conflicts = await session.tasks.call(pending_and_conflicts, service)
            if not before and quiet_when_empty:
                return
        outcome: FlushOutcome = await session.tasks.call(flush_and_compare, service, before, conflicts)
        self._before, self._conflicts_before = [], set()
        self.last_outcome = outcome
        if session.is_current(service) and not outcome.offline:
            await self._refresh()  # first: its own status messages would hide ours
        sentence = outcome.sentence()
        self.feedback.notify(prefix + (sentence[0].lower() + sentence[1:] if prefix else sentence), timeout_ms=15000)
        if outcome.conflicts:
            paths = ", ".join(path for _, path in outcome.conflicts[:3])
            self.feedback.announce(
                "Changed in two places",
                f"{paths} changed on the server while you edited offline: both versions were kept. "
                "Use Project ▸ Resolve Conflicts to compare them and choose.",
                WARNING,
            )
        elif outcome.sent or outcome.failed:
            self.feedback.announce(prefix.strip(" :") or "Queued changes", sentence, INFO, timeout_ms=15000)
        self.flushed.emit(outcome)
