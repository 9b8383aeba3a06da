"""Working folders in the window (issue #15): Work in Folder pulls a project into a folder and keeps the two in
sync while the window runs — edits on disk reach the store, the tree and the open pages; saves in the editor
pane reach the folder; a change on both sides keeps both versions; Stop Working in Folder unbinds and keeps
the files; Open in Editor runs the configured command; closing the window ends the watch threads."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from projectdesk.services.projects import ProjectService
from projectdesk.services.watch import WatchState, WatchTiming
from projectdesk.storage.local import LocalRepository
from projectdesk.ui.dialogs.conflict import KEEP_MINE
from projectdesk.ui.project_list import FOLDER_ICON_ROLE, FOLDER_ROLE
from projectdesk.ui.transfers import DONE
from projectdesk.ui.working_folders import FolderStatus
from tests.conftest import make_tree, tree_bytes
from tests.ui.conftest import WindowHarness, answer_box, wait_for_child

PROJECT = {
    "README.md": b"# Site\n",
    "app/main.py": b"def main() -> None:\n    print('hi')\n",
    "web/index.html": b"<!doctype html><title>site</title>\n",
}
FAST = WatchTiming(quiet=0.1, longest_batch=1.0, poll_first=0.2, poll_longest=0.5, retry_first=0.2, retry_longest=1.0)
# Server changes seen only by rounds that local changes start: a change on both sides meets in one round.
LOCAL_ONLY = WatchTiming(quiet=0.1, longest_batch=1.0, poll_first=600, poll_longest=600)
WAIT_MS = 20000


def open_site(
    make_window: Any, tmp_path: Path, timing: WatchTiming = FAST
) -> tuple[WindowHarness, ProjectService, str]:
    service = ProjectService(LocalRepository(tmp_path / "store"))
    plan = service.plan_push(make_tree(tmp_path / "site", PROJECT), name="Site", remember=False)
    service.push(plan)
    h: WindowHarness = make_window(service)
    h.window.working_folders.timing = timing
    h.open_project(plan.slug)
    return h, service, plan.slug


def chooser(folder: Path) -> Any:
    async def choose(_parent: Any, _title: str) -> Path:
        return folder

    return choose


def status(h: WindowHarness) -> FolderStatus | None:
    return h.window.working_folders.status(h.window.slug)


def in_sync(h: WindowHarness) -> bool:
    found = status(h)
    return found is not None and found.state == WatchState.IN_SYNC and not found.waiting


def work_in(h: WindowHarness, folder: Path) -> None:
    """Project ▸ Work in Folder…, the chooser answering `folder`; returns once the first round is in sync."""
    commands = h.window.commands.project
    commands.choose_folder = chooser(folder)
    task = commands.work_in_folder()
    h.qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.exception() is None
    h.qtbot.waitUntil(lambda: in_sync(h), timeout=WAIT_MS)


def test_work_in_folder_pulls_the_project_and_edits_on_disk_reach_the_store_tree_and_page(
    make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    h, service, slug = open_site(make_window, tmp_path)
    project = h.window.commands.project
    assert project.work_in_folder_action.isEnabled() and not project.stop_working_action.isEnabled()
    page = h.open_file("README.md")
    folder = tmp_path / "work" / "site"

    work_in(h, folder)
    assert tree_bytes(folder) == PROJECT
    assert service.folders.binding(folder, slug) is not None
    [pulled] = h.window.transfer_model.transfers()  # the pull was a row of the transfers panel
    assert pulled.kind == "Work in Folder" and pulled.state == DONE and "3 fetched" in pulled.detail
    assert project.stop_working_action.isEnabled()
    header = h.window.project_header.text()
    assert "In folder" in header and "in sync" in header
    row = h.window.project_model.index(h.window.project_model.row_of(slug), 0)
    assert "in sync" in row.data(Qt.ItemDataRole.ToolTipRole)
    assert row.data(FOLDER_ROLE) == f"in folder {folder.resolve()} · in sync"
    assert row.data(FOLDER_ICON_ROLE) == "online"

    (folder / "README.md").write_bytes(b"# Site\nEdited on disk.\n")
    (folder / "notes").mkdir()
    (folder / "notes" / "todo.md").write_bytes(b"- ship it\n")
    qtbot.waitUntil(lambda: service.read_file(slug, "README.md") == b"# Site\nEdited on disk.\n", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: service.list_files(slug) and "notes/todo.md" in {e.path for e in service.list_files(slug)})
    assert service.read_file(slug, "notes/todo.md") == b"- ship it\n"
    qtbot.waitUntil(lambda: h.window.tree_model.entry("notes/todo.md") is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.text() == "# Site\nEdited on disk.\n", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "↑" in h.window.statusBar().currentMessage(), timeout=WAIT_MS)  # "Site: ↑ 2 files"
    assert h.window.statusBar().currentMessage().startswith("Site: ↑")
    qtbot.waitUntil(lambda: h.window.project_model.project(slug).files_count == 4, timeout=WAIT_MS)  # the row's count
    assert not page.is_modified
    qtbot.waitUntil(lambda: in_sync(h), timeout=WAIT_MS)
    assert "in sync" in h.window.project_header.text()


def test_a_save_in_the_editor_pane_arrives_in_the_folder(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    h, service, slug = open_site(make_window, tmp_path)
    folder = tmp_path / "site-work"
    work_in(h, folder)
    page = h.open_file("app/main.py")
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    page.editor.insertPlainText("\n\nmain()\n")
    saved = page.data_to_save()
    task = h.window.editing.save_current()
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.exception() is None and not page.is_modified
    assert service.read_file(slug, "app/main.py") == saved
    qtbot.waitUntil(lambda: (folder / "app" / "main.py").read_bytes() == saved, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: in_sync(h), timeout=WAIT_MS)
    assert page.text().endswith("main()\n") and not page.is_modified


def test_unsaved_edits_stay_when_the_file_changes_in_the_folder(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    h, service, slug = open_site(make_window, tmp_path)
    folder = tmp_path / "site-work"
    work_in(h, folder)
    page = h.open_file("README.md")
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    page.editor.insertPlainText("Typed in the window, not saved.\n")
    assert page.is_modified
    (folder / "README.md").write_bytes(b"# Site\nFrom the folder.\n")
    qtbot.waitUntil(lambda: service.read_file(slug, "README.md") == b"# Site\nFrom the folder.\n", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "File changed in the working folder" in h.window.banner.text(), timeout=WAIT_MS)
    assert page.is_modified and page.text() == "# Site\nTyped in the window, not saved.\n"

    task = h.window.editing.save_current()  # over the version the page shows: both versions are kept
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.exception() is None

    def ours_in_folder() -> bool:
        return any(
            p.name != "README.md" and p.read_bytes() == b"# Site\nTyped in the window, not saved.\n"
            for p in folder.iterdir()
            if p.is_file()
        )

    qtbot.waitUntil(ours_in_folder, timeout=WAIT_MS)
    assert (folder / "README.md").read_bytes() == b"# Site\nFrom the folder.\n"


def test_a_change_on_both_sides_keeps_both_versions_and_the_diff_view_settles_it(
    make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    h, service, slug = open_site(make_window, tmp_path, timing=LOCAL_ONLY)
    folder = tmp_path / "site-work"
    work_in(h, folder)
    service.write_file(slug, "README.md", b"# Site\nChanged on the server.\n")  # another writer
    (folder / "README.md").write_bytes(b"# Site\nChanged in the folder.\n")

    def copies() -> list[Path]:
        return [p for p in folder.iterdir() if p.name.startswith("README") and p.name != "README.md"]

    qtbot.waitUntil(lambda: len(copies()) == 1, timeout=WAIT_MS)
    [copy] = copies()
    assert (folder / "README.md").read_bytes() == b"# Site\nChanged on the server.\n"
    assert copy.read_bytes() == b"# Site\nChanged in the folder.\n"
    qtbot.waitUntil(lambda: copy.name in {e.path for e in service.list_files(slug)}, timeout=WAIT_MS)
    assert service.read_file(slug, copy.name) == b"# Site\nChanged in the folder.\n"
    assert service.read_file(slug, "README.md") == b"# Site\nChanged on the server.\n"
    qtbot.waitUntil(lambda: "1 conflict" in h.window.project_header.text(), timeout=WAIT_MS)
    assert "Changed in two places" in h.window.banner.text()

    assert 'href="folder-conflicts"' in h.window.project_header.text()  # "compare": the header's link
    project = h.window.commands.project
    h.window.commands.update()
    assert project.folder_conflicts_action.isEnabled()
    h.window.project_header.linkActivated.emit("folder-conflicts")  # as a click on "compare" does
    qtbot.waitUntil(lambda: project.folder_conflict_dialog is not None, timeout=WAIT_MS)
    dialog = project.folder_conflict_dialog
    assert "Changed in the folder." in dialog.view.left.toPlainText()
    assert "Changed on the server." in dialog.view.right.toPlainText()
    dialog.choose(KEEP_MINE)
    qtbot.waitUntil(lambda: not copy.exists(), timeout=WAIT_MS)
    assert (folder / "README.md").read_bytes() == b"# Site\nChanged in the folder.\n"
    qtbot.waitUntil(
        lambda: service.read_file(slug, "README.md") == b"# Site\nChanged in the folder.\n", timeout=WAIT_MS
    )
    qtbot.waitUntil(lambda: copy.name not in {e.path for e in service.list_files(slug)}, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: in_sync(h) and "conflict" not in h.window.project_header.text(), timeout=WAIT_MS)


def test_stop_working_in_folder_unbinds_and_keeps_the_files(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    h, service, slug = open_site(make_window, tmp_path)
    folder = tmp_path / "site-work"
    work_in(h, folder)
    [thread] = h.window.working_folders.threads()
    project = h.window.commands.project
    project.stop_working_action.trigger()
    qtbot.waitUntil(lambda: not thread.is_alive() and status(h) is None, timeout=WAIT_MS)
    h.wait_idle()
    assert service.folders.binding(folder, slug) is None
    assert tree_bytes(folder) == PROJECT
    assert "No longer working in" in h.window.banner.text() and "stay where they are" in h.window.banner.text()
    assert not project.stop_working_action.isEnabled()
    assert "In folder" not in h.window.project_header.text()


def test_open_in_editor_offers_a_folder_first_then_runs_the_editor_command(
    make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    h, _service, _slug = open_site(make_window, tmp_path)
    project = h.window.commands.project
    out = tmp_path / "editor-was-given.txt"
    script = "import pathlib, sys; pathlib.Path(sys.argv[2]).write_text(sys.argv[1])"
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)} {{folder}} {shlex.quote(str(out))}"

    async def answer(_parent: Any, _title: str, _label: str, _text: str) -> str:
        return command

    project.ask_text = answer
    task = project.set_editor_command()
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert h.window.settings.editor_command() == command

    folder = tmp_path / "code" / "site"
    project.choose_folder = chooser(folder)
    project.open_in_editor_action.trigger()
    answer_box(qtbot, h.window, QMessageBox.StandardButton.Yes)  # "no working folder yet: Work in Folder?"
    qtbot.waitUntil(lambda: out.exists() and out.read_text() == str(folder.resolve()), timeout=WAIT_MS)
    assert tree_bytes(folder) == PROJECT
    qtbot.waitUntil(lambda: in_sync(h), timeout=WAIT_MS)

    out.unlink()
    project.open_in_editor_action.trigger()  # now straight to the editor
    qtbot.waitUntil(lambda: out.exists() and out.read_text() == str(folder.resolve()), timeout=WAIT_MS)


def test_closing_the_window_stops_the_watches_and_the_next_window_watches_again(
    make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    h, service, slug = open_site(make_window, tmp_path)
    folder = tmp_path / "site-work"
    work_in(h, folder)
    threads = h.window.working_folders.threads()
    assert len(threads) == 1 and threads[0].is_alive()
    h.window.force_close()
    qtbot.waitUntil(lambda: not any(t.is_alive() for t in threads), timeout=WAIT_MS)

    again: WindowHarness = make_window(service)  # the binding is kept: the next window watches the folder
    again.open_project(slug)
    qtbot.waitUntil(lambda: in_sync(again), timeout=WAIT_MS)
    (folder / "web" / "index.html").write_bytes(b"<!doctype html><title>again</title>\n")
    qtbot.waitUntil(lambda: b"again" in service.read_file(slug, "web/index.html"), timeout=WAIT_MS)
    [watch_thread] = again.window.working_folders.threads()
    again.window.force_close()
    qtbot.waitUntil(lambda: not watch_thread.is_alive(), timeout=WAIT_MS)


def test_a_folder_bound_by_a_push_is_not_kept_in_sync_unless_chosen(make_window: Any, tmp_path: Path) -> None:
    service = ProjectService(LocalRepository(tmp_path / "store"))
    source = make_tree(tmp_path / "dropped", PROJECT)
    plan = service.plan_push(source, name="Dropped")  # a drop binds the folder: a later drop updates the project
    service.push(plan)
    assert service.folders.binding(source, plan.slug) is not None
    h: WindowHarness = make_window(service)
    h.open_project(plan.slug)
    h.wait_idle()
    assert h.window.working_folders.threads() == [] and status(h) is None
    assert "In folder" not in h.window.project_header.text()
    assert not h.window.commands.project.stop_working_action.isEnabled()


def test_switching_stores_stops_the_watches_and_coming_back_starts_them(
    make_window: Any, tmp_path: Path, isolated_dirs: Any, qtbot: Any
) -> None:
    from projectdesk.config.profiles import Profile, ProfileStore

    ProfileStore(isolated_dirs).add(
        Profile(name="other", endpoint_url="http://127.0.0.1:9", region="us-east-1", bucket="other", path_style=True)
    )
    service = ProjectService(LocalRepository(tmp_path / "store"))
    plan = service.plan_push(make_tree(tmp_path / "site", PROJECT), name="Site", remember=False)
    service.push(plan)
    stores = {"local": service, "other": ProjectService(LocalRepository(tmp_path / "other-store"))}
    h: WindowHarness = make_window(service, factory=lambda profile: stores[profile.name])
    h.window.working_folders.timing = FAST
    h.open_project(plan.slug)
    folder = tmp_path / "site-work"
    work_in(h, folder)
    [thread] = h.window.working_folders.threads()

    h.window.session.track(h.window.browser.switch_profile("other"))
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=WAIT_MS)
    h.wait_ready()
    assert h.window.working_folders.threads() == [] and h.window.working_folders.status(plan.slug) is None

    h.window.session.track(h.window.browser.switch_profile("local"))
    qtbot.waitUntil(lambda: len(h.window.working_folders.threads()) == 1, timeout=WAIT_MS)
    h.wait_ready()
    qtbot.waitUntil(
        lambda: (s := h.window.working_folders.status(plan.slug)) is not None and s.state == WatchState.IN_SYNC,
        timeout=WAIT_MS,
    )
    (folder / "README.md").write_bytes(b"# Back\n")
    qtbot.waitUntil(lambda: service.read_file(plan.slug, "README.md") == b"# Back\n", timeout=WAIT_MS)


def test_a_folder_holding_other_files_gets_the_project_in_a_new_folder_inside(
    make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    h, service, slug = open_site(make_window, tmp_path)
    code = make_tree(tmp_path / "code", {"other/notes.txt": b"not the project's\n"})
    project = h.window.commands.project
    project.choose_folder = chooser(code)
    task = project.work_in_folder()
    box = wait_for_child(qtbot, h.window, QMessageBox)
    assert box.objectName() == "folderChoiceBox" and "1 item" in box.text()
    [new_folder] = [b for b in box.buttons() if b.text().startswith("New Folder")]
    new_folder.click()
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.exception() is None
    assert tree_bytes(code / slug) == PROJECT
    assert tree_bytes(code / "other") == {"notes.txt": b"not the project's\n"}
    assert service.folders.binding(code, slug) is None and service.folders.binding(code / slug, slug) is not None
    qtbot.waitUntil(lambda: in_sync(h), timeout=WAIT_MS)
    assert h.window.working_folders.folder_of(slug) == (code / slug).resolve()


def test_a_pages_own_save_coming_into_the_folder_is_no_change_to_warn_about(
    make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    h, service, slug = open_site(make_window, tmp_path, timing=LOCAL_ONLY)
    folder = tmp_path / "site-work"
    work_in(h, folder)
    page = h.open_file("app/main.py")
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    page.editor.insertPlainText("\nmain()\n")
    saved = page.data_to_save()
    task = h.window.editing.save_current()
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.exception() is None
    page.editor.insertPlainText("# still typing\n")  # unsaved edits on top of the saved version
    h.window.banner.hide()
    (folder / "web" / "index.html").write_bytes(b"<!doctype html><title>edited</title>\n")  # starts a round
    qtbot.waitUntil(lambda: (folder / "app" / "main.py").read_bytes() == saved, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: b"edited" in service.read_file(slug, "web/index.html"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: in_sync(h), timeout=WAIT_MS)
    h.wait_idle()
    assert not h.window.banner.isVisible(), h.window.banner.text()
    assert page.is_modified and page.text().endswith("main()\n# still typing\n")


def test_a_project_deleted_elsewhere_leaves_the_folder_as_it_is(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    h, service, slug = open_site(make_window, tmp_path)
    folder = tmp_path / "site-work"
    work_in(h, folder)
    service.delete_project(slug)  # by another client: the next poll finds the project gone
    qtbot.waitUntil(lambda: "no longer in the store" in h.window.project_header.text(), timeout=WAIT_MS)
    assert status(h).state == WatchState.FAILED
    assert tree_bytes(folder) == PROJECT  # a sync would have emptied it


def test_delete_project_stops_working_in_its_folder_first_and_keeps_the_files(
    make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    h, service, slug = open_site(make_window, tmp_path)
    folder = tmp_path / "site-work"
    work_in(h, folder)
    [thread] = h.window.working_folders.threads()
    task = h.window.commands.project.delete_project()
    box = wait_for_child(qtbot, h.window, QMessageBox)
    assert "keeps its files" in box.informativeText()
    [delete] = [b for b in box.buttons() if b.text() == "Delete Project"]
    delete.click()
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.exception() is None
    assert not thread.is_alive() and service.folders.binding(folder, slug) is None
    assert service.list_projects() == [] and tree_bytes(folder) == PROJECT


def test_offline_the_folders_changes_wait_and_are_sent_once_online(
    make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    h, service, slug = open_site(make_window, tmp_path)
    folder = tmp_path / "site-work"
    work_in(h, folder)
    window_service = h.window.service
    assert window_service is not None
    window_service.go_offline()  # Store ▸ Work Offline
    (folder / "README.md").write_bytes(b"# Written offline\n")
    qtbot.waitUntil(lambda: "offline, 1 local change waiting" in h.window.project_header.text(), timeout=WAIT_MS)
    assert status(h).state == WatchState.WAITING and service.read_file(slug, "README.md") == PROJECT["README.md"]
    window_service.go_online()
    qtbot.waitUntil(lambda: service.read_file(slug, "README.md") == b"# Written offline\n", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: in_sync(h), timeout=WAIT_MS)
