"""The file tree of one project: a plain index built off the GUI thread, and a lazy QAbstractItemModel over it.

`TreeIndex.build` (pure Python, run in a worker) groups a flat listing into folders; the model makes
nodes for a folder only when the view expands it, so a project of tens of thousands of files opens
without a stall. The manifest and names that are unsafe as paths are not shown. Deleted files (a versioned
store's delete markers, shown on request) sit among the others, greyed, with the date of their deletion.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QAbstractItemView, QApplication, QHeaderView, QStyle, QWidget

from projectdesk.core.display import printable
from projectdesk.core.keys import MANIFEST_NAME, is_safe_relative_path
from projectdesk.core.models import FileEntry
from projectdesk.ui.formatting import human_bytes, long_date, short_date
from projectdesk.ui.project_list import DropTreeView
from projectdesk.ui.resources import state_icon

AnyIndex = QModelIndex | QPersistentModelIndex

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
IS_DIR_ROLE = Qt.ItemDataRole.UserRole + 2
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 3
DELETED_ROLE = Qt.ItemDataRole.UserRole + 4  # a deleted file's deletion time (epoch seconds), else None

FILE_STATE_TEXT = {
    "modified": "Changed here; the upload is pending",
    "pending": "Waiting to be uploaded",
    "conflict": "Conflict: changed here and on the server",
    "cached": "Available offline",
}


def _sort_key(name: str) -> tuple[str, str]:
    return (name.casefold(), name)


def _entry_key(entry: FileEntry) -> tuple[str, str]:
    return _sort_key(entry.path.rsplit("/", 1)[-1])


def _node_key(node: _Node) -> tuple[str, str]:
    return _sort_key(node.name)


@dataclass
class TreeIndex:
    """Folders and files of one project, grouped by folder path ('' is the root). Plain data, no Qt."""

    dirs: dict[str, list[str]] = field(default_factory=dict)  # folder -> child folder names, sorted
    files: dict[str, list[FileEntry]] = field(default_factory=dict)  # folder -> files directly in it, sorted
    sizes: dict[str, int] = field(default_factory=dict)  # folder -> bytes below it
    counts: dict[str, int] = field(default_factory=dict)  # folder -> files below it
    hidden: int = 0  # entries not shown: the manifest is not counted, unsafe names are
    links: dict[str, str] = field(default_factory=dict)  # files that are symbolic links -> their target
    deleted: dict[str, float] = field(default_factory=dict)  # deleted files shown -> when they were deleted
    pending: set[str] = field(default_factory=set)  # folders shown before their files were listed
    _paths: set[str] | None = field(default=None, repr=False, compare=False)  # files there are, made by `add`
    _unsafe: set[str] = field(default_factory=set, repr=False, compare=False)  # names hidden, counted in `hidden`

    @classmethod
    def top(cls, folders: Iterable[str], files: Iterable[FileEntry]) -> TreeIndex:
        """A project's top level before the rest is listed: `folders` (raw names, unsafe ones left out) are
        pending, shown as folders that may hold files until the listing ends."""
        index = cls.build(files)
        for name in folders:
            if name in index.sizes or "/" in name or not is_safe_relative_path(name):
                continue
            index.dirs[name], index.files[name], index.sizes[name], index.counts[name] = [], [], 0, 0
            index.dirs[""].append(name)
            index.pending.add(name)
        index.dirs[""].sort(key=_sort_key)
        return index

    @classmethod
    def build(
        cls,
        entries: Iterable[FileEntry],
        links: Mapping[str, str] | None = None,
        deleted: Mapping[str, float] | None = None,
    ) -> TreeIndex:
        """`deleted`: deleted files to show too (path -> deletion time); not counted in sizes and counts."""
        index = cls(dirs={"": []}, files={"": []}, sizes={"": 0}, counts={"": 0}, links=dict(links or {}))
        child_dirs: dict[str, set[str]] = {"": set()}
        entries = list(entries)
        present = {entry.path for entry in entries}
        gone = [
            FileEntry(path, 0, "", when)
            for path, when in (deleted or {}).items()
            if path not in present and path != MANIFEST_NAME and is_safe_relative_path(path)
        ]
        index.deleted = {entry.path: entry.last_modified for entry in gone}
        for entry in [*entries, *gone]:
            if entry.path == MANIFEST_NAME:
                continue
            if not is_safe_relative_path(entry.path):
                index.hidden += 1
                index._unsafe.add(entry.path)
                continue
            parts = entry.path.split("/")
            folder = ""
            live = entry.path not in index.deleted
            index.sizes[""] += entry.size
            index.counts[""] += live
            for part in parts[:-1]:
                child = f"{folder}/{part}" if folder else part
                if child not in child_dirs:
                    child_dirs[child] = set()
                    child_dirs[folder].add(part)
                    index.files[child] = []
                    index.sizes[child] = 0
                    index.counts[child] = 0
                index.sizes[child] += entry.size
                index.counts[child] += live
                folder = child
            index.files[folder].append(entry)
        for folder, names in child_dirs.items():
            index.dirs[folder] = sorted(names, key=_sort_key)
        for listing in index.files.values():
            listing.sort(key=lambda e: _sort_key(e.path.rsplit("/", 1)[-1]))
        return index

    def has_children(self, folder: str) -> bool:
        return bool(self.dirs.get(folder)) or bool(self.files.get(folder)) or folder in self.pending

    def add(
        self, entries: Iterable[FileEntry]
    ) -> tuple[dict[str, list[tuple[bool, str, FileEntry | None]]], list[FileEntry]]:
        """Files listed since the index was built, added in place (a path already there is replaced).

        Returns the children each folder gained, (is a folder, name, entry) in the order added, and the entries
        that replaced others. Names unsafe as paths and the manifest are left out (the final index counts them)."""
        gained: dict[str, list[tuple[bool, str, FileEntry | None]]] = {}
        replaced: list[FileEntry] = []
        if self._paths is None:
            self._paths = {entry.path for listing in self.files.values() for entry in listing}
        paths, sizes, counts = self._paths, self.sizes, self.counts
        by_folder: dict[str, list[FileEntry]] = {}
        for entry in entries:
            path = entry.path
            if path == MANIFEST_NAME or path in self.deleted or path in self._unsafe:
                continue
            if not is_safe_relative_path(path):
                self._unsafe.add(path)  # counted once, however often it is listed
                self.hidden += 1
                continue
            if path in paths:
                self._replace(entry)
                replaced.append(entry)
                continue
            paths.add(path)
            by_folder.setdefault(path.rpartition("/")[0], []).append(entry)
        for folder, group in by_folder.items():
            total = sum(entry.size for entry in group)
            sizes[""] += total
            counts[""] += len(group)
            parent = ""
            for part in folder.split("/") if folder else ():
                child = f"{parent}/{part}" if parent else part
                if child not in sizes:
                    self.dirs[child], self.files[child], sizes[child], counts[child] = [], [], 0, 0
                    insort(self.dirs[parent], part, key=_sort_key)
                    gained.setdefault(parent, []).append((True, part, None))
                sizes[child] += total
                counts[child] += len(group)
                parent = child
            keyed = sorted((_entry_key(entry), entry) for entry in group)
            listing = self.files[folder]
            if not listing or _entry_key(listing[-1]) < keyed[0][0]:
                listing += [entry for _, entry in keyed]  # the common case: a listing in key order appends
            else:
                for _, entry in keyed:
                    insort(listing, entry, key=_entry_key)
            gained.setdefault(folder, []).extend((False, key[1], entry) for key, entry in keyed)
        return gained, replaced

    def _replace(self, entry: FileEntry) -> None:
        """A file listed again: its entry replaced, its folders' sizes changed by the difference."""
        folder = entry.path.rpartition("/")[0]
        listing = self.files[folder]
        at = bisect_left(listing, _entry_key(entry), key=_entry_key)
        delta = entry.size - listing[at].size
        listing[at] = entry
        parts = folder.split("/") if folder else []
        for depth in range(len(parts) + 1):
            self.sizes["/".join(parts[:depth])] += delta

    def iter_files(self) -> Iterator[FileEntry]:
        """The files there are (deleted ones shown left out)."""
        for listing in self.files.values():
            yield from (entry for entry in listing if entry.path not in self.deleted)

    @property
    def file_count(self) -> int:
        return self.counts.get("", 0)


