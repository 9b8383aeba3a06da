"""File history and restore in the window (issue #16): a file's versions, compare, restore and its undo, deleted
files in the tree and undelete, the project restored as of a moment, and the one sentence without versioning.

On moto with bucket versioning turned on (the local store keeps no history). Moments come from the versions' own
stamps; the only wait on the clock is `next_second` (< 1 s) so two pushes are stamped in different seconds.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import QApplication, QMessageBox

from projectdesk.core.keys import MANIFEST_NAME
from projectdesk.services import history
from projectdesk.services.projects import ProjectService
from projectdesk.ui.commands.history import ENABLE_TEXT, HistoryCommands
from projectdesk.ui.dialogs.history import FileHistoryDialog, RestoreDialog
from projectdesk.ui.dialogs.versioning import VersioningRow
from projectdesk.ui.file_tree import DELETED_ROLE, FileTreeModel
from tests.conftest import Store, make_tree
from tests.ui.conftest import WindowHarness, wait_for_child

MOTO = pytest.mark.parametrize("store", ["moto"], indirect=True)
FIRST: dict[str, bytes] = {
    "README.md": b"# Shop\n",
    "src/app.py": b"print('first')\n",
    "src/util.py": b"def helper():\n    return 1\n",
    "docs/old.md": b"removed in the second push\n",
}
SECOND: dict[str, bytes] = {
    "README.md": b"# Shop\n",
    "src/app.py": b"print('second')\n",
    "src/util.py": b"def helper():\n    return 2\n",
    "src/new.py": b"added in the second push\n",
}


@pytest.fixture
def versioned(store: Store) -> Store:
    store.repo.enable_versioning()
    assert store.repo.versioning() == "Enabled"
    return store


def next_second() -> None:
    """Wait (< 1 s) until the clock is in a later second: what is written after is stamped later."""
    now = time.time()
    time.sleep(max(0.0, int(now) + 1 - now) + 0.02)


def server_files(service: ProjectService, slug: str) -> dict[str, bytes]:
    entries = service.repo.list_files(slug)
    return {e.path: service.repo.read_file(slug, e.path) for e in entries if e.path != MANIFEST_NAME}


def commands(h: WindowHarness) -> HistoryCommands:
    return h.window.commands.history


def open_history(h: WindowHarness, path: str, rows: int) -> FileHistoryDialog:
    """Select `path` in the tree and choose File History…; wait until the dialog lists `rows` rows."""
    h.window.browser.reveal(path)
    h.window.commands.update()
    action = commands(h).file_history_action
    assert action.isEnabled()
    action.trigger()
    h.qtbot.waitUntil(lambda: commands(h).history_dialog is not None, timeout=20000)
    dialog = commands(h).history_dialog
    assert dialog is not None
    h.qtbot.waitUntil(lambda: len(dialog.versions) == rows, timeout=30000)
    return dialog


def confirm(h: WindowHarness, button_text: str) -> str:
    box = wait_for_child(h.qtbot, h.window, QMessageBox)
    text = box.text()
    [button] = [b for b in box.buttons() if b.text() == button_text]
    button.click()
    return str(text)


def close_compare(h: WindowHarness) -> None:
    dialog = commands(h).compare_dialog
    assert dialog is not None
    dialog.reject()
    h.qtbot.waitUntil(lambda: commands(h).compare_dialog is None, timeout=10000)


def wait_compare(h: WindowHarness) -> Any:
    h.qtbot.waitUntil(lambda: commands(h).compare_dialog is not None, timeout=30000)
    return commands(h).compare_dialog


@MOTO
def test_the_history_lists_five_edits_and_the_deletion_newest_first(
    versioned: Store, make_window: Any, tmp_path: Path
) -> None:
    service = ProjectService(versioned.repo)
    plan = service.plan_push(make_tree(tmp_path / "p", {"app.py": b"edit 1\n", "keep.txt": b"stays\n"}), name="Hist")
    service.push(plan)
    for i in range(2, 6):
        service.write_file(plan.slug, "app.py", f"edit {i}\n".encode())
    service.delete_file(plan.slug, "app.py")
    h = make_window(service)
    h.open_project(plan.slug)
    commands(h).show_deleted_action.trigger()  # the deleted file shows in the tree, to open its history
    h.qtbot.waitUntil(lambda: h.window.tree_model.deleted_at("app.py") is not None, timeout=30000)
    dialog = open_history(h, "app.py", 6)
    table = dialog.table
    first = table.topLevelItem(0)
    assert first is not None and first.text(dialog.NOTE) == "deleted, current"
    assert dialog.versions[0].is_delete_marker and dialog.versions[0].is_latest
    stamps = [v.last_modified for v in dialog.versions]
    assert stamps == sorted(stamps, reverse=True)
    for row in range(1, 6):
        item = table.topLevelItem(row)
        assert item is not None and item.text(dialog.SIZE) == "7 B" and item.text(dialog.NOTE) == ""
        assert " · 20" in item.text(dialog.WHEN)  # relative, then the date
    texts = [history.read_version(service, plan.slug, "app.py", v.version_id) for v in dialog.versions[1:]]
    assert texts == [f"edit {i}\n".encode() for i in range(5, 0, -1)]
    assert "5 versions and 1 deletion" in dialog.summary.text()
    assert not dialog.restore_button.isEnabled()  # the deletion row: nothing to restore
    dialog.select(1)
    assert dialog.restore_button.isEnabled() and not dialog.compare_button.isEnabled()  # deleted now: no current
    dialog.writers_button.click()
    h.qtbot.waitUntil(lambda: table.topLevelItem(1).text(dialog.WRITER) != "", timeout=30000)  # type: ignore[union-attr]
    assert [table.topLevelItem(r).text(dialog.WRITER) for r in range(1, 6)] == ["ProjectDesk"] * 5  # type: ignore[union-attr]
    dialog.accept()
    h.qtbot.waitUntil(lambda: commands(h).history_dialog is None, timeout=10000)


@MOTO
def test_compare_restore_and_undo_the_restore(versioned: Store, make_window: Any, tmp_path: Path) -> None:
    service = ProjectService(versioned.repo)
    plan = service.plan_push(make_tree(tmp_path / "p", {"app.py": b"v1\n"}), name="Restore")
    service.push(plan)
    slug = plan.slug
    for i in (2, 3):
        service.write_file(slug, "app.py", f"v{i}\n".encode())
    h = make_window(service)
    h.open_project(slug)
    page = h.open_file("app.py")
    assert page.text() == "v3\n"
    dialog = open_history(h, "app.py", 3)
    assert [v.size for v in dialog.versions] == [3, 3, 3] and dialog.versions[0].is_latest
    v3 = dialog.versions[0].version_id

    # open the oldest read-only
    dialog.select(2)
    dialog.open_button.click()
    h.qtbot.waitUntil(lambda: commands(h).version_dialog is not None, timeout=30000)
    viewer = commands(h).version_dialog
    assert viewer is not None and viewer.view.toPlainText() == "v1\n" and viewer.view.isReadOnly()
    viewer.reject()
    h.qtbot.waitUntil(lambda: commands(h).version_dialog is None, timeout=10000)
    # compare the oldest with the current file
    dialog.select(2)
    dialog.compare_button.click()
    compare = wait_compare(h)
    assert compare.view.left.toPlainText() == "v1" and compare.view.right.toPlainText() == "v3"
    assert "Current" in compare.view.right_title.text()
    close_compare(h)
    # two selected versions: older left, newer right
    dialog.select(1, 2)
    dialog.compare_two_button.click()
    compare = wait_compare(h)
    assert compare.view.left.toPlainText() == "v1" and compare.view.right.toPlainText() == "v2"
    close_compare(h)

    # restore v1: the server's bytes and the open (clean) page show it
    dialog.select(2)
    dialog.restore_button.click()
    assert "Restore app.py as it was at" in confirm(h, "Restore")
    h.qtbot.waitUntil(lambda: dialog.message.text().startswith("Restored app.py"), timeout=30000)
    assert service.repo.read_file(slug, "app.py") == b"v1\n"
    h.qtbot.waitUntil(lambda: len(dialog.versions) == 4, timeout=30000)
    h.qtbot.waitUntil(lambda: page.text() == "v1\n", timeout=30000)
    assert not page.is_modified
    # the undo: restore the version it replaced (second in the list now)
    assert dialog.versions[0].is_latest and dialog.versions[1].version_id == v3
    dialog.select(1)
    dialog.restore_button.click()
    confirm(h, "Restore")
    h.qtbot.waitUntil(lambda: len(dialog.versions) == 5, timeout=30000)
    assert service.repo.read_file(slug, "app.py") == b"v3\n"
    h.qtbot.waitUntil(lambda: page.text() == "v3\n", timeout=30000)

    # compare a version with the unsaved edit in the editor
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    page.editor.insertPlainText("my edit\n")
    assert page.is_modified and dialog.compare_edit_button.isVisible()
    dialog.select(4)  # v1
    dialog.compare_edit_button.click()
    compare = wait_compare(h)
    assert compare.view.left.toPlainText().strip() == "v1"  # a filler row faces the added line
    assert compare.view.right.toPlainText() == "v3\nmy edit" and "unsaved" in compare.view.right_title.text()
    close_compare(h)
    dialog.accept()
    h.qtbot.waitUntil(lambda: commands(h).history_dialog is None, timeout=10000)


@MOTO
def test_deleted_files_show_greyed_and_undelete_brings_one_back(
    versioned: Store, make_window: Any, tmp_path: Path
) -> None:
    service = ProjectService(versioned.repo)
    plan = service.plan_push(make_tree(tmp_path / "p", {"a.txt": b"alpha\n", "sub/b.txt": b"beta\n"}), name="Del")
    service.push(plan)
    service.delete_file(plan.slug, "sub/b.txt")
    h = make_window(service)
    h.open_project(plan.slug)
    model: FileTreeModel = h.window.tree_model
    assert model.index_for_path("sub/b.txt").isValid() is False
    action = commands(h).show_deleted_action
    assert action.isEnabled() and not action.isChecked()
    action.trigger()
    h.qtbot.waitUntil(lambda: model.deleted_at("sub/b.txt") is not None, timeout=30000)
    assert action.isChecked()
    index = model.index_for_path("sub/b.txt")
    assert index.isValid() and index.data(DELETED_ROLE) is not None
    grey = QApplication.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert index.data(Qt.ItemDataRole.ForegroundRole) == grey
    assert str(index.siblingAtColumn(FileTreeModel.SIZE).data()).startswith("deleted ")
    assert model.all_paths() == ["a.txt"] and model.entry("sub/b.txt") is None  # not a file there is
    assert model.tree_index().file_count == 1
    h.window.tree_view.activated.emit(index)  # double-clicked: a deleted file opens its history, not the editor
    h.qtbot.waitUntil(lambda: commands(h).history_dialog is not None, timeout=20000)
    dialog = commands(h).history_dialog
    assert dialog is not None
    h.qtbot.waitUntil(lambda: len(dialog.versions) == 2, timeout=30000)  # the version and the deletion
    dialog.close()
    h.qtbot.waitUntil(lambda: commands(h).history_dialog is None, timeout=10000)
    assert h.window.editor_area.current() is None
    h.window.browser.reveal("sub/b.txt")
    h.window.commands.update()
    menu = h.window.commands.tree_menu()
    assert [a.text() for a in menu.actions()] == ["&Undelete", "File &History…"]
    files = h.window.commands.files
    assert not files.rename_action.isEnabled() and not files.delete_file_action.isEnabled()  # it is gone already
    undelete = commands(h).undelete_action
    assert undelete.isEnabled()
    undelete.trigger()
    h.qtbot.waitUntil(lambda: model.entry("sub/b.txt") is not None, timeout=30000)
    assert model.deleted_at("sub/b.txt") is None
    assert service.repo.read_file(plan.slug, "sub/b.txt") == b"beta\n"
    action.trigger()  # hidden again
    h.qtbot.waitUntil(lambda: not action.isChecked() and not h.window.browser.show_deleted, timeout=10000)
    h.wait_idle()


@MOTO
def test_restore_to_a_moment_between_two_pushes(versioned: Store, make_window: Any, tmp_path: Path) -> None:
    service = ProjectService(versioned.repo)
    plan = service.plan_push(make_tree(tmp_path / "shop", FIRST), name="Shop")
    service.push(plan)
    slug = plan.slug
    next_second()
    for path, data in SECOND.items():
        if FIRST.get(path) != data:
            service.write_file(slug, path, data)
    service.delete_file(slug, "docs/old.md")
    assert server_files(service, slug) == SECOND
    moments = history.moments(service, slug)
    moment = moments[-1]  # the first push
    h = make_window(service)
    h.open_project(slug)
    commands(h).restore_to_action.trigger()
    h.qtbot.waitUntil(lambda: commands(h).restore_dialog is not None, timeout=20000)
    dialog: RestoreDialog = commands(h).restore_dialog  # type: ignore[assignment]
    h.qtbot.waitUntil(lambda: dialog.moments.count() == len(moments), timeout=30000)
    dialog.moments.setCurrentRow(len(moments) - 1)
    assert dialog.moment() == moment.at
    dialog.preview_button.click()
    h.qtbot.waitUntil(lambda: dialog.plan is not None, timeout=30000)
    assert dialog.steps_shown() == {
        "changed": ["src/app.py", "src/util.py"],
        "added": ["src/new.py"],
        "deleted": ["docs/old.md"],
    }
    assert "2 changed since (restored), 1 added since (deleted), 1 deleted since (restored), 1 unchanged" in (
        dialog.summary.text()
    )
    assert server_files(service, slug) == SECOND  # a preview writes nothing
    # a file of the preview, then and now
    group = dialog.preview.topLevelItem(0)
    assert group is not None
    item = group.child(0)
    assert item is not None and item.text(0) == "src/app.py"
    dialog.preview.itemClicked.emit(item, 0)
    compare = wait_compare(h)
    assert compare.view.left.toPlainText() == "print('first')"
    assert compare.view.right.toPlainText() == "print('second')"
    close_compare(h)

    assert dialog.restore_button.isEnabled()
    dialog.restore_button.click()
    h.qtbot.waitUntil(lambda: h.window.transfer_model.rowCount() == 1, timeout=20000)
    h.wait_transfers()
    [transfer] = h.window.transfer_model.transfers()
    assert transfer.state == "done", transfer.error
    assert "3 file(s) restored, 1 deleted" in transfer.detail and "undoes this" in transfer.detail
    assert server_files(service, slug) == FIRST  # byte-identical to that moment
    report = commands(h).last_report
    assert report is not None and report.undo_at >= moments[0].at
    h.qtbot.waitUntil(lambda: sorted(h.window.tree_model.all_paths()) == sorted(FIRST), timeout=30000)


@MOTO
def test_without_versioning_the_one_sentence_and_the_offer_to_turn_it_on(
    store: Store, make_window: Any, tmp_path: Path
) -> None:
    service = ProjectService(store.repo)
    plan = service.plan_push(make_tree(tmp_path / "p", {"app.py": b"v1\n"}), name="Plain")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    h.window.browser.reveal("app.py")
    h.window.commands.update()
    commands(h).file_history_action.trigger()
    box = wait_for_child(h.qtbot, h.window, QMessageBox)
    assert box.text() == (
        f"The bucket '{store.bucket}' does not keep old versions of files (versioning is off): turn it on with "
        "'projectdesk-cli profiles versioning NAME --enable' (or in the accounts dialog)."
    )
    assert "billed" in box.informativeText()
    assert commands(h).history_dialog is None
    [enable] = [b for b in box.buttons() if b.text() == ENABLE_TEXT]
    enable.click()
    h.qtbot.waitUntil(lambda: store.repo.versioning() == "Enabled", timeout=30000)
    h.wait_idle()


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_the_local_store_says_it_keeps_no_history(store: Store, make_window: Any, tmp_path: Path) -> None:
    service = ProjectService(store.repo)
    plan = service.plan_push(make_tree(tmp_path / "p", {"app.py": b"v1\n"}), name="Local")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    commands(h).restore_to_action.trigger()
    box = wait_for_child(h.qtbot, h.window, QMessageBox)
    assert "keep" in box.text() and not [b for b in box.buttons() if b.text() == ENABLE_TEXT]
    box.done(0)
    h.wait_idle()
    assert commands(h).restore_dialog is None


def test_the_accounts_row_offers_versioning_only_while_it_is_off(qtbot: Any) -> None:
    row = VersioningRow()
    qtbot.addWidget(row)
    row.show()
    row.show_status("")
    assert row.isVisible() and row.enable_button.isVisible() and "billed" in row.cost.text()
    assert "versioning is off" in row.note.text()
    row.show_status("Enabled")
    assert row.isVisible() and not row.enable_button.isVisible() and "history and restore work" in row.note.text()
    row.show_status(None)
    assert not row.isVisible()


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_the_history_commands_are_in_the_menus_with_a_shortcut_of_their_own(store: Store, make_window: Any) -> None:
    h = make_window(ProjectService(store.repo))
    history_commands = commands(h)
    menus = {a.text(): a.menu() for a in h.window.menuBar().actions()}
    assert history_commands.show_deleted_action in menus["&View"].actions()  # type: ignore[union-attr]
    assert history_commands.page_history_action in menus["&Edit"].actions()  # type: ignore[union-attr]
    project = menus["&Project"].actions()  # type: ignore[union-attr]
    assert history_commands.file_history_action in project and history_commands.restore_to_action in project
    key = history_commands.file_history_action.shortcut()
    assert key.toString() == "Ctrl+Alt+H"
    others = [a for a in h.window.findChildren(QAction) if a is not history_commands.file_history_action]
    assert not [a.text() for a in others if a.shortcut() == key]


@pytest.mark.seaweedfs
def test_test_connection_says_the_bucket_keeps_no_versions_and_turns_them_on(
    make_window: Any, isolated_dirs: Any, seaweed: Any
) -> None:
    from tests.ui.test_accounts_dialog import (
        fill_seaweed,
        open_accounts,
        open_editor,
        run_test,
        window_on_real_services,
    )

    bucket = f"ver-{uuid.uuid4().hex[:12]}"
    seaweed.create_bucket(bucket)
    h = window_on_real_services(make_window, isolated_dirs)
    dialog = open_accounts(h)
    editor = open_editor(h, dialog, dialog.add_button)
    fill_seaweed(editor, seaweed, "weed", bucket, seaweed.secret_key)
    run_test(h, editor)
    assert editor.last_report is not None and editor.last_report.ok and editor.last_report.versioning == ""
    row = editor.versioning_row
    assert row.isVisible() and row.enable_button.isVisible() and "versioning is off" in row.note.text()
    assert "billed, until a lifecycle rule removes them" in row.cost.text()
    row.enable_button.click()
    h.qtbot.waitUntil(lambda: "File history is on" in row.note.text(), timeout=30000)
    assert not row.enable_button.isVisible()
    status = seaweed.client().get_bucket_versioning(Bucket=bucket).get("Status")
    assert status == "Enabled"
    run_test(h, editor)  # tested again: it keeps versions, nothing offered
    assert "history and restore work" in row.note.text() and not row.enable_button.isVisible()
    editor.reject()
    dialog.reject()
