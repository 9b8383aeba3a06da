"""A write-only, non-seekable byte sink whose bytes become the parts of one multipart upload.

Bytes written are cut into parts of `part_size` (the last may be smaller); each full part is handed to one
uploader thread through a queue of one, so memory stays at about three parts whatever the total: the part
being filled, the one waiting, the one on the wire. `finish()` sends the rest and completes the upload;
`abort()` (also on any failure of `finish`) stops the uploader and aborts the upload, so nothing half-made
stays on the server. The store supplies the three calls (storage/s3.py); this module knows no SDK.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence

from projectdesk.core.errors import Cancelled, ProjectDeskError, StorageError

log = logging.getLogger(__name__)

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's least size of every part but the last
MAX_PARTS = 10_000  # S3's most parts of one upload
_WAIT = 0.1  # seconds between looks at the uploader's health while a queue is full

UploadPart = Callable[[int, bytes], str]  # (part number from 1, bytes) -> the part's ETag
Complete = Callable[[Sequence[tuple[int, str]]], str]  # [(number, etag)] -> the object's ETag
Abort = Callable[[], None]


class MultipartWriter:
    """`write()` bytes, then `finish()` (or `abort()`); usable as the file of a `zipfile.ZipFile`.

    Attributes:
        size: bytes written so far.
        parts: parts sent so far.
    """

    def __init__(self, upload_part: UploadPart, complete: Complete, abort: Abort, *, part_size: int, what: str) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"parts must be at least {MIN_PART_SIZE} bytes")
        self._upload_part = upload_part
        self._complete = complete
        self._abort = abort
        self._part_size = part_size
        self._what = what
        self._buffer = bytearray()
        self._queue: queue.Queue[tuple[int, bytes] | None] = queue.Queue(maxsize=1)
        self._etags: dict[int, str] = {}
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._next_part = 1
        self._closed = False
        self.size = 0
        self._thread = threading.Thread(target=self._run, name="multipart-upload", daemon=True)
        self._thread.start()

    @property
    def parts(self) -> int:
        return len(self._etags)

    # ---- file-like: zipfile asks for write and flush only (no tell/seek: it writes data descriptors) ----------

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            if self._stop.is_set():
                return len(data)  # aborted: what a caller's own clean-up still writes goes nowhere
            raise ValueError("write to a finished upload")
        self._raise_failure()
        view = memoryview(data)
        count = len(view)
        self._buffer += view
        self.size += count
        while len(self._buffer) >= self._part_size:
            with memoryview(self._buffer) as whole:
                part = bytes(whole[: self._part_size])  # one copy (a bytearray slice would be a second)
            del self._buffer[: self._part_size]
            self._send(part)
        return count

    def flush(self) -> None:
        self._raise_failure()

    # ---- the end ----------------------------------------------------------------------------------------

    def finish(self) -> str:
        """Send what is left as the last part and complete the upload; returns the object's ETag. On any
        failure the upload is aborted and the error raised."""
        if self._closed:
            raise ValueError("the upload is finished already")
        try:
            if self._buffer or self._next_part == 1:
                self._send(bytes(self._buffer))
                self._buffer.clear()
            self._put(None)
            self._thread.join()
            self._raise_failure()
            self._closed = True
            return self._complete(sorted(self._etags.items()))
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Stop sending and abort the upload (its parts are dropped by the server); later writes are dropped.
        Safe to call twice."""
        if self._closed and self._stop.is_set():
            return
        self._closed = True
        self._stop.set()
        self._buffer.clear()
        while True:  # unblock an uploader waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()
        try:
            self._abort()
        except ProjectDeskError as exc:  # the lifecycle rule or the next cleanup removes it
            log.warning("could not abort the multipart upload of %s: %s", self._what, exc)

    # ---- the uploader --------------------------------------------------------------------------------

    def _send(self, part: bytes) -> None:
        number = self._next_part
        if number > MAX_PARTS:
            limit = f"{MAX_PARTS:,} parts of {self._part_size:,} bytes"
            raise StorageError(f"{self._what} is too large for one upload ({limit}).")
        self._next_part += 1
        self._put((number, part))

    def _put(self, item: tuple[int, bytes] | None) -> None:
        while True:
            self._raise_failure()
            try:
                self._queue.put(item, timeout=_WAIT)
                return
            except queue.Full:
                continue

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error
        if self._stop.is_set():
            raise Cancelled(f"{self._what}: the upload was stopped.")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=_WAIT)
            except queue.Empty:
                continue
            if item is None:
                return
            number, data = item
            try:
                self._etags[number] = self._upload_part(number, data)
            except BaseException as exc:  # handed to the writing thread, which aborts
                self._error = exc
                return
