"""The desktop entry point: builds the QApplication and shows the main window.

The full window (project list, file tree, editor, transfers) lands with its own issue; until then this
shows the store in use and points to the CLI, so `projectdesk` is a working, double-clickable command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from projectdesk import __version__


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="projectdesk", description="ProjectDesk desktop window")
    parser.add_argument("--version", action="version", version=f"projectdesk {__version__}")
    parser.add_argument("--quit-after", type=int, metavar="MS", help="close the window after MS milliseconds")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from projectdesk.ui.placeholder import PlaceholderWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ProjectDesk")
    app.setApplicationVersion(__version__)
    window = PlaceholderWindow()
    window.show()
    if args.quit_after is not None:
        QTimer.singleShot(args.quit_after, app.quit)
    return int(app.exec())
