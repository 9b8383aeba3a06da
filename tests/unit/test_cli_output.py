"""The CLI's table and dates (cli/common.py), made fast for 10,000-row listings, print what they printed."""

from __future__ import annotations

import math
import random
from datetime import datetime

import pytest

from projectdesk.cli.common import date_text, table


def _datetime_text(epoch: float) -> str:
    """How dates were written before: datetime's own rounding and range."""
    if not epoch or not math.isfinite(epoch):
        return "-"
    try:
        return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return "-"


def test_dates_read_as_datetime_writes_them_rounding_and_range_included() -> None:
    rng = random.Random(18)
    samples = [rng.uniform(0, 2.6e11) for _ in range(3000)]
    samples += [rng.randrange(1, 2**34) + edge for edge in (0.9999995, 0.99999949, 0.4999995) for _ in range(1000)]
    samples += [0.0, 1e-7, 59.9999996, 253402300799.0, 253402300799.9999996, 253402300800.0, 1e300, -1.0, -5e9,
                math.nan, math.inf, -math.inf]  # fmt: skip
    assert [date_text(s) for s in samples] == [_datetime_text(s) for s in samples]


def test_a_table_pads_its_columns_and_escapes_only_what_needs_it(capsys: pytest.CaptureFixture[str]) -> None:
    table([["a", "bb"], ["ccc", "d"]], ["H1", "H2"])
    assert capsys.readouterr().out == "H1   H2\na    bb\nccc  d\n"
    table([["evil\x1b[2J", "x"], ["é", ""]], ["NAME", "V"])  # a control character: each cell escaped
    assert capsys.readouterr().out == "NAME         V\nevil\\x1b[2J  x\né\n"
    table([["a", "b", "extra"], ["c"]], ["H1", "H2"])  # uneven rows: the columns all rows have
    assert capsys.readouterr().out == "H1\na\nc\n"
