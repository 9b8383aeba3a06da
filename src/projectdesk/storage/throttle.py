"""The process's bandwidth: one token bucket per direction, and the pause gate of the window's transfers.

Bytes are charged where they flow: an upload's body as the HTTP connection reads it (`ThrottledBody`),
a download's body as it is read from the response (`ThrottledStream`), a chunk at a time
(`core.bandwidth.chunk_for`: about 1/20 s) so the rate holds over short windows. Every thread and every store of the
process shares `BANDWIDTH`: two transfers at once share the limit.

Pausing (the window's Pause All Transfers) blocks the readers and writers of transfers — work run by
`storage.transfer`'s drivers, which mark their threads with `transfer_scope` — between chunks, holding no
lock. A request paused mid-body keeps its connection; botocore's read timeout does not run while no read
is waiting, and when the server has dropped the connection meanwhile the request fails on resume and is
made again from the start of that file (botocore's retries, `S3Repository._read_body`'s). A transfer
cancelled while paused stops at once (`Cancelled` from the reader). Single requests outside a transfer
(opening a file, saving one, the manifest) are limited but never paused.

The CRT (storage/crt.py) reads files and writes responses in C on its own event loop, which must not
block: it cannot be charged per chunk, so a direction with a limit goes through botocore instead
(`S3Repository._crt`), and a CRT transfer pauses between files only.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from projectdesk.core.bandwidth import BandwidthLimits, TokenBucket, burst_for, chunk_for
from projectdesk.core.errors import Cancelled

UP, DOWN = "up", "down"
_PAUSE_POLL = 0.1  # seconds: how often a paused reader looks at its transfer's cancel event
_local = threading.local()


class Bandwidth:
    """Limits, pause and byte counts for one process (thread-safe). `clock`/`sleep` are for tests."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._limits = BandwidthLimits()
        self._buckets: dict[str, TokenBucket | None] = {UP: None, DOWN: None}
        self._paused = False
        self.moved = {UP: 0, DOWN: 0}  # bytes charged so far (tests and benchmarks read these)

    # ---- settings -----------------------------------------------------------------------------------

    @property
    def limits(self) -> BandwidthLimits:
        return self._limits

    def set_limits(self, limits: BandwidthLimits) -> None:
        with self._cond:
            self._limits = limits
            for direction, rate in ((UP, limits.up), (DOWN, limits.down)):
                bucket = self._buckets[direction]
                if rate <= 0:
                    self._buckets[direction] = None
                elif bucket is None:
                    self._buckets[direction] = TokenBucket(rate, burst_for(rate), self._clock)
                else:
                    bucket.set_rate(rate, burst_for(rate))

    def limit(self, direction: str) -> int:
        return self._limits.up if direction == UP else self._limits.down

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    # ---- charging -----------------------------------------------------------------------------------

    def chunk(self, direction: str) -> int:
        """The most one read should move in `direction` now (unlimited: 1 MiB)."""
        rate = self.limit(direction)
        return chunk_for(rate) if rate else 1024 * 1024

    def wanted(self, direction: str) -> bool:
        """Whether bodies in `direction` need wrapping: a limit, or a transfer that may be paused."""
        return bool(self.limit(direction)) or in_transfer()

    def wait_running(self) -> None:
        """Block while paused, when called inside a transfer; raise Cancelled if its cancel is set meanwhile
        (unpaused, a cancel lets files in flight finish, as before: the drivers stop between files)."""
        with self._cond:
            self._gate()

    def _gate(self) -> None:
        """`wait_running` with the lock held (so no byte is charged once `pause` has returned)."""
        if not getattr(_local, "depth", 0):
            return
        cancel: threading.Event | None = getattr(_local, "cancel", None)
        while self._paused:
            if cancel is not None and cancel.is_set():
                raise Cancelled("Cancelled while paused.")
            self._cond.wait(_PAUSE_POLL)

    def charge(self, direction: str, count: int) -> None:
        """Count `count` bytes in `direction` and wait until the limit allows them (the pause gate first)."""
        with self._cond:
            self._gate()
            bucket = self._buckets[direction]
            delay = bucket.reserve(count) if bucket is not None else 0.0
            self.moved[direction] += count
        on_bytes: Callable[[int], None] | None = getattr(_local, "on_bytes", None)
        if on_bytes is not None and in_transfer():
            on_bytes(count)
        if delay > 0:
            self._sleep(delay)


BANDWIDTH = Bandwidth()


