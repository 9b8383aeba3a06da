"""The entry points the packages rely on: `projectdesk --smoke-test`, folders given on the command line
(the .desktop file's `Exec=projectdesk %F`) and folders the Finder sends as QFileOpenEvents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from projectdesk.app import SMOKE_PREFIX, open_paths_when_ready
from projectdesk.config.paths import Paths

BIN = Path(sys.executable).parent


def smoke_report(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = [line for line in proc.stdout.splitlines() if line.startswith(SMOKE_PREFIX)]
    assert len(lines) == 1, proc.stdout + proc.stderr
    report: dict[str, Any] = json.loads(lines[0].removeprefix(SMOKE_PREFIX))
    return report


def push_project(tmp_path: Path) -> str:
    folder = tmp_path / "hello-project"
    folder.mkdir()
    (folder / "app.py").write_text("print('hello')\n")
    proc = subprocess.run(
        [BIN / "projectdesk-cli", "push", folder], capture_output=True, text=True, timeout=120, check=True
    )
    return proc.stdout.strip().splitlines()[-1]  # the new slug


def test_smoke_test_opens_the_local_store_and_exits_0(isolated_dirs: Paths, tmp_path: Path) -> None:
    slug = push_project(tmp_path)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([BIN / "projectdesk", "--smoke-test"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = smoke_report(proc)
    assert report["ok"] is True and report["frozen"] is False
    assert report["profile"] == "local" and report["kind"] == "local"
    assert report["projects"] == [slug]
    assert report["svg_icon"] is True and {"svg", "png", "jpeg"} <= set(report["image_formats"])
    assert report["endpoints"]["s3"].startswith("https://s3.")
    assert report["keyring"]
    assert report["lexers"] == ["Python", "TSX", "TOML"]


def test_smoke_test_fails_on_an_unknown_profile(isolated_dirs: Paths) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [BIN / "projectdesk", "--smoke-test", "--profile", "nope"], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 1 and "no profile 'nope'" in proc.stderr


def test_a_missing_folder_argument_is_refused(isolated_dirs: Paths, tmp_path: Path) -> None:
    proc = subprocess.run(
        [BIN / "projectdesk", str(tmp_path / "gone")], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert proc.returncode == 2 and "does not exist" in proc.stderr


class FakeWindow(QObject):
    serviceReady = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.drops: list[list[Path]] = []

    def drop_on_projects(self, paths: list[Path]) -> None:
        self.drops.append(paths)


@pytest.mark.gui
def test_folders_wait_for_the_store_then_arrive_as_one_drop(qapp: QApplication, tmp_path: Path) -> None:
    window = FakeWindow()
    first, second, later = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    opener = open_paths_when_ready(qapp, window.serviceReady, window.drop_on_projects, [first, second])
    try:
        assert window.drops == []  # the store is not open yet
        window.serviceReady.emit()
        assert window.drops == [[first, second]]
        window.serviceReady.emit()  # a later profile switch does not drop them again
        assert window.drops == [[first, second]]
        # macOS: the Finder's "Open With" arrives as a QFileOpenEvent on the application
        QApplication.sendEvent(qapp, QFileOpenEvent(str(later)))
        assert window.drops == [[first, second], [later]]
    finally:
        qapp.removeEventFilter(opener)
        opener.deleteLater()


@pytest.mark.gui
def test_nothing_is_dropped_without_paths(qapp: QApplication) -> None:
    window = FakeWindow()
    opener = open_paths_when_ready(qapp, window.serviceReady, window.drop_on_projects, [])
    try:
        window.serviceReady.emit()
        assert window.drops == []
    finally:
        qapp.removeEventFilter(opener)
        opener.deleteLater()
