"""A temporary folder that places dropped files and folders under a folder of a project, for plan_push.

The dropped items are linked, not copied (copied only where the system refuses links), so staging a
large folder costs nothing; removing the staging folder removes the links, never what they point to.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from projectdesk.core.keys import safe_relative_path


def new_staging_folder() -> Path:
    """An empty temporary folder `remove_staging` will remove (a zip is unpacked into one for its preview)."""
    return Path(tempfile.mkdtemp(prefix="projectdesk-drop-"))


def stage_drop(paths: Sequence[Path], folder: str) -> Path:
    """Make `<temp>/<folder>/<name>` for each dropped path; returns the temp root (blocking)."""
    root = new_staging_folder()
    target = root.joinpath(*safe_relative_path(folder).split("/")) if folder else root
    target.mkdir(parents=True, exist_ok=True)
    for path in paths:
        link = target / path.name
        if link.exists() or link.is_symlink():
            continue  # two dropped items with one name: the first one wins
        source = path.resolve()
        try:
            link.symlink_to(source, target_is_directory=source.is_dir())
        except OSError:  # e.g. Windows without the symlink privilege
            if source.is_dir():
                shutil.copytree(source, link, symlinks=True)
            else:
                shutil.copy2(source, link)
    return root


def staged_links(root: Path) -> list[str]:
    """The project paths of the links `stage_drop` made (followed by the push wherever they point)."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):  # never descends into a linked folder
        for name in dirs + files:
            if os.path.islink(os.path.join(folder, name)):
                found.append(Path(folder, name).relative_to(root).as_posix())
    return found


def remove_staging(root: Path) -> None:
    """Delete a staging folder: links are unlinked, never followed."""
    if root.name.startswith("projectdesk-drop-"):
        shutil.rmtree(root, ignore_errors=True)
