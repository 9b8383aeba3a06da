"""Start-up as a user gets it, in a fresh process: the window is painted before the S3 stack (botocore), the
services and the cache are imported (a worker loads them afterwards), and a store that cannot be reached is
reported in the window (not only in a log)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from projectdesk.config.paths import Paths

# What the first paint does not need: the services and the cache (opened in a worker with the store), the
# highlighter, dialogs opened later, and the installed metadata (the version is read once the window is up).
HEAVY = [
    "importlib.metadata",
    "pygments",
    "projectdesk.cache.index",
    "projectdesk.cache.store",
    "projectdesk.services.folder_sync",
    "projectdesk.services.history",
    "projectdesk.services.offline",
    "projectdesk.services.projects",
    "projectdesk.services.search",
    "projectdesk.ui.dialogs.accounts",
    "projectdesk.ui.dialogs.history",
    "projectdesk.ui.highlighter",
]
SCRIPT = f"HEAVY = {HEAVY!r}\n" + textwrap.dedent(
    """
    import asyncio, json, sys, time
    started = time.perf_counter()
    import qasync
    from PySide6.QtCore import QEvent, QObject, QTimer
    from projectdesk.app import create_application, create_window
    from projectdesk.config.paths import Paths
    from projectdesk.config.profiles import Profile, ProfileStore

    app = create_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    paths = Paths.default()
    ProfileStore(paths).add(Profile(name="unreachable", endpoint_url="http://127.0.0.1:9", region="us-east-1",
                                    bucket="no-such-bucket", path_style=True))
    window = create_window(paths)
    window.profile_box.setCurrentIndex(window.profile_box.findData("unreachable"))
    report = {"botocore_before_show": "botocore" in sys.modules,
              "heavy_before_show": sorted(m for m in HEAVY if m in sys.modules)}

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint and "painted_ms" not in report:
                report["painted_ms"] = round((time.perf_counter() - started) * 1000)
                report["botocore_at_first_paint"] = "botocore" in sys.modules
            return False

    spy = FirstPaint()
    window.installEventFilter(spy)
    window.show()

    def check():
        if window.banner.isVisible() or time.perf_counter() - started > 90:
            report["botocore_later"] = "botocore" in sys.modules
            report["banner"] = window.banner.text()
            report["connection"] = window.connection_label.text()
            report["placeholder"] = window.project_view.placeholder()
            window.force_close()
            app.quit()
        else:
            QTimer.singleShot(50, check)

    QTimer.singleShot(50, check)
    with loop:
        loop.run_forever()
    print(json.dumps(report))
    """
)


def test_window_paints_before_botocore_and_reports_an_unreachable_store(isolated_dirs: Paths) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\nfirst paint after {report['painted_ms']} ms (botocore imported later, in a worker)")
    assert report["botocore_before_show"] is False and report["botocore_at_first_paint"] is False
    assert report["heavy_before_show"] == []  # start-up imports only what the first paint needs
    assert report["botocore_later"] is True  # the store was opened (and failed) through the S3 client
    assert "127.0.0.1:9" in report["banner"], report
    assert report["connection"] == "Offline"
    assert "x" not in report["banner"].split() and "y" not in report["banner"].split()


def test_the_installed_command_opens_and_quits(isolated_dirs: Paths) -> None:
    command = Path(sys.executable).parent / "projectdesk"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([command, "--quit-after", "500"], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (isolated_dirs.config_dir / "window.ini").is_file()  # the layout was saved on the way out
    version = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=60, env=env)
    assert version.stdout.startswith("projectdesk ")
    bad = subprocess.run(
        [command, "--profile", "nope", "--quit-after", "100"], capture_output=True, text=True, timeout=60, env=env
    )
    assert bad.returncode == 1 and "no profile 'nope'" in bad.stderr
