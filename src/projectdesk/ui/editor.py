"""The editor area: tabs of opened files — code with line numbers, highlighting and find; image
previews; binary files described — each knowing whether it may be saved and what to save.

Text goes into the editor in chunks between event-loop turns, so a 10 MB file opens without
freezing the window; highlighting is time-boxed (highlighter.py) and off above a size threshold.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QImage,
    QPainter,
    QPalette,
    QPixmap,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from projectdesk.ui.code_editor import CodeEditor, FindBar, is_dark
from projectdesk.ui.content import IMAGE, TEXT, FileContent
from projectdesk.ui.formatting import human_bytes

if TYPE_CHECKING:
    from pygments.lexer import Lexer

    from projectdesk.core.models import FileEntry
    from projectdesk.ui.highlighter import PygmentsHighlighter

__all__ = ["CodeEditor", "EditorArea", "EditorPage", "FindBar", "decode_image", "hex_dump", "is_dark"]

CHUNK_CHARS = 96 * 1024  # characters inserted per event-loop turn while a file loads
HIGHLIGHTED_CHUNK_CHARS = 24 * 1024  # smaller when highlighting: every new line costs a (time-boxed) call
HEX_PREVIEW_BYTES = 1024
MODIFIED_MARK = "\u2022 "  # "• " before the name of a file with unsaved edits


def decode_image(path: str, data: bytes) -> QImage:
    """Decode an image off the GUI thread (QImage is safe in workers; QPixmap is not). Null when unreadable."""
    from PySide6.QtSvg import QSvgRenderer

    if PurePosixPath(path).suffix.lower() == ".svg":
        renderer = QSvgRenderer(QByteArray(data))
        if not renderer.isValid():
            return QImage()
        size = renderer.defaultSize()
        if size.isEmpty():
            size = QSize(512, 512)
        if max(size.width(), size.height()) < 256:  # small icons: render larger, crisp
            size = size.scaled(256, 256, Qt.AspectRatioMode.KeepAspectRatio)
        image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        return image
    image = QImage()
    image.loadFromData(data)
    return image


class EditorPage(QWidget):
    """One opened file of one project.

    Attributes:
        slug, path: which file.
        entry: the file as last listed or saved (its etag guards a save against remote changes).
        content: how it opened (FileContent): text, image or binary, editable or not.

    Signals:
        modifiedChanged(bool): unsaved edits appeared or were saved/discarded.
    """

    modifiedChanged = Signal(bool)

    def __init__(
        self,
        slug: str,
        path: str,
        entry: FileEntry | None,
        content: FileContent,
        *,
        dark: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.slug = slug
        self.path = path
        self.entry = entry
        self.content = content
        self.editor: CodeEditor | None = None
        self.highlighter: PygmentsHighlighter | None = None
        self.image_label: QLabel | None = None
        self.loaded = content.kind != TEXT
        self.closed = False  # the tab was closed (its widgets may be gone: check before touching them)
        self._dark = dark
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setContentsMargins(8, 4, 8, 4)
        self.note.setAutoFillBackground(True)
        self.note.setObjectName("editorNote")
        layout.addWidget(self.note)
        self._set_note(content.note if content.kind == TEXT else "")
        if content.kind == TEXT:
            self.editor = CodeEditor(self)
            self.editor.setReadOnly(True)
            layout.addWidget(self.editor, 1)
        elif content.kind == IMAGE:
            layout.addWidget(self._image_view(), 1)
        else:
            layout.addWidget(self._binary_view(b""), 1)

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def can_save(self) -> bool:
        return self.editor is not None and self.content.editable and self.loaded

    @property
    def is_modified(self) -> bool:
        return self.editor is not None and self.loaded and self.editor.document().isModified()

    def _set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))
        palette = self.note.palette()
        tint = QColor("#5a4a00") if self._dark else QColor("#fff4c2")
        palette.setColor(QPalette.ColorRole.Window, tint)
        palette.setColor(QPalette.ColorRole.WindowText, QColor("#fff4c2") if self._dark else QColor("#3d3200"))
        self.note.setPalette(palette)

    # ---- text -----------------------------------------------------------------------------------

    async def load_text(self, lexer: Lexer | None = None) -> float:
        """Put the text into the editor in chunks, yielding to the event loop between them.

        `lexer` (from highlighter.prepare_lexer, run in a worker) turns highlighting on. Returns the
        seconds it took. The editor is read-only until the whole text is in.
        """
        from projectdesk.ui.highlighter import PygmentsHighlighter

        editor = self.editor
        assert editor is not None
        started = time.perf_counter()
        document = editor.document()
        editor.setUndoRedoEnabled(False)
        text = self.content.text
        if "\t" in text[:65536] and "\n    " not in text[:65536]:
            editor.indent = "\t"
        if lexer is not None and self.content.highlight:
            self.highlighter = PygmentsHighlighter(document, lexer, dark=self._dark)
        chunk = CHUNK_CHARS if self.highlighter is None else HIGHLIGHTED_CHUNK_CHARS
        if len(text) <= chunk:
            editor.setPlainText(text)
        else:
            cursor = QTextCursor(document)
            for start in range(0, len(text), chunk):
                cursor.movePosition(QTextCursor.MoveOperation.End)
                cursor.insertText(text[start : start + chunk])
                await asyncio.sleep(0)
                if self.closed:  # the tab was closed while loading
                    return time.perf_counter() - started
            editor.moveCursor(QTextCursor.MoveOperation.Start)
        editor.setUndoRedoEnabled(True)
        document.setModified(False)
        editor.setReadOnly(not self.content.editable)
        document.modificationChanged.connect(self.modifiedChanged)
        self.loaded = True
        return time.perf_counter() - started

    def text(self) -> str:
        """The editor's text with '\n' line ends (exact: non-breaking spaces and the like are kept)."""
        assert self.editor is not None
        return self.editor.document().toRawText().replace("\u2029", "\n")

    def data_to_save(self) -> bytes:
        """The bytes a save stores; raises InvalidInput for a read-only file."""
        return self.content.encode(self.text())

    def mark_saved(self, entry: FileEntry | None) -> None:
        if entry is not None:
            self.entry = entry
        if self.editor is not None:
            self.editor.document().setModified(False)

    def set_dark(self, dark: bool) -> None:
        self._dark = dark
        self._set_note(self.note.text())
        if self.highlighter is not None:
            self.highlighter.set_dark(dark)

    def close_page(self) -> None:
        """Stop loading and highlighting (the tab is going away)."""
        self.closed = True
        if self.highlighter is not None:
            self.highlighter.setDocument(None)
            self.highlighter = None
        self.editor = None

    # ---- images and binaries -----------------------------------------------------------------------

    def _image_view(self) -> QWidget:
        box = QWidget(self)
        layout = QVBoxLayout(box)
        self.image_caption = QLabel(f"Loading image… ({human_bytes(self.content.size)})", box)
        self.image_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea(box)
        scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.image_label = QLabel(scroll)
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        scroll.setWidget(self.image_label)
        scroll.setWidgetResizable(True)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.image_caption)
        return box

    def show_image(self, image: QImage) -> None:
        """Show a decoded image (scaled down to fit, never up beyond 2x for tiny ones)."""
        assert self.image_label is not None
        suffix = PurePosixPath(self.path).suffix.lstrip(".").upper() or "Image"
        if image.isNull():
            self.image_caption.setText(f"{suffix} file, {self.content.size:,} bytes — cannot be previewed")
            self.image_label.setText("No preview")
            return
        self.image_caption.setText(
            f"{suffix} image — {image.width()} × {image.height()} px — {human_bytes(self.content.size)}"
        )
        pixmap = QPixmap.fromImage(image)
        available = self.size() - QSize(40, 80)
        if pixmap.width() > available.width() or pixmap.height() > available.height():
            pixmap = pixmap.scaled(
                available, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        self.image_label.setPixmap(pixmap)

    def _binary_view(self, head: bytes) -> QWidget:
        box = QWidget(self)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(16, 16, 16, 16)
        icon = QLabel(box)
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon).pixmap(48, 48))
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel(self.content.note or f"Binary file, {self.content.size:,} bytes", box)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2 if font.pointSizeF() > 0 else 12)
        title.setFont(font)
        hint = QLabel("Not editable here. The first bytes, in hexadecimal:", box)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hex_view = QPlainTextEdit(box)
        self.hex_view.setReadOnly(True)
        self.hex_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.hex_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        layout.addStretch(1)
        layout.addWidget(icon)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(self.hex_view, 3)
        return box

    def show_hex(self, data: bytes) -> None:
        self.hex_view.setPlainText(hex_dump(data[:HEX_PREVIEW_BYTES]))


