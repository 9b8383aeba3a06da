"""CacheStore without a network: saves and the outbox, recovery after crashes, eviction, hostile keys."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from projectdesk.cache.blobs import BlobStore
from projectdesk.cache.index import CLEAN, CONFLICT, DIRTY, REMOTE
from projectdesk.cache.names import conflicted_copy_name, split_extension
from projectdesk.cache.store import CacheStore
from projectdesk.core.errors import InvalidInput, InvalidKey
from projectdesk.core.models import FileEntry
from projectdesk.storage.atomic import TEMP_PREFIX

SLUG = "demo-12345"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def store(root: Path) -> Iterator[CacheStore]:
    opened = CacheStore(root, "prof", "anonymous")
    yield opened
    opened.close()


def _remote(store: CacheStore, path: str, data: bytes, etag: str | None = None) -> FileEntry:
    entry = FileEntry(path, len(data), etag or hashlib.md5(data).hexdigest(), 1700000000.0)
    assert store.store_remote(SLUG, entry, data)
    return entry


def _reopen(store: CacheStore, root: Path) -> CacheStore:
    store.close()
    return CacheStore(root, "prof", "anonymous")


def _reopen_after_crash(store: CacheStore, root: Path) -> CacheStore:
    """What a kill -9 leaves: the index and the lock let go, the session's marker still on disk."""
    store.index.close()
    assert store._lock_file is not None
    store._lock_file.close()
    return CacheStore(root, "prof", "anonymous")


def test_blobs_live_under_profile_user_and_slug(store: CacheStore, root: Path) -> None:
    _remote(store, "src/app.py", b"print(1)\n")
    assert (root / "prof" / "anonymous" / SLUG / "src" / "app.py").read_bytes() == b"print(1)\n"
    row = store.file(SLUG, "src/app.py")
    assert row is not None and row.state == CLEAN and row.fresh
    assert row.blob_sha256 == hashlib.sha256(b"print(1)\n").hexdigest()


def test_save_queues_against_the_version_edited_and_coalesces(store: CacheStore) -> None:
    entry = _remote(store, "a.txt", b"v1")
    store.save(SLUG, "a.txt", b"v2")
    [item] = store.pending()
    assert (item.op, item.base_etag, item.revision) == ("put", entry.etag, 1)
    store.save(SLUG, "a.txt", b"v3")
    [again] = store.pending()
    assert again.id == item.id and again.revision == 2 and again.base_etag == entry.etag
    row = store.file(SLUG, "a.txt")
    assert row is not None and row.state == DIRTY and row.blob_sha256 == hashlib.sha256(b"v3").hexdigest()
    store.save(SLUG, "new.txt", b"fresh")
    assert [(i.path, i.base_etag) for i in store.pending()] == [("a.txt", entry.etag), ("new.txt", None)]


def test_a_copy_is_never_replaced_over_a_local_edit(store: CacheStore) -> None:
    _remote(store, "a.txt", b"v1")
    store.save(SLUG, "a.txt", b"mine")
    assert not store.store_remote(SLUG, FileEntry("a.txt", 6, "other", 0.0), b"theirs")
    assert store.read_blob(SLUG, "a.txt") == b"mine"


def test_a_download_that_does_not_match_its_etag_is_not_cached(store: CacheStore) -> None:
    entry = FileEntry("a.txt", 2, hashlib.md5(b"v1").hexdigest(), 0.0)
    assert not store.store_remote(SLUG, entry, b"v2")  # replaced on the server between HEAD and GET
    assert store.file(SLUG, "a.txt") is None


def test_delete_of_a_never_uploaded_file_just_drops_it(store: CacheStore, root: Path) -> None:
    store.save(SLUG, "draft.txt", b"x")
    assert store.delete(SLUG, "draft.txt") is False
    assert store.pending() == [] and store.file(SLUG, "draft.txt") is None
    assert not (root / "prof" / "anonymous" / SLUG / "draft.txt").exists()