class _Node:
    __slots__ = ("children", "entry", "is_dir", "name", "parent", "path", "row")

    def __init__(
        self, name: str, path: str, parent: _Node | None, row: int, is_dir: bool, entry: FileEntry | None
    ) -> None:
        self.name = name
        self.path = path
        self.parent = parent
        self.row = row
        self.is_dir = is_dir
        self.entry = entry
        self.children: list[_Node] | None = None if is_dir else []


class FileTreeModel(QAbstractItemModel):
    """Lazy tree of a project's files: columns name and size; folders first, then files, by name."""

    NAME, SIZE = range(2)
    HEADERS = ("Name", "Size")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._index = TreeIndex()
        self._root = _Node("", "", None, 0, True, None)
        self._root.children = []
        self._states: dict[str, str] = {}
        self._dir_nodes: dict[str, _Node] = {"": self._root}  # folders whose child nodes are made, by path
        self._dir_icon = QIcon()
        self._file_icon = QIcon()
        self._link_icon = QIcon()

    # ---- data in -------------------------------------------------------------------------------

    def set_index(self, index: TreeIndex, states: Mapping[str, str] | None = None) -> None:
        """Show a project (the index is built off the GUI thread with TreeIndex.build)."""
        self.beginResetModel()
        self._index = index
        self._states = dict(states or {})
        self._root = _Node("", "", None, 0, True, None)
        self._root.children = self._make_children(self._root)
        self._dir_nodes = {"": self._root}
        self.endResetModel()

    def add_entries(self, entries: Iterable[FileEntry]) -> None:
        """Files that arrived while the project is listed, added to the tree shown: rows are inserted (never a
        reset) in the folders whose rows exist, sizes of those shown repainted; others are made when expanded."""
        gained, replaced = self._index.add(entries)
        for folder, items in gained.items():
            node = self._dir_nodes.get(folder)
            if node is not None and node.children is not None:
                self._insert_children(node, items)
        for entry in replaced:
            folder = entry.path.rpartition("/")[0]
            node = self._dir_nodes.get(folder)
            found = self._file_node(node, entry.path) if node is not None else None
            if found is not None:
                found.entry = entry
                index = self._index_of(found)
                self.dataChanged.emit(index, index.siblingAtColumn(self.SIZE))
        for node in self._dir_nodes.values():
            folders = self._dir_count(node)
            if folders:
                parent = self._index_of(node)
                self.dataChanged.emit(self.index(0, self.SIZE, parent), self.index(folders - 1, self.SIZE, parent))

    def take_states(self, states: Mapping[str, str]) -> None:
        """Per-file states for the whole tree at once (`set_states` repaints path by path: slow for 100,000): the
        rows made so far are repainted, folder by folder."""
        self._states = dict(states)
        for node in self._dir_nodes.values():
            if node.children:
                parent = self._index_of(node)
                last = len(node.children) - 1
                self.dataChanged.emit(self.index(0, self.SIZE, parent), self.index(last, self.SIZE, parent))

    def set_links(self, links: Mapping[str, str]) -> None:
        """The project's symbolic links (their icons repainted)."""
        old, self._index.links = self._index.links, dict(links)
        for path in set(old) ^ set(links):
            index = self.index_for_path(path, fetch=False)
            if index.isValid():
                self.dataChanged.emit(index, index)

    def end_listing(self) -> None:
        """The listing is complete: folders no longer wait for files, and those shown before it that held none
        in the end (an empty folder, one whose files are all deleted here) are removed."""
        pending, self._index.pending = self._index.pending, set()
        index, root = self._index, self._root
        for folder in sorted(f for f in pending if not index.counts.get(f) and not index.dirs.get(f)):
            index.dirs[""].remove(folder)
            for table in (index.dirs, index.files, index.sizes, index.counts):
                table.pop(folder, None)
            self._dir_nodes.pop(folder, None)
            children = root.children or []
            row = next((n.row for n in children if n.is_dir and n.path == folder), None)
            if row is None:
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            del children[row]
            for later in range(row, len(children)):
                children[later].row = later
            self.endRemoveRows()

    def _insert_children(self, node: _Node, items: list[tuple[bool, str, FileEntry | None]]) -> None:
        children = node.children
        assert children is not None
        folders = self._dir_count(node)
        places = []
        for is_dir, name, entry in items:
            low, high = (0, folders) if is_dir else (folders, len(children))
            places.append((bisect_left(children, _sort_key(name), low, high, key=_node_key), not is_dir, name, entry))
        places.sort(key=lambda place: (place[0], place[1], _sort_key(place[2])))
        parent, prefix, shift, start = self._index_of(node), f"{node.path}/" if node.path else "", 0, 0
        while start < len(places):
            end = start
            while end < len(places) and places[end][0] == places[start][0]:
                end += 1
            at = places[start][0] + shift
            made = [
                _Node(name, prefix + name, node, 0, not is_file, entry) for _, is_file, name, entry in places[start:end]
            ]
            self.beginInsertRows(parent, at, at + len(made) - 1)
            children[at:at] = made
            for row in range(at, len(children)):
                children[row].row = row
            self.endInsertRows()
            shift += len(made)
            start = end

    @staticmethod
    def _dir_count(node: _Node) -> int:
        """How many of the node's children are folders (they come first)."""
        return bisect_left(node.children or [], True, key=lambda child: not child.is_dir)

    def _file_node(self, folder: _Node, path: str) -> _Node | None:
        children = folder.children or []
        folders = self._dir_count(folder)
        name = path.rpartition("/")[2]
        at = bisect_left(children, _sort_key(name), folders, len(children), key=_node_key)
        return children[at] if at < len(children) and children[at].path == path else None

    def set_files(self, entries: Iterable[FileEntry], states: Mapping[str, str] | None = None) -> None:
        self.set_index(TreeIndex.build(entries), states)

    def clear(self) -> None:
        self.set_index(TreeIndex())

    def tree_index(self) -> TreeIndex:
        return self._index

    def set_states(self, states: Mapping[str, str]) -> None:
        """Per-file state (`modified`, `pending`, `conflict`, `cached`); repaints only what changed."""
        old, self._states = self._states, dict(states)
        for path in set(old) | set(self._states):
            if old.get(path) != self._states.get(path):
                index = self.index_for_path(path, fetch=False)
                if index.isValid():
                    size_index = index.siblingAtColumn(self.SIZE)
                    self.dataChanged.emit(size_index, size_index)

    def update_entry(self, entry: FileEntry) -> bool:
        """A saved file's new size and etag; False when the path is not in the tree yet (reload then)."""
        folder = entry.path.rsplit("/", 1)[0] if "/" in entry.path else ""
        listing = self._index.files.get(folder, [])
        position = next((i for i, known in enumerate(listing) if known.path == entry.path), None)
        if position is None:
            return False
        delta = entry.size - listing[position].size
        listing[position] = entry
        parts = entry.path.split("/")[:-1]
        for depth in range(len(parts) + 1):
            ancestor = "/".join(parts[:depth])
            self._index.sizes[ancestor] = self._index.sizes.get(ancestor, 0) + delta
        node = self._node_for_path(entry.path, fetch=False)
        if node is not None and not node.is_dir:
            node.entry = entry
            index = self._index_of(node)
            self.dataChanged.emit(index, index.siblingAtColumn(self.SIZE))
        return True

    def entry(self, path: str) -> FileEntry | None:
        if path in self._index.deleted:
            return None
        folder = path.rsplit("/", 1)[0] if "/" in path else ""
        return next((e for e in self._index.files.get(folder, []) if e.path == path), None)

    def deleted_at(self, path: str) -> float | None:
        """When a deleted file shown in the tree was deleted; None for any other path."""
        return self._index.deleted.get(path)

    def all_paths(self) -> list[str]:
        return sorted((e.path for e in self._index.iter_files()), key=str.casefold)

    # ---- lookup ---------------------------------------------------------------------------------

    def index_for_path(self, path: str, *, fetch: bool = True) -> QModelIndex:
        """The index of a file or folder; with `fetch`, folders on the way are loaded."""
        node = self._node_for_path(path, fetch=fetch)
        return self._index_of(node) if node is not None and node is not self._root else QModelIndex()

    def _node_for_path(self, path: str, *, fetch: bool) -> _Node | None:
        node = self._root
        if not path:
            return node
        for part in path.split("/"):
            if node.children is None:
                if not fetch:
                    return None
                self.fetchMore(self._index_of(node))
            found = next((c for c in node.children or [] if c.name == part), None)
            if found is None:
                return None
            node = found
        return node

    def _index_of(self, node: _Node) -> QModelIndex:
        if node is self._root:
            return QModelIndex()
        return self.createIndex(node.row, 0, node)

    def _node(self, index: AnyIndex) -> _Node:
        if not index.isValid():
            return self._root
        node = index.internalPointer()
        assert isinstance(node, _Node)
        return node

    def _make_children(self, parent: _Node) -> list[_Node]:
        folder = parent.path
        children: list[_Node] = []
        for name in self._index.dirs.get(folder, []):
            path = f"{folder}/{name}" if folder else name
            children.append(_Node(name, path, parent, len(children), True, None))
        for entry in self._index.files.get(folder, []):
            children.append(_Node(entry.path.rsplit("/", 1)[-1], entry.path, parent, len(children), False, entry))
        return children

    # ---- QAbstractItemModel ----------------------------------------------------------------------

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self._node(parent)
        children = node.children or []
        if not 0 <= row < len(children) or not 0 <= column < len(self.HEADERS):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        node = self._node(index)
        if node.parent is None or node.parent is self._root:
            return QModelIndex()
        return self.createIndex(node.parent.row, 0, node.parent)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._node(parent).children or [])

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self.HEADERS)

    def hasChildren(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        node = self._node(parent)
        if not node.is_dir or (parent.isValid() and parent.column() != 0):
            return False
        if node.children is None:
            return self._index.has_children(node.path)
        return bool(node.children) or node.path in self._index.pending

    def canFetchMore(self, parent: AnyIndex) -> bool:
        node = self._node(parent)
        return node.is_dir and node.children is None

    def fetchMore(self, parent: AnyIndex) -> None:
        node = self._node(parent)
        if not node.is_dir or node.children is not None:
            return
        children = self._make_children(node)
        self._dir_nodes[node.path] = node
        if not children:
            node.children = []
            return
        self.beginInsertRows(self._index_of(node), 0, len(children) - 1)
        node.children = children
        self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole and section:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self._node(index).is_dir:
            flags |= Qt.ItemFlag.ItemIsDropEnabled
        return flags

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        node, column = self._node(index), index.column()
        deleted = None if node.is_dir else self._index.deleted.get(node.path)
        if deleted is not None:
            return self._deleted_data(node, column, role, deleted)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.NAME:
                return node.name
            if node.is_dir:
                if node.path in self._index.pending and not self._index.counts.get(node.path):
                    return "…"  # shown before its files were listed
                return human_bytes(self._index.sizes.get(node.path, 0))
            return human_bytes(node.entry.size) if node.entry else ""
        if role == PATH_ROLE:
            return node.path
        if role == IS_DIR_ROLE:
            return node.is_dir
        if role == ENTRY_ROLE:
            return node.entry
        if role == Qt.ItemDataRole.DecorationRole:
            if column == self.NAME:
                return self._icon(node.is_dir, node.path in self._index.links)
            state = self._states.get(node.path)
            return state_icon(state) if state else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(node)
        return None

    def _deleted_data(self, node: _Node, column: int, role: int, deleted: float) -> object:
        """A deleted file's row: greyed, its deletion date in the size column."""
        if role == Qt.ItemDataRole.DisplayRole:
            return node.name if column == self.NAME else f"deleted {short_date(deleted)}"
        if role == Qt.ItemDataRole.ForegroundRole:
            return QApplication.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        if role == Qt.ItemDataRole.FontRole and column == self.NAME:
            font = QApplication.font()
            font.setItalic(True)
            return font
        if role == PATH_ROLE:
            return node.path
        if role == IS_DIR_ROLE:
            return False
        if role == DELETED_ROLE:
            return deleted
        if role == Qt.ItemDataRole.DecorationRole and column == self.NAME:
            return self._icon(False)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{node.path} — deleted {long_date(deleted)}\nRight-click ▸ Undelete brings its last version back"
        return None

    def _tooltip(self, node: _Node) -> str:
        if node.is_dir:
            count = self._index.counts.get(node.path, 0)
            if node.path in self._index.pending:
                return f"{node.path}/ — {count:,} files listed so far"
            return f"{node.path}/ — {count:,} files, {human_bytes(self._index.sizes.get(node.path, 0))}"
        text = node.path
        target = self._index.links.get(node.path)
        if target is not None:
            return f"{node.path} — a symbolic link to {printable(target)}"
        if node.entry is not None:
            text += f" — {human_bytes(node.entry.size)} ({node.entry.size:,} bytes)"
        state = self._states.get(node.path)
        if state:
            text += f"\n{FILE_STATE_TEXT.get(state, state)}"
        return text

    def _icon(self, is_dir: bool, link: bool = False) -> QIcon:
        if self._dir_icon.isNull():
            style = QApplication.style()
            self._dir_icon = style.standardIcon(QStyle.StandardPixmap.SP_DirIcon)
            self._file_icon = style.standardIcon(QStyle.StandardPixmap.SP_FileIcon)
            self._link_icon = style.standardIcon(QStyle.StandardPixmap.SP_FileLinkIcon)
        return self._dir_icon if is_dir else self._link_icon if link else self._file_icon


class FileTreeView(DropTreeView):
    """The tree of one project; files and folders dropped on a folder upload into it.

    While files are dragged over it, the folder they would land in (see `folder_at`) is highlighted with
    the rows shown inside it; over empty space the whole view is outlined, as the drop goes to the root.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._drop_target: str | None = None
        self._drop_row = QPersistentModelIndex()
        self.setUniformRowHeights(True)
        self.setHeaderHidden(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAnimated(False)

    def configure_header(self) -> None:
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(FileTreeModel.NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(FileTreeModel.SIZE, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(FileTreeModel.SIZE, self.fontMetrics().horizontalAdvance("000.0 MB") + 36)

    def folder_at(self, index: QModelIndex) -> str:
        """The folder a drop on `index` goes into: the folder itself, a file's folder, or the root."""
        if not index.isValid():
            return ""
        path = str(index.data(PATH_ROLE) or "")
        if index.data(IS_DIR_ROLE):
            return path
        return path.rsplit("/", 1)[0] if "/" in path else ""

    def folder_index_at(self, index: QModelIndex) -> QModelIndex:
        """The row of the folder `folder_at(index)` names; invalid for the root."""
        if not index.isValid():
            return QModelIndex()
        if index.data(IS_DIR_ROLE):
            return index.siblingAtColumn(0)
        return index.parent()

    @property
    def drop_target_path(self) -> str | None:
        """The folder a drop at the pointer would go into ('' is the root); None when no drag is over the tree."""
        return self._drop_target

    # ---- drop target --------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        super().dragEnterEvent(event)
        self._follow_drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        super().dragMoveEvent(event)
        self._follow_drag(event)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._set_drop_target(None, QModelIndex())
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_drop_target(None, QModelIndex())  # before the drop is handled: it may open a dialog
        super().dropEvent(event)

    def _follow_drag(self, event: QDropEvent) -> None:
        if not event.isAccepted():
            self._set_drop_target(None, QModelIndex())
            return
        index = self.indexAt(event.position().toPoint())
        self._set_drop_target(self.folder_at(index), self.folder_index_at(index))

    def _set_drop_target(self, path: str | None, row: QModelIndex) -> None:
        if path == self._drop_target and self._drop_row == row:
            return
        self._drop_target, self._drop_row = path, QPersistentModelIndex(row)
        self.viewport().update()

    def _outline_whole_view(self) -> bool:
        return super()._outline_whole_view() and self._drop_target == ""

    def drop_target_rect(self) -> QRect:
        """The viewport area highlighted as the drop target: the folder's row and the rows shown inside it.

        Empty when no folder is targeted (no drag, or the root). It may reach outside the viewport."""
        if not self._drop_target or not self._drop_row.isValid():
            return QRect()
        top = self.visualRect(self._drop_row)
        if top.isEmpty():
            return QRect()
        bottom = self.visualRect(self._last_shown_inside(self._drop_row))
        return QRect(0, top.top(), self.viewport().width(), bottom.bottom() - top.top() + 1)

    def _last_shown_inside(self, folder: AnyIndex) -> AnyIndex:
        """The lowest row shown below `folder` that belongs to it (the folder itself when it is collapsed)."""
        model, index = self.model(), folder
        while self.isExpanded(index) and model.rowCount(index) > 0:
            index = model.index(model.rowCount(index) - 1, 0, index)
        return index

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        area = self.drop_target_rect()
        if area.isEmpty():
            return
        painter = QPainter(self.viewport())
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        tint = QColor(highlight)
        tint.setAlpha(70)
        row = self.visualRect(self._drop_row)
        painter.fillRect(QRect(0, row.top(), area.width(), row.height()), tint)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(highlight, 2))
        painter.drawRoundedRect(area.adjusted(2, 1, -2, -1), 4, 4)
        painter.end()
