"""cache/peek.py: the read-only look a command takes before opening the cache — it must never say "no local
change" while the cache holds one (a search in the local store's folder would then miss what the user wrote)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from projectdesk.cache.index import DELETED, DIRTY
from projectdesk.cache.peek import CHANGED_STATES, index_file, may_hold_local_changes
from projectdesk.cache.store import CacheStore
from projectdesk.core.models import FileEntry

SLUG = "demo-12345"


def _cached(store: CacheStore, path: str, data: bytes) -> None:
    assert store.store_remote(SLUG, FileEntry(path, len(data), hashlib.md5(data).hexdigest(), 1.0e9), data)


def test_the_states_it_counts_are_the_index_s_own() -> None:
    assert CHANGED_STATES == (DIRTY, DELETED)


def test_it_answers_as_the_cache_does(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    assert not may_hold_local_changes(root, "prof", "anonymous", SLUG)  # no cache yet
    store = CacheStore(root, "prof", "anonymous")
    try:
        assert index_file(root, "prof") == store.index.path
        _cached(store, "a.txt", b"v1")
        _cached(store, "b.txt", b"v1")
        assert not may_hold_local_changes(root, "prof", "anonymous", SLUG)
        store.save(SLUG, "a.txt", b"v2")  # an edit waiting to be sent
        assert may_hold_local_changes(root, "prof", "anonymous", SLUG) and store.has_local_changes(SLUG)
        assert not may_hold_local_changes(root, "prof", "anonymous", "other-12345")
        assert not may_hold_local_changes(root, "prof", "someone-else", SLUG)
    finally:
        store.close()
    assert may_hold_local_changes(root, "prof", "anonymous", SLUG)  # after the cache closed too


def test_an_unreadable_index_counts_as_holding_changes(tmp_path: Path) -> None:
    path = index_file(tmp_path / "cache", "prof")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all" * 100)
    assert may_hold_local_changes(tmp_path / "cache", "prof", "anonymous", SLUG)