def in_transfer() -> bool:
    return bool(getattr(_local, "depth", 0))


@contextlib.contextmanager
def transfer_scope(cancel: threading.Event | None, on_bytes: Callable[[int], None] | None = None) -> Iterator[None]:
    """Mark the calling thread as doing a transfer's work: its bodies may be paused, `cancel` stops them while
    paused, and `on_bytes(n)` hears of the bytes charged as they move (a file's progress before it ends)."""
    depth = getattr(_local, "depth", 0)
    previous = getattr(_local, "cancel", None), getattr(_local, "on_bytes", None)
    _local.depth = depth + 1
    _local.cancel = cancel if cancel is not None else previous[0]
    _local.on_bytes = on_bytes if on_bytes is not None else previous[1]
    try:
        yield
    finally:
        _local.depth, (_local.cancel, _local.on_bytes) = depth, previous


def caller_scope() -> Callable[[], contextlib.AbstractContextManager[None]]:
    """The calling thread's transfer scope, to enter on the threads it hands its work to (parts of one file)."""
    if not in_transfer():
        return contextlib.nullcontext
    cancel: threading.Event | None = getattr(_local, "cancel", None)
    on_bytes: Callable[[int], None] | None = getattr(_local, "on_bytes", None)
    return lambda: transfer_scope(cancel, on_bytes)


class ThrottledBody(io.RawIOBase):
    """An upload body: `length` bytes of `source` from `start`, charged to UP as the connection reads them.

    Seekable, so botocore can size it, sign it and rewind it for a retry. Reads made while botocore signs
    the payload (plain http: the SHA-256 of the body) are not charged: the body is `arm`ed just before
    the request is sent (a before-send hook, `install_hook`) and disarmed by every seek (a retry rewinds).
    """

    def __init__(self, source: BinaryIO, length: int, start: int = 0, bandwidth: Bandwidth = BANDWIDTH) -> None:
        super().__init__()
        self._source = source
        self._start = start
        self._length = length
        self._position = 0
        self._bandwidth = bandwidth
        self._armed = False
        source.seek(start)

    @classmethod
    def of_bytes(cls, data: bytes, bandwidth: Bandwidth = BANDWIDTH) -> ThrottledBody:
        return cls(io.BytesIO(data), len(data), bandwidth=bandwidth)

    def arm(self) -> None:
        self._armed = True

    def __len__(self) -> int:
        return self._length

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = max(0, min(self._length, base + offset))
        self._source.seek(self._start + self._position)
        self._armed = False
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:  # all of it (as a mock or a signer reads): still charged chunk by chunk
            return b"".join(iter(lambda: self.read(self._length), b""))
        size = min(size, self._length - self._position)
        if size <= 0:
            return b""
        if self._armed:
            size = min(size, self._bandwidth.chunk(UP))
            self._bandwidth.charge(UP, size)
        data = self._source.read(size)
        self._position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    # The source is the caller's (one open file serves every part of a multipart upload): closing the
    # body, as an HTTP library may, leaves it open.


class ThrottledStream:
    """A download's response body, charged to DOWN as it is read (each read at most one chunk)."""

    def __init__(self, body: Any, bandwidth: Bandwidth = BANDWIDTH) -> None:
        self._body = body
        self._bandwidth = bandwidth

    def read(self, size: int | None = None) -> bytes:
        """Up to `size` bytes (all with None), short only at the end, as botocore's StreamingBody reads:
        charged chunk by chunk on the way."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self._read_some(1 << 30), b""))
        parts: list[bytes] = []
        left = size
        while left > 0 and (data := self._read_some(left)):
            parts.append(data)
            left -= len(data)
        return b"".join(parts)

    def _read_some(self, size: int) -> bytes:
        self._bandwidth.wait_running()
        data: bytes = self._body.read(min(size, self._bandwidth.chunk(DOWN)))
        if data:
            self._bandwidth.charge(DOWN, len(data))
        return data

    def close(self) -> None:
        self._body.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._body, name)


def _arm_body(request: Any, **_: Any) -> None:
    body = getattr(request, "body", None)
    if isinstance(body, ThrottledBody):
        body.arm()


_HOOK_ID = "projectdesk-bandwidth"


def install_hook(client: Any) -> None:
    """Register the before-send handler that arms throttled bodies (idempotent; call before threads share
    the client: registering events is not thread-safe)."""
    client.meta.events.register_first("before-send", _arm_body, unique_id=_HOOK_ID)
