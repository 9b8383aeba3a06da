"""Small pure parts of the UI: highlighting by lexer state, go-to-file matching, formatting, the cache's
extras read by duck typing, and the staging folder for drops."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pygments.lexers import PythonLexer
from pygments.token import Comment, Keyword, String
from PySide6.QtGui import QTextDocument

from projectdesk.core.errors import InvalidKey
from projectdesk.core.models import ProjectInfo
from projectdesk.ui import extras
from projectdesk.ui.dialogs.quick_open import best_matches, score
from projectdesk.ui.formatting import duration_text, rate_text, relative_time
from projectdesk.ui.highlighter import PygmentsHighlighter, lex_line, lexer_for
from projectdesk.ui.staging import remove_staging, stage_drop


def test_lex_line_carries_state_across_lines() -> None:
    lexer = PythonLexer()
    tokens, stack = lex_line(lexer, 'x = """start\n', ("root",))
    assert stack != ("root",)  # inside the triple-quoted string
    tokens, stack = lex_line(lexer, "still in the string\n", stack)
    assert all(t[1] in String for t in tokens if t[2].strip())
    tokens, stack = lex_line(lexer, 'end""" # done\n', stack)
    assert stack == ("root",)
    assert any(t[1] in Comment for t in tokens)


def test_highlighter_formats_a_document(qapp: Any) -> None:
    document = QTextDocument()
    document.documentLayout()  # as in an editor: block layouts exist before highlighting
    highlighter = PygmentsHighlighter(document, lexer_for("a.py"))  # type: ignore[arg-type]
    document.setPlainText('def f():\n    """doc\n    more"""\n    return 1  # \U0001f600 note\n')
    qapp.processEvents()
    deadline = time.monotonic() + 5
    while not highlighter.is_complete() and time.monotonic() < deadline:
        qapp.processEvents()
    first = document.findBlockByNumber(0).layout().formats()
    assert first and first[0].start == 0 and first[0].length == 3  # "def"
    inside = document.findBlockByNumber(2).layout().formats()
    assert inside  # the docstring's second line is coloured as a string, from the carried state
    last = document.findBlockByNumber(3)
    comment = [f for f in last.layout().formats() if f.start > 10]
    assert comment and comment[-1].start + comment[-1].length == len(last.text().encode("utf-16-le")) // 2
    highlighter.set_dark(True)
    assert Keyword is not None


def test_lexer_for_names() -> None:
    assert lexer_for("main.py") is not None and lexer_for("App.jsx") is not None
    assert lexer_for("Dockerfile") is not None
    assert lexer_for("notes.unknownext") is None and lexer_for("plain.txt") is None


def test_quick_open_prefers_file_names_and_word_starts() -> None:
    paths = ["src/components/Button.tsx", "src/main.py", "docs/maintenance.md", "tests/test_main.py", "README.md"]
    assert best_matches("main", paths)[0] == "src/main.py"
    assert best_matches("btn", paths) == ["src/components/Button.tsx"]
    assert best_matches("", paths) == sorted(paths)
    assert score("xyz", "src/main.py") is None
    assert best_matches("tm", paths)[0] == "tests/test_main.py"


def test_formatting() -> None:
    now = 1_700_000_000.0
    assert relative_time(now - 5, now) == "just now"
    assert relative_time(now - 300, now) == "5 min ago"
    assert relative_time(now - 7200, now) == "2 h ago"
    assert relative_time(now - 86400 * 1.5, now) == "yesterday"
    assert relative_time(0) == "–"
    assert duration_text(3) == "3 s" and duration_text(80) == "1 min 20 s" and duration_text(4000) == "1 h 6 min"
    assert rate_text(1_500_000) == "1.5 MB/s"


class CacheLikeService:
    """The extras CachedProjectService adds, in the shapes the window accepts."""

    is_offline = True

    def cached_projects(self) -> list[ProjectInfo]:
        return [ProjectInfo("A", "a-1", "anonymous", 0, 0, 1, 1, [], False, False)]

    def pending(self) -> list[Any]:
        return [{"slug": "a-1", "path": "x.py"}, ("b-2", "y.py")]

    def conflicts(self) -> list[Any]:
        class Item:
            slug, path = "b-2", "z.py"

        return [Item()]

    def file_states(self, slug: str) -> dict[str, str]:
        return {"x.py": "dirty", "w.py": "clean", "odd.py": "something-new"}

    def cache_usage(self) -> list[Any]:
        class Usage:
            def __init__(self, slug: str, files: int, keep: bool) -> None:
                self.slug, self.files, self.keep_offline = slug, files, keep

        return [Usage("a-1", 2, False), Usage("c-3", 0, False), Usage("d-4", 5, True)]


def test_extras_are_read_by_duck_typing() -> None:
    service = CacheLikeService()
    assert extras.has_extras(service) and extras.is_offline(service) is True
    snap = extras.snapshot(service)
    assert snap.pending == [("a-1", "x.py"), ("b-2", "y.py")] and snap.conflicts == [("b-2", "z.py")]
    assert snap.cached == {"a-1", "d-4"} and snap.kept_offline == {"d-4"}
    assert extras.project_states(snap) == {"a-1": "pending", "b-2": "conflict", "d-4": "keep-offline"}
    assert extras.file_states(service, "a-1", snap) == {"x.py": "pending", "w.py": "cached"}
    plain = object()
    assert not extras.has_extras(plain) and extras.is_offline(plain) is None
    assert extras.cached_projects(plain) is None and extras.snapshot(plain).pending == []


def test_staging_links_and_cleans_up_without_touching_the_source(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "inner.txt").write_bytes(b"inner")
    (source / "one.txt").write_bytes(b"one")
    root = stage_drop([source / "pkg", source / "one.txt"], "app/lib")
    assert (root / "app" / "lib" / "pkg" / "inner.txt").read_bytes() == b"inner"
    assert (root / "app" / "lib" / "one.txt").read_bytes() == b"one"
    remove_staging(root)
    assert not root.exists()
    assert (source / "pkg" / "inner.txt").read_bytes() == b"inner" and (source / "one.txt").exists()
    with pytest.raises(InvalidKey, match=r"'\.\.'"):
        stage_drop([source / "one.txt"], "../escape")
