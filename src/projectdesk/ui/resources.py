"""Finds the icons under `resources/` (source checkout, installed package or PyInstaller bundle) and loads them."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
STATE_ICONS = ("cached", "keep-offline", "pending", "conflict", "modified", "online", "offline", "connecting")


@functools.cache
def resources_dir() -> Path | None:
    """The folder holding `icons/`: inside the package when installed, else the repository's `resources/`."""
    here = Path(__file__).resolve()
    candidates = [
        here.parents[1] / "resources",  # projectdesk/resources in a wheel
        here.parents[3] / "resources",  # the repository root in a source checkout (src layout)
    ]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.insert(0, Path(bundle) / "resources")
    return next((c for c in candidates if (c / "icons" / "projectdesk.svg").is_file()), None)


def icon_path(name: str) -> Path | None:
    root = resources_dir()
    if root is None:
        return None
    path = root / "icons" / name
    return path if path.is_file() else None


@functools.cache
def app_icon() -> QIcon:
    """The app icon from its PNG sizes (crisp at each size), with the SVG as the scalable fallback."""
    icon = QIcon()
    for size in APP_ICON_SIZES:
        png = icon_path(f"projectdesk-{size}.png")
        if png is not None:
            icon.addFile(str(png), QSize(size, size))
    svg = icon_path("projectdesk.svg")
    if svg is not None:
        icon.addFile(str(svg))
    return icon


@functools.cache
def state_icon(name: str) -> QIcon:
    """A small state icon (`cached`, `pending`, `conflict`, ...); an empty icon when the file is missing."""
    path = icon_path(f"states/{name}.svg")
    return QIcon(str(path)) if path is not None else QIcon()
