"""Project ▸ Share Project… and Shared Links… in the window, on a real SeaweedFS (presigned links work there): the
zip snapshot is made as a row of the transfers panel, its link fetched with urllib gives the project; Shared
Links lists it, Copy Link copies a fresh link, Revoke (asked first) removes the row and the link stops working.
On the local store both commands are off, saying why."""

from __future__ import annotations

import io
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from projectdesk.cache.store import CacheStore
from projectdesk.config.paths import Paths
from projectdesk.core import shares
from projectdesk.core.shares import until_text
from projectdesk.services import share as service_share
from projectdesk.services.offline import CachedProjectService
from projectdesk.services.projects import ProjectService
from projectdesk.storage.local import LocalRepository
from projectdesk.ui.dialogs.share_project import ProjectLinkDialog, ShareProjectDialog
from projectdesk.ui.dialogs.shared_links import SharedLinksDialog
from tests.conftest import make_tree, seaweed_repo
from tests.servers.seaweedfs import SeaweedServer
from tests.ui.conftest import WindowHarness, wait_for_child

PROJECT = {
    "README.md": b"# Portfolio\n",
    "src/pages/index.tsx": b"export default function Home() { return null }\n" * 20,
    "public/logo.png": bytes(range(256)) * 64,
}


def _fetch(url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as answer:  # as anyone holding the link would
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


@pytest.mark.seaweedfs
def test_share_project_then_revoke_it_in_shared_links(
    seaweed: SeaweedServer, make_window: Any, isolated_dirs: Paths, tmp_path: Path
) -> None:
    bucket = f"shw-{uuid.uuid4().hex[:10]}"
    seaweed.create_bucket(bucket)
    paths = isolated_dirs
    service = CachedProjectService(seaweed_repo(seaweed, bucket), CacheStore(paths.cache_root, "weed", "anonymous"))
    plan = service.plan_push(make_tree(tmp_path / "Portfolio Site", PROJECT), name="Portfolio Site")
    service.push(plan)
    # a snapshot whose link expired while the app was closed: removed in the background once the store opens
    old = service_share.share_project(service, plan.slug, 3600)
    key = shares.share_key("anonymous", plan.slug, old.share_id)
    client = seaweed.client()
    meta = {**client.head_object(Bucket=bucket, Key=key)["Metadata"], shares.META_EXPIRES: str(int(time.time()) - 5)}
    client.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key}, Metadata=meta,
                       MetadataDirective="REPLACE")  # fmt: skip
    h: WindowHarness = make_window(service, factory=lambda _profile: service)
    h.qtbot.waitUntil(lambda: not client.list_objects_v2(Bucket=bucket, Prefix="shares/").get("Contents"))
    h.open_project(plan.slug)
    share = h.window.commands.share
    assert share.share_project_action.isEnabled() and share.shared_links_action.isEnabled()
    menu_texts = [a.text() for a in h.window.commands.project_menu.actions()]
    assert "S&hare Project…" in menu_texts and "Shared Lin&ks…" in menu_texts

    # Share Project…: choose one hour, Create Link
    made: list[Any] = []
    share.shared.connect(made.append)
    share.share_project_action.trigger()
    dialog: ShareProjectDialog = wait_for_child(h.qtbot, h.window, ShareProjectDialog)
    assert dialog.heading.text().startswith("Share Portfolio Site (3 files, ")
    dialog.expiry.setCurrentIndex(dialog.expiry.findData(3600))
    dialog.create_button.click()
    link: ProjectLinkDialog = wait_for_child(h.qtbot, h.window, ProjectLinkDialog, timeout=30000)
    assert len(made) == 1
    snapshot = made[0]
    assert snapshot.expires_at == pytest.approx(time.time() + 3600, abs=60)
    row = h.window.transfer_model.transfers()[-1]
    assert (row.kind, row.state, row.files_done, row.files_total) == ("Pack", "done", 3, 3)
    assert link.sentence.text() == (
        f"Anyone with this link can download {plan.slug} (3 files, {snapshot.size / 1000:.1f} KB) as a zip until "
        f"{until_text(snapshot.expires_at)}."
    )
    assert link.url_field.text() == snapshot.url
    link.copy_button.click()
    h.qtbot.waitUntil(lambda: share.link_dialog is None)
    url = QGuiApplication.clipboard().text()
    assert url == snapshot.url
    status, body = _fetch(url)
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == PROJECT

    # Shared Links…: the row, Copy Link (fresh), Revoke asked first
    share.shared_links_action.trigger()
    links: SharedLinksDialog = wait_for_child(h.qtbot, h.window, SharedLinksDialog)
    h.qtbot.waitUntil(lambda: links.loaded, timeout=15000)
    assert links.table.topLevelItemCount() == 1
    item = links.table.topLevelItem(0)
    assert item is not None and item.text(0) == "Portfolio Site" and item.text(3) == "3"
    QGuiApplication.clipboard().clear()
    links.copy_button.click()
    h.qtbot.waitUntil(lambda: links.status.text().startswith("Copied a link to Portfolio Site's zip"), timeout=15000)
    fresh = QGuiApplication.clipboard().text()
    assert _fetch(fresh)[0] == 200
    links.revoke_button.click()
    box: QMessageBox = wait_for_child(h.qtbot, h.window, QMessageBox)
    assert box.text() == "Revoke the link to Portfolio Site's zip?"
    next(b for b in box.buttons() if b.text() == "Revoke").click()
    h.qtbot.waitUntil(lambda: links.table.topLevelItemCount() == 0, timeout=15000)
    assert "no longer works" in links.status.text()
    assert _fetch(url)[0] in (403, 404) and _fetch(fresh)[0] in (403, 404)
    assert not seaweed.client().list_objects_v2(Bucket=bucket, Prefix="shares/").get("Contents")
    links.reject()
    h.wait_idle()