def test_delete_queues_with_the_version_seen(store: CacheStore) -> None:
    entry = _remote(store, "a.txt", b"v1")
    assert store.delete(SLUG, "a.txt") is True
    [item] = store.pending()
    assert (item.op, item.base_etag) == ("delete", entry.etag)
    assert store.read_blob(SLUG, "a.txt") is None


# ---- recovery ----------------------------------------------------------------------------------


def test_recovery_removes_temp_files_and_orphans(store: CacheStore, root: Path) -> None:
    _remote(store, "keep.txt", b"keep")
    project = root / "prof" / "anonymous" / SLUG
    (project / f"{TEMP_PREFIX}abc").write_bytes(b"half a file")
    (project / "sub").mkdir()
    (project / "sub" / "orphan.txt").write_bytes(b"nobody knows me")
    store = _reopen_after_crash(store, root)
    assert store.recovery.temp_files_removed == 1 and store.recovery.orphans_removed == 1
    assert sorted(p.name for p in project.rglob("*")) == ["keep.txt"]
    store.close()


def test_recovery_drops_a_clean_copy_that_does_not_match(store: CacheStore, root: Path) -> None:
    _remote(store, "a.txt", b"as downloaded")
    blob = root / "prof" / "anonymous" / SLUG / "a.txt"
    blob.write_bytes(b"replaced, never recorded")  # a download replaced it, the commit did not happen
    store = _reopen_after_crash(store, root)
    row = store.file(SLUG, "a.txt")
    assert row is not None and row.state == REMOTE and not blob.exists()
    assert store.recovery.copies_dropped == 1
    store.close()


def test_recovery_keeps_a_changed_local_edit_and_forgets_a_lost_one(store: CacheStore, root: Path) -> None:
    store.save(SLUG, "edited.txt", b"first")
    store.save(SLUG, "lost.txt", b"gone")
    project = root / "prof" / "anonymous" / SLUG
    (project / "edited.txt").write_bytes(b"newer, on disk")
    (project / "lost.txt").unlink()
    store = _reopen_after_crash(store, root)
    assert store.recovery.edits_adopted == 1 and store.recovery.edits_lost == [f"{SLUG}/lost.txt"]
    row = store.file(SLUG, "edited.txt")
    assert row is not None and row.blob_sha256 == hashlib.sha256(b"newer, on disk").hexdigest()
    assert [i.path for i in store.pending()] == ["edited.txt"]
    store.close()


def test_recovery_completes_a_save_whose_blob_was_written(store: CacheStore, root: Path) -> None:
    _remote(store, "a.txt", b"old")
    new = b"new content"
    with store.index.transaction() as conn:  # the state a kill -9 between blob write and commit leaves
        conn.execute("UPDATE files SET pending_sha256 = ? WHERE path = 'a.txt'", (hashlib.sha256(new).hexdigest(),))
    (root / "prof" / "anonymous" / SLUG / "a.txt").write_bytes(new)
    store = _reopen(store, root)
    assert store.recovery.saves_completed == 1
    row = store.file(SLUG, "a.txt")
    assert row is not None and row.state == DIRTY and row.pending_sha256 is None
    assert [i.path for i in store.pending()] == ["a.txt"]
    assert store.read_blob(SLUG, "a.txt") == new
    store.close()


def test_recovery_undoes_a_save_that_never_reached_the_disk(store: CacheStore, root: Path) -> None:
    entry = _remote(store, "a.txt", b"old")
    with store.index.transaction() as conn:
        conn.execute("UPDATE files SET pending_sha256 = 'feed' WHERE path = 'a.txt'")
        conn.execute(
            "INSERT INTO files (user_id, slug, path, state, pending_sha256) VALUES (?, ?, 'new.txt', 'dirty', 'beef')",
            ("anonymous", SLUG),
        )
    store = _reopen(store, root)
    assert store.recovery.saves_undone == 2
    row = store.file(SLUG, "a.txt")
    assert row is not None and row.state == CLEAN and row.blob_etag == entry.etag and row.pending_sha256 is None
    assert store.file(SLUG, "new.txt") is None and store.pending() == []
    store.close()


