"""Drives the real ProjectDesk window to each main state under a virtual X display and saves screenshots.

    .venv/bin/python scripts/screenshots.py                 # local store -> docs/screenshots/
    .venv/bin/python scripts/screenshots.py --seaweedfs     # also a SeaweedFS profile (real S3 server)
    .venv/bin/python scripts/screenshots.py --only-history  # file history and restore (SeaweedFS, versioning on)
    .venv/bin/python scripts/screenshots.py --only-sso      # Sign in with AWS SSO (SeaweedFS, fake Identity Center)
    .venv/bin/python scripts/screenshots.py --only-proxy    # a store behind an HTTP proxy with a login (SeaweedFS)
    .venv/bin/python scripts/screenshots.py --only-projects  # 3,000 projects: the list filling in, then filtered
    .venv/bin/python scripts/screenshots.py --only-tree     # a 3,000-file project opening: its tree filling in
    .venv/bin/python scripts/screenshots.py --only-bandwidth  # a limited upload, paused; the store's Bandwidth row
    .venv/bin/python scripts/screenshots.py --only-share    # Share Project… and Shared Links… (SeaweedFS)

Starts `Xvfb :99` itself when DISPLAY is not set (Debian package xvfb). Every folder it writes is
under a temporary directory (XDG_* point there), so no real configuration is touched. The window is
the app's own (app.create_window on the real services); the script only plays the user: it drops a
folder with the same drag events a file manager sends, clicks buttons and types.
"""

from __future__ import annotations

import argparse
import asyncio
import zipfile
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCREEN = (1400, 900)


