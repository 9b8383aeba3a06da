"""A one-line progress bar for terminals (nothing is drawn when stderr is not a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

from projectdesk.core.sizes import human_bytes

if TYPE_CHECKING:
    from projectdesk.core.models import Progress


class TerminalProgress:
    def __init__(self, label: str, stream: TextIO | None = None, width: int = 28) -> None:
        self._stream = stream or sys.stderr
        self._label = label
        self._width = width
        self._start = time.monotonic()
        self._enabled = self._stream.isatty()
        self._drawn = False

    def __call__(self, progress: Progress) -> None:
        if not self._enabled:
            return
        fraction = progress.bytes_done / progress.bytes_total if progress.bytes_total else 1.0
        filled = int(fraction * self._width)
        elapsed = max(time.monotonic() - self._start, 1e-6)
        rate = human_bytes(progress.bytes_done / elapsed)
        line = (
            f"\r{self._label} [{'#' * filled}{'.' * (self._width - filled)}] "
            f"{progress.files_done}/{progress.files_total} files  "
            f"{human_bytes(progress.bytes_done)}/{human_bytes(progress.bytes_total)}  {rate}/s"
        )
        self._stream.write(line[:200] + "\x1b[K")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
