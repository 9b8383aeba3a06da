"""Find in project in the window (issue #19): Edit ▸ Find in Project searches a real project's shape (nested
folders, a binary file, a file that is not UTF-8, an ignored folder another tool wrote into the store) and lists
what `grep -rnI` finds on the same files; a bad regex says one sentence; a result opens its file at the line
with the match selected and F4 / Shift+F4 step through them; Cancel stops; offline the cached files are searched
and the others named; Replace All writes through the outbox, a server change made meanwhile becomes a conflicted
copy (never an overwrite), and an open page gets the replacement as one undo step."""

from __future__ import annotations

import gc
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from projectdesk.services.projects import ProjectService
from projectdesk.storage.local import LocalRepository
from projectdesk.ui import find_in_project
from projectdesk.ui.dialogs.replace_preview import ReplacePreviewDialog
from projectdesk.ui.find_in_project import FindInProject, editor_span
from projectdesk.ui.find_panel import FindPanel
from tests.conftest import make_tree
from tests.ui.conftest import StallProbe, WindowHarness, wait_for_child

WAIT_MS = 30000
CPU_BOUND = 0.120  # seconds of GUI-thread CPU in one go (tests/ui/test_stall.py: room for a loaded 2-core VM)
PROJECT = {
    "README.md": b"# Needle\nA project with a needle in it.\n",
    "src/app/main.py": b"import os\n\ndef needle():\n\treturn 'needle'  # needle twice\n",
    "src/app/util.py": b"NEEDLE = 1\nneedles = [NEEDLE]\n",
    "src/deep/a/b/c/d.txt": b"no match here\nbut a needle here\n",
    "assets/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00needle\x00binary",
    "docs/latin1.txt": "café needle\nnaïve\n".encode("latin-1"),
    "notes/crlf.txt": b"first line\r\nsecond needle line\r\n",
}


def open_shape(
    make_window: Any, tmp_path: Path, files: dict[str, bytes] | None = None
) -> tuple[WindowHarness, Path, str]:
    service = ProjectService(LocalRepository(tmp_path / "store"))
    source = make_tree(tmp_path / "shape", files or PROJECT)
    plan = service.plan_push(source, name="Shape", remember=False)
    service.push(plan)
    planted = tmp_path / "store" / "projects" / service.repo.user_id / plan.slug / "node_modules" / "x" / "index.js"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"// a needle in an ignored folder\n")  # another tool wrote it: the ignore rules leave it out
    h: WindowHarness = make_window(service)
    h.open_project(plan.slug)
    return h, source, plan.slug


