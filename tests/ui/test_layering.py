"""The window never imports boto3: it talks to services/ only (and the local store works with boto3 blocked)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from projectdesk.config.paths import Paths

UI = Path(__file__).resolve().parents[2] / "src" / "projectdesk" / "ui"

SCRIPT = textwrap.dedent(
    """
    import importlib, importlib.abc, json, pkgutil, sys

    class BlockBoto(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("boto3", "botocore", "s3transfer", "awscrt"):
                raise ImportError(f"blocked for this test: {name}")
            return None

    sys.meta_path.insert(0, BlockBoto())
    import projectdesk.app
    import projectdesk.ui
    names = [info.name for info in pkgutil.walk_packages(projectdesk.ui.__path__, "projectdesk.ui.")]
    for name in names:
        importlib.import_module(name)

    import asyncio, qasync
    from PySide6.QtCore import QTimer
    app = projectdesk.app.create_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    from projectdesk.config.paths import Paths
    window = projectdesk.app.create_window(Paths.default())
    window.show()
    result = {"modules": names}

    def check():
        if window.service is not None and not window.wait_idle_tasks():
            result["projects"] = window.project_model.rowCount()
            result["banner"] = window.banner.text() if window.banner.isVisible() else ""
            window.force_close()
            app.quit()
        else:
            QTimer.singleShot(50, check)

    QTimer.singleShot(50, check)
    with loop:
        loop.run_forever()
    result["boto3_loaded"] = any(m.split(".")[0] in ("boto3", "botocore") for m in sys.modules)
    print(json.dumps(result))
    """
)


def test_ui_modules_do_not_import_boto3_in_their_source() -> None:
    offenders = []
    for path in UI.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("boto3", "botocore")]
    assert offenders == []


def test_window_runs_on_the_local_store_with_boto3_blocked(isolated_dirs: Paths) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "projectdesk.ui.main_window" in result["modules"] and "projectdesk.ui.editor" in result["modules"]
    assert result["projects"] == 0 and result["banner"] == ""
    assert result["boto3_loaded"] is False