def test_after_a_clean_close_opening_skips_the_walk_and_a_changed_clean_copy_is_caught_when_read(
    store: CacheStore, root: Path
) -> None:
    _remote(store, "a.txt", b"as downloaded")
    store.save(SLUG, "mine.txt", b"my edit")
    store = _reopen(store, root)
    assert store.recovery.ran and not store.recovery.full
    assert list((root / "prof" / ".projectdesk" / "sessions").iterdir()) != []  # this session's marker
    project = root / "prof" / "anonymous" / SLUG
    # Edited in place (as a user's editor may do to the hard-linked twin a pull made): same inode and
    # size, a later mtime (file times tick every few ms: the pause keeps the test from racing the tick).
    time.sleep(0.05)
    with open(project / "a.txt", "r+b") as handle:
        handle.write(b"AS")
    assert store.read_blob(SLUG, "a.txt") is None  # never taken for the server's version
    row = store.file(SLUG, "a.txt")
    assert row is not None and row.state == REMOTE and not row.has_blob
    (project / "mine.txt").write_bytes(b"my newer edit")  # a local edit: the disk is the newest
    assert store.read_blob(SLUG, "mine.txt") == b"my newer edit"
    store.close()
    assert list((root / "prof" / ".projectdesk" / "sessions").iterdir()) == []


def test_recovery_waits_while_another_process_has_the_cache_open(store: CacheStore, root: Path) -> None:
    (root / "prof" / "anonymous").mkdir(parents=True, exist_ok=True)
    temp = root / "prof" / "anonymous" / f"{TEMP_PREFIX}in-flight"
    temp.write_bytes(b"someone else is writing this")
    second = CacheStore(root, "prof", "anonymous")  # `store` still holds its shared lock
    assert second.recovery.ran is False and temp.exists()
    second.close()


def test_a_damaged_index_is_set_aside_with_the_files(store: CacheStore, root: Path) -> None:
    store.save(SLUG, "precious.txt", b"unsent edit")
    store.close()
    index = root / "prof" / ".projectdesk" / "index.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(str(index) + suffix).unlink(missing_ok=True)
    index.write_bytes(b"this is not a database" * 100)
    fresh = CacheStore(root, "prof", "anonymous")
    assert fresh.pending() == []
    [aside] = (root / "prof" / ".projectdesk").glob("damaged-*")
    assert (aside / "anonymous" / SLUG / "precious.txt").read_bytes() == b"unsent edit"
    fresh.close()


# ---- eviction ----------------------------------------------------------------------------------


def test_eviction_takes_least_recently_used_clean_copies_only(store: CacheStore) -> None:
    for name in ("old.txt", "mid.txt", "new.txt"):
        _remote(store, name, name.encode() * 100)  # 700 bytes each
    store.save(SLUG, "dirty.txt", b"d" * 5000)
    store.read_blob(SLUG, "old.txt")  # now the most recently used
    files, freed = store.evict(cap_bytes=5000 + 700)
    assert (files, freed) == (2, 1400)
    assert store.read_blob(SLUG, "mid.txt") is None and store.read_blob(SLUG, "new.txt") is None
    assert store.read_blob(SLUG, "old.txt") is not None
    store.evict(cap_bytes=0)
    assert store.read_blob(SLUG, "dirty.txt") == b"d" * 5000  # never evicted
    assert [i.path for i in store.pending()] == ["dirty.txt"]


def test_eviction_spares_keep_offline_projects_conflicts_and_protected_files(store: CacheStore) -> None:
    entry = _remote(store, "kept.txt", b"k" * 100)
    store.store_remote("other-00001", FileEntry("o.txt", 100, hashlib.md5(b"o" * 100).hexdigest(), 0.0), b"o" * 100)
    store.store_remote("other-00001", FileEntry("p.txt", 100, hashlib.md5(b"p" * 100).hexdigest(), 0.0), b"p" * 100)
    store.set_keep_offline(SLUG, True)
    store.evict(cap_bytes=0, protect={("other-00001", "p.txt")})
    assert store.read_blob(SLUG, "kept.txt") is not None
    assert store.read_blob("other-00001", "o.txt") is None and store.read_blob("other-00001", "p.txt") is not None
    store.set_keep_offline(SLUG, False)
    with store.index.transaction() as conn:
        conn.execute("UPDATE files SET state = ? WHERE path = 'kept.txt'", (CONFLICT,))
    store.evict(cap_bytes=0)
    assert store.read_blob(SLUG, "kept.txt") is not None
    assert entry.etag


