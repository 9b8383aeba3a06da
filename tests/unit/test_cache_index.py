"""The cache index: schema versions and migrations, WAL, one connection per thread."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from projectdesk.cache.index import MIGRATIONS, CacheIndex, CacheIndexTooNew


def _version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT version FROM schema_version").fetchone()[0])


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_new_index_has_current_schema_in_wal_mode(tmp_path: Path) -> None:
    index = CacheIndex(tmp_path / "index.sqlite3")
    assert _version(index.path) == len(MIGRATIONS) == index.schema_version
    assert {"projects", "files", "outbox", "conflicts", "schema_version"} <= _tables(index.path)
    assert index.query("PRAGMA journal_mode")[0][0] == "wal"
    index.close()


def test_migrations_run_once_in_order_from_an_older_index(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    CacheIndex(path).close()  # a v1 index, as the first release wrote it
    runs: list[int] = []

    def v2(conn: sqlite3.Connection) -> None:
        runs.append(2)
        conn.execute("ALTER TABLE files ADD COLUMN note TEXT")

    def v3(conn: sqlite3.Connection) -> None:
        runs.append(3)
        conn.execute("UPDATE files SET note = 'migrated'")

    with CacheIndex(path).transaction() as conn:
        conn.execute("INSERT INTO files (user_id, slug, path, state) VALUES ('u', 's', 'a.txt', 'remote')")
    upgraded = CacheIndex(path, [*MIGRATIONS, v2, v3])
    assert runs == [2, 3] and _version(path) == len(MIGRATIONS) + 2
    assert upgraded.query("SELECT note FROM files")[0][0] == "migrated"
    upgraded.close()
    CacheIndex(path, [*MIGRATIONS, v2, v3]).close()
    assert runs == [2, 3]  # not again


def test_a_failing_migration_leaves_the_index_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    CacheIndex(path).close()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE files ADD COLUMN half_done TEXT")
        raise RuntimeError("bug in a migration")

    with pytest.raises(RuntimeError):
        CacheIndex(path, [*MIGRATIONS, broken])
    assert _version(path) == len(MIGRATIONS)
    with sqlite3.connect(path) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(files)")}
    assert "half_done" not in columns


def test_an_index_from_a_newer_version_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    CacheIndex(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(CacheIndexTooNew) as info:
        CacheIndex(path)
    assert "newer ProjectDesk" in info.value.message and "99" in info.value.message


def test_threads_write_concurrently_through_their_own_connections(tmp_path: Path) -> None:
    index = CacheIndex(tmp_path / "index.sqlite3")
    connections: set[int] = set()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            connections.add(id(index.connection()))
            for i in range(50):
                with index.transaction() as conn:
                    conn.execute(
                        "INSERT INTO files (user_id, slug, path, state) VALUES ('u', 's', ?, 'remote')",
                        (f"{n}/{i}",),
                    )
                    with index.transaction() as inner:  # nested use joins the outer transaction
                        inner.execute("UPDATE files SET last_used = ? WHERE path = ?", (i, f"{n}/{i}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(connections) == 8
    assert index.query("SELECT COUNT(*) FROM files")[0][0] == 400
    index.close()


def test_a_failed_transaction_is_rolled_back(tmp_path: Path) -> None:
    index = CacheIndex(tmp_path / "index.sqlite3")
    with pytest.raises(ValueError), index.transaction() as conn:
        conn.execute("INSERT INTO files (user_id, slug, path, state) VALUES ('u', 's', 'x', 'remote')")
        raise ValueError("boom")
    assert index.query("SELECT COUNT(*) FROM files")[0][0] == 0
    index.close()
