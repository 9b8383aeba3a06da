"""The desktop entry point: builds the QApplication and the qasync event loop, and shows the main window.

The window is shown and painted before boto3 is imported or the network is touched: the profile's
service is opened by the window in a worker thread once it has been painted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from projectdesk import __version__

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from projectdesk.config.paths import Paths
    from projectdesk.config.profiles import Profile
    from projectdesk.services.projects import ProjectService
    from projectdesk.ui.main_window import MainWindow

EXIT_GRACE = 3.0  # seconds given to worker threads (a network call in flight) before the process ends anyway


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="projectdesk", description="ProjectDesk desktop window")
    parser.add_argument("--version", action="version", version=f"projectdesk {__version__}")
    parser.add_argument("--profile", metavar="NAME", help="open this profile (default: the last one used)")
    parser.add_argument("--quit-after", type=int, metavar="MS", help="close the window after MS milliseconds")
    return parser.parse_args(argv)


def create_application() -> QApplication:
    """The QApplication with our name and icon (or the existing one, as in tests)."""
    from PySide6.QtWidgets import QApplication

    from projectdesk.ui.resources import app_icon

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("ProjectDesk")
    app.setApplicationDisplayName("ProjectDesk")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("projectdesk")
    app.setWindowIcon(app_icon())
    return app


def create_window(paths: Paths) -> MainWindow:
    """The main window on the real services of the profiles under `paths` (through the offline cache)."""
    from projectdesk.ui.main_window import MainWindow

    def open_profile(profile: Profile) -> ProjectService:
        # Blocking (imports boto3 for S3 profiles): the window calls it in a worker thread.
        try:
            from projectdesk.services.offline import open_cached_service
        except ImportError:  # a build without the offline cache
            from projectdesk.services.connect import open_service

            return open_service(profile, paths)
        return open_cached_service(profile, paths)

    return MainWindow(paths, open_profile)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    import qasync
    from PySide6.QtCore import QTimer

    from projectdesk.config.paths import Paths

    app = create_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = create_window(Paths.default())
    if args.profile:
        index = window.profile_box.findData(args.profile)
        if index < 0:
            print(f"projectdesk: there is no profile '{args.profile}'", file=sys.stderr)
            return 1
        window.profile_box.setCurrentIndex(index)
    window.show()
    if args.quit_after is not None:
        QTimer.singleShot(args.quit_after, app.quit)
    with loop:
        code = int(loop.run_forever() or 0)
    window.shutdown()
    _wait_for_workers(EXIT_GRACE)
    return code


def _wait_for_workers(grace: float) -> None:
    """Give worker threads a moment to finish; a call stuck on the network must not keep the app alive."""
    deadline = time.monotonic() + grace
    for thread in threading.enumerate():
        if thread is threading.main_thread() or thread.daemon:
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [
        t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()
    ]
    if stuck:
        logging.getLogger(__name__).warning("quitting with work still running in %s", ", ".join(stuck))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