def grep_rn(root: Path, *args: str) -> set[tuple[str, int]]:
    """(path, line) of `grep -rnI PATTERN .` in `root`, in the C locale (as tests/integration/test_search.py)."""
    out = subprocess.run(["grep", "-rnI", *args, "."], cwd=root, capture_output=True, check=False,
                         env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"}).stdout  # fmt: skip
    found = set()
    for line in out.splitlines():
        path, number, _ = line.split(b":", 2)
        found.add((path.decode("latin-1")[2:], int(number)))
    return found


def parts(h: WindowHarness) -> tuple[FindInProject, FindPanel]:
    return h.window.find_in_project, h.window.find_panel


def search(
    h: WindowHarness, pattern: str, *, regex: bool = False, case: bool = False, word: bool = False,
    cached: bool = False, include: str = "", exclude: str = "",
) -> FindInProject:  # fmt: skip
    """Edit ▸ Find in Project, the fields filled, Enter; returns once the search has ended."""
    flow, panel = parts(h)
    h.window.menus.find_in_project_action.trigger()
    assert h.window.find_dock.isVisible() and panel.isVisible()
    panel.pattern_field.setText(pattern)
    panel.regex_box.setChecked(regex)
    panel.case_box.setChecked(case)
    panel.word_box.setChecked(word)
    panel.cached_box.setChecked(cached)
    panel.include_field.setText(include)
    panel.exclude_field.setText(exclude)
    finished: list[object] = []
    flow.searchFinished.connect(finished.append)
    panel.pattern_field.returnPressed.emit()  # Enter
    h.qtbot.waitUntil(lambda: bool(finished) and not flow.running, timeout=WAIT_MS)
    flow.searchFinished.disconnect(finished.append)
    return flow


def found(h: WindowHarness) -> set[tuple[str, int]]:
    return {(line.path, line.line_number) for f in parts(h)[1].model.files() for line in f.lines}


def test_results_equal_what_grep_finds(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    h, source, _slug = open_shape(make_window, tmp_path)
    panel = parts(h)[1]
    said: list[str] = []
    say = panel.say
    panel.say = lambda text, error=False: (said.append(text), say(text, error=error))  # type: ignore[method-assign]

    search(h, "needle")  # plain text, any case: the defaults
    assert any(text.startswith("Fetching 7 files (") and text.endswith("to search… 0 matches in 0 files")
               for text in said), said  # nothing was in the cache yet; the ignored file is not fetched  # fmt: skip
    assert found(h) == grep_rn(source, "-F", "-i", "-e", "needle")
    assert ("docs/latin1.txt", 1) in found(h)  # not UTF-8: searched as bytes
    assert ("notes/crlf.txt", 2) in found(h)
    assert all(not path.startswith(("assets/", "node_modules/")) for path, _ in found(h))  # binary, ignored
    model = panel.model
    matches = sum(f.count for f in model.files())
    assert panel.status.text() == f"{matches} matches in {len(model.files())} files"
    assert [f.path for f in model.files()] == sorted(f.path for f in model.files())  # grouped by file, sorted
    main = next(f for f in model.files() if f.path == "src/app/main.py")
    assert main.count == 3 and [line.line_number for line in main.lines] == [3, 4]
    line = main.lines[1]  # "\treturn 'needle'  # needle twice": both matches highlighted
    assert [line.text[s:e] for s, e in line.spans] == ["needle", "needle"]
    file_row = model.file_index("src/app/main.py")
    assert file_row.data(Qt.ItemDataRole.DisplayRole) == "src/app/main.py (3)"
    assert model.index(1, 0, file_row).data(Qt.ItemDataRole.DisplayRole).startswith("4: return 'needle'")

    search(h, "needle", case=True)
    assert found(h) == grep_rn(source, "-F", "-e", "needle")
    search(h, "needle", word=True)
    assert found(h) == grep_rn(source, "-F", "-i", "-w", "-e", "needle")
    search(h, "^def [a-z]+\\(", regex=True, case=True)
    assert found(h) == grep_rn(source, "-E", "-e", "^def [a-z]+\\(")
    search(h, "needle", include="*.py")
    assert found(h) == {p for p in grep_rn(source, "-F", "-i", "-e", "needle") if p[0].endswith(".py")}
    search(h, "needle", exclude="src/**, docs")
    assert found(h) == {
        p for p in grep_rn(source, "-F", "-i", "-e", "needle") if p[0].split("/")[0] not in ("src", "docs")
    }
    search(h, "no such text anywhere")
    assert found(h) == set() and panel.status.text() == "No matches"
    assert not panel.replace_button.isEnabled()


def test_a_bad_regex_says_one_sentence(make_window: Any, tmp_path: Path) -> None:
    h, _source, _slug = open_shape(make_window, tmp_path)
    flow, panel = parts(h)
    search(h, "needle(", regex=True)
    text = panel.status.text()
    assert text.startswith("The pattern is not a valid regular expression") and "\n" not in text
    assert text.count(". ") == 0 and found(h) == set() and not flow.running
    assert "The pattern" not in h.window.banner.text()  # said in the panel, not as a window error
    search(h, "needle(")  # the same, as plain text: fine
    assert found(h) == {("src/app/main.py", 3)}


def test_a_result_opens_the_file_at_the_line_with_the_match_selected_and_f4_steps(
    make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    h, _source, slug = open_shape(make_window, tmp_path)
    panel = parts(h)[1]
    search(h, "needle", case=True)
    view, model = panel.view, panel.model
    first = model.index(0, 0, model.file_index("docs/latin1.txt"))  # "caf\xe9 needle" shown; "café needle" edited
    view.scrollTo(first)
    assert view.viewport().rect().contains(view.visualRect(first).center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(first).center())

    def selection(path: str) -> tuple[int, str] | None:
        page = h.window.editor_area.current()
        if page is None or page.path != path or page.editor is None or not page.loaded:
            return None
        cursor = page.editor.textCursor()
        return cursor.blockNumber() + 1, cursor.selectedText()

    qtbot.waitUntil(lambda: selection("docs/latin1.txt") == (1, "needle"), timeout=WAIT_MS)
    page = h.window.editor_area.current()
    assert page.editor.textCursor().selectionStart() == 5  # after "café "

    order = [(f.path, line.line_number) for f in model.files() for line in f.lines]
    at = order.index(("docs/latin1.txt", 1))
    for step in (1, 2, 3):  # F4: the next results, files opened as needed
        h.window.menus.next_result_action.trigger()
        path, number = order[(at + step) % len(order)]
        qtbot.waitUntil(lambda p=path, n=number: selection(p) == (n, "needle"), timeout=WAIT_MS)
    h.window.menus.previous_result_action.trigger()  # Shift+F4: back one
    path, number = order[(at + 2) % len(order)]
    qtbot.waitUntil(lambda: selection(path) == (number, "needle"), timeout=WAIT_MS)
    assert h.window.menus.next_result_action.shortcut().toString() == "F4"
    assert h.window.menus.previous_result_action.shortcut().toString() == "Shift+F4"
    assert h.window.menus.find_in_project_action.shortcut().toString() == "Ctrl+Shift+F"
    assert h.window.editor_area.find_page(slug, "src/app/main.py") is not None or path != "src/app/main.py"


def test_editor_span_maps_shown_offsets_back() -> None:
    assert editor_span("café needle", "cp1252", (8, 14)) == (5, 11)  # shown "caf\xe9 needle"
    assert editor_span("a\x1bb needle", "utf-8", (7, 13)) == (4, 10)  # shown "a\x1bb needle"
    assert editor_span("\treturn 'needle'", "utf-8", (9, 15)) == (9, 15)


def test_cancel_stops_the_search_and_results_stream_without_stalling(
    make_window: Any, tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    big = b"".join(b"row %6d with a needle\n" % i for i in range(300_000))
    h, _source, _slug = open_shape(make_window, tmp_path, {**PROJECT, "data/big.log": big})
    flow, panel = parts(h)
    monkeypatch.setattr(find_in_project, "MAX_MATCHES", 10**9)
    h.window.menus.find_in_project_action.trigger()
    panel.pattern_field.setText("row")
    finished: list[object] = []
    flow.searchFinished.connect(finished.append)
    gc.freeze()  # the objects earlier tests left are not this window's work: a full collection need not scan them
    pauses: list[float] = []
    gc.callbacks.append(timer := gc_timer(pauses))
    with StallProbe() as probe:
        panel.search_button.click()
        qtbot.waitUntil(lambda: panel.model.matches > 2000, timeout=WAIT_MS)
        assert flow.running and panel.cancel_button.isEnabled()
        assert panel.status.text().startswith(("Searching…", "Fetching"))
        panel.cancel_button.click()
        qtbot.waitUntil(lambda: bool(finished) and not flow.running, timeout=WAIT_MS)
    with capsys.disabled():
        turn = flow.feed.longest_turn * 1000 if flow.feed is not None else 0
        print(f"\n[find in project] {panel.model.matches:,} results streamed, then cancelled: {probe}; "
              f"longest drain of results {turn:.0f} ms", end="")  # fmt: skip
    gc.callbacks.remove(timer)
    gc.unfreeze()
    [report] = finished
    assert report is not None and report.cancelled
    assert "cancelled" in panel.status.text()
    shown = panel.model.matches
    assert 0 < shown < 300_000
    qtbot.wait(200)  # nothing more arrives once cancelled (a condition over time: the count stays)
    assert panel.model.matches == shown
    # Our own work per turn (the feed's drains, time-boxed by the clock) stays well under 50 ms; the probe's
    # CPU figure also holds Qt's layout and painting and, on a loaded VM, stolen time: bounded as test_stall does.
    assert flow.feed is not None and flow.feed.longest_turn < 0.05, flow.feed.longest_turn if flow.feed else None
    longest_gc = max(pauses, default=0.0)
    assert probe.longest_cpu < CPU_BOUND, f"{probe}; longest garbage collection {longest_gc * 1000:.0f} ms"

    monkeypatch.setattr(find_in_project, "MAX_MATCHES", 5000)  # a search with too many results stops itself
    search(h, "row")
    assert "stopped at 5,000" in panel.status.text() and 5000 <= panel.model.matches < 300_000


def gc_timer(pauses: list[float]) -> Callable[[str, dict[str, int]], None]:
    """A gc callback noting how long each collection took (reported when the stall bound fails)."""
    started: list[float] = [0.0]

    def note(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - started[0])

    return note


def test_offline_search_of_cached_files_names_the_others(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    h, _source, _slug = open_shape(make_window, tmp_path)
    _flow, panel = parts(h)
    h.open_file("src/app/main.py")  # in the cache now; the others are not
    h.open_file("README.md")
    search(h, "needle", cached=True)  # online, the cached copies only
    assert {p for p, _ in found(h)} == {"src/app/main.py", "README.md"}
    assert "could not be searched (not in the offline cache)" in panel.status.text()

    h.window.service.go_offline()
    search(h, "needle")
    assert {p for p, _ in found(h)} == {"src/app/main.py", "README.md"}
    others = len(PROJECT) - 2
    assert f"{others} files could not be searched (not available offline)" in panel.status.text()
    assert panel.not_searched_link.isVisible() and not panel.not_searched_list.isVisible()
    panel.not_searched_link.linkActivated.emit("show")
    assert panel.not_searched_list.isVisible()
    listed = {panel.not_searched_list.item(i).text().split(" — ")[0] for i in range(panel.not_searched_list.count())}
    assert listed == set(PROJECT) - {"src/app/main.py", "README.md"}

    h.window.service.go_online()
    search(h, "needle")  # online again: the missing files are fetched and searched
    assert ("src/deep/a/b/c/d.txt", 2) in found(h) and not panel.not_searched_link.isVisible()


def replace_all(h: WindowHarness, replacement: str, *, keep: set[str] | None = None) -> tuple[str, str]:
    """Replace All… with `replacement`; the preview's files (all, or `keep`) accepted. Returns the preview's
    left-alone note and the sentence saying what was done."""
    flow, panel = parts(h)
    panel.replace_field.setText(replacement)
    sentences: list[str] = []
    flow.replaced.connect(sentences.append)
    panel.replace_button.click()
    dialog = wait_for_child(h.qtbot, h.window, ReplacePreviewDialog)
    h.qtbot.waitUntil(lambda: bool(dialog.view.right.toPlainText()), timeout=WAIT_MS)  # the first file's diff
    note = dialog.skipped_note.text()
    if keep is not None:
        for i in range(dialog.list.count()):
            item = dialog.list.item(i)
            if item.text().split("  (")[0] not in keep:
                item.setCheckState(Qt.CheckState.Unchecked)
    dialog.replace_button.click()
    h.qtbot.waitUntil(lambda: bool(sentences), timeout=WAIT_MS)
    flow.replaced.disconnect(sentences.append)
    return note, sentences[0]


def stored(tmp_path: Path, h: WindowHarness, slug: str, path: str) -> bytes:
    return (tmp_path / "store" / "projects" / h.service.repo.user_id / slug / path).read_bytes()


def test_replace_in_project_writes_through_the_outbox(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    h, _source, slug = open_shape(make_window, tmp_path)
    search(h, "needle", case=True)
    h.window.service.go_offline()  # the writes wait in the outbox
    note, sentence = replace_all(h, "pin")
    assert "docs/latin1.txt (not UTF-8 text)" in note
    assert sentence.startswith("7 replacements in 5 files") and "docs/latin1.txt (not UTF-8 text)" in sentence
    assert stored(tmp_path, h, slug, "README.md") == PROJECT["README.md"]  # not sent yet: offline
    assert len(h.window.service.pending()) == 5

    service = h.window.service
    service.go_online()
    report = service.flush_outbox()
    assert not report.offline and not report.conflicts
    assert stored(tmp_path, h, slug, "README.md") == b"# Needle\nA project with a pin in it.\n"
    assert stored(tmp_path, h, slug, "src/app/main.py") == b"import os\n\ndef pin():\n\treturn 'pin'  # pin twice\n"
    assert stored(tmp_path, h, slug, "notes/crlf.txt") == b"first line\r\nsecond pin line\r\n"  # CRLF kept
    assert stored(tmp_path, h, slug, "src/app/util.py") == b"NEEDLE = 1\npins = [NEEDLE]\n"
    assert stored(tmp_path, h, slug, "docs/latin1.txt") == PROJECT["docs/latin1.txt"]  # left alone
    assert stored(tmp_path, h, slug, "assets/logo.png") == PROJECT["assets/logo.png"]


def test_a_server_change_between_search_and_replace_makes_a_conflicted_copy(
    make_window: Any, tmp_path: Path, qtbot: Any
) -> None:
    h, _source, slug = open_shape(make_window, tmp_path)
    search(h, "NEEDLE", case=True, regex=True)
    assert {p for p, _ in found(h)} == {"src/app/util.py"}
    h.service.write_file(slug, "src/app/util.py", b"NEEDLE = 2  # changed on the server\n")  # another writer
    _note, sentence = replace_all(h, "PIN")
    assert "changed on the server meanwhile" in sentence and "src/app/util.py" in sentence
    assert stored(tmp_path, h, slug, "src/app/util.py") == b"NEEDLE = 2  # changed on the server\n"  # not overwritten
    copies = [p for p in (tmp_path / "store" / "projects" / h.service.repo.user_id / slug / "src" / "app").iterdir()
              if "conflicted copy" in p.name]  # fmt: skip
    assert len(copies) == 1 and copies[0].read_bytes() == b"PIN = 1\nneedles = [PIN]\n"
    qtbot.waitUntil(lambda: "Replace in Project" in h.window.banner.text(), timeout=WAIT_MS)


def test_an_open_page_gets_the_replacement_as_one_undo_step(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    h, _source, slug = open_shape(make_window, tmp_path)
    page = h.open_file("src/app/main.py")
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    page.editor.insertPlainText("# an unsaved needle\n")  # the page's own text is what gets replaced
    before = page.text()
    search(h, "needle", case=True)
    _note, sentence = replace_all(h, "pin", keep={"src/app/main.py"})
    assert sentence == "4 replacements in 1 file; left alone: docs/latin1.txt (not UTF-8 text)."
    expected = before.replace("needle", "pin")
    assert page.text() == expected and not page.is_modified  # replaced and saved through the editor flow
    assert stored(tmp_path, h, slug, "src/app/main.py") == expected.encode()
    assert stored(tmp_path, h, slug, "README.md") == PROJECT["README.md"]  # not chosen in the preview
    page.editor.undo()  # one step takes every replacement back
    assert page.text() == before
    page.editor.undo()
    assert page.text() != before  # the next step back is the typed edit


def test_results_of_a_file_changed_on_the_server_are_taken_back(make_window: Any, tmp_path: Path) -> None:
    h, _source, slug = open_shape(make_window, tmp_path)
    panel = parts(h)[1]
    search(h, "needle", case=True)  # every file is in the cache now
    assert ("src/deep/a/b/c/d.txt", 2) in found(h)
    h.service.write_file(slug, "src/deep/a/b/c/d.txt", b"the needle moved\nto line one\n")  # another writer
    retracted: list[set[str]] = []
    remove = panel.model.remove_paths
    panel.model.remove_paths = lambda paths: (retracted.append(set(paths)), remove(paths))[1]  # type: ignore[method-assign]
    search(h, "needle", case=True)  # pass 1 finds the old copy's line; the listing takes it back
    assert retracted == [{"src/deep/a/b/c/d.txt"}]
    assert ("src/deep/a/b/c/d.txt", 1) in found(h) and ("src/deep/a/b/c/d.txt", 2) not in found(h)
    lines = next(f for f in panel.model.files() if f.path == "src/deep/a/b/c/d.txt").lines
    assert [(line.line_number, line.text) for line in lines] == [(1, "the needle moved")]


def test_closing_the_window_mid_search_stops_it(
    make_window: Any, tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = b"".join(b"row %6d with a needle\n" % i for i in range(300_000))
    h, _source, _slug = open_shape(make_window, tmp_path, {**PROJECT, "data/big.log": big})
    flow, panel = parts(h)
    monkeypatch.setattr(find_in_project, "MAX_MATCHES", 10**9)
    h.window.menus.find_in_project_action.trigger()
    panel.pattern_field.setText("row")
    panel.search_button.click()
    qtbot.waitUntil(lambda: panel.model.matches > 1000, timeout=WAIT_MS)
    assert flow.running
    h.window.force_close()  # the search's task is cancelled, its ripgrep stopped, the stores closed after it
    qtbot.waitUntil(lambda: not h.window.wait_idle_tasks() and not h.window.tasks.busy(), timeout=WAIT_MS)
