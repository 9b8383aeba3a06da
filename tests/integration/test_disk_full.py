"""A full disk is said as such: 'The disk holding <folder> is full (needed N MB more)' and exit 1; a pull whose
files the offline cache could not take says so and exits 2 (issue: hostile and unusual input).

Full disks are simulated where the OS reports them (OSError ENOSPC from `os.pwrite`, `write()`, `os.replace`,
the cache's copy), so these tests run anywhere. Where a small tmpfs can be mounted (root, outside a locked-down
container) real full disks are tested too; elsewhere those are skipped, saying why.


"""

from __future__ import annotations

import builtins
import errno
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from projectdesk.cache import blobs
from projectdesk.cache.store import CacheStore
from projectdesk.config.paths import Paths
from projectdesk.core.errors import StorageError
from projectdesk.core.models import FileEntry
from projectdesk.storage import atomic, crt
from projectdesk.storage import s3 as s3_module
from projectdesk.storage.errors import DiskFull, translate
from projectdesk.storage.local import LocalRepository
from projectdesk.storage.transfer import run_parallel
from tests.conftest import make_tree, tree_bytes
from tests.integration.test_cli import Runner, _slug_from

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

NO_SPACE = os.strerror(errno.ENOSPC)
BIG = crt.RANGED_THRESHOLD + 1024 * 1024  # fetched as ranged GETs written with os.pwrite
SMALL_FILES = {f"src/m{i}.py": f"print({i})\n".encode() * 40 for i in range(6)}


def _enospc(*names: str) -> OSError:
    """ENOSPC as the OS raises it: from os.replace naming both files, from write() naming none."""
    return OSError(errno.ENOSPC, NO_SPACE, *names)


def _disk_full(folder: Path) -> str:
    """The start of the sentence for a full disk under `folder` (the room needed may follow)."""
    return f"The disk holding {folder} is full"


def _under(path: Any, folder: Path) -> bool:
    return Path(os.fsdecode(path)).resolve().is_relative_to(folder.resolve())


