"""Find in project (Ctrl+Shift+F) and Replace in project: the flow behind the panel (find_panel.py).

A search runs services/search.py's two passes in the call pool. Its results reach the GUI thread through a
`ResultFeed`: the worker only appends to a locked list and posts one wake-up; the GUI thread drains the list at
most every 50 ms, a slice at a time (about 12 ms of work per turn), so the window never stalls however fast
ripgrep is. Files retracted after the listing (changed on the server) lose their results, in order with the
matches. A result opens its file in the editor at the line with the match selected; F4 / Shift+F4 step through
them. Replace All builds every matched file's new content off the GUI thread (services/replace.py), shows the
preview, and writes the chosen files through the normal save path: an open page gets the replacement as one
undo step and is saved by EditorFlow; any other file through `write_file` over the version that was searched.
"""

from __future__ import annotations

import asyncio
import bisect
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from projectdesk.core.display import printable
from projectdesk.core.errors import InvalidInput, ProjectDeskError
from projectdesk.core.ignore import DEFAULT_PATTERNS, IgnoreRules
from projectdesk.services.conflicts import ConflictedCopy
from projectdesk.ui.dialogs import run_dialog
from projectdesk.ui.feedback import WARNING, Feedback
from projectdesk.ui.find_panel import FindPanel, split_globs
from projectdesk.ui.find_results import ResultLine, result_line
from projectdesk.ui.formatting import human_bytes
from projectdesk.ui.tasks import ProgressRelay, handler, post_to_gui

if TYPE_CHECKING:
    from projectdesk.core.models import Progress
    from projectdesk.services.replace import (
        FileChange,
    )
    from projectdesk.services.search import Match, SearchOptions, SearchReport
    from projectdesk.ui.browser import ProjectBrowser
    from projectdesk.ui.dialogs.replace_preview import ReplacePreviewDialog
    from projectdesk.ui.editing import EditorFlow
    from projectdesk.ui.editor import EditorPage
    from projectdesk.ui.session import Session

DRAIN_MS = 50  # the GUI takes the results that came in at most this often
SLICE_SECONDS = 0.012  # and spends at most about this long on them in one turn
SLICE = 100  # results inserted per model call
MAX_MATCHES = 20_000  # a search stops showing more (and stops) beyond this
PANEL_HEIGHT = 330  # pixels: the panel's height when it opens too small for its results

Event = tuple[str, Any]


