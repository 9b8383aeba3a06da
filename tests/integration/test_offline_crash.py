"""A process killed with SIGKILL while it writes cached files and index rows leaves a consistent cache.

The child saves local edits, stores downloaded copies, deletes and evicts in a loop, with files big
enough (192 KB) that a kill often lands inside a write. Each file's content names its path and a
version, repeated to a fixed length, so a half-written file is recognisable. After every kill the
cache is reopened (recovery runs) and checked: no temp files, every copy the index describes is on
disk with the recorded SHA-256 and is one whole version, no file the index does not know, and the
outbox matches the dirty files.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from projectdesk.cache.index import BLOB_STATES, DIRTY
from projectdesk.cache.store import CacheStore
from projectdesk.storage.atomic import TEMP_PREFIX

SIZE = 192 * 1024
SLUG = "crash-00001"

CHILD = textwrap.dedent(
    """
    import hashlib, sys
    from pathlib import Path
    from projectdesk.cache.store import CacheStore
    from projectdesk.core.models import FileEntry

    SIZE = %(size)d
    store = CacheStore(Path(sys.argv[1]), "crash", "anonymous")

    def body(path, version):
        unit = f"{path}|{version}|".encode()
        return (unit * (SIZE // len(unit) + 1))[:SIZE]

    round_no = int(sys.argv[2]) * 1000
    print("ready", flush=True)
    while True:
        round_no += 1
        for k in range(24):
            path = f"dir{k %% 4}/file{k}.bin"
            data = body(path, round_no)
            if k %% 3 == 0:
                store.save("%(slug)s", path, data)
            elif k %% 3 == 1:
                store.store_remote("%(slug)s", FileEntry(path, SIZE, hashlib.md5(data).hexdigest(), 0.0), data)
            elif round_no %% 2:
                store.delete("%(slug)s", path)
            else:
                store.save("%(slug)s", path, data)
        store.evict(cap_bytes=SIZE * 12)
        print(round_no, flush=True)
    """
) % {"size": SIZE, "slug": SLUG}


def _whole_version(path: str, data: bytes) -> bool:
    prefix = f"{path}|".encode()
    if len(data) != SIZE or not data.startswith(prefix):
        return False
    version = data[len(prefix) :].split(b"|", 1)[0].decode()
    unit = f"{path}|{version}|".encode()
    return data == (unit * (SIZE // len(unit) + 1))[:SIZE]


def _check_consistent(root: Path) -> tuple[int, bool]:
    store = CacheStore(root, "crash", "anonymous")
    try:
        assert store.recovery.ran
        project = store.blobs.project_dir("anonymous", SLUG)
        on_disk = (
            {p.relative_to(project).as_posix(): p for p in project.rglob("*") if p.is_file()}
            if project.exists()
            else {}
        )
        assert not [name for name in on_disk if Path(name).name.startswith(TEMP_PREFIX)]
        rows = [row for row in store.files(SLUG) if row.state in BLOB_STATES]
        described = {row.path for row in rows}
        assert set(on_disk) == described, "files on disk and copies in the index differ"
        for row in rows:
            data = on_disk[row.path].read_bytes()
            assert hashlib.sha256(data).hexdigest() == row.blob_sha256, row.path
            assert len(data) == row.blob_size
            assert _whole_version(row.path, data), f"{row.path} is not one whole version"
            assert row.pending_sha256 is None
        queued = {item.path: item.op for item in store.pending()}
        dirty = {row.path for row in rows if row.state == DIRTY}
        assert {p for p, op in queued.items() if op == "put"} == dirty
        assert not list(store.blobs.staging_dir.glob("*")) if store.blobs.staging_dir.exists() else True
        return len(rows), store.recovery.repaired
    finally:
        store.close()


@pytest.mark.parametrize("delays", [(0.05, 0.15, 0.3, 0.45, 0.6, 0.8)])
def test_sigkill_during_cache_writes_leaves_index_and_files_in_agreement(
    tmp_path: Path, delays: tuple[float, ...]
) -> None:
    root = tmp_path / "cache"
    rng = random.Random(4)
    seen_rows = 0
    repairs = 0
    for attempt, base_delay in enumerate(delays):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root), str(attempt)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
        time.sleep(base_delay + rng.random() * 0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL, "the child ended before it was killed"
        rows, repaired = _check_consistent(root)
        seen_rows += rows
        repairs += repaired
    assert seen_rows > 0  # the child got far enough to write something
    assert repairs > 0  # and some kills landed inside an operation, which recovery then repaired
