"""The editor flow: open a file into a page, save it, close it, and ask before unsaved edits are lost.

A page keeps the version it was opened at (or last saved as); a save replaces that version and no other:
when the server's file changed meanwhile, the cache keeps both versions (ours as a conflicted copy).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from projectdesk.core.errors import InvalidInput, ProjectDeskError
from projectdesk.services.conflicts import ConflictedCopy
from projectdesk.ui.content import BINARY, IMAGE, TEXT, FileContent, classify
from projectdesk.ui.dialogs import ask, run_dialog
from projectdesk.ui.editor import EditorArea, EditorPage, decode_image, is_dark
from projectdesk.ui.feedback import WARNING, Feedback
from projectdesk.ui.formatting import human_bytes
from projectdesk.ui.tasks import handler

if TYPE_CHECKING:
    from pygments.lexer import Lexer

    from projectdesk.core.models import FileEntry
    from projectdesk.ui.browser import ProjectBrowser
    from projectdesk.ui.session import Session


class EditorFlow(QObject):
    """Opens, saves and closes editor pages through the session's service.

    Signals:
        fileOpened(EditorPage): a page finished opening.
        saved(EditorPage): a page was saved (or kept as a conflicted copy).
    """

    fileOpened = Signal(object)
    saved = Signal(object)

    def __init__(
        self,
        session: Session,
        browser: ProjectBrowser,
        editor_area: EditorArea,
        feedback: Feedback,
        position_label: QLabel,
        dialog_parent: QWidget,
    ) -> None:
        super().__init__(dialog_parent)
        self.session = session
        self.browser = browser
        self.editor_area = editor_area
        self.feedback = feedback
        self.position_label = position_label
        self._parent = dialog_parent
        self._opening: dict[tuple[str, str], asyncio.Task[None]] = {}
        browser.confirm_discard = self.confirm_discard

    # the error sink and task keeper `handler` looks for
    def report_error(self, error: BaseException) -> None:
        self.feedback.report_error(error)

    def adopt_task(self, task: asyncio.Task[None]) -> None:
        self.session.adopt_task(task)

    # ---- opening ------------------------------------------------------------------------------------

    def open_file(self, path: str) -> asyncio.Task[None] | None:
        """Open (or show) a file of the current project; returns the task opening it."""
        slug = self.session.slug
        if not slug:
            return None
        existing = self.editor_area.find_page(slug, path)
        if existing is not None:
            self.editor_area.show_page(existing)
            return None
        key = (slug, path)
        if key in self._opening and not self._opening[key].done():
            return self._opening[key]
        task = self.session.track(self._open_file(slug, path))
        self._opening[key] = task
        task.add_done_callback(lambda _t: self._opening.pop(key, None))
        return task

    async def _open_file(self, slug: str, path: str) -> None:
        from projectdesk.ui.highlighter import prepare_lexer

        service = self.session.service
        if service is None:
            return
        started = time.perf_counter()
        self.feedback.notify(f"Opening {path}…", timeout_ms=0)

        def read() -> tuple[bytes, FileEntry, FileContent, Lexer | None]:
            data, entry = service.open_file(slug, path)
            content = classify(path, data)
            lexer = prepare_lexer(path) if content.kind == TEXT and content.highlight else None
            return data, entry, content, lexer

        data, entry, content, lexer = await self.session.tasks.call(read)
        if slug != self.session.slug or self.session.closing:
            return
        page = EditorPage(slug, path, entry, content, dark=is_dark(self._parent.palette()))
        self.editor_area.add_page(page)
        if content.kind == TEXT:
            await page.load_text(lexer)
            if not page.closed and page.editor is not None:
                page.editor.cursorPositionChanged.connect(self.update_position)
                if self.editor_area.current() is page:
                    page.editor.setFocus()
        elif content.kind == IMAGE:
            image = await self.session.tasks.call(decode_image, path, data)
            if not page.closed:
                page.show_image(image)
        elif content.kind == BINARY:
            page.show_hex(data)
        if page.closed:
            return
        elapsed = (time.perf_counter() - started) * 1000
        self.feedback.notify(f"Opened {path} ({human_bytes(content.size)}) in {elapsed:.0f} ms")
        self.update_position()
        self.fileOpened.emit(page)

    @handler
    async def quick_open(self) -> None:
        """Go to a file of the current project by typing part of its path (Ctrl+P)."""
        from projectdesk.ui.dialogs.quick_open import QuickOpenDialog

        if not self.session.slug:
            self.feedback.notify("Select a project first.")
            return
        dialog = QuickOpenDialog(self.browser.tree_model.all_paths(), self._parent)
        if self.browser.tree_loader.loading:  # the project is still being listed: what is known so far, said so
            known = self.browser.tree_model.tree_index().file_count
            dialog.setWindowTitle(f"Go to file — still listing the project: {known:,} files so far")
        dialog.chosen.connect(lambda path: self.reveal_and_open(str(path)))
        await run_dialog(dialog)
        dialog.deleteLater()

    def reveal_and_open(self, path: str) -> None:
        self.browser.reveal(path)
        self.open_file(path)

    # ---- saving -------------------------------------------------------------------------------------

    @handler
    async def save_current(self) -> None:
        """Save the current file (Ctrl+S)."""
        page = self.editor_area.current()
        if page is not None:
            await self.save_page(page)

    async def save_page(self, page: EditorPage) -> bool:
        """Store the page's text; True when saved (or nothing to save, or kept as a conflicted copy)."""
        if page.editor is None:
            return True
        if not page.can_save:
            raise InvalidInput(page.content.note or f"{page.path} is read-only here.")
        service = self.session.require_service()
        data = page.data_to_save()
        revision = page.editor.document().revision()
        etag = (page.entry.etag or None) if page.entry is not None else None  # the version the page shows
        self.feedback.notify(f"Saving {page.path}…", timeout_ms=0)
        try:
            entry = await self.session.tasks.call(service.write_file, page.slug, page.path, data, if_match=etag)
        except ConflictedCopy as exc:  # changed on the server meanwhile: both versions are kept
            page.mark_saved(None)
            self.feedback.announce(exc.title, exc.message, WARNING)
            await self.browser.load_tree(page.slug, keep_expanded=True)
            self.session.track(self.browser.refresh_status())
            self.saved.emit(page)
            return True
        if page.editor is not None and page.editor.document().revision() == revision:
            page.mark_saved(entry)
        else:
            page.entry = entry  # edited while saving: still modified, but against the new version
        if page.slug == self.session.slug and not self.browser.tree_model.update_entry(entry):
            await self.browser.load_tree(page.slug, keep_expanded=True)
        self.feedback.notify(f"Saved {page.path} ({human_bytes(len(data))})")
        self.session.track(self.browser.refresh_status())
        self.saved.emit(page)
        return True

    # ---- closing ------------------------------------------------------------------------------------

    def close_current(self) -> None:
        page = self.editor_area.current()
        if page is not None:
            self.close_page(page)

    @handler
    async def close_page(self, page: object) -> None:
        """Close a tab, asking first when it has unsaved edits."""
        if not isinstance(page, EditorPage):
            return
        if page.is_modified:
            answer = await ask(
                self._parent,
                "Unsaved changes",
                f"Save the changes to {page.name} before closing?",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Save,
            )
            if answer == QMessageBox.StandardButton.Cancel:
                return
            if answer == QMessageBox.StandardButton.Save and not await self.save_page(page):
                return
        self.editor_area.remove_page(page)

    def close_pages(self, slug: str, paths: set[str] | None = None) -> None:
        """Close the pages of `slug` (only those of `paths` when given) without asking."""
        for page in list(self.editor_area.pages()):
            if page.slug == slug and (paths is None or page.path in paths):
                self.editor_area.remove_page(page)

    async def confirm_discard(self, pages: list[EditorPage]) -> bool:
        """Ask about unsaved edits in `pages`: save them, discard them, or cancel (False)."""
        if not pages:
            return True
        names = ", ".join(p.name for p in pages[:5]) + (f" and {len(pages) - 5} more" if len(pages) > 5 else "")
        answer = await ask(
            self._parent,
            "Unsaved changes",
            f"{len(pages)} file{'s have' if len(pages) != 1 else ' has'} unsaved changes: {names}.",
            QMessageBox.StandardButton.SaveAll | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.SaveAll,
            informative="Save them before going on?",
        )
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.SaveAll:
            for page in pages:
                try:
                    if not await self.save_page(page):
                        return False
                except ProjectDeskError as exc:
                    self.feedback.report_error(exc)
                    return False
        for page in pages:
            page.mark_saved(None)
        return True

    # ---- the status bar's cursor position -----------------------------------------------------------

    def update_position(self) -> None:
        page = self.editor_area.current()
        if page is None or page.editor is None:
            self.position_label.setText("")
            return
        cursor = page.editor.textCursor()
        content = page.content
        eol = "CRLF" if content.eol == "\r\n" else "LF"
        encoding = "UTF-8" if content.encoding == "utf-8" else content.encoding
        language = page.highlighter.lexer_name if page.highlighter is not None else "Plain text"
        mode = "" if content.editable else " · read-only"
        self.position_label.setText(
            f"Ln {cursor.blockNumber() + 1}, Col {cursor.positionInBlock() + 1} · {encoding} · {eol} · {language}{mode}"
        )
