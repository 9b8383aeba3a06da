"""Atomic writes: the target holds either the old content or the new, and no temp file is left."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from projectdesk.storage.atomic import TEMP_PREFIX, atomic_target, copy_atomic, write_atomic


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_write_creates_parents_and_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.bin"
    assert write_atomic(target, b"hello") == 5
    assert target.read_bytes() == b"hello"
    assert _leftovers(target.parent) == []


def test_write_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_bytes(b"old content that is longer than the new one")
    assert write_atomic(target, [b"new ", b"", b"data"]) == 8
    assert target.read_bytes() == b"new data"
    assert _leftovers(tmp_path) == []


def test_chunk_iterator_failing_midway_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_bytes(b"precious old content")

    def chunks() -> Iterator[bytes]:
        yield b"partial "
        yield b"new "
        raise ConnectionResetError("network dropped mid-download")

    with pytest.raises(ConnectionResetError):
        write_atomic(target, chunks())
    assert target.read_bytes() == b"precious old content"
    assert _leftovers(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_failure_on_new_file_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new.txt"

    def chunks() -> Iterator[bytes]:
        yield b"x"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, chunks())
    assert list(tmp_path.iterdir()) == []


def test_atomic_target_error_removes_temp(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_target(target) as temp:
        temp.write_text("half")
        assert temp.parent == tmp_path
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_copy_atomic_streams_in_chunks(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    target = tmp_path / "copy.bin"
    assert copy_atomic(io.BytesIO(data), target, chunk_size=4096) == len(data)
    assert target.read_bytes() == data
    assert _leftovers(tmp_path) == []
