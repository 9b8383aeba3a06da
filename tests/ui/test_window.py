"""The main window driven through real services (local store here; moto and SeaweedFS in test_window_s3.py)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QLabel, QMessageBox

from projectdesk.services.projects import ProjectService
from projectdesk.storage.local import LocalRepository
from projectdesk.ui.browser import EMPTY_TEXT
from projectdesk.ui.dialogs.push_preview import PushPreviewDialog
from tests.conftest import make_tree, tree_bytes
from tests.ui.conftest import answer_box, drag_drop, wait_for_child

PROJECT = {
    "app/main.py": b'"""Entry point."""\nimport os\n\n\ndef main() -> None:\n    print("hi")\n',
    "app/util.py": b"def helper(x):\n    return x * 2\n",
    "README.md": "# Demo\ncaf\u00e9 \u2713\n".encode(),
    "web/index.html": b"<!doctype html><title>x</title>\n",
    "requirements.txt": b"fastapi\n",
}


def local_service(tmp_path: Path) -> ProjectService:
    return ProjectService(LocalRepository(tmp_path / "store"))


def test_first_run_shows_the_empty_state(make_window: Any, tmp_path: Path) -> None:
    h = make_window(local_service(tmp_path))
    assert h.window.project_model.rowCount() == 0
    assert h.window.project_view.placeholder() == EMPTY_TEXT
    assert h.window.connection_label.text() == "Online"
    assert "local" in h.window.profile_label.text()


def test_drop_folder_previews_and_uploads(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    service = local_service(tmp_path)
    h = make_window(service)
    source = make_tree(tmp_path / "Demo App", {**PROJECT, "node_modules/x/index.js": b"ignored"})
    assert drag_drop(h.window.project_view.viewport(), [source])
    dialog = wait_for_child(qtbot, h.window, PushPreviewDialog)
    assert dialog.name_field.text() == "Demo App"
    assert "5 files" in dialog.summary.text() and "1 skipped by ignore rules" in dialog.summary.text()
    assert dialog.upload_button.isEnabled()
    dialog.name_field.setText("Renamed Demo")
    assert dialog.slug_label.text().startswith("renamed-demo-")
    dialog.upload_button.click()
    qtbot.waitUntil(lambda: h.window.transfer_model.rowCount() == 1)
    h.wait_transfers()
    [project] = service.list_projects()
    assert project.name == "Renamed Demo" and project.slug.startswith("renamed-demo-")
    pulled = tmp_path / "pulled"
    service.pull(project.slug, pulled)
    assert tree_bytes(pulled) == PROJECT
    assert h.window.project_model.rowCount() == 1
    assert h.window.slug == project.slug  # the new project opens


def test_edit_and_save_reaches_the_store(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    service = local_service(tmp_path)
    plan = service.plan_push(make_tree(tmp_path / "p", PROJECT), name="Edit me")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    page = h.open_file("app/main.py")
    assert page.highlighter is not None and page.can_save
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    page.editor.insertPlainText("# edited\n")
    assert page.is_modified
    assert h.window.editor_area.tabs.tabText(0).startswith("\u2022 ")
    task = h.window.editing.save_current()
    qtbot.waitUntil(task.done)
    assert not page.is_modified
    assert service.read_file(plan.slug, "app/main.py") == PROJECT["app/main.py"] + b"# edited\n"


def test_closing_a_modified_tab_asks_first(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    service = local_service(tmp_path)
    plan = service.plan_push(make_tree(tmp_path / "p", PROJECT), name="Ask")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    page = h.open_file("README.md")
    page.editor.insertPlainText("draft ")
    task = h.window.editing.close_page(page)
    text = answer_box(qtbot, h.window, QMessageBox.StandardButton.Cancel)
    assert "README.md" in text
    qtbot.waitUntil(task.done)
    assert h.window.editor_area.find_page(plan.slug, "README.md") is page
    task = h.window.editing.close_page(page)
    answer_box(qtbot, h.window, QMessageBox.StandardButton.Discard)
    qtbot.waitUntil(task.done)
    assert h.window.editor_area.find_page(plan.slug, "README.md") is None
    assert service.read_file(plan.slug, "README.md") == PROJECT["README.md"]


def test_files_dropped_on_a_folder_upload_into_it(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    service = local_service(tmp_path)
    plan = service.plan_push(make_tree(tmp_path / "p", PROJECT), name="Tree drop")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    extra = make_tree(tmp_path / "extra", {"new.py": b"x = 1\n", "pkg/inner.txt": b"inner"})
    view = h.window.tree_view
    index = h.window.tree_model.index_for_path("app")
    rect = view.visualRect(index)
    assert drag_drop(view.viewport(), [extra / "new.py", extra / "pkg"], rect.center())
    qtbot.waitUntil(lambda: h.window.transfer_model.rowCount() == 1, timeout=10000)
    h.wait_transfers()
    assert service.read_file(plan.slug, "app/new.py") == b"x = 1\n"
    assert service.read_file(plan.slug, "app/pkg/inner.txt") == b"inner"
    assert service.read_file(plan.slug, "app/util.py") == PROJECT["app/util.py"]
    assert (extra / "pkg" / "inner.txt").read_bytes() == b"inner"  # the staging links are gone, the source is not
    assert h.window.tree_model.index_for_path("app/new.py").isValid()
    info = service.info(plan.slug)
    assert info.files_count == len(PROJECT) + 2


def test_view_drop_ignores_non_file_urls(make_window: Any, tmp_path: Path) -> None:
    h = make_window(local_service(tmp_path))
    assert not drag_drop(h.window.project_view.viewport(), [], QPoint(10, 10))


def test_a_dropped_zip_is_previewed_named_after_the_zip_and_selected_once_imported(
    make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    """A .zip dropped on the project list gets the same preview as a folder: named after the zip (not the
    folder inside it), renamable before anything is sent; the new project is selected once it landed."""
    import zipfile

    service = local_service(tmp_path)
    h = make_window(service)
    archive = tmp_path / "zipproj.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path, data in PROJECT.items():
            zf.writestr(f"core/{path}", data)
    assert drag_drop(h.window.project_view.viewport(), [archive])
    dialog = wait_for_child(qtbot, h.window, PushPreviewDialog)
    assert dialog.name_field.text() == "zipproj" and dialog.name_field.isEnabled()
    assert str(archive) in [label.text() for label in dialog.findChildren(QLabel)]
    assert service.list_projects() == []  # nothing sent before the person says so
    dialog.name_field.setText("Zip Project")
    dialog.upload_button.click()
    qtbot.waitUntil(lambda: h.window.transfer_model.rowCount() == 1, timeout=10000)
    h.wait_transfers()
    [transfer] = h.window.transfer_model.transfers()
    assert transfer.state == "done" and transfer.kind == "Upload"
    [project] = service.list_projects()
    assert project.name == "Zip Project"
    qtbot.waitUntil(lambda: h.window.slug == project.slug, timeout=10000)
    pulled = tmp_path / "pulled"
    service.pull(project.slug, pulled)
    assert tree_bytes(pulled) == PROJECT
    assert not list(Path(tempfile.gettempdir()).glob("projectdesk-drop-*/zipproj"))  # the unpacked copy is gone


def test_a_file_dropped_on_the_project_list_explains_itself(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    h = make_window(local_service(tmp_path))
    loose = tmp_path / "loose.txt"
    loose.write_bytes(b"x")
    assert drag_drop(h.window.project_view.viewport(), [loose])
    qtbot.waitUntil(lambda: h.window.banner.isVisible())
    assert "Drop a folder" in h.window.banner.text()


def test_limit_errors_disable_upload_in_the_preview(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    service = ProjectService(
        LocalRepository(tmp_path / "store"),
        limits=__import__("projectdesk.core.limits", fromlist=["Limits"]).Limits(max_file_bytes=1000),
    )
    h = make_window(service)
    source = make_tree(tmp_path / "heavy", {"ok.txt": b"fine", "big.bin": b"\x00" * 5000})
    os.mkfifo(source / "pipe")  # a named pipe cannot be uploaded
    assert drag_drop(h.window.project_view.viewport(), [source])
    dialog = wait_for_child(qtbot, h.window, PushPreviewDialog)
    assert not dialog.upload_button.isEnabled()
    assert "big.bin" in dialog.limit_label.text() and dialog.limit_label.isVisible()
    sections = [dialog.details.topLevelItem(i).text(0) for i in range(dialog.details.topLevelItemCount())]
    assert any(s.startswith("Cannot be uploaded (1)") for s in sections)  # the pipe
    assert any(s.startswith("Over the size limit (1)") for s in sections)
    dialog.reject()
    h.wait_idle()
    assert service.list_projects() == []
    assert h.window.transfer_model.rowCount() == 0


def test_non_utf8_file_opens_read_only_and_cannot_be_saved(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    service = local_service(tmp_path)
    legacy = "Gr\u00fc\u00dfe aus K\u00f6ln\n".encode("cp1252")
    plan = service.plan_push(make_tree(tmp_path / "p", {**PROJECT, "legacy.txt": legacy}), name="Legacy")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    page = h.open_file("legacy.txt")
    assert page.editor.isReadOnly() and not page.can_save
    assert page.note.isVisibleTo(h.window) and "not UTF-8" in page.note.text()
    assert page.editor.toPlainText() == "Gr\u00fc\u00dfe aus K\u00f6ln\n"
    qtbot.keyClicks(page.editor, "typed")
    assert not page.is_modified and not h.window.menus.save_action.isEnabled()
    task = h.window.editing.save_current()
    qtbot.waitUntil(task.done)
    assert "not UTF-8" in h.window.banner.text()
    assert service.read_file(plan.slug, "legacy.txt") == legacy
    assert "read-only" in h.window.position_label.text()


def test_binary_and_image_files_open_as_such(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    from PySide6.QtGui import QColor, QImage

    image = QImage(64, 32, QImage.Format.Format_RGB32)
    image.fill(QColor("#3366cc"))
    png = tmp_path / "logo.png"
    image.save(str(png))
    svg = (Path(__file__).resolve().parents[2] / "resources" / "icons" / "projectdesk.svg").read_bytes()
    service = local_service(tmp_path)
    files = {"logo.png": png.read_bytes(), "icon.svg": svg, "blob.bin": b"\x00\x01\x02\xff" * 100}
    plan = service.plan_push(make_tree(tmp_path / "p", files), name="Media")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    page = h.open_file("logo.png")
    qtbot.waitUntil(lambda: "64 × 32 px" in page.image_caption.text())
    assert page.editor is None and not page.image_label.pixmap().isNull()
    page = h.open_file("icon.svg")
    qtbot.waitUntil(lambda: "SVG image" in page.image_caption.text())
    page = h.open_file("blob.bin")
    assert page.content.note == "Binary file, 400 bytes" and page.editor is None
    assert page.hex_view.toPlainText().startswith("00000000  00 01 02 ff")
    assert len(h.window.editor_area.pages()) == 3


def test_saving_over_a_remote_change_keeps_both_versions(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    """The page was opened at one version; someone changed the file since: the save never replaces their
    version — it keeps the name, ours becomes a conflicted copy, and the banner says so."""
    service = local_service(tmp_path)
    plan = service.plan_push(make_tree(tmp_path / "p", PROJECT), name="Race")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    page = h.open_file("app/util.py")
    service.write_file(plan.slug, "app/util.py", b"changed elsewhere\n")
    h.window.refresh()  # the tree (and the cache) learn the new version; the page still shows the old one
    h.wait_idle()
    page.editor.insertPlainText("# mine\n")
    task = h.window.editing.save_current()
    qtbot.waitUntil(task.done)
    h.wait_idle()
    assert not page.is_modified
    assert service.read_file(plan.slug, "app/util.py") == b"changed elsewhere\n"
    copies = [e.path for e in service.list_files(plan.slug) if "conflicted copy" in e.path]
    assert len(copies) == 1 and copies[0].startswith("app/util (conflicted copy ")
    assert service.read_file(plan.slug, copies[0]) == b"# mine\n" + PROJECT["app/util.py"]
    assert h.window.banner.isVisible() and "conflicted copy" in h.window.banner.text().lower()


def test_switching_project_with_unsaved_edits_asks(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    service = local_service(tmp_path)
    first = service.plan_push(make_tree(tmp_path / "one", PROJECT), name="One")
    service.push(first)
    second = service.plan_push(make_tree(tmp_path / "two", PROJECT), name="Two")
    service.push(second)
    h = make_window(service)
    h.window.refresh()
    h.wait_idle()
    h.open_project(first.slug)
    page = h.open_file("README.md")
    page.editor.insertPlainText("unsaved ")
    task = h.window.browser.select_project(second.slug)
    answer_box(qtbot, h.window, QMessageBox.StandardButton.Cancel)
    qtbot.waitUntil(task.done)
    assert h.window.slug == first.slug and page.is_modified
    task = h.window.browser.select_project(second.slug)
    answer_box(qtbot, h.window, QMessageBox.StandardButton.SaveAll)
    qtbot.waitUntil(task.done)
    assert h.window.slug == second.slug
    assert service.read_file(first.slug, "README.md").startswith(b"unsaved ")


def test_go_to_file_and_find(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    from PySide6.QtCore import Qt

    from projectdesk.ui.dialogs.quick_open import QuickOpenDialog

    service = local_service(tmp_path)
    plan = service.plan_push(make_tree(tmp_path / "p", PROJECT), name="Nav")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    h.window.menus.goto_action.trigger()
    dialog = wait_for_child(qtbot, h.window, QuickOpenDialog)
    qtbot.keyClicks(dialog.field, "utl")
    assert dialog.model.stringList()[0] == "app/util.py"
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: h.window.editor_area.find_page(plan.slug, "app/util.py") is not None)
    h.wait_idle()
    page = h.window.editor_area.current()
    assert page.path == "app/util.py"
    assert h.window.tree_view.currentIndex().data() == "util.py"
    h.window.menus.find_action.trigger()
    bar = h.window.editor_area.find_bar
    assert bar.isVisible()
    qtbot.keyClicks(bar.field, "return")
    assert page.editor.textCursor().selectedText() == "return"
    bar.field.setText("nothing-here")
    assert not bar.find_text(forward=True) and bar.status.text() == "No results"


def test_layout_profile_and_project_are_restored(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    service = local_service(tmp_path)
    plan = service.plan_push(make_tree(tmp_path / "p", PROJECT), name="Remember me")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    h.window.resize(771, 555)  # within the offscreen screen (restoreGeometry keeps windows on screen)
    h.window.splitter.setSizes([250, 150, 300])
    sizes = h.window.splitter.sizes()
    h.window.force_close()
    assert h.window.settings.path.parent == h.window.session.paths.config_dir
    again = make_window(service, size=None)
    qtbot.waitUntil(lambda: again.window.slug == plan.slug, timeout=10000)
    again.wait_idle()
    assert (again.window.size().width(), again.window.size().height()) == (771, 555)
    assert again.window.splitter.sizes() == sizes
    assert again.window.profile_box.currentData() == "local"
    assert again.window.tree_model.rowCount() > 0


def test_failures_opening_the_store_reach_the_window(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    from projectdesk.core.errors import AuthError

    def broken(_profile: Any) -> ProjectService:
        raise AuthError("The secret access key is wrong for this access key ID.")

    h = make_window(local_service(tmp_path), wait=False, factory=broken)
    qtbot.waitUntil(lambda: h.window.banner.isVisible(), timeout=10000)
    h.wait_idle()
    assert "Sign-in failed" in h.window.banner.text() and "secret access key is wrong" in h.window.banner.text()
    assert h.window.project_view.placeholder() == "Could not open this store"


def test_closing_a_tab_while_it_loads_is_quiet(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    service = local_service(tmp_path)
    big = b"".join(b"line %07d of a long generated file\n" % i for i in range(90_000))  # 3.3 MB
    plan = service.plan_push(make_tree(tmp_path / "p", {"big.txt": big, "pic.png": b"not really a png"}), name="B")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    opening = h.window.editing.open_file("big.txt")
    qtbot.waitUntil(lambda: h.window.editor_area.find_page(plan.slug, "big.txt") is not None, timeout=10000)
    page = h.window.editor_area.find_page(plan.slug, "big.txt")
    closing = h.window.editing.close_page(page)
    qtbot.waitUntil(lambda: opening.done() and closing.done(), timeout=20000)
    assert opening.exception() is None and closing.exception() is None
    image_task = h.window.editing.open_file("pic.png")
    qtbot.waitUntil(lambda: h.window.editor_area.find_page(plan.slug, "pic.png") is not None, timeout=10000)
    h.window.editing.close_page(h.window.editor_area.find_page(plan.slug, "pic.png"))
    qtbot.waitUntil(image_task.done, timeout=10000)
    assert image_task.exception() is None
    h.wait_idle()
    assert not h.window.banner.isVisible(), h.window.banner.text()
    assert h.window.editor_area.pages() == []


def test_dropping_a_working_folder_updates_its_project(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    """A folder pushed or pulled before is bound to its project: a drop updates that project through the
    three-way rule (the preview says what will move) instead of making a second project."""
    service = local_service(tmp_path)
    source = make_tree(tmp_path / "Demo App", PROJECT)
    plan = service.plan_push(source, name="Demo")
    service.push(plan)
    (source / "app" / "util.py").write_bytes(b"def helper(x):\n    return x * 3\n")  # changed here
    (source / "README.md").write_bytes(b"# ours\n")  # changed here and on the server
    service.repo.write_file(plan.slug, "README.md", b"# theirs\n")
    service.repo.write_file(plan.slug, "web/index.html", b"<!doctype html><title>new</title>\n")
    h = make_window(service)
    assert drag_drop(h.window.project_view.viewport(), [source])
    dialog = wait_for_child(qtbot, h.window, PushPreviewDialog)
    heading = dialog.findChild(QLabel, "previewHeading")
    assert heading.text() == "Update Demo: 1 new or changed, 1 changed on the server, 1 conflict"
    assert dialog.windowTitle() == "Update Demo" and not dialog.name_field.isEnabled()
    dialog.upload_button.click()
    h.wait_transfers()
    assert [p.slug for p in service.list_projects()] == [plan.slug]  # no second project
    assert service.read_file(plan.slug, "README.md") == b"# theirs\n"  # nothing overwritten
    copies = [e.path for e in service.list_files(plan.slug) if "conflicted copy" in e.path]
    assert len(copies) == 1 and service.read_file(plan.slug, copies[0]) == b"# ours\n"
    assert service.read_file(plan.slug, "app/util.py") == b"def helper(x):\n    return x * 3\n"


def test_a_status_read_before_the_store_came_back_does_not_take_the_window_offline_again(
    make_window: Any, tmp_path: Path
) -> None:
    """The 5-second status refresh reads the cache on a worker; a read made just before the store answered
    again arrives after the window is back online. Applied as it was, it took the window offline again and
    the queue was sent twice (the double flush seen under load). The session applies the service's state now."""
    from projectdesk.ui.sync_state import SyncSnapshot

    h = make_window(local_service(tmp_path))
    assert h.window.connection_label.text() == "Online"
    h.window.session.apply_snapshot(SyncSnapshot(offline=True))  # stale: the service is online
    assert h.window.connection_label.text() == "Online"
    assert not h.window.monitor.offline and not h.window.monitor.strip.isVisibleTo(h.window)
