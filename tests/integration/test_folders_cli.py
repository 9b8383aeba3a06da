"""`projectdesk-cli folders` and `unbind` (in-process, local + SeaweedFS), and the binding table's added columns."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from projectdesk.services.workfolders import DB_NAME, FolderStates
from tests.conftest import make_tree
from tests.integration.test_cli import Runner
from tests.integration.test_cli import run as run

SLUG = "site-20001"


def test_folders_lists_each_binding_with_its_state(run: Runner, tmp_path: Path) -> None:
    assert "No working folders yet" in run("folders")[0]
    make_tree(tmp_path / "site", {"index.html": b"<h1>hi</h1>\n", "app.js": b"1\n"})
    run("push", str(tmp_path / "site"), "--slug", SLUG)
    run("pull", SLUG, str(tmp_path / "copy"))
    rows = {Path(r["folder"]).name: r for r in run.json("folders")}
    assert set(rows) == {"site", "copy"}
    for row in rows.values():
        assert row["project"] == SLUG and row["state"] == "in sync" and row["local_changes"] == 0
        assert row["profile"] in ("local", "weed") and row["last_sync"] > 0
    (tmp_path / "copy" / "app.js").write_bytes(b"2\n")
    (tmp_path / "copy" / "new.css").write_bytes(b"a{}\n")
    rows = {Path(r["folder"]).name: r for r in run.json("folders")}
    assert rows["copy"]["local_changes"] == 2 and rows["copy"]["state"] == "2 local changes waiting"
    assert rows["site"]["state"] == "in sync"
    out, _ = run("folders")
    assert "FOLDER" in out and "2 local changes waiting" in out and SLUG in out


def test_unbind_keeps_the_files_and_sync_then_refuses(run: Runner, tmp_path: Path) -> None:
    make_tree(tmp_path / "site", {"a.txt": b"a\n"})
    run("push", str(tmp_path / "site"), "--slug", SLUG)
    out, _ = run("unbind", str(tmp_path / "site"))
    assert "no longer the working folder" in out and (tmp_path / "site" / "a.txt").read_bytes() == b"a\n"
    assert run.json("folders") == []
    _, err = run("sync", str(tmp_path / "site"), expect=1)
    assert "not a working folder yet" in err
    _, err = run("unbind", str(tmp_path / "site"), expect=1)
    assert "is not a working folder" in err
    _, err = run("sync", str(tmp_path / "site"), "--watch", expect=1)
    assert "not a working folder yet" in err
    _, err = run("sync", "--watch", expect=1)
    assert "--watch needs a FOLDER" in err


def test_bindings_made_before_the_added_columns_are_kept(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    db = sqlite3.connect(data / DB_NAME)
    db.executescript(
        "CREATE TABLE folders (id INTEGER PRIMARY KEY, path TEXT NOT NULL, store TEXT NOT NULL, slug TEXT NOT NULL,"
        " device INTEGER NOT NULL, inode INTEGER NOT NULL, bound_at REAL NOT NULL, UNIQUE (path, store, slug));"
    )
    stat = folder.stat()
    db.execute("INSERT INTO folders VALUES (1, ?, 'local folder /x|anonymous', 'p', ?, ?, 1.0)",
               (os.fsdecode(folder), stat.st_dev, stat.st_ino))  # fmt: skip
    db.commit()
    db.close()
    states = FolderStates(data)
    try:
        [record] = states.records()
        assert record.binding.slug == "p" and record.profile == "" and record.last_sync is None
        states.note_sync(record.binding, "in sync", when=5.0)
        [record] = states.records("local folder /x|anonymous")
        assert (record.last_sync, record.last_state) == (5.0, "in sync")
        assert states.records("another store") == []
    finally:
        states.close()
