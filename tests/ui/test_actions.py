"""The window's commands on real stores: share links fetched over HTTP, S3 URIs, deleting a project (asked
first), new / rename / delete in the tree from the keyboard, export as zip, keep offline, the cache folder."""

from __future__ import annotations

import time
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from projectdesk.cache.store import CacheStore
from projectdesk.config.paths import Paths
from projectdesk.services.offline import CachedProjectService
from projectdesk.services.projects import MAX_SHARE_SECONDS, ProjectService
from projectdesk.storage.local import LocalRepository
from projectdesk.ui.dialogs.name_input import PathDialog
from projectdesk.ui.dialogs.share_link import ShareLinkDialog, until_text
from tests.conftest import make_tree, seaweed_repo
from tests.servers.seaweedfs import SeaweedServer
from tests.ui.conftest import WindowHarness, wait_for_child

PROJECT = {
    "backend/main.py": b"from fastapi import FastAPI\n\napp = FastAPI()\n",
    "frontend/src/App.jsx": b"export default function App() { return null }\n",
    "README.md": b"# Actions demo\n",
}


def _objects(server: SeaweedServer, bucket: str, prefix: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


def _seaweed_window(
    seaweed: SeaweedServer, make_window: Any, paths: Paths, tmp_path: Path
) -> tuple[WindowHarness, CachedProjectService, str, str]:
    bucket = f"act-{uuid.uuid4().hex[:10]}"
    seaweed.create_bucket(bucket)
    service = CachedProjectService(seaweed_repo(seaweed, bucket), CacheStore(paths.cache_root, "weed", "anonymous"))
    plan = service.plan_push(make_tree(tmp_path / "Actions Demo", PROJECT), name="Actions Demo")
    service.push(plan)
    h: WindowHarness = make_window(service, factory=lambda _profile: service)
    h.open_project(plan.slug)
    return h, service, bucket, plan.slug


def _select(h: WindowHarness, path: str) -> None:
    index = h.window.tree_model.index_for_path(path)
    assert index.isValid(), path
    h.window.tree_view.setCurrentIndex(index)


def _confirm_box(h: WindowHarness) -> QMessageBox:
    box: QMessageBox = wait_for_child(h.qtbot, h.window, QMessageBox)
    return box


def _click(box: QMessageBox, text: str) -> None:
    button = next(b for b in box.buttons() if b.text() == text)
    button.click()


@pytest.mark.seaweedfs
def test_a_share_link_fetched_with_urllib_returns_the_file(
    seaweed: SeaweedServer, make_window: Any, isolated_dirs: Paths, tmp_path: Path
) -> None:
    h, _service, bucket, slug = _seaweed_window(seaweed, make_window, isolated_dirs, tmp_path)
    actions = h.window.commands
    _select(h, "backend/main.py")
    assert actions.files.share_action.isEnabled() and actions.files.copy_uri_action.isEnabled()
    # S3 URIs of the file and of the project
    task = actions.files.copy_file_uri()
    h.qtbot.waitUntil(task.done)
    assert QGuiApplication.clipboard().text() == f"s3://{bucket}/projects/anonymous/{slug}/backend/main.py"
    task = actions.project.copy_project_uri()
    h.qtbot.waitUntil(task.done)
    assert QGuiApplication.clipboard().text() == f"s3://{bucket}/projects/anonymous/{slug}/"

    actions.files.share_action.trigger()
    h.qtbot.waitUntil(lambda: actions.files.share_dialog is not None and actions.files.share_dialog.isVisible())
    dialog: ShareLinkDialog = actions.files.share_dialog  # type: ignore[assignment]
    h.qtbot.waitUntil(lambda: dialog.copy_button.isEnabled(), timeout=15000)
    assert dialog.link is not None and dialog.link.expires_at == pytest.approx(time.time() + 86400, abs=60)
    dialog.expiry.setCurrentIndex(dialog.expiry.count() - 1)  # 7 days, the longest
    h.qtbot.waitUntil(lambda: dialog.copy_button.isEnabled() and "7 days" in dialog.expiry.currentText())
    link = dialog.link
    assert link is not None and link.expires_at == pytest.approx(time.time() + MAX_SHARE_SECONDS, abs=60)
    assert dialog.sentence.text() == (
        f"Anyone with this link can download backend/main.py until {until_text(link.expires_at)}."
    )
    url = urlparse(link.url)
    assert url.hostname == "127.0.0.1" and parse_qs(url.query)["X-Amz-Expires"] == [str(MAX_SHARE_SECONDS)]
    assert parse_qs(url.query)["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    copied: list[Any] = []
    actions.files.linkCopied.connect(copied.append)
    dialog.copy_button.click()
    h.qtbot.waitUntil(lambda: bool(copied))
    assert QGuiApplication.clipboard().text() == link.url
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(link.url, timeout=10) as response:  # as anyone holding the link would
        assert response.read() == PROJECT["backend/main.py"]


@pytest.mark.seaweedfs
def test_delete_project_asks_first_and_removes_every_object(
    seaweed: SeaweedServer, make_window: Any, isolated_dirs: Paths, tmp_path: Path
) -> None:
    h, service, bucket, slug = _seaweed_window(seaweed, make_window, isolated_dirs, tmp_path)
    prefix = f"projects/anonymous/{slug}/"
    assert len(_objects(seaweed, bucket, prefix)) == len(PROJECT) + 1  # and the manifest
    actions = h.window.commands
    actions.project.delete_project_action.trigger()
    box = _confirm_box(h)
    assert box.text() == "Delete the project “Actions Demo” and its 3 files?"
    assert "cannot be undone" in box.informativeText()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Cancel).click()
    h.wait_idle()
    assert len(_objects(seaweed, bucket, prefix)) == len(PROJECT) + 1  # nothing happened
    deleted: list[str] = []
    actions.project.projectDeleted.connect(deleted.append)
    actions.project.delete_project_action.trigger()
    _click(_confirm_box(h), "Delete Project")
    h.qtbot.waitUntil(lambda: deleted == [slug], timeout=20000)
    h.wait_idle()
    assert _objects(seaweed, bucket, prefix) == []
    assert h.window.slug == "" and h.window.project_model.row_of(slug) < 0
    assert service.cached_projects() == []


def _local_window(make_window: Any, tmp_path: Path, *, cached: bool = False) -> tuple[WindowHarness, Any, str]:
    repo = LocalRepository(tmp_path / "store")
    service: Any = (
        CachedProjectService(repo, CacheStore(tmp_path / "cache", "local", "anonymous"))
        if cached
        else ProjectService(repo)
    )
    plan = service.plan_push(make_tree(tmp_path / "Local Demo", PROJECT), name="Local Demo")
    service.push(plan)
    h: WindowHarness = make_window(service, factory=lambda _profile: service)
    h.open_project(plan.slug)
    h.window.activateWindow()
    return h, service, plan.slug


def _key(h: WindowHarness, widget: Any, key: Qt.Key) -> None:
    """Press a key in `widget` with the focus there (offscreen, no window manager re-activates the window
    after a dialog closes, so do it as one would)."""
    h.window.activateWindow()
    h.qtbot.waitUntil(lambda: QApplication.activeWindow() is h.window)
    widget.setFocus()
    h.qtbot.waitUntil(widget.hasFocus)
    h.qtbot.keyClick(widget, key)


def test_new_rename_and_delete_files_from_the_keyboard(make_window: Any, tmp_path: Path) -> None:
    h, service, slug = _local_window(make_window, tmp_path)
    actions = h.window.commands
    tree = h.window.tree_view
    h.window.tree_view.expand(h.window.tree_model.index_for_path("backend"))
    _select(h, "backend/main.py")
    # New file (Ctrl+Shift+N), in the selected file's folder
    assert actions.files.new_file_action.shortcut().toString() == "Ctrl+Shift+N"
    actions.files.new_file_action.trigger()
    dialog: PathDialog = wait_for_child(h.qtbot, h.window, PathDialog)
    assert dialog.field.text() == "backend/"
    dialog.field.setText("backend/main.py")
    assert not dialog.ok_button.isEnabled() and dialog.error == "backend/main.py exists already."
    dialog.field.setText("backend/routes/health.py")
    assert dialog.ok_button.isEnabled()
    changed: list[str] = []
    actions.files.filesChanged.connect(changed.append)
    dialog.ok_button.click()
    h.qtbot.waitUntil(lambda: len(changed) == 1, timeout=15000)
    h.wait_idle()
    assert service.read_file(slug, "backend/routes/health.py") == b""
    h.qtbot.waitUntil(lambda: h.window.editor_area.find_page(slug, "backend/routes/health.py") is not None)
    # Rename (F2, while the tree has the focus)
    _select(h, "README.md")
    _key(h, tree, Qt.Key.Key_F2)
    dialog = wait_for_child(h.qtbot, h.window, PathDialog)
    assert dialog.field.selectedText() == "README"
    dialog.field.setText("docs/README.md")
    dialog.ok_button.click()
    h.qtbot.waitUntil(lambda: len(changed) == 2, timeout=15000)
    h.wait_idle()
    paths = {e.path for e in service.list_files(slug)}
    assert "README.md" not in paths and service.read_file(slug, "docs/README.md") == PROJECT["README.md"]
    # Delete (Del, while the tree has the focus), asked first
    _select(h, "docs/README.md")
    _key(h, tree, Qt.Key.Key_Delete)
    box = _confirm_box(h)
    assert box.text() == "Delete docs/README.md from “Local Demo”?"
    _click(box, "Delete")
    h.qtbot.waitUntil(lambda: len(changed) == 3, timeout=15000)
    h.wait_idle()
    # A folder goes with all its files
    _select(h, "frontend")
    actions.files.delete_file_action.trigger()
    box = _confirm_box(h)
    assert box.text() == "Delete the folder frontend and its 1 file from “Local Demo”?"
    _click(box, "Delete")
    h.qtbot.waitUntil(lambda: len(changed) == 4, timeout=15000)
    h.wait_idle()
    assert {e.path for e in service.list_files(slug)} == {"backend/main.py", "backend/routes/health.py"}
    assert h.window.tree_model.entry("frontend/src/App.jsx") is None


def test_export_keep_offline_cache_folder_and_what_a_local_store_cannot_do(make_window: Any, tmp_path: Path) -> None:
    h, service, slug = _local_window(make_window, tmp_path, cached=True)
    actions = h.window.commands
    _select(h, "README.md")
    assert not actions.files.share_action.isEnabled() and not actions.files.copy_uri_action.isEnabled()
    assert "need an S3 store" in actions.files.share_action.toolTip()
    # export as zip: a transfer row, the zip holds the project
    out = tmp_path / "export.zip"
    task = h.window.session.track(actions.project.start_export(slug, out))
    h.qtbot.waitUntil(task.done, timeout=20000)
    transfer = h.window.transfer_model.transfers()[-1]
    assert transfer.kind == "Export" and transfer.state == "done", transfer.error
    with zipfile.ZipFile(out) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == PROJECT
    # keep offline: the whole project lands in the cache
    assert actions.project.keep_offline_action.isEnabled() and not actions.project.keep_offline_action.isChecked()
    actions.project.keep_offline_action.trigger()  # as a click: checks it and runs the command
    h.qtbot.waitUntil(lambda: service.kept_offline(slug), timeout=15000)
    h.wait_idle()
    assert service.file_states(slug) == {path: "clean" for path in PROJECT}
    # the cache folder opens in the file manager
    opened: list[QUrl] = []
    actions.store.open_url = opened.append
    actions.store.cache_folder_action.trigger()
    h.qtbot.waitUntil(lambda: bool(opened))
    folder = Path(opened[0].toLocalFile())
    assert (folder / "backend" / "main.py").read_bytes() == PROJECT["backend/main.py"]


def test_every_command_is_in_a_menu_and_reachable_from_the_keyboard(make_window: Any, tmp_path: Path) -> None:
    h, _service, _slug = _local_window(make_window, tmp_path, cached=True)
    actions = h.window.commands
    menus = {a.text(): a.menu() for a in h.window.menuBar().actions()}
    assert list(menus)[-3:] == ["&Project", "&Store", "&Help"]
    project = [a.text() for a in menus["&Project"].actions() if a.text()]
    for text in ("&Keep Offline", "&Export as Zip…", "&Download Project…", "&Delete Project…", "&New File…"):
        assert text in project
    for text in ("&Rename…", "De&lete…", "Copy S3 UR&I", "Copy &Share Link…"):
        assert text in project
    store = [a.text() for a in menus["&Store"].actions() if a.text()]
    assert store == ["&Manage Stores…", "&Work Offline", "&Reconnect Now", "&Send Queued Changes",
                     "Sign in with AWS &SSO…", "Open &Cache Folder", "&Pause All Transfers"]  # fmt: skip
    shortcuts = {
        actions.store.accounts_action: "Ctrl+,",
        actions.project.export_action: "Ctrl+Shift+E",
        actions.project.delete_project_action: "Ctrl+Shift+Del",
        actions.files.rename_action: "F2",
        actions.files.delete_file_action: "Del",
        actions.files.copy_uri_action: "Ctrl+Shift+C",
        actions.files.share_action: "Ctrl+Shift+L",
        actions.conflicts.resolve_action: "Ctrl+Shift+R",
        h.window.menus.refresh_action: "F5",
        actions.transfers.pause_action: "Ctrl+Alt+P",
    }
    for action, key in shortcuts.items():
        assert action.shortcut().toString() == key, action.text()
    # Del deletes in the tree or the project list, never in the editor
    assert actions.files.delete_file_action.shortcutContext() == Qt.ShortcutContext.WidgetWithChildrenShortcut
    assert actions.files.delete_file_action in h.window.tree_view.actions()
    assert actions.project.delete_project_key in h.window.project_view.actions()
    _select(h, "README.md")
    texts = [a.text() for a in actions.tree_menu().actions() if a.text()]
    assert texts[:4] == ["&Open", "&New File…", "&Rename…", "De&lete…"]
    assert "&Keep Offline" in [a.text() for a in actions.project_menu_for_list().actions()]
