"""SHA-256 of local files, streamed, with a small per-folder index so unchanged files are not hashed again.

A re-push compares each file's SHA-256 with the project manifest's. Hashing a 2,000-file project reads
every byte; the index remembers, per pushed folder, each file's (size, mtime_ns, ctime_ns, inode) with
its digest, and a file whose stat still matches is not read again. It lives in one small JSON file per
folder under `data_dir/push-index/` (moved by XDG_DATA_HOME), apart from the offline cache.

Racy files: a file modified within the clock tick of its hashing could keep the same mtime and size.
Entries whose mtime is less than RACY_SECONDS before the hash started are not remembered (git's "racily
clean" rule), so such a file is hashed again next time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
INDEX_VERSION = 1
RACY_SECONDS = 2.0
MAX_INDEXES = 200  # folders remembered; the least recently pushed are forgotten first
PARALLEL_MIN_BYTES = 8 * 1024 * 1024  # below this, threads cost more than they save


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_many(paths: Sequence[Path]) -> list[str | None]:
    """SHA-256 of each file (None where it cannot be read), on a few threads when there is much to read:
    hashlib and file reads release the GIL for large buffers."""

    def one(path: Path) -> str | None:
        try:
            return sha256_file(path)
        except OSError:
            return None

    threads = min(4, os.cpu_count() or 1)
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += os.stat(path).st_size
    if threads > 1 and len(paths) > 1 and total >= PARALLEL_MIN_BYTES:
        with ThreadPoolExecutor(threads, thread_name_prefix="hash") as pool:
            return list(pool.map(one, paths))
    return [one(path) for path in paths]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


Signature = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


def _signature(stat: os.stat_result) -> Signature:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


class HashIndex:
    """Digests of the files of one local folder, valid while their stat signature is unchanged."""

    def __init__(self, root: Path, index_dir: Path | None) -> None:
        self.root = Path(root).resolve()
        self.file: Path | None = None
        self._entries: dict[str, tuple[Signature, str]] = {}
        self._dirty = False
        if index_dir is None:
            return
        name = hashlib.sha1(os.fsencode(self.root), usedforsecurity=False).hexdigest()
        self.file = Path(index_dir) / f"{name}.json"
        self._load()

    def _load(self) -> None:
        assert self.file is not None
        try:
            data = json.loads(self.file.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.info("ignoring an unreadable push index %s: %s", self.file, exc)
            return
        if not isinstance(data, dict) or data.get("version") != INDEX_VERSION or data.get("root") != str(self.root):
            return
        files = data.get("files")
        if not isinstance(files, dict):
            return
        for path, value in files.items():
            if isinstance(value, list) and len(value) == 5 and isinstance(value[4], str):
                with contextlib.suppress(TypeError, ValueError):
                    self._entries[path] = ((int(value[0]), int(value[1]), int(value[2]), int(value[3])), value[4])

    def hashes(self, files: Iterable[tuple[str, Path]], *, workers: int | None = None) -> dict[str, str]:
        """SHA-256 of each (project path, local file): from the index where the file is unchanged."""
        started_ns = time.time_ns()
        result: dict[str, str] = {}
        missing: list[tuple[str, Path, Signature | None]] = []
        missing_bytes = 0
        for path, local in files:
            try:
                signature: Signature | None = _signature(os.stat(local))
            except OSError:
                signature = None
            known = self._entries.get(path)
            if known is not None and signature is not None and known[0] == signature:
                result[path] = known[1]
            else:
                missing.append((path, local, signature))
                missing_bytes += signature[0] if signature else 0
        threads = workers or min(4, os.cpu_count() or 1)
        if threads > 1 and len(missing) > 1 and missing_bytes >= PARALLEL_MIN_BYTES:
            # hashlib and file reads release the GIL for large buffers: big trees hash on every core
            with ThreadPoolExecutor(threads, thread_name_prefix="hash") as pool:
                digests = list(pool.map(lambda entry: sha256_file(entry[1]), missing))
        else:
            digests = [sha256_file(local) for _, local, _ in missing]
        racy_ns = started_ns - int(RACY_SECONDS * 1e9)
        for (path, _, signature), digest in zip(missing, digests, strict=True):
            result[path] = digest
            if signature is not None and signature[1] < racy_ns:
                self._entries[path] = (signature, digest)
                self._dirty = True
        stale = set(self._entries) - set(result)
        for path in stale:  # files no longer in the folder
            del self._entries[path]
            self._dirty = True
        return result

    def save(self) -> None:
        """Write the index if it changed (atomically; a failure only costs re-hashing next time)."""
        if self.file is None or not self._dirty:
            return
        data = {
            "version": INDEX_VERSION,
            "root": str(self.root),
            "files": {path: [*signature, digest] for path, (signature, digest) in self._entries.items()},
        }
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            temp = self.file.with_name(f".{self.file.name}.{os.getpid()}.tmp")
            temp.write_bytes(json.dumps(data, separators=(",", ":")).encode("utf-8"))
            os.replace(temp, self.file)
            self._dirty = False
            _forget_old(self.file.parent)
        except OSError as exc:
            log.info("could not save the push index %s: %s", self.file, exc)


def _forget_old(index_dir: Path) -> None:
    try:
        indexes = sorted(index_dir.glob("*.json"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return
    for old in indexes[:-MAX_INDEXES]:
        with contextlib.suppress(OSError):
            old.unlink()


def hash_files(root: Path, files: Iterable[tuple[str, Path]], index_dir: Path | None) -> dict[str, str]:
    """SHA-256 of each (project path, local file) under `root`, using and updating the folder's index."""
    index = HashIndex(root, index_dir)
    result = index.hashes(files)
    index.save()
    return result
