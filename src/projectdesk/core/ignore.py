"""Which local files a push skips: built-in defaults, user overrides and the folder's .gitignore files.

Matching follows git's own rules through `pathspec` (a maintained implementation of gitignore
semantics) rather than a hand-written matcher.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pathspec

DEFAULT_PATTERNS: tuple[str, ...] = (
    ".git/",
    "node_modules/",
    "__pycache__/",
    ".venv/",
    "venv/",
    "dist/",
    "build/",
    ".DS_Store",
    ".pytest_cache/",
)


def _spec(lines: Iterable[str]) -> pathspec.PathSpec[Any]:
    import pathspec  # ≈25 ms: loaded by the first rules used, not by every module that names the defaults

    return pathspec.PathSpec.from_lines("gitignore", lines)


@dataclass
class IgnoreRules:
    """Rules for one folder tree; `.gitignore` files found while walking are added with `add_gitignore`.

    `patterns` replace the defaults when given (the user's override); `use_gitignore=False` ignores
    the folder's own .gitignore files.
    """

    patterns: Sequence[str] = DEFAULT_PATTERNS
    use_gitignore: bool = True
    _base: pathspec.PathSpec[Any] = field(init=False)
    _nested: list[tuple[str, pathspec.PathSpec[Any]]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._base = _spec(self.patterns)

    def add_gitignore(self, directory: str, text: str) -> None:
        """Add the rules of `directory/.gitignore` (`directory` relative to the root, '' for the root)."""
        if self.use_gitignore:
            self._nested.append((directory.strip("/"), _spec(text.splitlines())))

    def is_ignored(self, path: str, is_dir: bool = False) -> bool:
        """`path` is relative to the root, with '/' separators."""
        probe = path + "/" if is_dir else path
        if self._base.match_file(probe):
            return True
        # As git does: a deeper .gitignore overrides a shallower one, and within one file the last
        # matching pattern decides (so `!keep.log` can re-include what a parent's `*.log` ignored).
        ignored = False
        for directory, spec in sorted(self._nested, key=lambda item: item[0].count("/") + bool(item[0])):
            if directory and not probe.startswith(directory + "/"):
                continue
            decision = spec.check_file(probe[len(directory) + 1 :] if directory else probe).include
            if decision is not None:
                ignored = decision
        return ignored
