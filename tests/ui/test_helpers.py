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

from projectdesk.cache.store import CacheStore
from projectdesk.core.errors import InvalidKey
from projectdesk.core.fuzzy import best_matches, score
from projectdesk.services.offline import CachedProjectService
from projectdesk.services.projects import ProjectService
from projectdesk.storage.local import LocalRepository
from projectdesk.ui import sync_state
from projectdesk.ui.formatting import duration_text, rate_text, relative_time
from projectdesk.ui.highlighter import PygmentsHighlighter, lex_line, lexer_for
from projectdesk.ui.staging import remove_staging, stage_drop
from projectdesk.ui.sync_state import ProjectState, TreeState


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
    assert best_matches("mw", ["src/framework.py", "src/ui/main_window.py"])[0] == "src/ui/main_window.py"
    assert best_matches("mainwin", ["a/main/win.txt", "ui/main_window.py"])[0] == "ui/main_window.py"


def test_formatting() -> None:
    now = 1_700_000_000.0
    assert relative_time(now - 5, now) == "just now"
    assert relative_time(now - 300, now) == "5 min ago"
    assert relative_time(now - 7200, now) == "2 h ago"
    assert relative_time(now - 86400 * 1.5, now) == "yesterday"
    assert relative_time(0) == "–"
    assert duration_text(3) == "3 s" and duration_text(80) == "1 min 20 s" and duration_text(4000) == "1 h 6 min"
    assert rate_text(1_500_000) == "1.5 MB/s"


def test_sync_state_reads_the_cache_as_the_window_shows_it(tmp_path: Path) -> None:
    """Pending uploads, conflicts, cached and kept-offline projects and each file's badge, read from a real
    cache over a local store: offline edits are pending, a remote change met by a queued edit is a conflict."""
    repo = LocalRepository(tmp_path / "store")
    other = ProjectService(repo, data_dir=tmp_path / "other")
    other.write_file("a-1", "x.py", b"x\n")
    other.write_file("a-1", "w.py", b"w\n")
    other.write_file("b-2", "z.py", b"z\n")
    other.write_file("d-4", "k.py", b"k\n")
    service = CachedProjectService(repo, CacheStore(tmp_path / "cache", "local", "anonymous"), data_dir=tmp_path / "me")
    try:
        for slug in ("a-1", "b-2", "d-4"):
            service.list_files(slug)
        service.read_file("a-1", "w.py")  # a clean copy here
        _, z = service.open_file("b-2", "z.py")
        service.set_keep_offline("d-4", True)
        service.go_offline()
        service.write_file("a-1", "x.py", b"x, edited offline\n")
        service.write_file("b-2", "z.py", b"z, edited offline\n", if_match=z.etag)
        other.write_file("b-2", "z.py", b"z, changed on the server meanwhile\n")

        snap = sync_state.snapshot(service)
        assert snap.offline and snap.forced_offline
        assert sorted(snap.pending) == [("a-1", "x.py"), ("b-2", "z.py")] and snap.conflicts == []
        assert snap.cached >= {"a-1", "d-4"} and snap.kept_offline == {"d-4"}
        states = sync_state.project_states(snap)
        assert states["a-1"] == states["b-2"] == ProjectState.PENDING and states["d-4"] == ProjectState.KEEP_OFFLINE
        assert sync_state.file_states(service, "a-1", snap) == {"x.py": TreeState.PENDING, "w.py": TreeState.CACHED}

        service.go_online()
        snap = sync_state.snapshot(service)
        assert not snap.offline and snap.pending == []
        conflicted = [path for slug, path in snap.conflicts if slug == "b-2"]
        assert conflicted == ["z.py"]
        assert sync_state.project_states(snap)["b-2"] == ProjectState.CONFLICT
        assert sync_state.file_states(service, "b-2", snap)["z.py"] == TreeState.CONFLICT
        pending, conflicts = sync_state.pending_and_conflicts(service)
        assert pending == [] and ("b-2", "z.py") in conflicts
    finally:
        service.close()


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
