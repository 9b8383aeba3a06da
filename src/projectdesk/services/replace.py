"""Replace in project: the new content of each file a search matched, with Python's `re` (no Qt).

The search itself is ripgrep's (services/search.py); a replacement applies the same pattern with `re`, line by
line as ripgrep matches (a match never spans a line end). Plain text is escaped; whole word and case follow the
search's options. `re` and ripgrep's Rust regex differ on exotic constructs, so a pattern `re` cannot compile is
said in one sentence. Each file is read as the copy the search looked at (the cache's, with the version it is),
so the write replaces that version and no other: a file changed on the server meanwhile becomes a conflicted
copy through the outbox, never an overwrite. Binary files and text that is not UTF-8 are left alone.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from projectdesk.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from projectdesk.services.offline import CachedProjectService
    from projectdesk.services.search import SearchOptions

NOT_UTF8 = "not UTF-8 text"
BINARY = "binary"


def compile_pattern(options: SearchOptions) -> re.Pattern[str]:
    """The search's pattern for Python's `re`; InvalidInput (one sentence) when `re` cannot take it."""
    if not options.pattern:
        raise InvalidInput("Type something to find.")
    body = re.escape(options.pattern) if options.fixed else options.pattern
    if options.whole_word:
        body = rf"(?<!\w)(?:{body})(?!\w)"
    flags = re.IGNORECASE if options.ignore_case else 0
    try:
        return re.compile(body, flags)
    except re.error as exc:
        raise InvalidInput(
            f"Replace uses Python's regular expressions, which cannot take this pattern ({exc.msg}); "
            "ripgrep's syntax differs on a few constructs."
        ) from None


def replacer(pattern: re.Pattern[str], replacement: str, *, fixed: bool) -> Callable[[re.Match[str]], str]:
    """What each match becomes: the text itself for plain text; for a regular expression `\\1`, `\\g<name>`
    refer to groups (Python's syntax). InvalidInput when the replacement names a group the pattern lacks."""
    if fixed:
        return lambda _match: replacement
    try:
        empty = re.compile(pattern.pattern + "|", pattern.flags).match("")  # the same groups, matching ""
        assert empty is not None
        empty.expand(replacement)  # checks the template's group references against the pattern's groups
    except (re.error, IndexError) as exc:
        raise InvalidInput(f"The replacement is not valid here: {exc}.") from None
    return lambda match: match.expand(replacement)


def replace_text(text: str, pattern: re.Pattern[str], change: Callable[[re.Match[str]], str]) -> tuple[str, int]:
    """`text` with every match replaced, line by line (line ends kept as they are); and how many."""
    count = 0

    def one(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return change(match)

    lines = text.split("\n")
    out = [pattern.sub(one, line) for line in lines]
    return "\n".join(out), count


@dataclass
class FileChange:
    """One matched file: its content as read and after the replacement."""

    path: str
    etag: str | None  # the version read (the copy the search looked at): the write replaces that one only
    old: bytes = b""
    new: bytes = b""
    count: int = 0
    skipped: str = ""  # why the file is left alone (binary, not UTF-8, unreadable), else ""


def read_searched_copy(service: CachedProjectService, slug: str, path: str) -> tuple[bytes, str | None]:
    """The file as the search saw it: the cache's copy and the version it is (a queued edit: the version that
    edit replaces); without a copy, the file as `open_file` reads it."""
    row = service.cache.file(slug, path)
    if row is not None and row.has_blob:
        data = service.cache.read_blob(slug, path)
        if data is not None:
            if row.state == "dirty":
                return data, service.cache.edit_base(slug, path)
            return data, row.blob_etag
    data, entry = service.open_file(slug, path)
    return data, entry.etag or None


def plan_file(
    service: CachedProjectService,
    slug: str,
    path: str,
    pattern: re.Pattern[str],
    change: Callable[[re.Match[str]], str],
) -> FileChange:
    """Read one file (blocking: a worker's job) and build its replaced content."""
    try:
        data, etag = read_searched_copy(service, slug, path)
    except NotFound:
        return FileChange(path, None, skipped="deleted meanwhile")
    result = FileChange(path, etag, old=data)
    if b"\x00" in data:
        result.skipped = BINARY
        return result
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""  # kept, and not part of line 1
    try:
        text = data[len(bom) :].decode("utf-8")
    except UnicodeDecodeError:
        result.skipped = NOT_UTF8
        return result
    new_text, result.count = replace_text(text, pattern, change)
    result.new = bom + new_text.encode("utf-8")
    return result


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"
