"""The desktop entry point: builds the QApplication and the qasync event loop, and shows the main window.

The window is shown and painted before boto3 is imported or the network is touched: the profile's
service is opened by the window in a worker thread once it has been painted.

Folders given on the command line (the desktop's "Open with ProjectDesk", `Exec=projectdesk %F`) or sent by
macOS's Finder (a QFileOpenEvent) are treated as if dropped on the project list once the store is open.
`--smoke-test` is the packaged app's self-check (tests/packaging/test_bundle.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import projectdesk
from projectdesk.core.display import third_party_log_levels

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication, QObject, SignalInstance
    from PySide6.QtWidgets import QApplication

    from projectdesk.config.paths import Paths
    from projectdesk.config.profiles import Profile
    from projectdesk.services.offline import CachedProjectService
    from projectdesk.ui.main_window import MainWindow

EXIT_GRACE = 3.0  # seconds given to worker threads (a network call in flight) before the process ends anyway
APP_ID = "io.github.projectdesk.ProjectDesk"  # the .desktop file's name and Wayland app id (packaging/)
SMOKE_TIMEOUT = 60.0  # seconds --smoke-test waits for the store to open
SMOKE_PREFIX = "projectdesk smoke test: "


def setup_logging(debug: bool) -> None:
    """Our warnings on stderr (everything with `debug`); the libraries' records only with `debug`, and
    never botocore's DEBUG ones (request headers): core/display.py `third_party_log_levels`."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name, level in third_party_log_levels(debug).items():
        logging.getLogger(name).setLevel(level)