class _NoRoom:
    """An open file on a full disk: every write() fails with ENOSPC (naming no file, as the OS does)."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def write(self, data: bytes) -> int:
        raise _enospc()

    def __enter__(self) -> _NoRoom:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def _full_open(full: Callable[[Path], bool]) -> Callable[..., Any]:
    """`open` whose files opened for writing where `full(path)` are on a full disk."""

    def fake(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = builtins.open(file, mode, *args, **kwargs)  # noqa: SIM115 - handed to the caller
        if isinstance(file, (str, Path)) and ("w" in mode or "x" in mode) and full(Path(file)):
            return _NoRoom(handle)
        return handle

    return fake


def _replace_full_under(monkeypatch: pytest.MonkeyPatch, folder: Path, full: list[bool]) -> list[str]:
    """os.replace into `folder` fails with ENOSPC while `full[0]` (a rename that needs a new directory
    block); returns the targets refused."""
    real = os.replace
    refused: list[str] = []

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        if full[0] and _under(dst, folder):
            refused.append(os.fsdecode(dst))
            raise _enospc(os.fsdecode(src), None, os.fsdecode(dst))  # type: ignore[arg-type]
        real(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return refused


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.startswith(atomic.TEMP_PREFIX)]


# ---- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def local_run(isolated_dirs: Paths, capsys: pytest.CaptureFixture[str]) -> Runner:
    """The CLI on the default local-folder store."""
    return Runner(isolated_dirs, capsys, None)


@pytest.fixture
def weed(
    seaweed: SeaweedServer, isolated_dirs: Paths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Runner:
    """The CLI on a fresh bucket of the shared SeaweedFS server (files up to 64 MB)."""
    runner = Runner(isolated_dirs, capsys, None)
    bucket = f"full-{uuid.uuid4().hex[:12]}"
    seaweed.create_bucket(bucket)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    runner("profiles", "add", "weed", "--endpoint-url", seaweed.endpoint_url, "--region", "us-east-1",
           "--bucket", bucket, "--path-style", "--max-file-mb", "64", "--default")  # fmt: skip
    runner.profile = "weed"
    return runner


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[Path, str], Path]]:
    """Mounts a tmpfs of a given size at a folder (skips where that is not permitted); unmounted after."""
    mounted: list[Path] = []

    def mount(folder: Path, size: str) -> Path:
        if not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("a real full disk needs a tmpfs mount: Linux, root and mount(8) (the simulated tests run)")
        folder.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            pytest.skip(f"mounting a tmpfs is not permitted here ({proc.stderr.strip()}); the simulated tests run")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _push(run: Runner, root: Path, files: dict[str, bytes]) -> str:
    out, _ = run("push", str(make_tree(root, files)))
    return _slug_from(out)


# ---- pulls into a full disk: exit 1, the folder named ------------------------------------------------


@pytest.mark.parametrize("engine", ["crt", "boto3"])
def test_pull_into_a_full_disk_names_its_folder_and_fails(
    weed: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, engine: str
) -> None:
    monkeypatch.setenv(crt.ENGINE_ENV, engine)
    files = {**SMALL_FILES, "assets/big.bin": os.urandom(BIG)}
    slug = _push(weed, tmp_path / "Full Disk", files)
    dest = tmp_path / "pulled"
    full = [True]
    calls: list[Any] = []
    if engine == "crt":  # the ranged download's os.pwrite: before, "The server refused the request: HTTP 206"
        real_pwrite = os.pwrite

        def pwrite(fd: int, data: Any, offset: int) -> int:
            if full[0]:
                calls.append(offset)
                raise _enospc()
            return real_pwrite(fd, data, offset)

        monkeypatch.setattr(os, "pwrite", pwrite)
    else:  # boto3 writes a temp file and renames it into place
        calls = _replace_full_under(monkeypatch, dest / "assets", full)

    _, err = weed("pull", slug, str(dest), expect=1)
    assert calls, f"the {engine} download path was not taken"
    assert f"warning: assets/big.bin: {_disk_full(dest / 'assets')}" in err, err
    assert "refused" not in err and "HTTP" not in err and "CrtTransferError" not in err
    assert tree_bytes(dest) == SMALL_FILES and _leftovers(dest) == []

    full[0] = False  # room made: the same pull brings the rest
    weed("pull", slug, str(dest))
    assert tree_bytes(dest) == files


@pytest.mark.parametrize("engine", ["crt", "boto3"])
def test_small_files_written_into_a_full_disk_name_its_folder(
    weed: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, engine: str
) -> None:
    """write() failing, as on a real full disk (the CRT's in-memory files, boto3's streamed bodies)."""
    monkeypatch.setenv(crt.ENGINE_ENV, engine)
    files = {"readme.md": b"# hi\n", "src/app.py": b"print(1)\n" * 100}
    slug = _push(weed, tmp_path / "Small Files", files)
    dest = tmp_path / "pulled"
    dest.mkdir()
    fake = _full_open(lambda path: _under(path, dest / "src"))
    monkeypatch.setattr(s3_module, "open", fake, raising=False)
    monkeypatch.setattr(atomic, "open", fake, raising=False)
    _, err = weed("pull", slug, str(dest), expect=1)
    assert re.search(rf"^warning: src/app\.py: {re.escape(_disk_full(dest / 'src'))}[ .]", err, re.M), err


# ---- the local-folder store -------------------------------------------------------------------------


def test_push_to_a_local_store_on_a_full_disk_names_its_folder(
    local_run: Runner, isolated_dirs: Paths, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = isolated_dirs.local_store / "projects"
    full = [True]
    refused = _replace_full_under(monkeypatch, store / "anonymous", full)
    folder = make_tree(tmp_path / "Local Full", {"notes/a.txt": b"a", "notes/b.txt": b"b"})
    _, err = local_run("push", str(folder), expect=1)
    assert refused
    # each file fails, then the manifest, which ends the push with one sentence naming the project's folder
    project = re.escape(f"{store}/anonymous/") + r"local-full-\d+"
    assert re.search(rf"^projectdesk-cli: error: The disk holding {project} is full\.$", err, re.M), err
    assert "Errno" not in err and "No space left" not in err

    full[0] = False
    out, _ = local_run("push", str(folder))
    slug = _slug_from(out)
    assert tree_bytes(store / "anonymous" / slug) == {"notes/a.txt": b"a", "notes/b.txt": b"b"} | {
        ".projectdesk.json": (store / "anonymous" / slug / ".projectdesk.json").read_bytes()
    }


def test_local_store_os_errors_name_the_full_disk(tmp_path: Path) -> None:
    repo = LocalRepository(tmp_path / "store")
    target = tmp_path / "store" / "projects" / "anonymous" / "p-00001" / "a.txt"
    with pytest.raises(DiskFull, match=re.escape(_disk_full(target.parent))), repo._os_errors("p-00001/a.txt"):
        raise _enospc(str(target.parent / ".pd-tmp-1"), None, str(target))  # type: ignore[arg-type]
    with pytest.raises(DiskFull, match=re.escape(_disk_full(target.parent))), repo._os_errors("x", target):
        raise _enospc()  # write(): no file name, the target's folder
    unnamed = r"The disk being written to is full \(p-00001/a\.txt\)\."
    with pytest.raises(DiskFull, match=unnamed), repo._os_errors("p-00001/a.txt"):
        raise _enospc()
    with pytest.raises(StorageError, match=r"^x: Permission denied$"), repo._os_errors("x", target):
        raise PermissionError(errno.EACCES, "Permission denied")


def test_local_store_write_failing_in_write_names_its_folder(
    local_run: Runner, isolated_dirs: Paths, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = isolated_dirs.local_store / "projects"
    full = _full_open(lambda path: _under(path, store) and path.parent.name == "notes")  # the manifest has room
    monkeypatch.setattr(atomic, "open", full, raising=False)
    _, err = local_run("push", str(make_tree(tmp_path / "Write Full", {"notes/a.txt": b"a", "b.txt": b"b"})), expect=1)
    project = re.escape(f"{store}/anonymous/") + r"write-full-\d+"
    assert re.search(rf"^warning: notes/a\.txt: The disk holding {project}/notes is full\.$", err, re.M), err


# ---- units: the CRT's errors, the transfer driver ---------------------------------------------------


def _engine() -> crt.CrtTransfers:
    return crt.CrtTransfers(None, None, None, "us-east-1", "http://127.0.0.1:9", body_checksums=False)  # type: ignore[arg-type]


def _sentence(error: crt.CrtError) -> str:
    return translate(error.botocore_error, bucket="b", endpoint="http://127.0.0.1:9", what="p/x.bin").message


def test_crt_no_space_becomes_a_full_disk_naming_the_file_s_folder(tmp_path: Path) -> None:
    from awscrt.exceptions import AwsCrtError
    from awscrt.s3 import S3ResponseError

    temp = str(tmp_path / "sub" / ".pd-tmp-1")
    # the CRT writing a recv_filepath: the response was a 200, the failure is the disk's
    error = S3ResponseError(code=1, name="AWS_ERROR_NO_SPACE", message="no space", status_code=200, headers=[])
    mapped = _engine()._error(error, {"status_code": 200}, temp)
    assert isinstance(mapped.botocore_error, OSError) and mapped.botocore_error.errno == errno.ENOSPC
    assert mapped.botocore_error.filename == temp
    assert _sentence(mapped) == f"{_disk_full(tmp_path / 'sub')}."
    unnamed = _engine()._error(AwsCrtError(1, "AWS_ERROR_NO_SPACE", "no space"), {})
    assert _sentence(unnamed) == "The disk being written to is full (p/x.bin)."
    assert not mapped.cancelled and not unnamed.cancelled


def test_crt_callback_os_errors_pass_through_before_the_status(tmp_path: Path) -> None:
    temp = str(tmp_path / ".pd-tmp-2")
    # os.pwrite in a ranged GET's on_body: the response was a 206, never "the server refused the request"
    mapped = _engine()._error(_enospc(), {"status_code": 206}, temp)
    assert isinstance(mapped.botocore_error, OSError) and mapped.botocore_error.filename == temp
    assert _sentence(mapped) == f"{_disk_full(tmp_path)}."
    other = _engine()._error(OSError(errno.EIO, "Input/output error"), {"status_code": 206}, temp)
    assert isinstance(other.botocore_error, OSError) and other.botocore_error.errno == errno.EIO
    named = OSError(errno.ENOSPC, NO_SPACE, "/elsewhere/file")
    assert _engine()._error(named, {"status_code": 206}, temp).botocore_error is named
    body = b"<Error><Code>AccessDenied</Code></Error>"
    refused = _engine()._error(RuntimeError("x"), {"status_code": 403, "error_body": body}, temp)
    assert "AccessDenied" in str(refused.botocore_error)  # HTTP failures as before


def test_transfer_driver_says_a_full_disk(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()

    def work(item: str) -> str:
        if item == "named":
            raise _enospc(str(tmp_path / "d" / ".pd-tmp-3"))
        if item == "unnamed":
            raise _enospc()
        if item == "quota" and hasattr(errno, "EDQUOT"):
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT), str(tmp_path / "d" / "q"))
        if item == "other":
            raise PermissionError(errno.EACCES, "Permission denied", "x")
        return item

    sizes = {"named": 3 * 10**15, "unnamed": 1, "quota": 10**15, "other": 1, "ok": 1}
    result = run_parallel(list(sizes), work, name_of=str, size_of=sizes.__getitem__, workers=2)
    failed = {item: error for item, error in result.failed}
    assert result.done == [("ok", "ok")]
    assert isinstance(failed["named"], DiskFull)
    assert re.fullmatch(rf"{re.escape(_disk_full(tmp_path / 'd'))} \(needed \d+ MB more\)\.", failed["named"].message)
    assert failed["unnamed"].message == "The disk being written to is full (unnamed)."
    if hasattr(errno, "EDQUOT"):
        assert failed["quota"].message.startswith(_disk_full(tmp_path / "d"))
    assert failed["other"].message == "other: Permission denied" and not isinstance(failed["other"], DiskFull)


# ---- the offline cache: a file it could not take is reported, never dropped silently --------------------


def _downloads(folder: Path, count: int, size: int = 2000) -> list[tuple[FileEntry, Path]]:
    files = []
    for i in range(count):
        path = f"d/f{i:03d}.bin"
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bytes([i % 256]) * size)
        files.append((FileEntry(path, size, f"etag{i}", 0.0), target))
    return files


def test_cache_adoption_returns_the_files_it_could_not_take(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CacheStore(tmp_path / "cache", "prof", "anonymous")
    try:
        files = _downloads(tmp_path / "dest", 10)
        full = {"d/f003.bin", "d/f005.bin", "d/f007.bin"}
        real = blobs.BlobStore.link_or_copy

        def link_or_copy(source: Path, target: Path) -> None:  # the cache on another disk, that one full
            if target.relative_to(store.blobs.project_dir("anonymous", "p-00001")).as_posix() in full:
                raise _enospc(str(source), None, str(target.parent / ".pd-tmp-4"))  # type: ignore[arg-type]
            real(source, target)

        monkeypatch.setattr(blobs.BlobStore, "link_or_copy", staticmethod(link_or_copy))
        refused = store.adopt_downloads("p-00001", files, move=False)
        assert {path for path, _ in refused} == full
        folder = store.blobs.project_dir("anonymous", "p-00001") / "d"
        for _, why in refused:
            assert re.fullmatch(rf"{re.escape(_disk_full(folder))}( \(needed \d+ MB more\))?\.", why), why
        cached = {row.path for row in store.files("p-00001") if row.has_blob}
        assert cached == {entry.path for entry, _ in files} - full

        monkeypatch.setattr(blobs.BlobStore, "link_or_copy", staticmethod(lambda s, t: (_ for _ in ()).throw(
            PermissionError(errno.EACCES, "Permission denied"))))  # fmt: skip
        files[0][1].write_bytes(b"new")
        [(path, why)] = store.adopt_downloads(
            "p-00001", [(FileEntry("d/f000.bin", 3, "e2", 0.0), files[0][1])], move=False
        )
        assert path == "d/f000.bin" and why == "Could not write d/f000.bin to the offline cache: Permission denied."
    finally:
        store.close()


def test_cache_index_that_cannot_commit_refuses_every_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CacheStore(tmp_path / "cache", "prof", "anonymous")
    try:
        files = _downloads(tmp_path / "dest", 4)
        real_row = CacheStore._store_row

        def store_row(self: CacheStore, conn: sqlite3.Connection, *args: Any) -> None:
            real_row(self, conn, *args)
            if args[1].path == "d/f002.bin":
                error = sqlite3.OperationalError("database or disk is full")
                error.sqlite_errorcode = sqlite3.SQLITE_FULL
                raise error

        monkeypatch.setattr(CacheStore, "_store_row", store_row)
        refused = store.adopt_downloads("p-00001", files, move=False)
        monkeypatch.undo()
        assert sorted(path for path, _ in refused) == [entry.path for entry, _ in files]  # none recorded
        assert {why for _, why in refused} == {f"{_disk_full(store.index.path.parent)}."}
        assert not any(row.has_blob for row in store.files("p-00001"))
        assert not any((store.blobs.project_dir("anonymous", "p-00001") / "d").glob("f*"))
        assert store.adopt_downloads("p-00001", files, move=False) == []  # the connection is usable again
        assert len([row for row in store.files("p-00001") if row.has_blob]) == 4
    finally:
        store.close()


def test_cache_write_on_a_full_disk_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CacheStore(tmp_path / "cache", "prof", "anonymous")
    try:

        def write_atomic(target: Path, data: bytes) -> int:
            raise _enospc()

        monkeypatch.setattr(blobs, "write_atomic", write_atomic)
        folder = store.blobs.project_dir("anonymous", "p-00001") / "docs"
        with pytest.raises(DiskFull, match=re.escape(_disk_full(folder))):
            store.store_remote("p-00001", FileEntry("docs/a.txt", 3, "x", 0.0), b"abc")
    finally:
        store.close()


def test_pull_whose_cache_disk_is_full_keeps_the_files_and_exits_2(
    weed: Runner, isolated_dirs: Paths, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = {f"docs/f{i:03d}.txt": f"file {i}\n".encode() * 50 for i in range(30)}
    slug = _push(weed, tmp_path / "Cache Full", files)
    cache = isolated_dirs.cache_root
    real = blobs.BlobStore.link_or_copy

    def link_or_copy(source: Path, target: Path) -> None:
        if target.name in ("f003.txt", "f013.txt", "f023.txt"):
            raise _enospc(str(source), None, str(target))  # type: ignore[arg-type]
        real(source, target)

    monkeypatch.setattr(blobs.BlobStore, "link_or_copy", staticmethod(link_or_copy))
    weed("cache", "--clear", slug)
    dest = tmp_path / "pulled"
    _, err = weed("pull", slug, str(dest), expect=2)
    assert tree_bytes(dest) == files
    for name in ("f003", "f013", "f023"):
        assert f"docs/{name}.txt: kept in {dest} but not in the offline cache: The disk holding {cache}" in err, err


# ---- real full disks (a small tmpfs) ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ["crt", "boto3"])
@pytest.mark.parametrize("size", [5 * 1024 * 1024, BIG], ids=["5MB", "17MB"])  # the CRT writes / os.pwrite
def test_real_full_disk_pull(
    weed: Runner,
    small_disk: Callable[[Path, str], Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    engine: str,
    size: int,
) -> None:
    monkeypatch.setenv(crt.ENGINE_ENV, engine)
    source = make_tree(tmp_path / "Real Full", SMALL_FILES)
    slug = _slug_from(weed("push", str(source))[0])
    dest = small_disk(tmp_path / "small", "4m") / "dest"
    weed("pull", slug, str(dest))  # the small files fit
    make_tree(source, {"assets/big.bin": os.urandom(size)})
    weed("push", str(source))
    _, err = weed("pull", slug, str(dest), expect=1)
    assert re.search(rf"^warning: assets/big\.bin: {re.escape(_disk_full(dest / 'assets'))}[ .]", err, re.M), err
    assert tree_bytes(dest) == SMALL_FILES and _leftovers(dest) == []


def test_real_full_cache_disk_refuses_files_by_name(small_disk: Callable[[Path, str], Path], tmp_path: Path) -> None:
    cache_root = small_disk(tmp_path / "cache", "2m")
    store = CacheStore(cache_root, "prof", "anonymous")
    try:
        files = _downloads(tmp_path / "dest", 30, size=100_000)  # 3 MB into 2 MB, copied (another file system)
        refused = store.adopt_downloads("p-00001", files, move=False)
        cached = {row.path for row in store.files("p-00001") if row.has_blob}
        assert refused and {path for path, _ in refused} | cached == {entry.path for entry, _ in files}
        assert not cached & {path for path, _ in refused}
        for _, why in refused:
            assert re.match(rf"The disk holding {re.escape(str(cache_root))}\S* is full", why), why
    finally:
        store.close()


def test_real_full_cache_disk_pull_exits_2(
    weed: Runner,
    isolated_dirs: Paths,
    small_disk: Callable[[Path, str], Path],
    tmp_path: Path,
) -> None:
    files = {f"docs/f{i:03d}.bin": os.urandom(100_000) for i in range(30)}
    slug = _push(weed, tmp_path / "Real Cache Full", files)
    weed("cache", "--clear", slug)
    small_disk(isolated_dirs.cache_root, "2m")  # a fresh cache there, on a disk too small for the project
    dest = tmp_path / "pulled"
    _, err = weed("pull", slug, str(dest), expect=2)
    assert tree_bytes(dest) == files
    assert "but not in the offline cache: The disk holding" in err, err