@pytest.mark.seaweedfs
def test_cancelling_the_pack_row_leaves_nothing_on_the_server(
    seaweed: SeaweedServer, make_window: Any, isolated_dirs: Paths, tmp_path: Path
) -> None:
    bucket = f"shc-{uuid.uuid4().hex[:10]}"
    seaweed.create_bucket(bucket)
    paths = isolated_dirs
    service = CachedProjectService(seaweed_repo(seaweed, bucket), CacheStore(paths.cache_root, "weed", "anonymous"))
    plan = service.plan_push(make_tree(tmp_path / "Site", PROJECT), name="Site")
    service.push(plan)
    h: WindowHarness = make_window(service, factory=lambda _profile: service)
    h.open_project(plan.slug)
    model = h.window.transfer_model
    # Cancel as the row appears, before the zip's first file (the person clicks Cancel on the row)
    model.rowsInserted.connect(lambda *_: model.transfers()[-1].cancel.set())
    h.window.commands.share.share_project_action.trigger()
    dialog: ShareProjectDialog = wait_for_child(h.qtbot, h.window, ShareProjectDialog)
    dialog.create_button.click()
    h.qtbot.waitUntil(lambda: bool(model.transfers()) and model.transfers()[-1].state == "cancelled", timeout=20000)
    h.wait_idle()
    assert h.window.commands.share.link_dialog is None
    client = seaweed.client()
    assert not client.list_objects_v2(Bucket=bucket, Prefix="shares/").get("Contents")
    assert not client.list_multipart_uploads(Bucket=bucket, Prefix="shares/").get("Uploads")


def test_a_local_store_cannot_share_by_link(make_window: Any, tmp_path: Path) -> None:
    service = ProjectService(LocalRepository(tmp_path / "store"), data_dir=tmp_path / "data")
    plan = service.plan_push(make_tree(tmp_path / "Local Site", PROJECT), name="Local Site")
    service.push(plan)
    h: WindowHarness = make_window(service)
    h.open_project(plan.slug)
    share = h.window.commands.share
    assert not share.share_project_action.isEnabled() and not share.shared_links_action.isEnabled()
    assert share.share_project_action.toolTip() == "Sharing by link needs an S3 store."