def start_xvfb() -> list[subprocess.Popen[bytes]]:
    """Xvfb on :99 (unless DISPLAY is set) and, when installed, openbox so dialogs get title bars."""
    if os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM", "xcb") == "xcb":
        return []
    display = ":99"
    procs = [
        subprocess.Popen(
            ["Xvfb", display, "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    for _ in range(50):
        if Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
            break
        time.sleep(0.1)
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    if shutil.which("openbox"):
        procs.append(subprocess.Popen(["openbox"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)
    return procs


def sample_png(path: Path) -> None:
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QLinearGradient, QPainter

    image = QImage(640, 400, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    gradient = QLinearGradient(QPointF(0, 0), QPointF(640, 400))
    gradient.setColorAt(0, QColor("#ff7e5f"))
    gradient.setColorAt(1, QColor("#6a5acd"))
    painter.fillRect(QRectF(0, 0, 640, 400), gradient)
    painter.setPen(QColor("white"))
    font = QFont("DejaVu Sans", 40, QFont.Weight.Bold)
    painter.setFont(font)
    painter.drawText(QRectF(0, 0, 640, 400), int(Qt.AlignmentFlag.AlignCenter), "Portfolio")
    painter.end()
    image.save(str(path))


def make_portfolio(root: Path) -> Path:
    """A small React + FastAPI project with what a real folder has: node_modules, .git, a .gitignore."""
    files: dict[str, bytes] = {
        "README.md": b"# Portfolio site\n\nReact front end, FastAPI back end.\n\n```sh\nnpm run dev\n```\n",
        ".gitignore": b"node_modules/\n*.log\n.env\n",
        "frontend/package.json": json.dumps(
            {
                "name": "portfolio",
                "private": True,
                "scripts": {"dev": "vite", "build": "vite build"},
                "dependencies": {"react": "^18.3.1", "react-dom": "^18.3.1"},
                "devDependencies": {"vite": "^5.4.0", "tailwindcss": "^3.4.10"},
            },
            indent=2,
        ).encode()
        + b"\n",
        "frontend/index.html": b'<!doctype html>\n<html lang="en">\n  <head><title>Portfolio</title></head>\n'
        b'  <body><div id="root"></div><script type="module" src="/src/main.jsx"></script></body>\n</html>\n',
        "frontend/src/main.jsx": b"import React from 'react'\nimport { createRoot } from 'react-dom/client'\n"
        b"import App from './App'\n\ncreateRoot(document.getElementById('root')).render(<App />)\n",
        "frontend/src/App.jsx": (
            b"import { useEffect, useState } from 'react'\n\n"
            b"export default function App() {\n"
            b"  const [projects, setProjects] = useState([])\n\n"
            b"  useEffect(() => {\n"
            b"    fetch('/api/projects')\n"
            b"      .then((response) => response.json())\n"
            b"      .then(setProjects)\n"
            b"  }, [])\n\n"
            b"  return (\n"
            b'    <main className="mx-auto max-w-3xl p-8">\n'
            b'      <h1 className="text-3xl font-bold">My work</h1>\n'
            b"      {projects.map((p) => (\n"
            b'        <article key={p.slug} className="mt-6">\n'
            b"          <h2>{p.name}</h2>\n"
            b"          <p>{p.summary}</p>\n"
            b"        </article>\n"
            b"      ))}\n"
            b"    </main>\n"
            b"  )\n"
            b"}\n"
        ),
        "frontend/src/styles.css": b"@tailwind base;\n@tailwind components;\n@tailwind utilities;\n",
        "backend/requirements.txt": b"fastapi==0.115.0\nuvicorn[standard]==0.30.6\n",
        "backend/main.py": (
            b'"""The portfolio API: projects from a JSON file, served by FastAPI."""\n\n'
            b"from __future__ import annotations\n\n"
            b"import json\n"
            b"from pathlib import Path\n\n"
            b"from fastapi import FastAPI, HTTPException\n\n"
            b'app = FastAPI(title="Portfolio")\n'
            b'DATA = Path(__file__).with_name("projects.json")\n\n\n'
            b"def load() -> list[dict[str, str]]:\n"
            b'    """Every project, newest first."""\n'
            b'    projects = json.loads(DATA.read_text(encoding="utf-8"))\n'
            b'    return sorted(projects, key=lambda p: p["year"], reverse=True)\n\n\n'
            b'@app.get("/api/projects")\n'
            b"def list_projects() -> list[dict[str, str]]:\n"
            b"    return load()\n\n\n"
            b'@app.get("/api/projects/{slug}")\n'
            b"def get_project(slug: str) -> dict[str, str]:\n"
            b"    for project in load():\n"
            b'        if project["slug"] == slug:\n'
            b"            return project\n"
            b'    raise HTTPException(status_code=404, detail=f"no project {slug!r}")\n'
        ),
        "backend/projects.json": b'[\n  {"slug": "weather", "name": "Weather", "year": "2024",'
        b' "summary": "Forecasts"}\n]\n',
        "frontend/public/icon.svg": (ROOT / "resources" / "icons" / "projectdesk.svg").read_bytes(),
        "data/model.bin": bytes(range(256)) * 64 + b"\x00" * 512,
        "frontend/node_modules/react/index.js": b"module.exports = {}\n",
        ".git/HEAD": b"ref: refs/heads/main\n",
        "server.log": b"started\n",
    }
    project = root / "portfolio-site"
    for rel, data in files.items():
        target = project / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    sample_png(project / "frontend" / "public" / "logo.png")
    (project / "frontend" / "public" / "old-logo.png").symlink_to(project / "missing.png")
    return project


def make_bulk(root: Path, count: int = 2000) -> Path:
    """A 2,000-file project (0.5–20 KB files, nested a few levels), for the upload-in-progress shot."""
    import random

    rng = random.Random(7)
    project = root / "photo-archive"
    for i in range(count):
        depth = rng.randint(0, 5)
        folder = project.joinpath(*[f"set-{rng.randint(1, 6)}" for _ in range(depth)])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"item-{i:04d}.json").write_bytes(rng.randbytes(rng.randint(500, 20_000)))
    return project


def seed_more(service: Any, root: Path) -> None:
    """Two more projects, so the list shows different stacks."""
    for name, files in {
        "Inventory API": {
            "go.mod": b"module inventory\n\ngo 1.22\n",
            "main.go": b"package main\n\nfunc main() {}\n",
            "Dockerfile": b"FROM golang:1.22\n",
        },
        "Docs Site": {
            "package.json": json.dumps(
                {"dependencies": {"next": "14.2.0", "react": "18.3.1"}, "devDependencies": {"typescript": "5.5.0"}}
            ).encode(),
            "app/page.tsx": b"export default function Page() { return <h1>Docs</h1> }\n",
            "tsconfig.json": b"{}\n",
        },
    }.items():
        folder = root / name
        for rel, data in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        service.push(service.plan_push(folder, name=name))


class Director:
    """Plays the user and takes the pictures."""

    def __init__(self, window: Any, out: Path, prefix: str = "") -> None:
        self.window = window
        self.out = out
        self.prefix = prefix
        self.shots: list[Path] = []

    async def wait(self, condition: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what or condition}")
            await asyncio.sleep(0.02)

    async def idle(self) -> None:
        await self.wait(lambda: not self.window.wait_idle_tasks(), what="window tasks")
        await asyncio.sleep(0.3)

    async def new_store(self, name: str, server: Any) -> tuple[Any, Any]:
        """Store ▸ Manage Stores ▸ Add, the SeaweedFS server's details typed in: (accounts dialog, store editor)."""
        actions = self.window.commands
        actions.store.accounts_action.trigger()
        await self.wait(
            lambda: actions.store.accounts_dialog is not None and actions.store.accounts_dialog.add_button.isEnabled()
        )
        accounts = actions.store.accounts_dialog
        accounts.add_button.click()
        await self.wait(lambda: accounts.editor is not None and accounts.editor.isVisible(), what="the store editor")
        editor = accounts.editor
        editor.name_field.setText(name)
        editor.service_box.setCurrentIndex(editor.service_box.findData("custom"))
        editor.endpoint_field.setText(server.endpoint_url)
        editor.region_field.setText(server.region)
        editor.bucket_field.setText("projects")
        editor.key_id_field.setText(server.access_key)
        editor.secret_field.setText(server.secret_key)
        return accounts, editor

    def shot(self, name: str) -> Path:
        from PySide6.QtGui import QGuiApplication

        screen = QGuiApplication.primaryScreen()
        geometry = self.window.frameGeometry()
        pixmap = screen.grabWindow(0, max(0, geometry.x()), max(0, geometry.y()), geometry.width(), geometry.height())
        path = self.out / f"{self.prefix}{name}.png"
        pixmap.save(str(path))
        self.shots.append(path)
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        return path

    def drop(self, widget: Any, paths: list[Path], pos: Any = None) -> None:
        from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
        from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
        from PySide6.QtWidgets import QApplication

        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        point = pos or QPoint(widget.width() // 2, widget.height() // 3)
        copy, left, none = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        QApplication.sendEvent(widget, QDragEnterEvent(point, copy, mime, left, none))
        QApplication.sendEvent(widget, QDragMoveEvent(point, copy, mime, left, none))
        QApplication.sendEvent(widget, QDropEvent(QPointF(point), copy, mime, left, none))

    def dialog(self, kind: type) -> Any:
        found = [d for d in self.window.findChildren(kind) if d.isVisible()]
        return found[0] if found else None


async def local_scenario(window: Any, out: Path, work: Path) -> list[Path]:
    from projectdesk.ui.dialogs.push_preview import PushPreviewDialog
    from projectdesk.ui.dialogs.quick_open import QuickOpenDialog

    d = Director(window, out)
    await d.wait(lambda: window.service is not None, what="the service")
    await d.idle()
    d.shot("01-empty")

    portfolio = make_portfolio(work / "src")
    d.drop(window.project_view.viewport(), [portfolio])
    await d.wait(lambda: d.dialog(PushPreviewDialog) is not None, what="the preview")
    await asyncio.sleep(0.4)
    d.shot("02-drop-preview")
    d.dialog(PushPreviewDialog).upload_button.click()
    await d.wait(lambda: window.transfer_model.rowCount() == 1 and not window.transfer_model.active())
    await d.idle()

    with ThreadPoolExecutor(1) as pool:
        await asyncio.get_running_loop().run_in_executor(pool, seed_more, window.service, work / "src")
        bulk = await asyncio.get_running_loop().run_in_executor(pool, make_bulk, work / "src")
    d.drop(window.project_view.viewport(), [bulk])
    await d.wait(lambda: d.dialog(PushPreviewDialog) is not None, what="the bulk preview")
    await asyncio.sleep(0.2)
    d.dialog(PushPreviewDialog).upload_button.click()
    await d.wait(lambda: window.transfer_model.rowCount() == 2)
    transfer = window.transfer_model.transfers()[-1]
    await d.wait(lambda: transfer.fraction >= 0.3 or not window.transfer_model.active(), what="progress")
    d.shot("03-upload-in-progress")
    await d.wait(lambda: not window.transfer_model.active(), timeout=300)
    await d.idle()

    slug = next(p.slug for p in window.project_model.projects() if p.name == "portfolio-site")
    task = window.browser.select_project(slug)
    await d.wait(task.done)
    for folder in ("backend", "frontend", "frontend/src"):
        window.tree_view.expand(window.tree_model.index_for_path(folder))
    for path in ("frontend/src/App.jsx", "backend/main.py"):
        opening = window.editing.open_file(path)
        if opening is not None:
            await d.wait(opening.done)
    window.tree_view.setCurrentIndex(window.tree_model.index_for_path("backend/main.py"))
    page = window.editor_area.current()
    cursor = page.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    page.editor.setTextCursor(cursor)
    page.editor.insertPlainText(
        '\n\n@app.get("/api/health")\ndef health() -> dict[str, str]:\n    return {"status": "ok"}\n'
    )
    window.editor_area.open_find()
    window.editor_area.find_bar.field.setText("load")
    window.editor_area.find_bar.find_text(forward=True)
    await asyncio.sleep(0.5)
    d.shot("04-editor")
    window.editor_area.find_bar.close_bar()
    save = window.editing.save_current()
    await d.wait(save.done)
    await d.idle()

    for path in ("frontend/public/logo.png",):
        window.tree_view.expand(window.tree_model.index_for_path("frontend/public"))
        opening = window.editing.open_file(path)
        await d.wait(opening.done)
    await asyncio.sleep(0.5)
    d.shot("05-image")
    window.tree_view.expand(window.tree_model.index_for_path("data"))
    opening = window.editing.open_file("data/model.bin")
    await d.wait(opening.done)
    await asyncio.sleep(0.4)
    d.shot("06-binary")

    window.editing.quick_open()
    await d.wait(lambda: d.dialog(QuickOpenDialog) is not None)
    quick = d.dialog(QuickOpenDialog)
    quick.field.setText("main")
    await asyncio.sleep(0.4)
    d.shot("07-go-to-file")
    quick.reject()
    await asyncio.sleep(0.2)

    # Edit ▸ Find in Project: every line that mentions "project", grouped by file, the first one opened (F4).
    finder = window.find_in_project
    window.menus.find_in_project_action.trigger()
    window.find_panel.pattern_field.setText("project")
    searching = finder.search()
    await d.wait(lambda: searching.done() and not finder.running and finder.report is not None, what="the search")
    opening = finder.step(True)
    if opening is not None:
        await d.wait(opening.done, what="the first result")
    await asyncio.sleep(0.5)
    d.shot("13-find-in-project")
    window.find_dock.hide()
    await asyncio.sleep(0.2)

    # Project ▸ Work in Folder: the project pulled into ~/code/portfolio-site and kept in sync while the window
    # runs; files edited there (by any editor) reach the store, the tree and the open page.
    code = Path.home() / "code" / "portfolio-site"

    async def choose(_parent: Any, _title: str) -> Path:
        return code

    window.commands.project.choose_folder = choose
    working = window.commands.project.work_in_folder()
    await d.wait(working.done, timeout=120, what="Work in Folder")
    folders = window.working_folders

    def folder_in_sync() -> bool:
        status = folders.status(slug)
        return status is not None and status.words == "in sync"

    await d.wait(folder_in_sync, what="the folder's first sync")
    app_jsx = code / "frontend" / "src" / "App.jsx"
    app_jsx.write_bytes(app_jsx.read_bytes().replace(b"My work", b"Selected work"))
    (code / "CHANGELOG.md").write_bytes(b"# Changes\n\n- Contact form\n- Selected work on the front page\n")
    await d.wait(lambda: window.tree_model.entry("CHANGELOG.md") is not None, what="the folder's edit in the tree")
    await d.wait(folder_in_sync, what="the folder in sync again")
    window.editor_area.show_page(window.editor_area.find_page(slug, "frontend/src/App.jsx"))
    await d.wait(lambda: "Selected work" in window.editor_area.current().text(), what="the page reloaded")
    window.banner.hide()
    window.tree_view.setCurrentIndex(window.tree_model.index_for_path("CHANGELOG.md"))
    await d.wait(lambda: "↑" in window.statusBar().currentMessage(), what="the status bar's sentence")
    await asyncio.sleep(0.5)
    d.shot("11-working-folder")
    window.commands.update()
    window.menuBar().setActiveAction(window.commands.project_menu.menuAction())  # the Project menu, open
    await d.wait(window.commands.project_menu.isVisible, what="the Project menu")
    await asyncio.sleep(0.4)
    d.shot("12-project-menu")
    window.commands.project_menu.hide()
    await asyncio.sleep(0.2)

    # The folder dropped at the start is a working folder of its project now: dropping it again updates
    # that project under the three-way rule (the editor's save above is a change on the server).
    (portfolio / "frontend" / "src" / "App.jsx").write_bytes(
        (portfolio / "frontend" / "src" / "App.jsx").read_bytes() + b"\n// keyboard shortcuts\n"
    )
    (portfolio / "frontend" / "src" / "Contact.jsx").write_bytes(b"export default function Contact() {}\n")
    (portfolio / "README.md").write_bytes(b"# Portfolio site\n\nEdited on this laptop.\n")
    service = window.service
    with ThreadPoolExecutor(1) as pool:
        await asyncio.get_running_loop().run_in_executor(
            pool, service.write_file, slug, "README.md", b"# Portfolio site\n\nEdited in the browser.\n"
        )
    d.drop(window.project_view.viewport(), [portfolio])
    await d.wait(lambda: d.dialog(PushPreviewDialog) is not None, what="the update preview")
    await asyncio.sleep(0.4)
    d.shot("09-update-preview")
    d.dialog(PushPreviewDialog).reject()
    await d.idle()

    archive = work / "storefront.zip"  # a zip's preview: named after the zip, renamable before anything is sent
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(p for p in bulk.rglob("*") if p.is_file())[:60]:
            zf.write(path, f"core/{path.relative_to(bulk).as_posix()}")
    d.drop(window.project_view.viewport(), [archive])
    await d.wait(lambda: d.dialog(PushPreviewDialog) is not None, what="the zip preview")
    await asyncio.sleep(0.4)
    d.shot("10-zip-preview")
    d.dialog(PushPreviewDialog).reject()
    await d.idle()

    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    dark = QPalette()
    for role, color in {
        QPalette.ColorRole.Window: "#2b2d30",
        QPalette.ColorRole.WindowText: "#dfe1e5",
        QPalette.ColorRole.Base: "#1e1f22",
        QPalette.ColorRole.AlternateBase: "#26282b",
        QPalette.ColorRole.Text: "#dfe1e5",
        QPalette.ColorRole.Button: "#2b2d30",
        QPalette.ColorRole.ButtonText: "#dfe1e5",
        QPalette.ColorRole.Highlight: "#2f65ca",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#6ea8fe",
        QPalette.ColorRole.PlaceholderText: "#868a91",
        QPalette.ColorRole.ToolTipBase: "#2b2d30",
        QPalette.ColorRole.ToolTipText: "#dfe1e5",
        QPalette.ColorRole.Mid: "#44474c",
        QPalette.ColorRole.Dark: "#1a1b1e",
        QPalette.ColorRole.Light: "#3c3f44",
    }.items():
        dark.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        dark.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b6e73"))
    app.setPalette(dark)
    main_page = window.editor_area.find_page(slug, "backend/main.py")
    window.editor_area.show_page(main_page)
    await asyncio.sleep(1.0)
    d.shot("08-dark")
    app.setPalette(app.style().standardPalette())
    await asyncio.sleep(0.3)

    out_cli = subprocess.run(
        [str(Path(sys.executable).parent / "projectdesk-cli"), "cat", slug, "backend/main.py"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "/api/health" in out_cli.stdout, out_cli
    print(f"  projectdesk-cli cat {slug} backend/main.py shows the saved edit")
    return d.shots


async def seaweed_scenario(window: Any, out: Path, work: Path) -> list[Path]:
    from projectdesk.ui.dialogs.push_preview import PushPreviewDialog

    d = Director(window, out, prefix="weed-")
    await d.wait(lambda: window.service is not None, what="the SeaweedFS service")
    await d.idle()
    portfolio = make_portfolio(work / "weed-src")
    d.drop(window.project_view.viewport(), [portfolio])
    await d.wait(lambda: d.dialog(PushPreviewDialog) is not None, what="the preview")
    await asyncio.sleep(0.3)
    d.shot("01-drop-preview")
    d.dialog(PushPreviewDialog).upload_button.click()
    await d.wait(lambda: window.transfer_model.rowCount() == 1 and not window.transfer_model.active())
    await d.idle()
    slug = window.slug
    window.tree_view.expand(window.tree_model.index_for_path("backend"))
    opening = window.editing.open_file("backend/main.py")
    await d.wait(opening.done)
    page = window.editor_area.current()
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    page.editor.insertPlainText("\n# edited in ProjectDesk on SeaweedFS\n")
    await asyncio.sleep(0.3)
    d.shot("02-edited")
    save = window.editing.save_current()
    await d.wait(save.done)
    await d.idle()
    d.shot("03-saved")
    out_cli = subprocess.run(
        [str(Path(sys.executable).parent / "projectdesk-cli"), "--profile", "weed", "cat", slug, "backend/main.py"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "edited in ProjectDesk on SeaweedFS" in out_cli.stdout, out_cli
    print(f"  projectdesk-cli --profile weed cat {slug} backend/main.py shows the saved edit")
    return d.shots


def next_second() -> None:
    """Sleep (< 1 s) into the next second: S3 servers stamp versions to the second."""
    now = time.time()
    time.sleep(max(0.0, int(now) + 1 - now) + 0.02)


async def history_scenario(window: Any, out: Path, work: Path, server: Any) -> list[Path]:
    """File history on a bucket with versioning on: a file's versions, deleted files in the tree, a restore's
    preview. The project gets a few saves (a second apart, one by another tool straight through S3) and deleted
    files first."""
    from PySide6.QtCore import QPoint

    d = Director(window, out)
    await d.wait(lambda: window.service is not None, what="the SeaweedFS service")
    await d.idle()
    if window.session.profile is None or window.session.profile.name != "history":
        await window.browser.switch_profile("history")
        await d.idle()
    service = window.service
    portfolio = make_portfolio(work / "hist-src")
    (portfolio / "docs").mkdir()
    (portfolio / "docs" / "deploy-notes.md").write_bytes(b"# Deploying\n\nuvicorn main:app --port 8000\n")
    (portfolio / "docs" / "todo.md").write_bytes(b"- dark mode\n- contact form\n")
    (portfolio / "backend" / "legacy_api.py").write_bytes(b'"""The old Flask API, replaced by main.py."""\n')
    loop = asyncio.get_running_loop()

    def seed() -> str:
        from projectdesk.services.projects import ProjectService

        plan = service.plan_push(portfolio, name="Portfolio Site", remember=False)
        service.push(plan)
        slug = plan.slug
        writer = ProjectService(service.repo)  # another writer on the store: the window learns it from listings
        main = (portfolio / "backend" / "main.py").read_bytes()
        edits = [
            main.replace(b'title="Portfolio"', b'title="Portfolio API"'),
            main.replace(b'title="Portfolio"', b'title="Portfolio API"')
            + b'\n\n@app.get("/api/health")\ndef health() -> dict[str, str]:\n    return {"status": "ok"}\n',
        ]
        edits.append(edits[-1].replace(b"Every project, newest first.", b"Every project, the newest first."))
        edits.append(edits[-1] + b'\n\n@app.get("/api/version")\ndef version() -> dict[str, str]:\n'
                     b'    return {"version": "2"}\n')  # fmt: skip
        for number, data in enumerate(edits):
            next_second()
            if number == 2:  # as the web app or the AWS console writes it: without ProjectDesk's mark
                key = f"projects/anonymous/{slug}/backend/main.py"
                server.client().put_object(Bucket="history", Key=key, Body=data, ContentType="text/x-python")
            else:
                writer.write_file(slug, "backend/main.py", data)
        next_second()
        writer.delete_file(slug, "docs/deploy-notes.md")
        writer.delete_file(slug, "backend/legacy_api.py")
        writer.write_file(slug, "docs/todo.md", b"- dark mode\n- contact form\n- RSS feed\n")
        writer.write_file(slug, "backend/cache.py", b'"""A small cache for the projects file."""\n')
        return slug

    slug = await loop.run_in_executor(None, seed)
    await window.browser.refresh()
    await d.idle()
    window.browser.select_project(slug)
    await d.wait(lambda: window.slug == slug and window.tree_model.tree_index().file_count > 0, what="the tree")
    await d.idle()
    history = window.commands.history
    window.tree_view.expand(window.tree_model.index_for_path("backend"))
    window.browser.reveal("backend/main.py")
    opening = window.editing.open_file("backend/main.py")
    await d.wait(opening.done)
    await d.idle()
    history.file_history_action.trigger()
    await d.wait(lambda: history.history_dialog is not None and len(history.history_dialog.versions) == 5)
    dialog = history.history_dialog
    dialog.writers_button.click()
    await d.wait(lambda: dialog.table.topLevelItem(0).text(dialog.WRITER) != "", what="who wrote it")
    dialog.select(3)
    await asyncio.sleep(0.4)
    d.shot("14-history")
    dialog.accept()
    await d.wait(lambda: history.history_dialog is None)

    history.show_deleted_action.trigger()
    await d.wait(lambda: window.tree_model.deleted_at("docs/deploy-notes.md") is not None, what="deleted files")
    await d.idle()
    window.tree_view.expand(window.tree_model.index_for_path("docs"))
    window.tree_view.expand(window.tree_model.index_for_path("backend"))
    window.browser.reveal("docs/deploy-notes.md")
    window.commands.update()
    rect = window.tree_view.visualRect(window.tree_model.index_for_path("docs/deploy-notes.md"))
    menu = window.commands.tree_menu()
    menu.popup(window.tree_view.viewport().mapToGlobal(QPoint(rect.left() + 60, rect.bottom())))
    await asyncio.sleep(0.5)
    d.shot("15-deleted-files")
    menu.close()

    history.restore_to_action.trigger()
    await d.wait(lambda: history.restore_dialog is not None and history.restore_dialog.moments.count() > 3)
    restore = history.restore_dialog
    restore.moments.setCurrentRow(restore.moments.count() - 1)  # the first push
    restore.preview_button.click()
    await d.wait(lambda: restore.plan is not None, what="the preview")
    await asyncio.sleep(0.4)
    d.shot("16-restore-preview")
    restore.reject()
    await d.idle()
    return d.shots


THEIRS_LINE = b'\n\n@app.get("/api/version")\ndef version() -> dict[str, str]:\n    return {"version": "2"}\n'


async def stores_scenario(window: Any, out: Path, work: Path, server: Any) -> list[Path]:
    """Issue 7 as a new user plays it: add a SeaweedFS store in the accounts dialog, upload a project, lose the
    server and keep editing, get it back and see the edit land, resolve a conflict in the diff view, share a link."""
    import urllib.request

    from projectdesk.ui.dialogs.push_preview import PushPreviewDialog

    d = Director(window, out, prefix="weed-")
    actions = window.commands
    await d.wait(lambda: window.service is not None, what="the local store")
    await d.idle()

    # 1. Store ▸ Manage Stores ▸ Add: a SeaweedFS server, its keys typed once, tested, saved to the keyring
    accounts, editor = await d.new_store("seaweed", server)
    editor.default_box.setChecked(True)
    editor.test_button.click()
    await d.wait(lambda: editor.last_report is not None, what="the connection test")
    assert editor.last_report.ok, editor.last_report.message
    await asyncio.sleep(0.4)
    d.shot("04-accounts-add")
    editor.save_button.click()
    await d.wait(lambda: accounts.editor is None and "seaweed" in accounts.changed, what="the save")
    await d.wait(lambda: accounts.tree.topLevelItemCount() == 2, what="the store list")
    accounts.tree.setCurrentItem(accounts.tree.topLevelItem(1))
    await asyncio.sleep(0.4)
    d.shot("05-accounts")
    accounts.reject()
    await d.wait(
        lambda: window.session.profile is not None and window.session.profile.name == "seaweed", what="the new store"
    )
    await d.wait(lambda: window.service is not None and window.connection_label.text() == "Online")
    await d.idle()

    # 2. a project on the new store, a file open
    portfolio = make_portfolio(work / "stores-src")
    d.drop(window.project_view.viewport(), [portfolio])
    await d.wait(lambda: d.dialog(PushPreviewDialog) is not None, what="the preview")
    d.dialog(PushPreviewDialog).upload_button.click()
    await d.wait(lambda: window.transfer_model.rowCount() == 1 and not window.transfer_model.active(), timeout=120)
    await d.idle()
    slug = window.slug
    window.transfers_dock.hide()
    window.tree_view.expand(window.tree_model.index_for_path("backend"))
    opening = window.editing.open_file("backend/main.py")
    if opening is not None:
        await d.wait(opening.done)

    # 3. the server goes away: the cached project stays browsable and editable, the save is queued
    server.kill()
    await window.refresh()
    await d.wait(lambda: window.connection_label.text() == "Offline", what="offline")
    page = window.editor_area.current()
    cursor = page.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    page.editor.setTextCursor(cursor)
    page.editor.insertPlainText(
        '\n\n@app.get("/api/health")\ndef health() -> dict[str, str]:\n    return {"status": "ok"}\n'
    )
    edited = page.data_to_save()
    await window.editing.save_current()
    window.session.track(window.browser.refresh_status())
    await d.wait(lambda: window.pending_label.text() == "1 pending upload", what="the pending upload")
    window.tree_view.setCurrentIndex(window.tree_model.index_for_path("backend/main.py"))
    await asyncio.sleep(0.6)
    d.shot("06-offline-pending")

    # 4. the server is back: the queued edit is sent, and the status bar says so
    server.restart()
    flushed: list[Any] = []
    window.monitor.flushed.connect(flushed.append)
    window.monitor.retry_now()
    await d.wait(lambda: bool(flushed), timeout=60, what="the queued edit to land")
    await d.idle()
    key = f"projects/anonymous/{slug}/backend/main.py"
    assert server.client().get_object(Bucket="projects", Key=key)["Body"].read() == edited
    await asyncio.sleep(0.4)
    d.shot("07-back-online")
    print(f"  the offline edit landed: {flushed[0].sentence()}")

    # 5. someone else changes the file under a local edit: both versions, side by side
    server.client().put_object(Bucket="projects", Key=key, Body=edited + THEIRS_LINE)
    page = window.editor_area.find_page(slug, "backend/main.py")
    window.editor_area.show_page(page)
    text = page.text().replace("def load()", "def load_projects()").replace("return load()", "return load_projects()")
    text = text.replace("in load():", "in load_projects():")
    page.editor.setPlainText(text)
    await window.editing.save_current()
    await d.idle()
    window.session.track(window.browser.refresh_status())
    await d.wait(lambda: actions.conflicts.resolve_action.isEnabled(), what="the conflict")
    actions.conflicts.resolve_action.trigger()
    await d.wait(
        lambda: actions.conflicts.conflict_dialog is not None and actions.conflicts.conflict_dialog.isVisible(),
        what="the diff",
    )
    await asyncio.sleep(0.6)
    d.shot("08-conflict-diff")
    resolved: list[Any] = []
    actions.conflicts.conflictResolved.connect(lambda record, choice: resolved.append(choice))
    actions.conflicts.conflict_dialog.both_button.click()
    await d.wait(lambda: bool(resolved), what="the resolution")
    await d.idle()

    # 6. a share link for a file, opened as anyone would
    window.tree_view.setCurrentIndex(window.tree_model.index_for_path("backend/main.py"))
    actions.update()
    actions.files.share_action.trigger()
    await d.wait(lambda: actions.files.share_dialog is not None and actions.files.share_dialog.copy_button.isEnabled())
    share = actions.files.share_dialog
    await asyncio.sleep(0.4)
    d.shot("09-share-link")
    link = share.link.url
    share.copy_and_close()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(link, timeout=10) as response:
        body = response.read()
    assert body == server.client().get_object(Bucket="projects", Key=key)["Body"].read()
    print(f"  the share link downloads backend/main.py ({len(body)} bytes)")
    out_cli = subprocess.run(
        [str(Path(sys.executable).parent / "projectdesk-cli"), "--profile", "seaweed", "cat", slug, "backend/main.py"],
        capture_output=True,
        text=True,
    )
    if out_cli.returncode == 0:
        assert "/api/health" in out_cli.stdout, out_cli
        print("  projectdesk-cli --profile seaweed cat shows the edit (keys read from the keyring)")
    else:
        print(f"  projectdesk-cli could not read the keyring here: {out_cli.stderr.strip()}")
    return d.shots


async def share_scenario(window: Any, out: Path, work: Path) -> list[Path]:
    """Share Project…: the link to the project's zip, said plainly (the transfers panel shows the Pack row); then
    Shared Links… with that share and two made before (another project's, and one of a week)."""
    from projectdesk.services import share as service_share
    from projectdesk.ui.dialogs.share_project import ProjectLinkDialog, ShareProjectDialog
    from projectdesk.ui.dialogs.shared_links import SharedLinksDialog

    d = Director(window, out)
    await d.wait(lambda: window.service is not None, what="the SeaweedFS service")
    await d.idle()
    service = window.service
    loop = asyncio.get_running_loop()

    def seed() -> str:
        plan = service.plan_push(make_portfolio(work / "share-src"), name="Portfolio Site", remember=False)
        service.push(plan)
        docs = work / "share-docs"
        for rel, data in {"README.md": b"# Team handbook\n", "onboarding/first-week.md": b"# Your first week\n" * 40,
                          "onboarding/tools.md": b"- git\n- ProjectDesk\n" * 30}.items():  # fmt: skip
            (docs / rel).parent.mkdir(parents=True, exist_ok=True)
            (docs / rel).write_bytes(data)
        handbook = service.plan_push(docs, name="Team Handbook", remember=False)
        service.push(handbook)
        service_share.share_project(service, handbook.slug, 3 * 86400)
        time.sleep(1.1)
        service_share.share_project(service, plan.slug, 7 * 86400)
        time.sleep(1.1)
        return plan.slug

    slug = await loop.run_in_executor(None, seed)
    await window.browser.refresh()
    await d.idle()
    window.browser.select_project(slug)
    await d.wait(lambda: window.slug == slug and window.tree_model.tree_index().file_count > 0, what="the tree")
    await d.idle()
    share = window.commands.share
    share.share_project_action.trigger()
    await d.wait(lambda: d.dialog(ShareProjectDialog) is not None, what="the share dialog")
    chooser = d.dialog(ShareProjectDialog)
    chooser.expiry.setCurrentIndex(chooser.expiry.findData(86400))
    chooser.create_button.click()
    await d.wait(lambda: d.dialog(ProjectLinkDialog) is not None, what="the link")
    await asyncio.sleep(0.5)
    d.shot("17-share-project")
    d.dialog(ProjectLinkDialog).copy_and_close()
    await d.idle()
    share.shared_links_action.trigger()
    await d.wait(lambda: d.dialog(SharedLinksDialog) is not None and d.dialog(SharedLinksDialog).loaded)
    links = d.dialog(SharedLinksDialog)
    links.table.setCurrentItem(links.table.topLevelItem(0))
    await asyncio.sleep(0.5)
    d.shot("18-shared-links")
    links.reject()
    await d.idle()
    return d.shots


async def proxy_scenario(window: Any, out: Path, server: Any, proxy: Any) -> list[Path]:
    """Issue 17: a store behind an HTTP proxy that wants a login, typed in the store editor and tested
    (tests/servers/httpproxy.py is the proxy): first without the login (the proxy's 407 in one sentence),
    then with it."""
    d = Director(window, out, prefix="proxy-")
    await d.wait(lambda: window.service is not None, what="the local store")
    await d.idle()
    accounts, editor = await d.new_store("office", server)
    editor.proxy_field.setText(proxy.url)
    editor.last_report = None
    editor.test_button.click()
    await d.wait(lambda: editor.last_report is not None, what="the connection test without a login")
    assert "needs a user name and password" in editor.last_report.message, editor.last_report.message
    await asyncio.sleep(0.4)
    d.shot("01-login-needed")
    editor.proxy_user_field.setText(proxy.user)
    editor.proxy_password_field.setText(proxy.password)
    editor.last_report = None
    editor.test_button.click()
    await d.wait(lambda: editor.last_report is not None, what="the connection test with the login")
    assert editor.last_report.ok, editor.last_report.message
    await asyncio.sleep(0.4)
    d.shot("02-through-the-proxy")
    editor.reject()
    accounts.reject()
    await d.idle()
    return d.shots


async def bandwidth_scenario(window: Any, out: Path, work: Path) -> list[Path]:
    """Issue 17: a store limited to 1 MiB/s up: its upload's row says "limited to 1 MiB/s", Pause All Transfers
    (toolbar, Store menu, the panel's button) holds it, Resume continues; the store editor's Bandwidth row."""
    d = Director(window, out, prefix="bandwidth-")
    await d.wait(lambda: window.service is not None, what="the SeaweedFS service")
    await d.idle()
    source = work / "bandwidth-src" / "Launch Video"
    (source / "cuts").mkdir(parents=True)
    (source / "cuts" / "teaser-1080p.mp4").write_bytes(os.urandom(8 * 1024 * 1024))
    (source / "script.md").write_text("# Launch video\n\n1. Cold open\n2. Product shot\n")
    (source / "cuts" / "subtitles.srt").write_text("1\n00:00:01,000 --> 00:00:03,000\nHello\n")
    service = window.service
    loop = asyncio.get_running_loop()
    plan = await loop.run_in_executor(None, lambda: service.plan_push(source, name="Launch Video"))
    transfer = window.jobs.push(plan, source, service)
    model = window.transfer_model
    await d.wait(lambda: transfer.bytes_done > 0 or transfer.files_done > 0, what="the upload under way")
    await asyncio.sleep(1.5)
    d.shot("01-limited-upload")
    window.commands.transfers.pause_action.trigger()
    await asyncio.sleep(1.0)
    d.shot("02-paused")
    window.commands.transfers.pause_action.trigger()
    await d.wait(lambda: transfer.state == "done", timeout=60, what="the upload to end")
    assert "limited" not in str(model.data(model.index(model.row_of(transfer), model.STATUS)))
    await d.idle()
    actions = window.commands
    actions.store.accounts_action.trigger()
    await d.wait(lambda: actions.store.accounts_dialog is not None and actions.store.accounts_dialog.isVisible())
    accounts = actions.store.accounts_dialog
    await d.wait(lambda: accounts.tree.topLevelItemCount() >= 2, what="the stores listed")
    tree = accounts.tree
    tree.setCurrentItem(next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                             if tree.topLevelItem(i).data(0, 256) == "office"))  # fmt: skip
    accounts.edit_button.click()
    await d.wait(lambda: accounts.editor is not None and accounts.editor.isVisible(), what="the store editor")
    accounts.editor.bandwidth_field.setFocus()
    await asyncio.sleep(0.4)
    d.shot("03-store-bandwidth")
    accounts.editor.reject()
    accounts.reject()
    await d.idle()
    return d.shots


SSO_AWS_CONFIG = """[profile work]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Developer
region = us-east-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
"""


async def sso_scenario(window: Any, out: Path, fake: Any) -> list[Path]:
    """Issue 17: a store whose AWS profile signs in through IAM Identity Center, without a sign-in yet: the
    banner offers Sign in with AWS SSO…, the dialog shows the code (tests/servers/fake_sso.py plays AWS and,
    once the dialog polls, the person clicking Allow), and the store opens."""
    d = Director(window, out, prefix="sso-")
    banner = window.banner
    await d.wait(lambda: banner.isVisible() and banner.action_button.isVisible(), what="the sign-in offered")
    await d.idle()
    d.shot("01-sign-in-offered")
    commands = window.commands.sign_in
    commands.open_url = lambda url: print(f"  (the browser would open {url.toString()})")
    banner.action_button.click()
    await d.wait(lambda: commands.dialog is not None and commands.dialog.user_code != "", what="the code")
    code = commands.dialog.user_code
    await asyncio.to_thread(fake.wait_for_poll, code)
    await asyncio.sleep(0.4)
    d.shot("02-sign-in-dialog")
    fake.approve(code)
    await d.wait(lambda: window.project_model.rowCount() > 0, what="the store opened again")
    await d.idle()
    d.shot("03-signed-in")
    return d.shots


async def projects_scenario(args: argparse.Namespace, work: Path) -> list[Path]:
    """3,000 projects another tool wrote (no manifest) on SeaweedFS: the list filling in with its count, then
    filtered."""
    from tests.servers.seaweedfs import SeaweedServer

    from projectdesk.app import create_window
    from projectdesk.config.paths import Paths
    from projectdesk.config.profiles import Profile, ProfileStore

    count = 3000
    words = ["shop", "blog", "notes", "dashboard", "api", "landing", "chat", "docs"]
    react = b'{"dependencies": {"react": "^18", "vite": "^5"}}'
    flask = b"flask==3.0\n"
    with SeaweedServer(work / "weed-list") as server:
        server.create_bucket("many")
        client = server.client()
        objects: list[tuple[str, bytes]] = []
        for i in range(count):
            prefix = f"projects/anonymous/{words[i % len(words)]}-{i:05d}/"
            objects.append((prefix + "README.md", b"# project\n"))
            objects.append((prefix + ("package.json" if i % 3 else "requirements.txt"), react if i % 3 else flask))
            objects.append((prefix + ("src/App.jsx" if i % 3 else "app.py"), b"x\n" * (i % 50 + 1)))

        def plant() -> None:
            with ThreadPoolExecutor(32) as pool:
                list(pool.map(lambda kv: client.put_object(Bucket="many", Key=kv[0], Body=kv[1]), objects))

        await asyncio.get_running_loop().run_in_executor(None, plant)
        os.environ["AWS_ACCESS_KEY_ID"] = server.access_key
        os.environ["AWS_SECRET_ACCESS_KEY"] = server.secret_key
        paths = Paths.default()
        profile = Profile(name="many", endpoint_url=server.endpoint_url, region="us-east-1", bucket="many",
                          path_style=True)  # fmt: skip
        ProfileStore(paths).add(profile)
        ProfileStore(paths).set_default("many")
        window = create_window(paths)
        window.showMaximized()
        print("Listing 3,000 projects (SeaweedFS):")
        d = Director(window, args.out, "list-")
        status = window.statusBar()
        rows = window.project_model.rowCount
        await d.wait(lambda: status.currentMessage().startswith("Loading projects… ") and rows() > 0,
                     timeout=300, what="the first rows")  # fmt: skip
        d.shot("01-loading")
        await d.wait(lambda: rows() == count and not status.currentMessage().startswith("Loading"),
                     timeout=300, what="every row")  # fmt: skip
        await d.idle()
        window.filter_field.setText("react shop 1")
        await d.idle()
        d.shot("02-filtered")
        window.force_close()
        await asyncio.sleep(0.5)
    ProfileStore(Paths.default()).remove("many")
    return d.shots


async def tree_scenario(args: argparse.Namespace, work: Path) -> list[Path]:
    """A 3,000-file project on SeaweedFS opening: the top level shown, a folder expanded early filling in, the count
    and Cancel under the tree (the listing slowed to pages of 40 keys so the shot finds it half-way)."""
    from tests.servers.seaweedfs import SeaweedServer

    from projectdesk.app import create_window
    from projectdesk.config.paths import Paths
    from projectdesk.config.profiles import Profile, ProfileStore

    with SeaweedServer(work / "weed-tree") as server:
        server.create_bucket("big")
        client = server.client()
        keys = ["README.md", "pyproject.toml"] + [
            f"{top}/{sub}/module_{i:03d}.py"
            for top in ("api", "core", "docs", "frontend", "scripts", "tests")
            for sub in ("alpha", "beta", "gamma", "delta", "epsilon")
            for i in range(100)
        ]

        def plant() -> None:
            with ThreadPoolExecutor(32) as pool:
                list(pool.map(lambda key: client.put_object(Bucket="big", Key=f"projects/anonymous/monorepo-3000/{key}",
                                                            Body=f"# {key}\n".encode()), keys))  # fmt: skip

        await asyncio.get_running_loop().run_in_executor(None, plant)
        os.environ["AWS_ACCESS_KEY_ID"] = server.access_key
        os.environ["AWS_SECRET_ACCESS_KEY"] = server.secret_key
        paths = Paths.default()
        profile = Profile(name="big", endpoint_url=server.endpoint_url, region="us-east-1", bucket="big",
                          path_style=True)  # fmt: skip
        ProfileStore(paths).add(profile)
        ProfileStore(paths).set_default("big")
        window = create_window(paths)
        window.showMaximized()
        print("Opening a 3,000-file project (SeaweedFS):")
        d = Director(window, args.out, "tree-")
        await d.wait(lambda: window.service is not None and window.project_model.rowCount() > 0, what="the project")
        await d.idle()
        window.service.repo.listing_page = 40
        loader, model = window.browser.tree_loader, window.browser.tree_model
        window.browser.select_project("monorepo-3000")
        await d.wait(lambda: model.rowCount() > 0, what="the top level")
        window.tree_view.expand(model.index_for_path("docs"))  # before any of its files is listed
        await d.wait(lambda: loader.listed >= 1200, timeout=120, what="1,200 files listed")
        d.shot("01-listing")
        await d.wait(lambda: not loader.loading, timeout=120, what="the whole listing")
        await d.idle()
        window.force_close()
        await asyncio.sleep(0.5)
    ProfileStore(Paths.default()).remove("big")
    return d.shots


async def run_all(args: argparse.Namespace, work: Path) -> list[Path]:
    """Both scenarios in one run of the event loop (the app, too, runs it once)."""
    from projectdesk.app import create_window
    from projectdesk.config.paths import Paths
    from projectdesk.config.profiles import Profile, ProfileStore

    shots: list[Path] = []
    if args.only_projects:
        return await projects_scenario(args, work)
    if args.only_tree:
        return await tree_scenario(args, work)
    if args.seaweedfs or args.only_sso:
        from tests.servers.fake_sso import FakeSso, RoleKeys
        from tests.servers.seaweedfs import SeaweedServer

        from projectdesk.services.projects import ProjectService
        from projectdesk.storage.s3 import S3Repository
        from projectdesk.storage.s3client import Credentials, make_client

        with SeaweedServer(work / "weed-sso") as server:
            server.create_bucket("projects")
            client = make_client(endpoint_url=server.endpoint_url, region=server.region, path_style=True,
                                 credentials=Credentials(server.access_key, server.secret_key))  # fmt: skip
            seeded = ProjectService(S3Repository(client, "projects", endpoint=server.endpoint_url))
            seeded.push(seeded.plan_push(make_portfolio(work / "sso-src"), name="Portfolio site"))
            # SeaweedFS refuses session tokens: the fake hands out its fixed key with none
            with FakeSso(RoleKeys(server.access_key, server.secret_key, "")) as fake:
                aws_config = work / "aws-config"
                aws_config.write_text(SSO_AWS_CONFIG)
                saved = {k: os.environ.get(k) for k in ("AWS_CONFIG_FILE", *fake.env())}
                os.environ.update({"AWS_CONFIG_FILE": str(aws_config), "AWS_EC2_METADATA_DISABLED": "true"})
                os.environ.update(fake.env())
                paths = Paths.default()
                profile = Profile(name="company", endpoint_url=server.endpoint_url, region="us-east-1",
                                  bucket="projects", path_style=True, credential_source="aws-profile",
                                  aws_profile="work")  # fmt: skip
                ProfileStore(paths).add(profile)
                ProfileStore(paths).set_default("company")
                window = create_window(paths)
                window.showMaximized()
                print("Sign in with AWS SSO (SeaweedFS, a fake IAM Identity Center):")
                shots += await sso_scenario(window, args.out, fake)
                window.force_close()
                await asyncio.sleep(0.5)
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
            ProfileStore(Paths.default()).remove("company")
        if args.only_sso:
            return shots
    if args.seaweedfs or args.only_bandwidth:
        from tests.servers.seaweedfs import SeaweedServer

        with SeaweedServer(work / "weed-bandwidth") as server:
            server.create_bucket("media")
            os.environ["AWS_ACCESS_KEY_ID"] = server.access_key
            os.environ["AWS_SECRET_ACCESS_KEY"] = server.secret_key
            paths = Paths.default()
            profile = Profile(name="office", endpoint_url=server.endpoint_url, region="us-east-1", bucket="media",
                              path_style=True, max_upload_kbps=1024, max_download_kbps=4096)  # fmt: skip
            ProfileStore(paths).add(profile)
            ProfileStore(paths).set_default("office")
            window = create_window(paths)
            window.showMaximized()
            print("Bandwidth limit and Pause All Transfers (SeaweedFS):")
            shots += await bandwidth_scenario(window, args.out, work)
            window.force_close()
            await asyncio.sleep(0.5)
        ProfileStore(Paths.default()).remove("office")
        if args.only_bandwidth:
            return shots
    if args.seaweedfs or args.only_proxy:
        from tests.servers.httpproxy import HttpProxy
        from tests.servers.seaweedfs import SeaweedServer

        with SeaweedServer(work / "weed-proxy") as server, HttpProxy(user="alice", password="example-only") as proxy:
            server.create_bucket("projects")
            window = create_window(Paths.default())
            window.showMaximized()
            print("A store behind an HTTP proxy (SeaweedFS):")
            shots += await proxy_scenario(window, args.out, server, proxy)
            window.force_close()
            await asyncio.sleep(0.5)
        if args.only_proxy:
            return shots
    if not (args.only_seaweedfs or args.only_stores or args.only_history or args.only_share):
        window = create_window(Paths.default())
        window.showMaximized()
        print("local store:")
        shots += await local_scenario(window, args.out, work)
        window.force_close()
        await asyncio.sleep(0.5)
    if args.seaweedfs or args.only_seaweedfs or args.only_stores:
        from tests.servers.seaweedfs import SeaweedServer

        with SeaweedServer(work / "weed-stores", readonly_identity=False) as server:
            server.create_bucket("projects")
            window = create_window(Paths.default())
            window.showMaximized()
            print("Stores, offline, conflicts and share links (SeaweedFS):")
            shots += await stores_scenario(window, args.out, work, server)
            window.force_close()
            await asyncio.sleep(0.5)
        ProfileStore(Paths.default()).remove("seaweed")
    if args.seaweedfs or args.only_share:
        from tests.servers.seaweedfs import SeaweedServer

        with SeaweedServer(work / "share") as server:
            server.create_bucket("shared")
            os.environ["AWS_ACCESS_KEY_ID"] = server.access_key
            os.environ["AWS_SECRET_ACCESS_KEY"] = server.secret_key
            paths = Paths.default()
            profile = Profile(
                name="share", endpoint_url=server.endpoint_url, region="us-east-1", bucket="shared", path_style=True
            )
            ProfileStore(paths).add(profile)
            ProfileStore(paths).set_default("share")
            window = create_window(paths)
            window.showMaximized()
            print("Sharing a whole project by link (SeaweedFS):")
            shots += await share_scenario(window, args.out, work)
            window.force_close()
            await asyncio.sleep(0.5)
        ProfileStore(Paths.default()).remove("share")
        if args.only_share:
            return shots
    if args.seaweedfs or args.only_history:
        from tests.servers.seaweedfs import SeaweedServer

        with SeaweedServer(work / "history") as server:
            server.create_bucket("history")
            server.client().put_bucket_versioning(Bucket="history", VersioningConfiguration={"Status": "Enabled"})
            os.environ["AWS_ACCESS_KEY_ID"] = server.access_key
            os.environ["AWS_SECRET_ACCESS_KEY"] = server.secret_key
            paths = Paths.default()
            profile = Profile(
                name="history", endpoint_url=server.endpoint_url, region="us-east-1", bucket="history", path_style=True
            )
            ProfileStore(paths).add(profile)
            ProfileStore(paths).set_default("history")
            window = create_window(paths)
            window.showMaximized()
            print("File history (SeaweedFS, versioning on):")
            shots += await history_scenario(window, args.out, work, server)
            window.force_close()
            await asyncio.sleep(0.5)
        ProfileStore(Paths.default()).remove("history")
    if args.seaweedfs or args.only_seaweedfs:
        from tests.servers.seaweedfs import SeaweedServer

        with SeaweedServer(work / "weed") as server:
            server.create_bucket("projects")
            os.environ["AWS_ACCESS_KEY_ID"] = server.access_key
            os.environ["AWS_SECRET_ACCESS_KEY"] = server.secret_key
            paths = Paths.default()
            profile = Profile(
                name="weed", endpoint_url=server.endpoint_url, region="us-east-1", bucket="projects", path_style=True
            )
            ProfileStore(paths).add(profile)
            window = create_window(paths)
            window.profile_box.setCurrentIndex(window.profile_box.findData("weed"))
            window.showMaximized()
            print("SeaweedFS profile:")
            shots += await seaweed_scenario(window, args.out, work)
            window.force_close()
            await asyncio.sleep(0.5)
    return shots


def under_private_keyring() -> None:
    """Run this script again on a private D-Bus session with an unlocked gnome-keyring (as ./scripts/test does),
    so the accounts dialog keeps keys in a real Secret Service, never in the keyring of the person running it."""
    tools = shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")
    if os.environ.get("PROJECTDESK_SHOTS_KEYRING") or not tools:
        return
    home = Path(tempfile.mkdtemp(prefix="projectdesk-shots-keyring-"))
    (home / "runtime").mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "GNOME_KEYRING"))}
    env.update(XDG_DATA_HOME=str(home / "data"), XDG_RUNTIME_DIR=str(home / "runtime"), PROJECTDESK_SHOTS_KEYRING="1")
    script = 'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$@"'
    try:
        code = subprocess.call(["dbus-run-session", "--", "sh", "-c", script, "sh", sys.executable, *sys.argv], env=env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    sys.exit(code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--seaweedfs", action="store_true", help="also run against a real SeaweedFS server")
    parser.add_argument("--only-seaweedfs", action="store_true")
    parser.add_argument("--only-stores", action="store_true", help="only the stores/offline/conflict/share scenario")
    parser.add_argument("--only-history", action="store_true", help="only file history and restore (SeaweedFS)")
    parser.add_argument("--only-sso", action="store_true", help="only Sign in with AWS SSO (SeaweedFS)")
    parser.add_argument("--only-proxy", action="store_true", help="only a store behind an HTTP proxy (SeaweedFS)")
    parser.add_argument("--only-projects", action="store_true", help="only 3,000 projects listed (SeaweedFS)")
    parser.add_argument("--only-share", action="store_true", help="only Share Project… and Shared Links… (SeaweedFS)")
    parser.add_argument("--only-bandwidth", action="store_true", help="only a limited upload and Pause (SeaweedFS)")
    parser.add_argument("--only-tree", action="store_true", help="only a 3,000-file project opening (SeaweedFS)")
    args = parser.parse_args()
    if args.seaweedfs or args.only_seaweedfs or args.only_stores or args.only_proxy:
        under_private_keyring()
    args.out.mkdir(parents=True, exist_ok=True)
    display = start_xvfb()
    work = Path(tempfile.mkdtemp(prefix="projectdesk-shots-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(work / var.lower())
    os.environ["HOME"] = str(work / "home")  # working folders go under ~/code: a home of our own
    (work / "home").mkdir()
    try:
        import qasync

        sys.path.insert(0, str(ROOT))
        from projectdesk.app import create_application

        app = create_application()
        app.setQuitOnLastWindowClosed(False)  # one window after the other
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        shots = loop.run_until_complete(run_all(args, work))
        print(f"{len(shots)} screenshots in {args.out}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for proc in reversed(display):
            proc.terminate()


if __name__ == "__main__":
    sys.exit(main())
