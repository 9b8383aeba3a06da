"""Atomic file writes: a temp file in the target's folder, fsync, then `os.replace`.

A crash at any moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = ".pd-tmp-"


@contextlib.contextmanager
def atomic_target(target: Path) -> Iterator[Path]:
    """Yield a temp path beside `target`; on success it replaces `target`, on error it is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_atomic(target: Path, data: bytes | Iterable[bytes]) -> int:
    """Write `data` (bytes or chunks) to `target` atomically; returns the byte count."""
    written = 0
    with atomic_target(target) as temp, open(temp, "wb") as handle:
        for chunk in [data] if isinstance(data, bytes) else data:
            handle.write(chunk)
            written += len(chunk)
    return written


def copy_atomic(source: BinaryIO, target: Path, chunk_size: int = 1024 * 1024) -> int:
    return write_atomic(target, iter(lambda: source.read(chunk_size), b""))


def copy_replace(source: Path | BinaryIO, target: Path) -> None:
    """Copy `source` (a path or an open binary file) over `target` in one step — a temp file beside it,
    renamed — without an fsync: for bulk copies of what can be fetched again, where an fsync per file
    would cost more than the copy (git checkout, rsync and s5cmd do the same)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
    try:
        if isinstance(source, Path):
            os.close(fd)
            shutil.copyfile(source, temp_name)  # sendfile/copy_file_range: the kernel copies
        else:
            with open(fd, "wb") as out:
                shutil.copyfileobj(source, out)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