class ResultFeed(QObject):
    """A search's results on their way from the worker thread to the GUI thread, in order.

    `match`, `retract`, `fetching` and `done` are called on the worker; `deliver(events)` runs on the GUI
    thread with a slice of them at a time.
    """

    def __init__(self, deliver: Callable[[list[Event]], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._deliver = deliver
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._idle = True
        self.closed = False
        # CPU seconds the GUI thread spent on its longest drain (its own work: the wall clock also counts the
        # time a loaded machine or the search's threads keep it waiting, which the probe in the tests bounds).
        self.longest_turn = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self._drain)

    # ---- worker side --------------------------------------------------------------------------------

    def match(self, match: Match) -> None:
        self._put(("match", result_line(match)))

    def retract(self, paths: set[str]) -> None:
        if paths:
            self._put(("retract", set(paths)))

    def fetching(self, count: int, size: int) -> None:
        self._put(("fetch", (count, size)))

    def done(self, report: SearchReport | None) -> None:
        self._put(("done", report))

    def _put(self, event: Event) -> None:
        with self._lock:
            if self.closed:
                return
            self._pending.append(event)
            wake, self._idle = self._idle, False
        if wake:
            post_to_gui(self._wake)

    # ---- GUI side -----------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._pending = []
        self._timer.stop()

    def is_closed(self) -> bool:
        return self.closed

    def _wake(self) -> None:
        if not self._timer.isActive():
            self._drain()

    def _drain(self) -> None:
        if self.closed:
            return
        began = time.perf_counter()
        began_cpu = time.thread_time()
        deadline = began + SLICE_SECONDS
        with self._lock:
            events, self._pending = self._pending, []
        taken = 0
        while taken < len(events) and time.perf_counter() < deadline and not self.is_closed():
            chunk = events[taken : taken + SLICE]
            taken += len(chunk)
            self._deliver(chunk)
        self.longest_turn = max(self.longest_turn, time.thread_time() - began_cpu)
        with self._lock:
            if self.is_closed():  # closed by what a slice did (a new search)
                return
            self._pending = events[taken:] + self._pending
            if not events and not self._pending:
                self._idle = True  # quiet: the next result wakes the GUI at once
                return
        self._timer.start()  # more may be coming: look again in DRAIN_MS


def wanted(items: list[tuple[str, str]], options: SearchOptions) -> list[tuple[str, str]]:
    """The files not searched that the search would have looked at: not those its ignore rules or globs leave
    out (a file in node_modules/ is no loss). Blocking on long lists: run it on the worker."""
    if not items:
        return items
    import pathspec  # ≈40 ms, not at the window's start

    rules = IgnoreRules(patterns=options.ignore_patterns or DEFAULT_PATTERNS, use_gitignore=False)
    include = [g for g in options.globs if not g.startswith("!")]
    exclude = [g[1:] for g in options.globs if g.startswith("!")]
    included = pathspec.PathSpec.from_lines("gitignore", include) if include else None
    excluded = pathspec.PathSpec.from_lines("gitignore", exclude) if exclude else None
    return [
        (path, why)
        for path, why in items
        if not rules.is_ignored(path)
        and (included is None or included.match_file(path))
        and (excluded is None or not excluded.match_file(path))
    ]


def matches_in(matches: int, files: int) -> str:
    """Says "37 matches in 12 files"."""
    from projectdesk.services.replace import (
        plural,
    )

    return f"{matches:,} match{'' if matches == 1 else 'es'} in {plural(files, 'file')}"


def editor_span(line: str, encoding: str, span: tuple[int, int]) -> tuple[int, int]:
    """Where a match the search gave (offsets in its shown line: odd bytes and control characters escaped) lies
    in the editor's text of that line (decoded with `encoding`)."""
    from projectdesk.services.search import shown

    if encoding == "utf-8" and printable(line.replace("\t", " ")) == line.replace("\t", " "):
        return min(span[0], len(line)), min(span[1], len(line))
    offsets = [0]
    for char in line:
        try:
            data = char.encode(encoding, "surrogateescape")
        except UnicodeEncodeError:
            data = char.encode("utf-8", "surrogateescape")
        offsets.append(offsets[-1] + len(shown(data)))
    start = min(bisect.bisect_left(offsets, span[0]), len(line))
    end = min(bisect.bisect_left(offsets, span[1]), len(line))
    return start, max(start, end)


def select_in_page(page: EditorPage, result: ResultLine) -> bool:
    """Select the result's first match in the page (or its line), scrolled into view; False when the page has
    no such line."""
    editor = page.editor
    if editor is None:
        return False
    block = editor.document().findBlockByNumber(result.line_number - 1)
    if not block.isValid():
        return False
    span = result.full_spans[0] if result.full_spans else (0, 0)
    start, end = editor_span(block.text(), page.content.encoding, span)
    cursor = QTextCursor(block)
    cursor.setPosition(block.position() + start)
    cursor.setPosition(block.position() + end, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    editor.centerCursor()
    return True


def apply_to_page(page: EditorPage, pattern: re.Pattern[str], change: Callable[[re.Match[str]], str]) -> int:
    """Replace every match in the page's document as one undo step; returns how many."""
    editor = page.editor
    if editor is None:
        return 0
    document = editor.document()
    edits: list[tuple[int, int, str]] = []
    block = document.begin()
    while block.isValid():  # line by line, as services.replace.replace_text (and ripgrep) match
        for match in pattern.finditer(block.text()):
            edits.append((block.position() + match.start(), block.position() + match.end(), change(match)))
        block = block.next()
    if not edits:
        return 0
    cursor = QTextCursor(document)
    cursor.beginEditBlock()
    for start, end, text in reversed(edits):
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(text)
    cursor.endEditBlock()
    return len(edits)


class FindInProject(QObject):
    """Runs searches for the panel, opens their results, replaces.

    Attributes:
        running: a search is under way.
        report: the last finished search's report (None while running, after an error or a cancel).

    Signals:
        searchFinished(object): a search ended (its SearchReport, or None after an error).
        replaced(str): a replacement ended; the sentence saying what it did.
    """

    searchFinished = Signal(object)
    replaced = Signal(str)

    def __init__(
        self,
        session: Session,
        browser: ProjectBrowser,
        editing: EditorFlow,
        panel: FindPanel,
        dock: QDockWidget,
        feedback: Feedback,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.browser = browser
        self.editing = editing
        self.panel = panel
        self.dock = dock
        self.feedback = feedback
        self._parent = parent
        self.running = False
        self.report: SearchReport | None = None
        self.preview: ReplacePreviewDialog | None = None
        self._cancel: threading.Event | None = None
        self._feed: ResultFeed | None = None
        self._relay: ProgressRelay | None = None
        self._slug = ""
        self._options: SearchOptions | None = None
        self._limited = False
        self._halted = False
        self._generation = 0
        panel.searchRequested.connect(self.search)
        panel.cancelRequested.connect(self.cancel)
        panel.replaceRequested.connect(self.replace_all)
        panel.resultChosen.connect(lambda index, activated: self.open_result(index, focus=bool(activated)))
        browser.projectShown.connect(self._project_shown)

    # the error sink and task keeper `handler` looks for
    def report_error(self, error: BaseException) -> None:
        self.feedback.report_error(error)

    def adopt_task(self, task: asyncio.Task[None]) -> None:
        self.session.adopt_task(task)

    @property
    def feed(self) -> ResultFeed | None:
        """The current search's feed (until the next search)."""
        return self._feed

    # ---- the panel ----------------------------------------------------------------------------------

    def show_panel(self, *, replace: bool = False) -> None:
        """Edit ▸ Find in Project: the panel, its pattern field focused (the editor's selection put in it)."""
        self.dock.show()
        self.dock.raise_()
        window = self._parent
        if isinstance(window, QMainWindow) and self.dock.height() < PANEL_HEIGHT * 2 // 3:
            window.resizeDocks([self.dock], [PANEL_HEIGHT], Qt.Orientation.Vertical)  # room for the results
        page = self.editing.editor_area.current()
        selected = page.editor.textCursor().selectedText() if page is not None and page.editor is not None else ""
        if selected and "\u2029" not in selected and len(selected) <= 200:
            self.panel.pattern_field.setText(selected)
        if replace:
            self.panel.replace_field.setFocus()
            self.panel.replace_field.selectAll()
        else:
            self.panel.focus_pattern()

    def _project_shown(self, slug: str) -> None:
        """Another project: the results (and a running search) were the old one's."""
        if slug != self._slug and (self._slug or self.running):
            self.cancel()
            self._generation += 1  # the running search's end is no news any more
            self._reset()
            self._stopped()
            self.panel.say("")

    def _reset(self) -> None:
        if self._feed is not None:
            self._feed.close()  # what its worker still reports is dropped
            self._feed.deleteLater()
            self._feed = None
        if self._relay is not None:
            self._relay.deleteLater()
            self._relay = None
        self.panel.model.clear()
        self.panel.set_not_searched([])
        self._slug = ""
        self.report = None

    # ---- searching ----------------------------------------------------------------------------------

    def options(self) -> SearchOptions:
        """What the panel asks for, with the profile's ignore rules."""
        from projectdesk.services.search import SearchOptions

        panel = self.panel
        service = self.session.service
        globs = [*split_globs(panel.include_field.text()), *("!" + g for g in split_globs(panel.exclude_field.text()))]
        return SearchOptions(
            pattern=panel.pattern_field.text(),
            fixed=not panel.regex_box.isChecked(),
            ignore_case=not panel.case_box.isChecked(),
            whole_word=panel.word_box.isChecked(),
            globs=tuple(globs),
            ignore_patterns=(service.ignore_patterns or None) if service is not None else None,
        )

    def cancel(self) -> None:
        self._halted = True  # results still queued from before are not shown
        if self._cancel is not None:
            self._cancel.set()

    @handler
    async def search(self) -> None:
        """Search the open project for what the panel says, streaming the results into it."""
        from projectdesk.services.search import ProjectSearch

        self.cancel()
        self._reset()
        self._generation += 1
        generation = self._generation
        if not self.session.slug:
            self.panel.say("Select a project first.", error=True)
            return
        service, slug = self.session.require_project()
        options = self.options()
        try:
            search = ProjectSearch(service, slug, options, cached_only=self.panel.cached_box.isChecked())
        except InvalidInput as exc:
            self.panel.say(exc.message, error=True)
            return
        cancel = threading.Event()
        feed = ResultFeed(self._deliver, self)
        relay = ProgressRelay(self)
        relay.progressed.connect(self._progressed)
        self._cancel, self._feed, self._relay = cancel, feed, relay
        self._slug, self._options, self._limited, self._halted = slug, options, False, False
        self.running = True
        self.panel.set_running(True)
        self.panel.say("Searching…")

        def run() -> SearchReport:
            report = search.run(feed.match, on_listed=feed.retract, on_fetch=feed.fetching, progress=relay,
                                cancel=cancel)  # fmt: skip
            report.not_searched = wanted(report.not_searched, options)
            feed.done(report)
            return report

        try:
            await self.session.tasks.call(run)
        except InvalidInput as exc:  # a pattern ripgrep cannot take: one sentence, in the panel
            if generation == self._generation:
                self._stopped()
                self.panel.say(exc.message, error=True)
                self.searchFinished.emit(None)
        except BaseException as exc:  # a failure (reported by `handler`), or the window closing
            if generation == self._generation and not self.session.closing:
                self._stopped()
                if isinstance(exc, ProjectDeskError):
                    self.panel.say(exc.message, error=True)
                self.searchFinished.emit(None)
            raise
        finally:
            cancel.set()  # never left running (a cancelled task, a closing window)

    def _stopped(self) -> None:
        self.running = False
        self._cancel = None
        self.panel.set_running(False)

    def _deliver(self, events: list[Event]) -> None:
        from projectdesk.services.replace import (
            plural,
        )

        model = self.panel.model
        batch: list[ResultLine] = []
        stopped = self._halted  # cancelled, or stopped at MAX_MATCHES
        for kind, value in events:
            if kind == "match":
                if not stopped:  # what the search had found before it was stopped is not shown after
                    batch.append(value)
                continue
            if batch:
                model.add(batch)
                batch = []
            if kind == "retract":
                model.remove_paths(value)
            elif kind == "fetch":
                count, size = value
                self.panel.say(f"Fetching {plural(count, 'file')} ({human_bytes(size)}) to search… {self._count()}")
            elif kind == "done":
                self._finish(value)
        if batch:
            model.add(batch)
        if self.running:
            if model.matches >= MAX_MATCHES and not self._limited:
                self._limited = True
                self.cancel()
            if not self.panel.status.text().startswith("Fetching"):
                self.panel.say(f"Searching… {self._count()}")

    def _count(self) -> str:
        model = self.panel.model
        return matches_in(model.matches, model.file_count)

    def _progressed(self, progress: Progress) -> None:
        if not self.running:
            return
        self.panel.set_progress(progress.files_done, progress.files_total)
        if progress.files_total and progress.files_done >= progress.files_total:  # fetched: searching them now
            self.panel.progress.hide()
            self.panel.say(f"Searching… {self._count()}")

    def _finish(self, report: SearchReport | None) -> None:
        from projectdesk.services.replace import (
            plural,
        )

        self._stopped()
        if self._relay is not None:
            self._relay.close()
        if report is None:
            return
        words = [self._count() if self.panel.model.matches else "No matches"]
        if self._limited:
            words.append(f"stopped at {MAX_MATCHES:,}: narrow the search")
        elif report.cancelled:
            words.append("cancelled")
        missing = report.not_searched
        if missing:
            reasons = sorted({why for _path, why in missing})
            why = reasons[0] if len(reasons) == 1 else "see the list"
            words.append(f"{plural(len(missing), 'file')} could not be searched ({why})")
        self.panel.say(" · ".join(words))
        self.panel.set_not_searched(missing)
        self.panel.set_running(False)
        self.report = report
        self.searchFinished.emit(report)

    # ---- results ------------------------------------------------------------------------------------

    def open_result(self, index: QModelIndex, *, focus: bool = False) -> asyncio.Task[None] | None:
        result = self.panel.model.line_at(index)
        if result is None:
            return None
        return self._open(result, focus)

    @handler
    async def _open(self, result: ResultLine, focus: bool) -> None:
        slug = self._slug
        if slug != self.session.slug:
            return
        area = self.editing.editor_area
        page = area.find_page(slug, result.path)
        if page is None:
            task = self.editing.open_file(result.path)
            if task is not None:
                await asyncio.wait([task])
                if task.cancelled() or task.exception() is not None:
                    return  # said by the opening itself
            page = area.find_page(slug, result.path)
        else:
            area.show_page(page)
        if page is None or page.closed or not page.loaded:
            return
        if not select_in_page(page, result):
            self.feedback.notify(f"{result.path} has no line {result.line_number} now.")
            return
        if focus and page.editor is not None:
            page.editor.setFocus()

    def step(self, forward: bool) -> asyncio.Task[None] | None:
        """F4 / Shift+F4: the next (previous) result, opened."""
        model, view = self.panel.model, self.panel.view
        target = model.step(view.currentIndex(), forward)
        if not target.isValid():
            self.feedback.notify("No results to go to: search with Edit ▸ Find in Project (Ctrl+Shift+F).")
            return None
        view.setCurrentIndex(target)
        view.scrollTo(target)
        return self.open_result(target)

    # ---- replacing ----------------------------------------------------------------------------------

    @handler
    async def replace_all(self) -> None:
        """Replace All…: preview every matched file's replacement, then write the files chosen."""
        from projectdesk.services.replace import (
            NOT_UTF8,
            FileChange,
            compile_pattern,
            plan_file,
            plural,
            replace_text,
            replacer,
        )
        from projectdesk.ui.dialogs.replace_preview import ReplacePreviewDialog

        options, slug = self._options, self._slug
        if self.running:
            self.panel.say("Wait for the search to finish (or cancel it) before replacing.", error=True)
            return
        if options is None or not slug or not self.panel.model.matches:
            self.panel.say("Search first: Replace All replaces what the search found.", error=True)
            return
        if slug != self.session.slug:
            return
        service = self.session.require_service()
        replacement = self.panel.replace_field.text()
        try:
            pattern = compile_pattern(options)
            change = replacer(pattern, replacement, fixed=options.fixed)
        except InvalidInput as exc:
            self.panel.say(exc.message, error=True)
            return
        area = self.editing.editor_area
        paths = [results.path for results in self.panel.model.files()]
        pages: dict[str, tuple[str, bool, str | None]] = {}
        for path in paths:
            page = area.find_page(slug, path)
            if page is not None and page.editor is not None and page.loaded:
                etag = page.entry.etag if page.entry is not None else None
                pages[path] = (page.text(), page.can_save, etag)
        self.panel.say(f"Preparing the replacement in {plural(len(paths), 'file')}…")

        def plan() -> list[FileChange]:
            changes = []
            for path in paths:
                if path in pages:
                    text, editable, etag = pages[path]
                    new_text, count = replace_text(text, pattern, change)
                    item = FileChange(path, etag, text.encode("utf-8", "surrogateescape"),
                                      new_text.encode("utf-8", "surrogateescape"), count)  # fmt: skip
                    if not editable:
                        item.skipped = "read-only here"
                    changes.append(item)
                else:
                    changes.append(plan_file(service, slug, path, pattern, change))
            return changes

        changes = await self.session.tasks.call(plan)
        for item in changes:
            if item.path in pages and item.skipped:
                page = area.find_page(slug, item.path)
                item.skipped = "read-only here" if page is None or page.content.encoding == "utf-8" else NOT_UTF8
        todo = [c for c in changes if c.count and not c.skipped]
        skipped = [(c.path, c.skipped) for c in changes if c.skipped]
        if not todo:
            left = f"; left alone: {', '.join(f'{p} ({w})' for p, w in skipped)}" if skipped else ""
            self.panel.say(f"Nothing to replace{left}.", error=not skipped)
            return
        self.panel.say(f"{self._count()} · reviewing the replacement")
        heading = f"Replace “{options.pattern}” with “{replacement}”"
        dialog = ReplacePreviewDialog(heading, [(c.path, c.count) for c in todo], skipped, self._parent)
        self.preview = dialog
        by_path = {c.path: c for c in todo}
        dialog.diffWanted.connect(lambda path: self._show_diff(dialog, by_path[str(path)]))
        if dialog.list.currentItem() is not None:
            self._show_diff(dialog, todo[0])
        result = await run_dialog(dialog)
        chosen = dialog.chosen() if result == dialog.DialogCode.Accepted.value else []
        self.preview = None
        dialog.deleteLater()
        if not chosen:
            self.panel.say(self._count())
            return
        await self._write(slug, [by_path[p] for p in chosen], pattern, change, skipped)

    def _show_diff(self, dialog: ReplacePreviewDialog, item: FileChange) -> None:
        from projectdesk.ui.diff import side_by_side

        async def compute() -> None:
            diff = await self.session.tasks.call(side_by_side, item.old, item.new)
            if not dialog.isVisible():
                return
            dialog.show_diff(item.path, diff)

        self.session.track(compute())

    async def _write(
        self,
        slug: str,
        changes: list[FileChange],
        pattern: re.Pattern[str],
        change: Callable[[re.Match[str]], str],
        skipped: list[tuple[str, str]],
    ) -> None:
        from projectdesk.services.replace import (
            plural,
        )

        service = self.session.require_service()
        area = self.editing.editor_area
        replaced = files = 0
        conflicted: list[str] = []
        failed: list[tuple[str, str]] = []
        for number, item in enumerate(changes, 1):
            self.panel.say(f"Replacing in {item.path} ({number} of {len(changes)})…")
            page = area.find_page(slug, item.path)
            try:
                if page is not None and page.editor is not None and page.loaded:
                    count = apply_to_page(page, pattern, change)
                    if not count:
                        continue
                    await self.editing.save_page(page)
                else:
                    count = item.count
                    await self.session.tasks.call(service.write_file, slug, item.path, item.new, if_match=item.etag)
            except ConflictedCopy:
                conflicted.append(item.path)
                replaced, files = replaced + item.count, files + 1
                continue
            except ProjectDeskError as exc:
                failed.append((item.path, exc.message))
                continue
            replaced, files = replaced + count, files + 1
        sentence = f"{plural(replaced, 'replacement')} in {plural(files, 'file')}"
        if conflicted:
            sentence += (
                f"; {plural(len(conflicted), 'file')} changed on the server meanwhile, so both versions were kept "
                f"(your replacement as a conflicted copy): {', '.join(conflicted)}"
            )
        if failed:
            sentence += f"; not replaced: {', '.join(f'{p} ({why})' for p, why in failed)}"
        if skipped:
            sentence += f"; left alone: {', '.join(f'{p} ({why})' for p, why in skipped)}"
        sentence += "."
        self.panel.model.clear()
        self.report = None
        self.panel.set_running(False)
        self.panel.say(sentence, error=bool(failed))
        if conflicted or failed:
            self.feedback.announce("Replace in Project", sentence, WARNING)
        else:
            self.feedback.notify(sentence)
        if slug == self.session.slug:
            await self.browser.load_tree(slug, keep_expanded=True)
            self.session.track(self.browser.refresh_status())
        self.replaced.emit(sentence)
