"""The window on the offline cache's service (what the app opens): cached list, file states, queued saves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import local_profile
from projectdesk.services.offline import open_cached_service
from projectdesk.ui.project_list import STATE_ROLE
from tests.conftest import make_tree
from tests.ui.conftest import WindowHarness

PROJECT = {"main.py": b"print('cached')\n", "lib/util.py": b"x = 1\n", "README.md": b"# Cached\n"}


def test_offline_window_lists_cached_projects_and_queues_a_save(
    make_window: Any, isolated_dirs: Paths, tmp_path: Path, qtbot: Any
) -> None:
    online = open_cached_service(local_profile(), isolated_dirs)
    plan = online.plan_push(make_tree(tmp_path / "p", PROJECT), name="Cached one")
    online.push(plan)
    online.read_file(plan.slug, "main.py")  # now in the cache
    online.close()

    offline = open_cached_service(local_profile(), isolated_dirs, offline=True)
    h: WindowHarness = make_window(offline, factory=lambda _profile: offline)
    assert h.window.connection_label.text() == "Offline"
    assert [p.slug for p in h.window.project_model.projects()] == [plan.slug]
    h.open_project(plan.slug)
    page = h.open_file("main.py")
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    page.editor.insertPlainText("print('edited offline')\n")
    task = h.window.editing.save_current()
    qtbot.waitUntil(task.done, timeout=10000)
    assert task.exception() is None and not page.is_modified
    h.wait_idle()
    qtbot.waitUntil(lambda: h.window.pending_label.isVisible(), timeout=10000)
    assert h.window.pending_label.text() == "1 pending upload"
    row = h.window.project_model.row_of(plan.slug)
    assert h.window.project_model.index(row, 0).data(STATE_ROLE) == "pending"
    index = h.window.tree_model.index_for_path("main.py")
    qtbot.waitUntil(lambda: "Waiting to be uploaded" in index.data(Qt.ItemDataRole.ToolTipRole), timeout=10000)
    assert (isolated_dirs.local_store / "projects" / "anonymous" / plan.slug / "main.py").read_bytes() == PROJECT[
        "main.py"
    ]  # not sent yet: offline

    offline.go_online()
    report = offline.flush_outbox()
    assert not report.offline
    stored = isolated_dirs.local_store / "projects" / "anonymous" / plan.slug / "main.py"
    assert stored.read_bytes() == PROJECT["main.py"] + b"print('edited offline')\n"
