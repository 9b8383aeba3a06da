"""Side-by-side alignment of two texts (difflib, pure Python, no Qt): the rows a diff view paints.

Equal lines sit on one row; a replaced block pairs its lines and pads the shorter side with filler
rows; deleted lines face filler on the right, inserted ones filler on the left. Run it off the GUI
thread: difflib is quadratic on pathological input.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

EQUAL, CHANGED, REMOVED, ADDED = "equal", "changed", "removed", "added"
DIFF_MAX_BYTES = 2 * 1024 * 1024  # larger files are compared by size and hash only


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One row of the view. `left`/`right` are None on a filler row (the line exists on the other side)."""

    kind: str  # EQUAL, CHANGED, REMOVED (left only), ADDED (right only)
    left: str | None
    right: str | None
    left_number: int | None = None  # 1-based line numbers in each text
    right_number: int | None = None


@dataclass
class SideBySide:
    rows: list[DiffRow] = field(default_factory=list)
    note: str = ""  # why no line diff was made (binary, too large, a side missing), else ""

    @property
    def changes(self) -> int:
        """Blocks of consecutive differing rows (what a person calls "changes")."""
        count, inside = 0, False
        for row in self.rows:
            differs = row.kind != EQUAL
            if differs and not inside:
                count += 1
            inside = differs
        return count

    def change_starts(self) -> list[int]:
        """Row numbers where each change begins (for next/previous change)."""
        starts, inside = [], False
        for number, row in enumerate(self.rows):
            differs = row.kind != EQUAL
            if differs and not inside:
                starts.append(number)
            inside = differs
        return starts


def decode_text(data: bytes | None) -> str | None:
    """UTF-8 text, or None for binary data (a NUL byte, or not UTF-8)."""
    if data is None or b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def describe(data: bytes | None) -> str:
    if data is None:
        return "(deleted)"
    return f"{len(data):,} bytes"


def side_by_side(mine: bytes | None, theirs: bytes | None) -> SideBySide:
    """Align two versions for a side-by-side view (left: mine, right: theirs)."""
    if mine is None or theirs is None:
        present = mine if mine is not None else theirs
        text = decode_text(present) if present is not None and len(present) <= DIFF_MAX_BYTES else None
        note = "Your version deletes the file." if mine is None else "The server deleted the file."
        if text is None:
            return SideBySide(note=note)
        lines = text.splitlines()
        if mine is None:
            one_side = [DiffRow(ADDED, None, line, None, n) for n, line in enumerate(lines, 1)]
        else:
            one_side = [DiffRow(REMOVED, line, None, n, None) for n, line in enumerate(lines, 1)]
        return SideBySide(one_side, note)
    if len(mine) > DIFF_MAX_BYTES or len(theirs) > DIFF_MAX_BYTES:
        return SideBySide(note=f"Too large to compare line by line ({describe(mine)} and {describe(theirs)}).")
    left_text, right_text = decode_text(mine), decode_text(theirs)
    if left_text is None or right_text is None:
        same = "identical" if mine == theirs else "different"
        return SideBySide(note=f"Binary files, {same}: yours {describe(mine)}, the server's {describe(theirs)}.")
    left, right = left_text.splitlines(), right_text.splitlines()
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [
                DiffRow(EQUAL, left[i], right[j], i + 1, j + 1)
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            ]
        elif tag == "delete":
            rows += [DiffRow(REMOVED, left[i], None, i + 1, None) for i in range(i1, i2)]
        elif tag == "insert":
            rows += [DiffRow(ADDED, None, right[j], None, j + 1) for j in range(j1, j2)]
        else:  # replace: pair the lines, pad the shorter side
            for k in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + k, j1 + k
                in_left, in_right = i < i2, j < j2
                kind = CHANGED if in_left and in_right else (REMOVED if in_left else ADDED)
                rows.append(
                    DiffRow(
                        kind,
                        left[i] if in_left else None,
                        right[j] if in_right else None,
                        i + 1 if in_left else None,
                        j + 1 if in_right else None,
                    )
                )
    note = "" if rows and any(r.kind != EQUAL for r in rows) else "The two versions have the same lines."
    if not rows and mine == theirs:
        note = "Both versions are empty."
    return SideBySide(rows, note)
