"""A conflict in the window, on a real SeaweedFS server: a remote change under a local edit shows both versions
side by side, and keep mine / keep theirs / keep both each leave the bucket and the cache as promised."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from projectdesk.cache.store import CacheStore
from projectdesk.config.paths import Paths
from projectdesk.core.keys import MANIFEST_NAME
from projectdesk.services.offline import CachedProjectService
from projectdesk.ui.dialogs.conflict import FILLER, KEEP_BOTH, KEEP_MINE, KEEP_THEIRS, ConflictDialog
from projectdesk.ui.diff import ADDED, CHANGED, EQUAL, REMOVED
from tests.conftest import make_tree, seaweed_repo
from tests.servers.seaweedfs import SeaweedServer
from tests.ui.conftest import WindowHarness

pytestmark = pytest.mark.seaweedfs

BASE = (
    b'"""The API."""\n\nimport json\n\n\ndef load():\n    return json.loads(DATA)\n\n\ndef main():\n    print(load())\n'
)
MINE = BASE.replace(b"print(load())", b"print(load(), flush=True)") + b"\n# mine: a local edit\n"
THEIRS = BASE.replace(b'"""The API."""', b'"""The portfolio API."""') + b"\n\ndef health():\n    return 'ok'\n"
PROJECT = {"backend/main.py": BASE, "README.md": b"# Conflict demo\n"}


def objects(server: SeaweedServer, bucket: str, slug: str) -> dict[str, bytes]:
    client = server.client()
    prefix = f"projects/anonymous/{slug}/"
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    found = {key[len(prefix) :]: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}
    found.pop(MANIFEST_NAME, None)
    return found


def make_conflict(
    seaweed: SeaweedServer, make_window: Any, paths: Paths, tmp_path: Path
) -> tuple[WindowHarness, CachedProjectService, str, str, str]:
    """A project open in the window; the server's copy changes under a local edit, which is then saved."""
    bucket = f"conf-{uuid.uuid4().hex[:10]}"
    seaweed.create_bucket(bucket)
    service = CachedProjectService(seaweed_repo(seaweed, bucket), CacheStore(paths.cache_root, "weed", "anonymous"))
    plan = service.plan_push(make_tree(tmp_path / "Conflict Demo", PROJECT), name="Conflict Demo")
    service.push(plan)
    slug = plan.slug
    h: WindowHarness = make_window(service, factory=lambda _profile: service)
    h.open_project(slug)
    page = h.open_file("backend/main.py")
    seaweed.client().put_object(Bucket=bucket, Key=f"projects/anonymous/{slug}/backend/main.py", Body=THEIRS)
    page.editor.setPlainText(MINE.decode())
    save = h.window.editing.save_current()
    h.qtbot.waitUntil(save.done, timeout=20000)
    assert save.exception() is None
    assert "changed on the server while you edited it" in h.window.banner.text()
    [record] = service.conflicts()
    assert record.kind == "edit" and record.path == "backend/main.py" and record.copy_path
    assert "conflicted copy" in record.copy_path
    assert objects(seaweed, bucket, slug) == {**PROJECT, "backend/main.py": THEIRS, record.copy_path: MINE}
    return h, service, bucket, slug, record.copy_path


def open_diff(h: WindowHarness) -> ConflictDialog:
    actions = h.window.commands
    h.qtbot.waitUntil(lambda: actions.conflicts.resolve_action.isEnabled(), timeout=15000)  # the status poll saw it
    assert actions.conflicts.resolve_action.text() == "Resolve &Conflicts (1)…"
    assert (
        actions.conflicts.conflicts_tool_action.isVisible()
        and actions.conflicts.conflicts_tool_action.text() == "1 Conflict"
    )
    actions.conflicts.resolve_action.trigger()
    h.qtbot.waitUntil(
        lambda: actions.conflicts.conflict_dialog is not None and actions.conflicts.conflict_dialog.isVisible(),
        timeout=20000,
    )
    dialog = actions.conflicts.conflict_dialog
    assert dialog is not None
    return dialog


