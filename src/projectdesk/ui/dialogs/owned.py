"""Dialogs whose background work ends with them: tasks a dialog starts are cancelled when it closes, so
nothing touches its widgets after Qt has deleted them."""

from __future__ import annotations

import asyncio
from typing import Any


class OwnsTasks:
    """Mixin for a QDialog: `handler` hands it every task (`adopt_task`); `done()` cancels them.

    Put it before QDialog in the bases so its `done` runs first.
    """

    def adopt_task(self, task: asyncio.Task[Any]) -> None:
        owned: set[asyncio.Task[Any]] = self.__dict__.setdefault("_owned_tasks", set())
        owned.add(task)
        task.add_done_callback(owned.discard)

    def cancel_tasks(self) -> None:
        current = asyncio.current_task() if _loop_running() else None
        for task in list(self.__dict__.get("_owned_tasks", ())):
            if task is not current:
                task.cancel()

    def done(self, result: int) -> None:
        self.cancel_tasks()
        super().done(result)  # type: ignore[misc]


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
