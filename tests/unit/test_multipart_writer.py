"""storage/multipart.py's MultipartWriter on plain functions standing in for the store's three calls: parts cut at
the part size (the last smaller), a zip written through it (unseekable: data descriptors), and a failed part that
ends in an abort and never a completed object."""

from __future__ import annotations

import io
import os
import threading
import zipfile
from collections.abc import Sequence

import pytest

from projectdesk.core.errors import StorageError
from projectdesk.storage.multipart import MIN_PART_SIZE, MultipartWriter

PART = MIN_PART_SIZE


class FakeUpload:
    def __init__(self, fail_at: int = 0) -> None:
        self.parts: dict[int, bytes] = {}
        self.completed: list[tuple[int, str]] | None = None
        self.aborts = 0
        self.fail_at = fail_at
        self.lock = threading.Lock()

    def upload_part(self, number: int, data: bytes) -> str:
        if number == self.fail_at:
            raise StorageError("The server refused the request (part): InternalError.")
        with self.lock:
            self.parts[number] = data
        return f"etag-{number}"

    def complete(self, parts: Sequence[tuple[int, str]]) -> str:
        self.completed = list(parts)
        return "whole-etag"

    def abort(self) -> None:
        self.aborts += 1

    def writer(self) -> MultipartWriter:
        return MultipartWriter(self.upload_part, self.complete, self.abort, part_size=PART, what="the test")

    def body(self) -> bytes:
        return b"".join(self.parts[n] for n in sorted(self.parts))


def test_a_zip_written_through_the_writer_is_cut_into_parts_and_reads_back() -> None:
    upload = FakeUpload()
    writer = upload.writer()
    files = {"big.bin": os.urandom(PART + 123_456), "a/b.txt": b"hello\n" * 1000}
    with zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[call-overload]
        for name, data in files.items():
            with archive.open(zipfile.ZipInfo(name), "w") as member:
                for start in range(0, len(data), 300_000):
                    member.write(data[start : start + 300_000])
    assert writer.finish() == "whole-etag"
    assert upload.completed == [(1, "etag-1"), (2, "etag-2")] and upload.aborts == 0
    assert len(upload.parts[1]) == PART and 0 < len(upload.parts[2]) < PART
    assert writer.size == len(upload.body())
    with zipfile.ZipFile(io.BytesIO(upload.body())) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == files


def test_a_failed_part_aborts_the_upload_and_completes_nothing() -> None:
    upload = FakeUpload(fail_at=2)
    writer = upload.writer()
    with pytest.raises(StorageError, match="InternalError"):
        for _ in range(40):  # part 2 fails in the uploader thread: a later write or finish() raises it
            writer.write(os.urandom(PART // 4))
        writer.finish()
    writer.abort()
    assert upload.completed is None and upload.aborts == 1
    assert writer.write(b"the archive's own clean-up") == 26  # dropped after the abort
    writer.abort()
    assert upload.aborts == 1


def test_parts_below_s3s_minimum_are_refused() -> None:
    upload = FakeUpload()
    with pytest.raises(ValueError, match="at least"):
        MultipartWriter(upload.upload_part, upload.complete, upload.abort, part_size=PART - 1, what="x")
