"""The window offline on a real SeaweedFS server that is killed mid-session: cached projects stay listed and
open, an edit is queued (shown per file and in the status bar), and it lands once the server is back.

This module runs its own server (the session's `seaweed` is shared with other tests and must stay up).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from projectdesk.cache.store import CacheStore
from projectdesk.config.paths import Paths
from projectdesk.services.offline import CachedProjectService
from projectdesk.ui.offline_status import FlushOutcome
from projectdesk.ui.project_list import STATE_ROLE
from tests.conftest import make_tree, seaweed_repo
from tests.servers.seaweedfs import SeaweedServer
from tests.ui.conftest import WindowHarness

pytestmark = pytest.mark.seaweedfs

PROJECT = {
    "src/app.py": b"from fastapi import FastAPI\n\napp = FastAPI()\n",
    "README.md": b"# Offline demo\n",
    "docs/notes.md": b"notes\n",
}


def cached_service(server: SeaweedServer, bucket: str, paths: Paths) -> CachedProjectService:
    # Two attempts and short timeouts: a dead server is noticed in well under a second (a refused connection).
    repo = seaweed_repo(server, bucket, max_attempts=2)
    return CachedProjectService(repo, CacheStore(paths.cache_root, "weed", "anonymous"))


def stored(server: SeaweedServer, bucket: str, slug: str, path: str) -> bytes:
    body = server.client().get_object(Bucket=bucket, Key=f"projects/anonymous/{slug}/{path}")["Body"]
    return bytes(body.read())


def test_offline_the_window_browses_cached_files_and_the_queued_edit_lands_after_restart(
    server: SeaweedServer, make_window: Any, isolated_dirs: Paths, tmp_path: Path, qtbot: Any
) -> None:
    bucket = f"offwin-{uuid.uuid4().hex[:10]}"
    server.create_bucket(bucket)
    service = cached_service(server, bucket, isolated_dirs)
    plan = service.plan_push(make_tree(tmp_path / "Offline Demo", PROJECT), name="Offline Demo")
    service.push(plan)
    slug = plan.slug
    h: WindowHarness = make_window(service, factory=lambda _profile: service)
    h.open_project(slug)
    h.open_file("src/app.py")  # now cached
    h.window.editing.close_current()
    monitor = h.window.monitor
    assert not monitor.strip.isVisible() and h.window.connection_label.text() == "Online"

    server.kill()
    task = h.window.refresh()
    qtbot.waitUntil(task.done, timeout=30000)
    h.wait_idle()
    qtbot.waitUntil(lambda: h.window.connection_label.text() == "Offline", timeout=15000)
    assert monitor.offline and monitor.strip.isVisible()
    assert "stay available" in monitor.strip.label.text()
    assert monitor.seconds_to_retry() > 0  # the backoff timer runs
    assert [p.slug for p in h.window.project_model.projects()] == [slug]  # the cached list stays
    assert h.window.tree_model.entry("src/app.py") is not None

    page = h.open_file("src/app.py")  # from the cache
    assert page.text() == PROJECT["src/app.py"].decode()
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    page.editor.insertPlainText("\n@app.get('/health')\ndef health():\n    return {'ok': True}\n")
    edited = page.data_to_save()
    save = h.window.editing.save_current()
    qtbot.waitUntil(save.done, timeout=20000)
    assert save.exception() is None and not page.is_modified
    h.window.session.track(h.window.browser.refresh_status())
    qtbot.waitUntil(lambda: h.window.pending_label.text() == "1 pending upload", timeout=15000)
    row = h.window.project_model.row_of(slug)
    assert h.window.project_model.index(row, 0).data(STATE_ROLE) == "pending"
    index = h.window.tree_model.index_for_path("src/app.py")
    qtbot.waitUntil(lambda: "Waiting to be uploaded" in index.data(Qt.ItemDataRole.ToolTipRole), timeout=15000)
    assert stored_or_none(server, bucket, slug) is None  # the server is down: nothing can have been sent

    server.restart()
    outcomes: list[FlushOutcome] = []
    monitor.flushed.connect(outcomes.append)
    monitor.retry_now()
    qtbot.waitUntil(lambda: bool(outcomes), timeout=30000)
    h.wait_idle()
    [outcome] = outcomes
    assert outcome.sent == [(slug, "src/app.py")] and outcome.still == 0 and not outcome.conflicts
    assert outcome.sentence() == "1 queued change uploaded (src/app.py)."
    assert stored(server, bucket, slug, "src/app.py") == edited
    assert h.window.connection_label.text() == "Online"
    assert not monitor.strip.isVisible() and not monitor.offline
    assert "1 queued change uploaded" in h.window.statusBar().currentMessage() or h.window.pending_label.isHidden()
    qtbot.waitUntil(lambda: not h.window.pending_label.isVisible(), timeout=15000)


def stored_or_none(server: SeaweedServer, bucket: str, slug: str) -> bytes | None:
    return None if not server.is_running() else stored(server, bucket, slug, "src/app.py")