@pytest.mark.parametrize("choice", [KEEP_MINE, KEEP_THEIRS, KEEP_BOTH])
def test_a_conflict_shows_both_versions_and_each_choice_keeps_its_promise(
    choice: str, seaweed: SeaweedServer, make_window: Any, isolated_dirs: Paths, tmp_path: Path
) -> None:
    h, service, bucket, slug, copy = make_conflict(seaweed, make_window, isolated_dirs, tmp_path)
    dialog = open_diff(h)
    # side by side: yours left, the server's right, aligned row for row, changes highlighted
    left, right = dialog.view.left, dialog.view.right
    assert left.document().blockCount() == right.document().blockCount()
    assert left.toPlainText().replace("\n", "").startswith('"""The API."""')
    assert right.toPlainText().startswith('"""The portfolio API."""')
    assert "# mine: a local edit" in left.toPlainText() and "def health():" in right.toPlainText()
    kinds = set(left.kinds) | set(right.kinds)
    assert {EQUAL, CHANGED}.issubset(kinds) and (REMOVED in kinds or FILLER in kinds) and ADDED in right.kinds
    changed_row = left.kinds.index(CHANGED)
    assert left.document().findBlockByNumber(changed_row).blockFormat().background().color().isValid()
    assert dialog.summary.text().startswith("3 changes")
    assert copy.rsplit("/", 1)[-1] in dialog.view.left_title.text()
    right.verticalScrollBar().setValue(right.verticalScrollBar().maximum())
    assert left.verticalScrollBar().value() == right.verticalScrollBar().value()  # they scroll together
    assert dialog.mine_button.isVisible() and dialog.theirs_button.isVisible() and dialog.both_button.isVisible()

    resolved: list[tuple[Any, str]] = []
    h.window.commands.conflicts.conflictResolved.connect(lambda record, made: resolved.append((record, made)))
    {KEEP_MINE: dialog.mine_button, KEEP_THEIRS: dialog.theirs_button, KEEP_BOTH: dialog.both_button}[choice].click()
    h.qtbot.waitUntil(lambda: bool(resolved), timeout=20000)
    h.wait_idle()
    assert service.conflicts() == [] and service.pending() == []
    in_bucket = objects(seaweed, bucket, slug)
    cache = service.cache
    if choice == KEEP_MINE:
        assert in_bucket == {**PROJECT, "backend/main.py": MINE}
        assert cache.read_blob(slug, "backend/main.py") == MINE and cache.file(slug, copy) is None
    elif choice == KEEP_THEIRS:
        assert in_bucket == {**PROJECT, "backend/main.py": THEIRS}
        assert cache.read_blob(slug, "backend/main.py") == THEIRS and cache.file(slug, copy) is None
    else:
        assert in_bucket == {**PROJECT, "backend/main.py": THEIRS, copy: MINE}
        assert cache.read_blob(slug, "backend/main.py") == THEIRS and cache.read_blob(slug, copy) == MINE
    assert service.file_states(slug)["backend/main.py"] == "clean"
    assert (h.window.tree_model.entry(copy) is not None) == (choice == KEEP_BOTH)
    assert "Conflict resolved" in h.window.banner.text()
    assert not h.window.commands.conflicts.resolve_action.isEnabled()
    assert not h.window.commands.conflicts.conflicts_tool_action.isVisible()


def test_decide_later_keeps_both_versions(
    seaweed: SeaweedServer, make_window: Any, isolated_dirs: Paths, tmp_path: Path
) -> None:
    h, service, bucket, slug, copy = make_conflict(seaweed, make_window, isolated_dirs, tmp_path)
    dialog = open_diff(h)
    dialog.later_button.click()
    h.wait_idle()
    assert len(service.conflicts()) == 1
    assert objects(seaweed, bucket, slug) == {**PROJECT, "backend/main.py": THEIRS, copy: MINE}
    assert h.window.commands.conflicts.resolve_action.isEnabled()
