"""Syntax highlighting with Pygments lexers behind a QSyntaxHighlighter.

Each line is lexed on its own, starting from the lexer state the previous line ended in (RegexLexer's
state stack, kept per block as an integer id), so multi-line strings and comments come out right and
an edit re-lexes only the lines it affects. Highlighting is time-boxed: once a run of lines (opening a
file, or an edit that turns the rest of the file into a string) has taken BURST_BUDGET, the remaining
lines are left for idle steps of the event loop, so the GUI thread never stalls on a long file.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator
from typing import Any

from pygments.lexer import ExtendedRegexLexer, Lexer, RegexLexer
from pygments.lexers import get_lexer_for_filename
from pygments.styles import get_style_by_name
from pygments.token import Error, Whitespace, _TokenType
from pygments.util import ClassNotFound
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

LIGHT_STYLE = "default"
DARK_STYLE = "one-dark"
BURST_BUDGET = 0.008  # seconds of highlighting in one go before the rest waits for idle time
BURST_GAP = 0.002  # calls further apart than this start a new burst
IDLE_BUDGET = 0.006  # seconds of catching up per event-loop turn

Token = tuple[int, _TokenType, str]


def lexer_for(filename: str) -> Lexer | None:
    """The Pygments lexer for a file name, or None for plain text (no highlighting)."""
    try:
        lexer = get_lexer_for_filename(filename, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None
    if type(lexer).__name__ == "TextLexer":
        return None
    return lexer


def prepare_lexer(filename: str) -> Lexer | None:
    """lexer_for, with everything slow done now (blocking; call it in a worker thread): Pygments
    compiles file-name patterns, a lexer's token regexes and the colour styles the first time they are
    used, which takes 50–150 ms that must not fall on the GUI thread."""
    lexer = lexer_for(filename)
    if lexer is not None:
        for _ in lexer.get_tokens_unprocessed("x\n"):
            pass
        get_style_by_name(LIGHT_STYLE)
        get_style_by_name(DARK_STYLE)
    return lexer


def lex_line(lexer: RegexLexer, text: str, stack: tuple[str, ...]) -> tuple[list[Token], tuple[str, ...]]:
    """RegexLexer.get_tokens_unprocessed for one line, starting in `stack`; returns tokens and the end stack.

    The loop is Pygments' own (pygments/lexer.py, RegexLexer.get_tokens_unprocessed), kept so the final
    state stack can be read, which the generator does not expose.
    """
    pos = 0
    tokendefs: dict[str, Any] = lexer._tokens  # type: ignore[attr-defined]  # built by RegexLexerMeta
    statestack = list(stack)
    if statestack[-1] not in tokendefs:
        statestack = ["root"]
    statetokens = tokendefs[statestack[-1]]
    tokens: list[Token] = []
    length = len(text)
    while pos < length:
        for rexmatch, action, new_state in statetokens:
            m = rexmatch(text, pos)
            if not m:
                continue
            if action is not None:
                if type(action) is _TokenType:
                    tokens.append((pos, action, m.group()))
                else:
                    tokens.extend(action(lexer, m))
            if m.end() == pos and new_state is None:
                continue  # an empty match that changes nothing would loop forever
            pos = m.end()
            if new_state is not None:
                if isinstance(new_state, tuple):
                    for state in new_state:
                        if state == "#pop":
                            if len(statestack) > 1:
                                statestack.pop()
                        elif state == "#push":
                            statestack.append(statestack[-1])
                        else:
                            statestack.append(state)
                elif isinstance(new_state, int):
                    if abs(new_state) >= len(statestack):
                        del statestack[1:]
                    else:
                        del statestack[new_state:]
                elif new_state == "#push":
                    statestack.append(statestack[-1])
                statetokens = tokendefs[statestack[-1]]
            break
        else:
            if text[pos] == "\n":
                statestack = ["root"]
                statetokens = tokendefs["root"]
                tokens.append((pos, Whitespace, "\n"))
            else:
                tokens.append((pos, Error, text[pos]))
            pos += 1
    return tokens, tuple(statestack)


def _utf16_offsets(text: str) -> list[int] | None:
    """Python index -> UTF-16 index when the text has characters outside the BMP, else None."""
    if text.isascii() or all(ord(c) <= 0xFFFF for c in text):
        return None
    offsets = [0] * (len(text) + 1)
    for i, char in enumerate(text):
        offsets[i + 1] = offsets[i] + (2 if ord(char) > 0xFFFF else 1)
    return offsets


class PygmentsHighlighter(QSyntaxHighlighter):
    """Highlights a QTextDocument with a Pygments lexer, in light or dark colours."""

    def __init__(self, document: QTextDocument, lexer: Lexer, *, dark: bool = False) -> None:
        self._lexer = lexer
        self._stateful = isinstance(lexer, RegexLexer) and not isinstance(lexer, ExtendedRegexLexer)
        self._stacks: list[tuple[str, ...]] = [("root",)]
        self._stack_ids: dict[tuple[str, ...], int] = {("root",): 0}
        self._formats: dict[_TokenType, QTextCharFormat | None] = {}
        self._dark = dark
        self._style = get_style_by_name(DARK_STYLE if dark else LIGHT_STYLE)
        self._resume: set[int] = set()  # lines skipped for the budget, still to highlight
        self._resume_heap: list[int] = []  # the same, smallest first (entries no longer in the set are stale)
        self._burst_start = 0.0
        self._last_end = 0.0
        self._idle = QTimer()
        self._idle.setInterval(0)
        self._idle.timeout.connect(self._on_idle)
        super().__init__(document)
        self._idle.setParent(self)

    @property
    def lexer_name(self) -> str:
        return str(self._lexer.name)

    def is_complete(self) -> bool:
        """True when every line has been highlighted (nothing waits for idle time)."""
        return not self._resume and not self._idle.isActive()

    def set_dark(self, dark: bool) -> None:
        """Switch colours with the palette (re-highlights, time-boxed like everything else)."""
        if dark == self._dark:
            return
        self._dark = dark
        self._style = get_style_by_name(DARK_STYLE if dark else LIGHT_STYLE)
        self._formats.clear()
        self.rehighlight()

    # ---- QSyntaxHighlighter --------------------------------------------------------------------

    def highlightBlock(self, text: str) -> None:
        now = time.perf_counter()
        if now - self._last_end > BURST_GAP:
            self._burst_start = now
        elif now - self._burst_start > BURST_BUDGET:
            # Out of time: keep this line's old state (so the run stops here) and finish it when idle.
            self.setCurrentBlockState(self.currentBlockState())
            number = self.currentBlock().blockNumber()
            if number not in self._resume:
                self._resume.add(number)
                heapq.heappush(self._resume_heap, number)
            if not self._idle.isActive():
                self._idle.start()
            self._last_end = time.perf_counter()
            return
        if self._resume:
            self._resume.discard(self.currentBlock().blockNumber())
        previous = self.previousBlockState()
        stack = self._stacks[previous] if 0 <= previous < len(self._stacks) else ("root",)
        tokens, end = self._tokens(text + "\n", stack)
        offsets = _utf16_offsets(text)
        limit = len(text)
        for start, token_type, value in tokens:
            if start >= limit:
                break
            fmt = self._format(token_type)
            if fmt is None:
                continue
            end_pos = min(start + len(value), limit)
            if offsets is None:
                self.setFormat(start, end_pos - start, fmt)
            else:
                self.setFormat(offsets[start], offsets[end_pos] - offsets[start], fmt)
        self.setCurrentBlockState(self._stack_id(end))
        self._last_end = time.perf_counter()

    # ---- internals ------------------------------------------------------------------------------

    def _tokens(self, text: str, stack: tuple[str, ...]) -> tuple[list[Token], tuple[str, ...]]:
        if self._stateful:
            assert isinstance(self._lexer, RegexLexer)
            try:
                return lex_line(self._lexer, text, stack)
            except Exception:  # a lexer callback that does not like a lone line: plain text, not a crash
                return [], ("root",)
        try:
            return list(self._iter_plain(text)), ("root",)
        except Exception:
            return [], ("root",)

    def _iter_plain(self, text: str) -> Iterator[Token]:
        yield from self._lexer.get_tokens_unprocessed(text)

    def _stack_id(self, stack: tuple[str, ...]) -> int:
        known = self._stack_ids.get(stack)
        if known is None:
            known = self._stack_ids[stack] = len(self._stacks)
            self._stacks.append(stack)
        return known

    def _format(self, token_type: _TokenType) -> QTextCharFormat | None:
        if token_type in self._formats:
            return self._formats[token_type]
        fmt: QTextCharFormat | None = None
        if token_type[: len(Error)] != Error:  # Error and its subtypes: lone lines make many
            style = self._style.style_for_token(token_type)
            if style["color"] or style["bold"] or style["italic"] or style["underline"]:
                fmt = QTextCharFormat()
                if style["color"]:
                    fmt.setForeground(QColor(f"#{style['color']}"))
                if style["bold"]:
                    fmt.setFontWeight(QFont.Weight.Bold)
                if style["italic"]:
                    fmt.setFontItalic(True)
                if style["underline"]:
                    fmt.setFontUnderline(True)
        self._formats[token_type] = fmt
        return fmt

    def _on_idle(self) -> None:
        """Highlight skipped lines, smallest first, for about IDLE_BUDGET per event-loop turn."""
        document = self.document()
        started = time.perf_counter()
        while self._resume_heap and time.perf_counter() - started < IDLE_BUDGET:
            number = heapq.heappop(self._resume_heap)
            if number not in self._resume:
                continue  # highlighted meanwhile by a run from a line above
            self._resume.discard(number)
            block = document.findBlockByNumber(number) if document is not None else None
            if block is not None and block.isValid():
                self._last_end = 0.0  # a fresh burst
                self.rehighlightBlock(block)  # runs on while line states change, or until the budget
        if not self._resume:
            self._resume_heap.clear()
            self._idle.stop()
