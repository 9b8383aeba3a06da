"""How files open (text, image, binary; editable or read-only) and that saving never changes untouched bytes."""

from __future__ import annotations

import codecs

import pytest

from projectdesk.core.errors import InvalidInput
from projectdesk.ui.content import BINARY, HIGHLIGHT_LIMIT, IMAGE, TEXT, classify

ROUND_TRIP = {
    "plain": b"print('hi')\n",
    "no final newline": b"a\nb",
    "crlf": b"line one\r\nline two\r\n",
    "bom": codecs.BOM_UTF8 + b"with bom\n",
    "bom crlf": codecs.BOM_UTF8 + b"x\r\ny\r\n",
    "unicode": "caf\u00e9 \u2713 \U0001f600 nbsp:\u00a0 zw:\u200b ls:\u2028 tab:\t ff:\x0c\n".encode(),
    "empty": b"",
    "only newlines": b"\n\n\n",
}


@pytest.mark.parametrize("data", ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_editable_text_saves_back_byte_for_byte(data: bytes) -> None:
    content = classify("file.py", data)
    assert content.kind == TEXT and content.editable, content.note
    assert "\r" not in content.text
    assert content.encode(content.text) == data


def test_crlf_files_keep_crlf_for_new_lines() -> None:
    content = classify("a.txt", b"one\r\ntwo\r\n")
    assert content.eol == "\r\n"
    assert content.encode(content.text + "three\n") == b"one\r\ntwo\r\nthree\r\n"


def test_mixed_line_ends_are_said_and_normalised_to_the_majority() -> None:
    content = classify("a.txt", b"a\r\nb\r\nc\n")
    assert content.editable and content.eol == "\r\n"
    assert "Mixed line ends (2 CRLF, 1 LF)" in content.note
    assert content.encode(content.text) == b"a\r\nb\r\nc\r\n"


def test_non_utf8_text_opens_read_only_and_refuses_to_save() -> None:
    data = "na\u00efve caf\u00e9\n".encode("cp1252")
    content = classify("legacy.txt", data)
    assert content.kind == TEXT and not content.editable
    assert "not UTF-8" in content.note and "Windows-1252" in content.note
    assert content.text == "na\u00efve caf\u00e9\n"
    with pytest.raises(InvalidInput, match="not UTF-8"):
        content.encode(content.text)


@pytest.mark.parametrize("data", [b"a\rb\rc", "a\u2029b".encode()], ids=["lone CR", "paragraph separator"])
def test_line_separators_the_editor_would_rewrite_make_it_read_only(data: bytes) -> None:
    content = classify("a.txt", data)
    assert content.kind == TEXT and not content.editable and "Read-only" in content.note


def test_binary_and_images() -> None:
    assert classify("x.bin", b"\x00\x01\x02" * 10).kind == BINARY
    assert classify("x.bin", b"\x00\x01\x02" * 10).note == "Binary file, 30 bytes"
    assert classify("late-nul.txt", b"a" * 10_000 + b"\x00").kind == BINARY
    for name in ("a.png", "b.JPG", "c.jpeg", "d.gif", "e.svg"):
        assert classify(name, b"whatever").kind == IMAGE


def test_big_text_turns_highlighting_off_and_says_so() -> None:
    content = classify("big.py", b"x = 1\n" * (HIGHLIGHT_LIMIT // 6 + 10))
    assert content.editable and not content.highlight
    assert "highlighting is off" in content.note
    assert classify("small.py", b"x = 1\n").highlight


def test_surrogates_cannot_be_saved() -> None:
    content = classify("a.txt", b"ok\n")
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        content.encode("bad \ud800\n")
