"""Guard: thousands of signals emitted from worker threads must not crash the interpreter.

PySide6 6.12.0 on Python 3.11 drops a reference to True on every Python-side Signal.emit(); after a
few hundred emits the interpreter aborts ("Fatal Python error: bool_dealloc"). pyproject pins
PySide6 < 6.12 on 3.11; this test fails loudly (the process dies) if that ever regresses.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

from projectdesk.core.models import Progress
from projectdesk.ui.tasks import ProgressRelay, Tasks

COUNT = 5000


class Emitter(QObject):
    fired = Signal(object)
    flag = Signal(bool)


def test_5000_signals_from_a_worker_thread(qtbot: Any) -> None:
    emitter = Emitter()
    received: list[object] = []
    flags: list[bool] = []
    emitter.fired.connect(received.append)
    emitter.flag.connect(flags.append)

    def work() -> None:
        for i in range(COUNT):
            emitter.fired.emit(i)
            emitter.flag.emit(i % 2 == 0)

    thread = threading.Thread(target=work)
    thread.start()
    qtbot.waitUntil(lambda: len(received) == COUNT and len(flags) == COUNT, timeout=30000)
    thread.join()
    assert received == list(range(COUNT))
    assert flags.count(True) == COUNT // 2


def test_progress_relay_coalesces_but_delivers_the_last(qtbot: Any) -> None:
    relay = ProgressRelay()
    seen: list[Progress] = []
    relay.progressed.connect(seen.append)

    def work() -> None:
        for i in range(COUNT):
            relay(Progress(i + 1, COUNT, i + 1, COUNT))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: bool(seen) and seen[-1].files_done == COUNT, timeout=10000)
    assert len(seen) < COUNT  # coalesced: the GUI thread is not flooded
    assert [p.files_done for p in seen] == sorted(p.files_done for p in seen)


def test_5000_executor_completions_through_qasync(qtbot: Any, aloop: asyncio.AbstractEventLoop) -> None:
    tasks = Tasks()

    async def many() -> int:
        results = await asyncio.gather(*(tasks.call(lambda i=i: i * 2) for i in range(COUNT)))
        return sum(results)

    future = asyncio.ensure_future(many())
    qtbot.waitUntil(future.done, timeout=60000)
    tasks.shutdown(wait=True)
    assert future.result() == sum(i * 2 for i in range(COUNT))
