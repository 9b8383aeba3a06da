"""The window on S3: in-process moto and a real SeaweedFS server (the objects are checked with boto3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from projectdesk.core.keys import MANIFEST_NAME
from projectdesk.services.projects import ProjectService
from projectdesk.ui.dialogs.push_preview import PushPreviewDialog
from projectdesk.ui.transfers import CANCELLED
from tests.conftest import Store, make_tree
from tests.ui.conftest import drag_drop, wait_for_child

S3_KINDS = pytest.mark.parametrize("store", ["moto", "seaweedfs"], indirect=True)

PROJECT = {
    "src/app.py": b"import os\n\nprint(os.getcwd())\n",
    "src/data/values.csv": b"a,b\n1,2\n",
    "README.md": "# S3 demo \u2713\n".encode(),
    "assets/pixel.bin": bytes(range(256)) * 40,
    "docs/notes caf\u00e9.md": b"unicode name\n",
}


def objects(store: Store, slug: str) -> dict[str, bytes]:
    """Every object of the project, straight from the bucket (manifest left out)."""
    prefix = f"projects/anonymous/{slug}/"
    found: dict[str, bytes] = {}
    paginator = store.client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=store.bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            path = item["Key"][len(prefix) :]
            if path != MANIFEST_NAME:
                found[path] = store.client.get_object(Bucket=store.bucket, Key=item["Key"])["Body"].read()
    return found


@S3_KINDS
def test_dropped_folder_lands_in_the_bucket_byte_identical(
    store: Store, make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    service = ProjectService(store.repo)
    h = make_window(service)
    source = make_tree(tmp_path / "S3 Demo", {**PROJECT, ".git/HEAD": b"ref", "__pycache__/x.pyc": b"\x00"})
    assert drag_drop(h.window.project_view.viewport(), [source])
    dialog = wait_for_child(qtbot, h.window, PushPreviewDialog)
    assert "5 files" in dialog.summary.text()
    dialog.upload_button.click()
    qtbot.waitUntil(lambda: h.window.transfer_model.rowCount() == 1)
    h.wait_transfers()
    [transfer] = h.window.transfer_model.transfers()
    assert transfer.state == "done", transfer.error
    assert transfer.files_done == 5 and transfer.bytes_done == sum(len(d) for d in PROJECT.values())
    slug = h.window.slug
    assert slug.startswith("s3-demo-")
    assert objects(store, slug) == PROJECT


@S3_KINDS
def test_edit_and_save_reaches_the_bucket(store: Store, make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    service = ProjectService(store.repo)
    plan = service.plan_push(make_tree(tmp_path / "p", PROJECT), name="Edit on S3")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    page = h.open_file("src/app.py")
    assert page.highlighter is not None and page.highlighter.lexer_name == "Python"
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    page.editor.insertPlainText("print('saved from the window \u2713')\n")
    task = h.window.editing.save_current()
    qtbot.waitUntil(task.done, timeout=20000)
    assert task.exception() is None and not page.is_modified
    expected = PROJECT["src/app.py"] + "print('saved from the window \u2713')\n".encode()
    assert objects(store, plan.slug)["src/app.py"] == expected
    head = store.client.head_object(Bucket=store.bucket, Key=f"projects/anonymous/{plan.slug}/src/app.py")
    assert head["ContentType"] == "text/x-python"
    listed = {entry.path: entry for entry in service.list_files(plan.slug)}
    assert page.entry.size == len(expected) and page.entry.etag == listed["src/app.py"].etag


# On SeaweedFS (its own process): with moto the in-process server's threads can starve the GUI thread
# long enough for the whole upload to finish before the click on Cancel is handled.
@pytest.mark.parametrize("store", ["seaweedfs"], indirect=True)
def test_cancel_stops_an_upload_and_leaves_no_partial_object(
    store: Store, make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    service = ProjectService(store.repo)
    h = make_window(service)
    files = {f"batch/{i // 100:02d}/file-{i:04d}.txt": (f"file {i} ".encode() * 300) for i in range(1500)}
    files["big/one.bin"] = bytes(range(256)) * 36_000  # 9.2 MB: big enough for a multipart upload
    files["big/two.bin"] = bytes(reversed(range(256))) * 36_000
    source = make_tree(tmp_path / "many", files)
    assert drag_drop(h.window.project_view.viewport(), [source])
    wait_for_child(qtbot, h.window, PushPreviewDialog, timeout=30000).upload_button.click()
    qtbot.waitUntil(lambda: h.window.transfer_model.rowCount() == 1)
    [transfer] = h.window.transfer_model.transfers()
    qtbot.waitUntil(lambda: transfer.files_done >= 1, timeout=30000)
    h.window.transfers.select(transfer)
    assert h.window.transfers.cancel_button.isEnabled()
    h.window.transfers.cancel_button.click()
    h.wait_transfers()
    assert transfer.state == CANCELLED, (transfer.state, transfer.error)
    assert "Retry sends the rest" in transfer.error
    assert transfer.retry is not None and h.window.transfers.retry_button.isEnabled()
    slug = transfer.slug
    stored = objects(store, slug)
    assert 0 < len(stored) < len(files), len(stored)
    for path, data in stored.items():
        assert data == files[path], f"{path} is not whole"
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket)
    assert not uploads.get("Uploads"), uploads["Uploads"]
    # Retry sends the rest.
    h.window.transfers.retry_button.click()
    qtbot.waitUntil(lambda: h.window.transfer_model.rowCount() == 2)
    h.wait_transfers(timeout=120000)
    again = h.window.transfer_model.transfers()[-1]
    assert again.state == "done", again.error
    # (A cancelled first push writes no manifest, so plan_push cannot tell which files are already there
    # and sends them all again; correct, if not minimal.)
    assert again.files_total <= len(files)
    assert objects(store, slug) == files


def test_a_refused_sign_in_shows_in_the_status_bar_not_connecting_forever(
    make_window: Any, seaweed: Any, tmp_path: Path, qtbot: Any
) -> None:
    """A real SeaweedFS with a wrong secret: the store opens (nothing is asked yet), the first listing is
    refused. The banner says why and the status bar says "Not connected" — and keeps saying it when the
    periodic status refresh runs (it reads only the cache and must not turn it into "Online")."""
    from projectdesk.storage.s3 import S3Repository
    from projectdesk.storage.s3client import Credentials, make_client

    client = make_client(
        endpoint_url=seaweed.endpoint_url, region=seaweed.region,
        credentials=Credentials(seaweed.access_key, "not-the-secret"), path_style=True, max_attempts=1,
    )  # fmt: skip
    repo = S3Repository(client, "refused", endpoint=seaweed.endpoint_url)
    h = make_window(ProjectService(repo), wait=False)
    qtbot.waitUntil(lambda: h.window.banner.isVisible(), timeout=20000)
    h.wait_idle()
    assert "Sign-in failed" in h.window.banner.text() or "refused" in h.window.banner.text().lower()
    assert h.window.connection_label.text() == "Not connected"
    assert "not-the-secret" not in h.window.banner.text()
    h.window.session.track(h.window.browser.refresh_status())  # what the 5-second timer does
    h.wait_idle()
    assert h.window.connection_label.text() == "Not connected"
