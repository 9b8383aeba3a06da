"""Fuzzy matching of file paths, as editors' "go to file" does: every character of the query in order,
ranked by runs of consecutive letters, matches at the start of a path segment or word, and matches in the file
name; shorter paths first among equals.

Fast at 100,000 paths: the candidates are found by one regular expression over all the paths at once (a
pattern without backtracking — each step skips to the next needed character), and only they are scored.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

SEPARATORS = "/_-. "
MAX_SCORED = 5_000  # beyond this many candidates (a one-letter query), the shortest are scored


def _boundary(text: str, i: int) -> bool:
    """Whether text[i] starts a path segment or word (after a separator, or a capital after a small letter)."""
    return i == 0 or text[i - 1] in SEPARATORS or (text[i].isupper() and text[i - 1].islower())


def _align(query: str, path: str, lowered: str, prefer_boundaries: bool, start: int) -> tuple[int, list[int]] | None:
    """Points for one way of placing the query's characters in `path` (from `start`), and where they went."""
    name_start = lowered.rfind("/") + 1
    total = 0
    position = start
    previous = -2
    placed: list[int] = []
    for char in query:
        found = lowered.find(char, position)
        if found < 0:
            return None
        if prefer_boundaries and found != previous + 1:
            probe = found
            while probe >= 0 and not _boundary(path, probe):
                probe = lowered.find(char, probe + 1)
            if probe >= 0:
                found = probe
        points = 1
        if found == previous + 1:
            points += 5
        if _boundary(path, found):
            points += 4
        if found >= name_start:
            points += 2
        total += points
        previous = found
        position = found + 1
        placed.append(found)
    return total, placed


def score(query: str, path: str) -> int | None:
    """How well `path` matches `query` (higher is better), or None when some character of it is missing."""
    match = match_positions(query, path)
    return None if match is None else match[0]


def match_positions(query: str, path: str) -> tuple[int, list[int]] | None:
    """(score, the positions in `path` of the query's characters) for the best of a few placements."""
    query = query.replace(" ", "").casefold()
    if not query:
        return 0, []
    lowered = path.casefold()
    name_start = lowered.rfind("/") + 1
    best: tuple[int, list[int]] | None = None
    for prefer, start in ((False, 0), (True, 0), (False, name_start), (True, name_start)):
        found = _align(query, path, lowered, prefer, start)
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    if best is None:
        return None
    return best[0] * 1000 - len(path), best[1]


class PathIndex:
    """A project's paths, ready to be matched many times (one per keystroke)."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        lowered = [p.casefold().replace("\n", " ") for p in self.paths]
        self._blob = "\n".join(lowered)
        self._starts: list[int] = []
        offset = 0
        for text in lowered:
            self._starts.append(offset)
            offset += len(text) + 1

    def candidates(self, query: str) -> list[int]:
        """Indexes of the paths holding every character of `query` in order."""
        chars = query.replace(" ", "").casefold()
        if not chars:
            return list(range(len(self.paths)))
        steps = "".join(f"[^{re.escape(c)}\\n]*{re.escape(c)}" for c in chars)
        pattern = re.compile(f"^{steps}[^\\n]*", re.MULTILINE)
        return [bisect.bisect_right(self._starts, m.start()) - 1 for m in pattern.finditer(self._blob)]

    def best(self, query: str, limit: int = 200) -> list[str]:
        """The `limit` best matches, best first."""
        found = self.candidates(query)
        if not query.strip():
            return sorted(self.paths)[:limit]
        if len(found) > MAX_SCORED:
            found = sorted(found, key=lambda i: len(self.paths[i]))[:MAX_SCORED]
        scored = []
        for i in found:
            path = self.paths[i]
            points = score(query, path)
            if points is not None:
                scored.append((-points, path))
        scored.sort()
        return [path for _, path in scored[:limit]]


def best_matches(query: str, paths: Sequence[str], limit: int = 200) -> list[str]:
    return PathIndex(paths).best(query, limit)