def test_usage_and_clear_keep_local_edits(store: CacheStore) -> None:
    _remote(store, "a.txt", b"a" * 10)
    store.save(SLUG, "b.txt", b"b" * 20)
    [usage] = store.usage()
    assert (usage.slug, usage.files, usage.bytes, usage.pending) == (SLUG, 2, 30, 1)
    assert store.clear_project(SLUG) == (1, 1)
    assert store.read_blob(SLUG, "a.txt") is None and store.read_blob(SLUG, "b.txt") == b"b" * 20


# ---- hostile keys and names --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "C:/x", "a\\..\\b", "a\x00b"])
def test_hostile_paths_never_become_files(store: CacheStore, root: Path, path: str) -> None:
    with pytest.raises(InvalidKey):
        store.store_remote(SLUG, FileEntry(path, 1, "e", 0.0), b"x")
    with pytest.raises(InvalidKey):
        store.save(SLUG, path, b"x")
    assert not any(p.is_file() for p in (root / "prof").rglob("*") if ".projectdesk" not in p.parts)
    assert not (root.parent / "escape.txt").exists()


def test_a_symlink_inside_the_cache_cannot_lead_outside(store: CacheStore, root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    project = root / "prof" / "anonymous" / SLUG
    project.mkdir(parents=True)
    (project / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidKey):
        store.save(SLUG, "link/planted.txt", b"x")
    assert list(outside.iterdir()) == []


def test_hostile_slugs_user_ids_and_profiles_are_refused(root: Path) -> None:
    blobs = BlobStore(root, "prof")
    for slug in ("..", "a/b", ""):
        with pytest.raises(InvalidKey):
            blobs.path("anonymous", slug, "x.txt")
    with pytest.raises(InvalidKey):
        BlobStore(root, "..")
    with pytest.raises(InvalidInput):
        CacheStore(root, "prof", ".projectdesk")


@pytest.mark.parametrize(
    ("path", "counter", "expected"),
    [
        ("notes.md", 1, "notes (conflicted copy 2025-01-31 1432).md"),
        ("src/app.py", 2, "src/app (conflicted copy 2025-01-31 1432 2).py"),
        (".env", 1, ".env (conflicted copy 2025-01-31 1432)"),
        ("Makefile", 1, "Makefile (conflicted copy 2025-01-31 1432)"),
        ("dist/site.tar.gz", 1, "dist/site (conflicted copy 2025-01-31 1432).tar.gz"),
    ],
)
def test_conflicted_copy_names(path: str, counter: int, expected: str) -> None:
    assert conflicted_copy_name(path, datetime(2025, 1, 31, 14, 32), counter) == expected


def test_conflicted_copy_names_stay_within_segment_limits() -> None:
    name = conflicted_copy_name("é" * 120 + ".txt", datetime(2025, 1, 31, 14, 32))
    assert len(name.encode()) <= 255 and name.endswith("(conflicted copy 2025-01-31 1432).txt")
    assert split_extension("archive.TAR.GZ") == ("archive", ".TAR.GZ")


def test_cache_follows_xdg_data_home(isolated_dirs: object, tmp_path: Path) -> None:
    from projectdesk.config.paths import Paths

    paths = Paths.default()
    assert paths.cache_root == tmp_path / "xdg" / "data" / "projectdesk" / "cache"
    opened = CacheStore(paths.cache_root, "local", "anonymous")
    opened.save(SLUG, "x.txt", b"x")
    assert (paths.cache_root / "local" / "anonymous" / SLUG / "x.txt").exists()
    assert os.path.isfile(paths.cache_root / "local" / ".projectdesk" / "index.sqlite3")
    opened.close()