class _VersionAction(argparse.Action):
    """--version, reading the installed metadata only when asked (importing importlib.metadata costs ≈20 ms of
    every start-up otherwise)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kwargs: object) -> None:
        print(f"projectdesk {projectdesk.__version__}")
        parser.exit()


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="projectdesk", description="ProjectDesk desktop window")
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    parser.add_argument("--profile", metavar="NAME", help="open this profile (default: the last one used)")
    parser.add_argument("--quit-after", type=int, metavar="MS", help="close the window after MS milliseconds")
    parser.add_argument("--debug", action="store_true", help="log details to stderr")
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="open the window on the `local` store (or --profile), print what loaded as one JSON line and quit: "
        "exit 0 once the store is open, 1 if it does not open",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="FOLDER",
        help="a folder to upload as a new project (its preview opens), or a .zip to import, as if dropped",
    )
    args = parser.parse_args(argv)
    for path in args.paths:
        if not path.exists():
            parser.error(f"{path} does not exist")
    return args


def create_application() -> QApplication:
    """The QApplication with our name and icon (or the existing one, as in tests)."""
    from PySide6.QtWidgets import QApplication

    from projectdesk.ui.resources import app_icon

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("ProjectDesk")
    app.setApplicationDisplayName("ProjectDesk")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    return app


def create_window(paths: Paths) -> MainWindow:
    """The main window on the real services of the profiles under `paths` (through the offline cache)."""
    from projectdesk.config.secrets import SecretStore
    from projectdesk.ui.main_window import MainWindow

    secrets = SecretStore()  # one for the run: keys the person chose to keep for this session only live here

    def open_profile(profile: Profile) -> CachedProjectService:
        # Blocking (imports boto3 for S3 profiles): the window calls it in a worker thread.
        from projectdesk.services.offline import open_cached_service

        return open_cached_service(profile, paths, secrets=secrets)

    return MainWindow(paths, open_profile, secrets=secrets)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    setup_logging(args.debug)

    import qasync
    from PySide6.QtCore import QTimer

    from projectdesk.config.paths import Paths

    app = create_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = create_window(Paths.default())
    profile = args.profile or ("local" if args.smoke_test else None)
    if profile:
        index = window.profile_box.findData(profile)
        if index < 0:
            print(f"projectdesk: there is no profile '{profile}'", file=sys.stderr)
            return 1
        window.profile_box.setCurrentIndex(index)
    open_paths_when_ready(app, window.serviceReady, window.uploads.drop_on_projects, [p.resolve() for p in args.paths])
    smoke_test = asyncio.ensure_future(_smoke_test(window)) if args.smoke_test else None
    window.show()
    # The version comes from the installed metadata (importlib.metadata, ≈20 ms): read once the window is up.
    QTimer.singleShot(0, lambda: app.setApplicationVersion(projectdesk.__version__))
    if args.quit_after is not None:
        QTimer.singleShot(args.quit_after, app.quit)
    with loop:
        code = int(loop.run_forever() or 0)
    del smoke_test  # kept referenced while the loop ran
    window.shutdown()
    _wait_for_workers(EXIT_GRACE, code)
    return code


def open_paths_when_ready(
    app: QCoreApplication, ready: SignalInstance, drop: Callable[[list[Path]], object], paths: list[Path]
) -> QObject:
    """Hand folders (and zips) to `drop`, as one drop, once `ready` fires: the command line's paths now,
    and those the Finder sends later as QFileOpenEvents (macOS "Open With"). Returns the filter (owned by app).
    """
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtGui import QFileOpenEvent

    class PathOpener(QObject):
        def __init__(self) -> None:
            super().__init__(app)
            self._waiting = list(paths)
            self._ready = False

        def on_ready(self) -> None:
            self._ready = True
            self._flush()

        def _flush(self) -> None:
            if self._ready and self._waiting:
                batch, self._waiting = self._waiting, []
                drop(batch)

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent) and event.file():
                self._waiting.append(Path(event.file()))
                self._flush()
                return True
            return False

    opener = PathOpener()
    ready.connect(opener.on_ready)
    app.installEventFilter(opener)
    return opener


async def _smoke_test(window: MainWindow) -> None:
    """Wait for the store to open, check what a packaged app must carry, print one JSON line and quit."""
    import json

    from PySide6.QtWidgets import QApplication

    started = time.monotonic()
    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_ready() -> None:
        if not ready.done():
            ready.set_result(None)

    window.serviceReady.connect(on_ready)
    report: dict[str, object] = {"version": projectdesk.__version__, "frozen": bool(getattr(sys, "frozen", False))}
    code = 1
    try:
        await asyncio.wait_for(ready, SMOKE_TIMEOUT)
        report.update(_qt_report())
        report.update(await window.tasks.call(_runtime_report))
        report.update(
            ok=True,
            profile=window.session.profile.name if window.session.profile else None,
            kind=window.session.profile.kind if window.session.profile else None,
            projects=sorted(window.project_model.slugs()),
            seconds=round(time.monotonic() - started, 2),
        )
        code = 0
    except TimeoutError:
        banner = window.banner.text() if window.banner.isVisible() else ""
        report.update(ok=False, error=f"the store did not open within {SMOKE_TIMEOUT:.0f} s. {banner}".strip())
    except Exception as exc:
        report.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    print(SMOKE_PREFIX + json.dumps(report), flush=True)
    window.force_close()
    QApplication.exit(code)


def _qt_report() -> dict[str, object]:
    """What a bundle's trimmed Qt plugins must still give (on the GUI thread): the platform, image formats, SVG."""
    from PySide6.QtGui import QGuiApplication, QImageReader

    from projectdesk.ui.resources import state_icon

    return {
        "qt_platform": QGuiApplication.platformName(),
        "image_formats": sorted(bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()),
        "svg_icon": not state_icon("cached").pixmap(16, 16).isNull(),
    }


def _runtime_report() -> dict[str, object]:
    """What the local store does not touch: the keyring backends, botocore's data (an S3 and an STS client),
    the AWS Common Runtime that carries bulk transfers (native) and Pygments' lexers (imported by name)."""
    import boto3
    import keyring
    from pygments.lexers import get_lexer_for_filename

    backend = keyring.get_keyring()
    backends = getattr(backend, "backends", None) or [backend]
    session = boto3.session.Session(aws_access_key_id="smoke-test", aws_secret_access_key="smoke-test")
    endpoints = {name: session.client(name, region_name="us-east-1").meta.endpoint_url for name in ("s3", "sts")}
    try:
        import awscrt.s3  # loads the native _awscrt library

        crt: str | None = getattr(awscrt, "__version__", "?")
    except ImportError:  # storage/crt.py falls back to boto3's own transfers
        crt = None
    return {
        "keyring": [f"{type(b).__module__}.{type(b).__name__}" for b in backends],
        "boto3": boto3.__version__,
        "endpoints": endpoints,
        "awscrt": crt,
        "lexers": [get_lexer_for_filename(name).name for name in ("main.py", "App.tsx", "Cargo.toml")],
    }


def _wait_for_workers(grace: float, code: int = 0) -> None:
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
        os._exit(code)
