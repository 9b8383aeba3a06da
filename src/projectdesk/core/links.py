"""Symbolic links as git keeps them: stored as their target text, never followed, restored only when safe.

A link inside a pushed folder becomes an object at the link's own path whose content is the target text
(so any tool listing the bucket still sees it, as a small file), and the manifest's `links` map names it
a link. A pull, export or sync restores it as a link only when the target is relative and resolves inside
the project; any other target (absolute, or climbing out of the project) is restored as a plain file holding
the target text, with a warning — never as a link pointing outside the folder.
"""

from __future__ import annotations

import posixpath
import re

MAX_TARGET_BYTES = 4096  # PATH_MAX on Linux; longer targets are refused by the scan
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def restorable(path: str, target: str) -> bool:
    """True when the link at project path `path` may be made as a link: its target is relative and
    stays inside the project (it may still dangle, as git's links into an ignored folder do)."""
    if not target or target.startswith("/") or "\\" in target or _CONTROL.search(target):
        return False
    if re.match(r"^[A-Za-z]:", target):
        return False
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return joined != ".." and not joined.startswith("../") and not joined.startswith("/") and joined != "."


def why_not_restored(path: str, target: str) -> str:
    return f"a link to {target!r}, which lies outside the project: written as a plain file holding the target text"
