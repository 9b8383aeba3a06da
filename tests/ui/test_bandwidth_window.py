"""Bandwidth in the window, on SeaweedFS: the open store's limits apply to its transfers and show on the rows
("limited to 1 MiB/s"); Pause All Transfers (toolbar, Store menu, the panel's button) stops the bytes and
Resume continues; the GUI stays responsive meanwhile; the accounts dialog's Bandwidth row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import Profile, ProfileStore
from projectdesk.core.bandwidth import KIB, BandwidthLimits
from projectdesk.services.projects import ProjectService
from projectdesk.storage.throttle import BANDWIDTH, UP
from projectdesk.ui.dialogs.push_preview import PushPreviewDialog
from projectdesk.ui.transfers import RUNNING, Transfer, TransferModel
from tests.conftest import Store, make_tree
from tests.ui.conftest import StallProbe, drag_drop, wait_for_child
from tests.ui.test_accounts_dialog import fill_seaweed, open_accounts, open_editor, window_on_real_services
from tests.ui.test_stall import CPU_BOUND, WALL_BOUND

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

MIB = KIB * KIB


@pytest.fixture(autouse=True)
def unlimited_after() -> Iterator[None]:
    yield
    BANDWIDTH.resume()
    BANDWIDTH.set_limits(BandwidthLimits())


def test_rows_say_the_limit_of_their_direction(qapp: Any) -> None:
    model = TransferModel()
    rows = {kind: model.add(Transfer(kind, "x", state=RUNNING)) for kind in ("Upload", "Download", "Restore")}
    sync = model.add(Transfer("Work in Folder", "x", state=RUNNING))
    model.set_bandwidth(BandwidthLimits(1 * MIB, 4 * MIB), paused=False)
    status = {kind: model.data(model.index(model.row_of(t), TransferModel.STATUS)) for kind, t in rows.items()}
    assert status["Upload"].endswith("— limited to 1 MiB/s")
    assert status["Download"].endswith("— limited to 4 MiB/s")
    assert "limited" not in status["Restore"]  # copies on the server: no bytes through here
    assert model.limit_text(sync) == "limited to 1 MiB/s up, 4 MiB/s down"
    model.set_bandwidth(BandwidthLimits(0, 512 * KIB), paused=True)
    assert model.limit_text(rows["Upload"]) == ""
    assert str(model.data(model.index(model.row_of(rows["Download"]), TransferModel.STATUS))).startswith("Paused — ")


@pytest.mark.parametrize("store", ["seaweedfs"], indirect=True)
def test_a_limited_upload_shows_its_limit_pauses_and_resumes(
    store: Store, make_window: Any, isolated_dirs: Paths, tmp_path: Path, qtbot: Any
) -> None:
    profiles = ProfileStore(isolated_dirs)
    profiles.add(Profile(name="slow", endpoint_url="http://127.0.0.1:1", bucket=store.bucket, path_style=True,
                         max_upload_kbps=1024, max_download_kbps=2048))  # fmt: skip
    profiles.set_default("slow")
    h = make_window(ProjectService(store.repo))
    assert BANDWIDTH.limits == BandwidthLimits(1 * MIB, 2 * MIB)  # the open store's, applied on opening
    size = 3 * MIB  # 3 s at 1 MiB/s
    data = bytes(range(256)) * (size // 256)
    source = make_tree(tmp_path / "Clip", {"clip.bin": data})
    assert drag_drop(h.window.project_view.viewport(), [source])
    dialog = wait_for_child(qtbot, h.window, PushPreviewDialog)
    model = h.window.transfer_model
    commands = h.window.commands.transfers
    panel_button = h.window.transfers.pause_button
    assert panel_button.defaultAction() is commands.pause_action and panel_button.isVisibleTo(h.window.transfers)
    assert commands.pause_action in h.window.menus.toolbar.actions()
    assert commands.pause_action in h.window.commands.store_menu.actions()

    def status() -> str:
        return str(model.data(model.index(0, TransferModel.STATUS)))

    with StallProbe() as probe:
        dialog.upload_button.click()
        qtbot.waitUntil(lambda: model.rowCount() == 1 and status().endswith("— limited to 1 MiB/s"), timeout=10000)
        qtbot.waitUntil(lambda: BANDWIDTH.moved[UP] >= MIB // 2, timeout=10000)
        panel_button.click()  # Pause All Transfers
        assert BANDWIDTH.paused and commands.pause_action.isChecked()
        assert commands.pause_action.text() == "&Resume Transfers"
        assert status().startswith("Paused — ")
        assert model.data(model.index(0, TransferModel.SPEED)) == model.data(model.index(0, TransferModel.LEFT)) == ""
        moved = BANDWIDTH.moved[UP]
        qtbot.wait(1000)  # nothing moves, however long: the rows stay running
        assert BANDWIDTH.moved[UP] == moved and model.transfers()[0].state == RUNNING
        commands.pause_action.trigger()  # Resume Transfers (the toolbar's and the menu's action)
        assert not BANDWIDTH.paused and commands.pause_action.text() == "&Pause All Transfers"
        h.wait_transfers(timeout=30000)
    [transfer] = model.transfers()
    assert transfer.state == "done", transfer.error
    slug = h.window.slug
    got = store.client.get_object(Bucket=store.bucket, Key=f"projects/anonymous/{slug}/clip.bin")["Body"].read()
    assert got == data
    assert probe.longest < WALL_BOUND and probe.longest_cpu < CPU_BOUND, str(probe)


def test_the_accounts_dialog_sets_a_stores_limits(
    make_window: Any, isolated_dirs: Paths, seaweed: SeaweedServer
) -> None:
    bucket = f"bw-{uuid.uuid4().hex[:12]}"
    seaweed.create_bucket(bucket)
    h = window_on_real_services(make_window, isolated_dirs)
    dialog = open_accounts(h)
    editor = open_editor(h, dialog, dialog.add_button)
    fill_seaweed(editor, seaweed, "limited", bucket, seaweed.secret_key)
    assert editor.bandwidth_field.text() == ""
    editor.bandwidth_field.setText("2 fast")
    editor.save_button.click()
    h.qtbot.waitUntil(lambda: "not a bandwidth" in editor.result_label.text())
    assert editor.result_label.text() == (
        "'2 fast' is not a bandwidth: use a number of KiB/s or one with a suffix (512k, 2M, 1G), or off."
    )
    editor.bandwidth_field.setText("512k:4M")
    editor.save_button.click()
    h.qtbot.waitUntil(lambda: dialog.editor is None and "limited" in dialog.changed, timeout=20000)
    profile = ProfileStore(isolated_dirs).get("limited")
    assert (profile.max_upload_kbps, profile.max_download_kbps) == (512, 4096)
    h.qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 2)
    dialog.tree.setCurrentItem(
        next(dialog.tree.topLevelItem(i) for i in range(2) if dialog.tree.topLevelItem(i).data(0, 256) == "limited")
    )
    editor = open_editor(h, dialog, dialog.edit_button)
    assert editor.bandwidth_field.text() == "512K:4M"
