"""Go to file (Ctrl+P): type parts of a path, pick from the best matches."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QStringListModel, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from projectdesk.core.fuzzy import PathIndex

SHOWN = 200


class PathDelegate(QStyledItemDelegate):
    """Shows a path as its file name, then its folder in a dimmer colour (as editors' quick-open lists do)."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        path = opt.text
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect: QRect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget).adjusted(4, 0, -4, 0)
        folder, _, name = path.rpartition("/")
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette = opt.palette
        painter.save()
        bold = QFont(opt.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        painter.drawText(rect, flags, name)
        if folder:
            offset = QFontMetrics(bold).horizontalAdvance(name) + 12
            painter.setFont(opt.font)
            dim = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText)
            painter.setPen(dim)
            rest = rect.adjusted(offset, 0, 0, 0)
            painter.drawText(
                rest, flags, QFontMetrics(opt.font).elidedText(folder, Qt.TextElideMode.ElideLeft, rest.width())
            )
        painter.restore()


class QuickOpenDialog(QDialog):
    """A filter field over a project's paths; Enter opens the selected one.

    Signals:
        chosen(str): the path picked.
    """

    chosen = Signal(str)

    def __init__(self, paths: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quickOpen")
        self.setWindowTitle("Go to file")
        self._paths = list(paths)
        self._index = PathIndex(self._paths)  # fuzzy matching (core/fuzzy.py), built once per dialog
        self.field = QLineEdit(self)
        self.field.setPlaceholderText(f"Type to search {len(self._paths):,} files")
        self.list = QListView(self)
        self.list.setUniformItemSizes(True)
        self.model = QStringListModel(self)
        self.list.setModel(self.model)
        self.list.setItemDelegate(PathDelegate(self.list))
        self.count = QLabel(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.field)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.count)
        self.field.textChanged.connect(self._filter)
        self.field.returnPressed.connect(self._accept_current)
        self.list.activated.connect(lambda _index: self._accept_current())
        self.field.installEventFilter(self)
        self.resize(560, 420)
        self._filter("")

    def _filter(self, text: str) -> None:
        matches = self._index.best(text, SHOWN)
        self.model.setStringList(matches)
        if matches:
            self.list.setCurrentIndex(self.model.index(0, 0))
        total = len(self._paths) if not text else None
        self.count.setText(f"{total:,} files" if total is not None else f"{len(matches):,} shown")

    def _accept_current(self) -> None:
        index = self.list.currentIndex()
        if index.isValid():
            self.chosen.emit(str(index.data()))
            self.accept()

    def eventFilter(self, watched: object, event: object) -> bool:
        """Up/Down in the field move through the list."""
        keys = (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp)
        if (
            watched is self.field
            and isinstance(event, QKeyEvent)
            and event.type() == QKeyEvent.Type.KeyPress
            and event.key() in keys
        ):
            self.list.keyPressEvent(event)
            return True
        return False