def hex_dump(data: bytes) -> str:
    lines = []
    for offset in range(0, len(data), 16):
        row = data[offset : offset + 16]
        hexes = " ".join(f"{b:02x}" for b in row)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{offset:08x}  {hexes:<47}  {text}")
    return "\n".join(lines)


class EditorArea(QWidget):
    """Tabs of EditorPages, with a welcome text when none is open and the find bar below.

    Signals:
        currentPageChanged(object): the EditorPage shown, or None.
        pageModifiedChanged(object): a page gained or lost unsaved edits.
        closeRequested(object): the user asked to close a page (the window asks about unsaved edits).
    """

    currentPageChanged = Signal(object)
    pageModifiedChanged = Signal(object)
    closeRequested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stack = QStackedWidget(self)
        self.welcome = QLabel(self)
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome.setWordWrap(True)
        self.welcome.setTextFormat(Qt.TextFormat.RichText)
        self.set_welcome("Select a project on the left.")
        self.tabs = QTabWidget(self)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.setElideMode(Qt.TextElideMode.ElideMiddle)
        self.tabs.tabCloseRequested.connect(lambda i: self.closeRequested.emit(self.tabs.widget(i)))
        self.tabs.currentChanged.connect(self._on_current_changed)
        self._stack.addWidget(self.welcome)
        self._stack.addWidget(self.tabs)
        self.find_bar = FindBar(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self.find_bar)

    def set_welcome(self, html: str) -> None:
        palette = self.palette()
        color = palette.color(QPalette.ColorRole.PlaceholderText).name()
        self.welcome.setText(f"<div style='color:{color}'>{html}</div>")

    def pages(self) -> list[EditorPage]:
        return [page for i in range(self.tabs.count()) if isinstance(page := self.tabs.widget(i), EditorPage)]

    def current(self) -> EditorPage | None:
        page = self.tabs.currentWidget()
        return page if isinstance(page, EditorPage) else None

    def find_page(self, slug: str, path: str) -> EditorPage | None:
        return next((p for p in self.pages() if p.slug == slug and p.path == path), None)

    def modified_pages(self) -> list[EditorPage]:
        return [p for p in self.pages() if p.is_modified]

    def add_page(self, page: EditorPage) -> None:
        index = self.tabs.addTab(page, page.name)
        self.tabs.setTabToolTip(index, f"{page.path}\n{page.slug}")
        page.modifiedChanged.connect(lambda _m, p=page: self._on_modified(p))
        self._stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentIndex(index)

    def show_page(self, page: EditorPage) -> None:
        self.tabs.setCurrentWidget(page)

    def remove_page(self, page: EditorPage) -> None:
        index = self.tabs.indexOf(page)
        if index >= 0:
            self.tabs.removeTab(index)
        page.close_page()
        page.deleteLater()
        if self.tabs.count() == 0:
            self._stack.setCurrentWidget(self.welcome)
            self.find_bar.hide()
            self.currentPageChanged.emit(None)

    def open_find(self) -> None:
        page = self.current()
        if page is not None and page.editor is not None:
            self.find_bar.open_for(page.editor)

    def set_dark(self, dark: bool) -> None:
        for page in self.pages():
            page.set_dark(dark)

    def _on_modified(self, page: EditorPage) -> None:
        index = self.tabs.indexOf(page)
        if index >= 0:
            self.tabs.setTabText(index, (MODIFIED_MARK if page.is_modified else "") + page.name)
        self.pageModifiedChanged.emit(page)

    def _on_current_changed(self, _index: int) -> None:
        page = self.current()
        if self.find_bar.isVisible():
            if page is not None and page.editor is not None:
                self.find_bar.open_for(page.editor)
            else:
                self.find_bar.hide()
        self.currentPageChanged.emit(page)
