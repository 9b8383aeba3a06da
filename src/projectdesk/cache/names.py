"""Names of conflicted copies: `notes (conflicted copy 2025-01-31 1432).md`, `… 1432 2).md` when taken."""

from __future__ import annotations

from datetime import datetime

from projectdesk.core.keys import MAX_SEGMENT_BYTES

_COMPOUND = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".d.ts")


def split_extension(name: str) -> tuple[str, str]:
    """('notes', '.md'); dotfiles and names without a dot keep everything in the stem."""
    lowered = name.lower()
    for compound in _COMPOUND:
        if lowered.endswith(compound) and len(name) > len(compound):
            return name[: -len(compound)], name[-len(compound) :]
    dot = name.rfind(".")
    if dot <= 0:
        return name, ""
    return name[:dot], name[dot:]


def conflicted_copy_name(path: str, when: datetime, counter: int = 1) -> str:
    """The name our version of `path` gets when the remote one changed meanwhile."""
    folder, _, name = path.rpartition("/")
    stem, ext = split_extension(name)
    label = f" (conflicted copy {when:%Y-%m-%d %H%M}{f' {counter}' if counter > 1 else ''})"
    room = MAX_SEGMENT_BYTES - len((label + ext).encode("utf-8"))
    while len(stem.encode("utf-8")) > room:  # keep the segment short enough for every file system
        stem = stem[:-1]
    copy = f"{stem}{label}{ext}"
    return f"{folder}/{copy}" if folder else copy
