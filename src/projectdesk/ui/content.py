"""Decides how a file opens in the editor — text (editable or not), image preview or binary — and
turns edited text back into the exact bytes to store. Pure functions, no Qt: run them in a worker.

The rule that matters: an opened file can be saved only if, unedited, it would be saved byte for byte
as it was read. Text that is not UTF-8, or that holds line separators the editor would rewrite, opens
read-only with a note saying why.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import PurePosixPath

from projectdesk.core.errors import InvalidInput
from projectdesk.core.sizes import human_bytes

TEXT, IMAGE, BINARY = "text", "image", "binary"
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp", ".ico"})
HIGHLIGHT_LIMIT = 1_000_000  # bytes: above this, highlighting is off (said in the editor's note)
OPEN_LIMIT = 25_000_000  # bytes: above this, text is not loaded into the editor at all
SNIFF_BYTES = 8192


@dataclass(frozen=True)
class FileContent:
    """A file as the editor shows it."""

    kind: str  # TEXT, IMAGE or BINARY
    size: int
    text: str = ""  # TEXT: with '\n' line ends, as the editor holds it
    editable: bool = False
    note: str = ""  # shown above the editor: why it is read-only, what is off, what saving changes
    eol: str = "\n"  # the line end written back on save
    bom: bool = False  # the file starts with a UTF-8 byte order mark (kept on save)
    highlight: bool = True
    encoding: str = "utf-8"

    def encode(self, text: str) -> bytes:
        """The bytes to store for the editor's text (with '\n' line ends). Raises when this file must
        not be saved (read-only), or when the text cannot be UTF-8 (never stores a lossy copy)."""
        if self.kind != TEXT or not self.editable:
            raise InvalidInput(self.note or "This file is read-only here.")
        if self.eol != "\n":
            text = text.replace("\n", self.eol)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInput(
                f"The text holds a character that is not valid Unicode ({exc.reason}); not saved."
            ) from None
        return codecs.BOM_UTF8 + data if self.bom else data


def is_image_name(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in IMAGE_SUFFIXES


def classify(path: str, data: bytes) -> FileContent:
    """How to open `path` with these bytes (blocking on big files: call it off the GUI thread)."""
    size = len(data)
    if is_image_name(path):
        return FileContent(IMAGE, size)
    if b"\x00" in data[:SNIFF_BYTES]:
        return FileContent(BINARY, size, note=f"Binary file, {size:,} bytes")
    if size > OPEN_LIMIT:
        return FileContent(
            BINARY, size, note=f"Too large to open here ({human_bytes(size)}); download the project to edit it."
        )
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8) :] if bom else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _legacy_text(data)
    if "\x00" in text:
        return FileContent(BINARY, size, note=f"Binary file, {size:,} bytes")
    highlight = size <= HIGHLIGHT_LIMIT
    notes = [] if highlight else [f"Syntax highlighting is off for files over {human_bytes(HIGHLIGHT_LIMIT)}."]
    crlf = text.count("\r\n")
    if text.count("\r") != crlf:
        return FileContent(
            TEXT,
            size,
            text=text.replace("\r\n", "\n").replace("\r", "\n"),
            note="Read-only: this file uses old Mac (CR) line ends, which the editor would change.",
            highlight=highlight,
        )
    if "\u2029" in text:
        return FileContent(
            TEXT,
            size,
            text=text.replace("\r\n", "\n").replace("\u2029", "\n"),
            note="Read-only: this file holds Unicode paragraph separators, which the editor would change.",
            highlight=highlight,
        )
    lf = text.count("\n") - crlf
    eol = "\r\n" if crlf > lf else "\n"
    editing = text.replace("\r\n", "\n") if crlf else text
    if crlf and lf:
        ending = "CRLF" if eol == "\r\n" else "LF"
        notes.append(f"Mixed line ends ({crlf:,} CRLF, {lf:,} LF): saving writes {ending} throughout.")
    content = FileContent(
        TEXT, size, text=editing, editable=True, note=" ".join(notes), eol=eol, bom=bom, highlight=highlight
    )
    if not (crlf and lf) and content.encode(editing) != data:  # the promise: unedited means unchanged
        return FileContent(TEXT, size, text=editing, note="Read-only: this file would not survive a save unchanged.")
    return content


def _legacy_text(data: bytes) -> FileContent:
    """Text in some other encoding: shown (Windows-1252, else Latin-1) but never saved from here."""
    for encoding, label in (("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return FileContent(
            TEXT,
            len(data),
            text=text,
            note=f"Read-only: this file is not UTF-8 (shown as {label}), so saving it here could damage it.",
            highlight=len(data) <= HIGHLIGHT_LIMIT,
            encoding=encoding,
        )
    raise AssertionError("latin-1 decodes any bytes")
