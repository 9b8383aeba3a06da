"""What a drag from the file manager carries: local paths from QMimeData, sorted into folders, zips and files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QMimeData


def local_paths(mime: QMimeData | None) -> list[Path]:
    """The local files and folders a drag carries (remote URLs are left out)."""
    if mime is None or not mime.hasUrls():
        return []
    paths = []
    for url in mime.urls():
        if url.isLocalFile():
            local = url.toLocalFile()
            if local:
                paths.append(Path(local))
    return paths


@dataclass
class DroppedItems:
    folders: list[Path] = field(default_factory=list)
    zips: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.folders or self.zips or self.files)


def sort_drop(paths: list[Path]) -> DroppedItems:
    """Split dropped paths into folders, .zip archives and other files (blocking: touches the disk)."""
    items = DroppedItems()
    for path in paths:
        if path.is_dir():
            items.folders.append(path)
        elif path.is_file():
            (items.zips if path.suffix.lower() == ".zip" else items.files).append(path)
        else:
            items.missing.append(path)
    return items
