"""printable(): names from outside are shown with every control character and lone surrogate escaped."""

from __future__ import annotations

import logging
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectdesk.core.display import SILENT, THIRD_PARTY_LOGGERS, printable, third_party_log_levels

# What must never reach a terminal raw: C0, DEL, C1 and lone surrogates.
RAW = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J\x1b]0;pwned\x07name", "\\x1b[2J\\x1b]0;pwned\\x07name"),
        ("two\nlines\r\tand tab", "two\\nlines\\r\\tand tab"),
        ("nul\x00del\x7f", "nul\\x00del\\x7f"),
        ("c1\x85\x9b31m", "c1\\x85\\x9b31m"),
        ("caf\udce9.txt", "caf\\xe9.txt"),  # a byte that was not UTF-8, as os.fsdecode keeps it
        ("lone \ud83d high", "lone \\ud83d high"),
        ("invoice\u202efdp.exe", "invoice\\u202efdp.exe"),  # a right-to-left override ("Trojan Source")
        ("line\u2028sep", "line\\u2028sep"),
    ],
)
def test_control_characters_are_escaped_visibly(text: str, shown: str) -> None:
    assert printable(text) == shown


ORDINARY = ["", "plain.txt", "docs/notes café.md", "日本語/ファイル.txt", "emoji 😀👩‍💻", "back\\slash"]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert printable(text) == text


@given(st.text(alphabet=st.characters(exclude_categories=())))
def test_no_raw_control_character_or_lone_surrogate_survives(text: str) -> None:
    shown = printable(text)
    assert RAW.search(shown) is None
    shown.encode("utf-8")  # anything a terminal can be sent


@given(st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))))
def test_text_without_controls_is_unchanged_except_direction_marks(text: str) -> None:
    shown = printable(text)
    assert shown == text or re.search("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]", text)


def test_third_party_loggers_are_silent_without_debug_and_botocore_never_at_debug() -> None:
    quiet = third_party_log_levels(debug=False)
    assert set(quiet) == set(THIRD_PARTY_LOGGERS) and set(quiet.values()) == {SILENT}
    loud = third_party_log_levels(debug=True)
    assert loud["botocore"] > logging.DEBUG and loud["s3transfer"] > logging.DEBUG
    assert all(level < SILENT for level in loud.values())
