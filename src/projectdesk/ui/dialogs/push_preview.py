"""The preview shown before a folder is uploaded: name, files, bytes, what is skipped and why,
and the limit errors — with Upload disabled while a limit is exceeded."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontMetrics, QPalette, QTextOption
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from projectdesk.core.slugs import new_slug, slugify
from projectdesk.ui.formatting import human_bytes

if TYPE_CHECKING:
    from projectdesk.services.projects import PushPlan

LISTED_MAX = 400  # rows shown per section (the rest is counted)
DETAIL_HINT = "Select a file to read its full path and reason here."


class PushPreviewDialog(QDialog):
    """Shows a PushPlan before any byte is sent.

    Attributes:
        name_field: the project name (editable for a new project).
        details: the sections of files; every cell's tooltip holds its whole text.
        detail_pane: read-only, selectable text under the list: the selected file's full path and reason.
        upload_button: disabled when a limit is exceeded or there is nothing to send.
    """

    def __init__(
        self,
        plan: PushPlan,
        *,
        known_slugs: Collection[str] = (),
        target: str = "",
        source: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("pushPreview")
        self._plan = plan
        self._known = set(known_slugs)
        self._slug = plan.slug
        scan = plan.scan
        updating = plan.bound and not plan.is_new  # a working folder of this project: an update
        self.setWindowTitle(
            "Upload as a new project" if plan.is_new else f"Update {plan.name}" if updating else "Upload into project"
        )
        layout = QVBoxLayout(self)
        heading = QLabel(self)
        heading.setTextFormat(Qt.TextFormat.PlainText)
        if updating:
            heading.setText(update_heading(plan))
        elif plan.is_new:
            heading.setText(f"Upload “{scan.root.name}” as a new project")
        else:
            heading.setText(f"Upload into “{plan.name}”")
        heading.setObjectName("previewHeading")
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.25 if font.pointSizeF() > 0 else 13)
        font.setBold(True)
        heading.setFont(font)
        layout.addWidget(heading)
        form = QFormLayout()
        self.name_field = QLineEdit(plan.name, self)
        self.name_field.setEnabled(plan.is_new)
        self.name_field.setMinimumWidth(320)
        self.slug_label = QLabel(plan.slug, self)
        self.slug_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Name:", self.name_field)
        form.addRow("Stored as:", self.slug_label)
        origin = QLabel(source or str(scan.root), self)  # `source`: what the person dropped (a zip)
        origin.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        origin.setWordWrap(True)
        form.addRow("From:", origin)
        if target:
            form.addRow("Into:", QLabel(target, self))
        layout.addLayout(form)

        sending = len(plan.to_upload)
        summary = f"<b>{sending:,} files, {human_bytes(sum(i.size for i in plan.to_upload))}</b> to upload"
        if plan.unchanged:
            summary += f" ({len(plan.unchanged):,} unchanged files are skipped)"
        if scan.ignored:
            summary += f"; {len(scan.ignored):,} skipped by ignore rules"
        if scan.problems:
            summary += f"; <b>{len(scan.problems):,} cannot be uploaded</b>"
        self.summary = QLabel(summary, self)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        self.limit_label = QLabel(self)
        self.limit_label.setWordWrap(True)
        self.limit_label.setObjectName("limitError")
        if plan.limit_error is not None:
            self.limit_label.setText(f"<b>{plan.limit_error.title}:</b> {plan.limit_error.message}")
            self.limit_label.setAutoFillBackground(True)
            palette = self.limit_label.palette()
            palette.setColor(QPalette.ColorRole.Window, QColor("#fde2e1"))
            palette.setColor(QPalette.ColorRole.WindowText, QColor("#8b0000"))
            self.limit_label.setPalette(palette)
            self.limit_label.setContentsMargins(8, 6, 8, 6)
        else:
            self.limit_label.hide()
        layout.addWidget(self.limit_label)

        self.details = QTreeWidget(self)
        self.details.setHeaderLabels(["Path", "Size / reason"])
        self.details.setRootIsDecorated(True)
        self.details.setUniformRowHeights(True)
        self.details.setColumnWidth(0, 360)
        self._section("Cannot be uploaded", [(p, why) for p, why in scan.problems], expanded=True, warn=True)
        self._section(
            "Over the size limit", [(p, human_bytes(size)) for p, size in scan.oversize], expanded=True, warn=True
        )
        self._section(
            "Conflicts (both versions are kept)",
            [(step.path, step.why) for step in plan.conflicts],
            expanded=True,
            warn=True,
        )
        self._section("Files to upload", [(i.path, human_bytes(i.size)) for i in plan.to_upload], expanded=True)
        self._section(
            "Changed on the server (not sent back)",
            [(step.path, step.why) for step in plan.left_for_other_direction],
        )
        ignored_bytes = human_bytes(scan.ignored_bytes) if scan.ignored_bytes else ""
        self._section("Skipped by ignore rules", [(p, "") for p in scan.ignored], note=ignored_bytes)
        if plan.unchanged:
            self._section("Unchanged (already on the server)", [(p, "") for p in plan.unchanged])
        layout.addWidget(self.details, 1)
        self.detail_pane = self._make_detail_pane()
        layout.addWidget(self.detail_pane)
        self.details.itemSelectionChanged.connect(self._show_selected_detail)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.upload_button = self.buttons.addButton(
            "Update" if updating else "Upload", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.upload_button.setDefault(True)
        self.upload_button.setEnabled(plan.limit_error is None and (sending > 0 or bool(plan.conflicts)))
        if plan.limit_error is not None:
            self.upload_button.setToolTip("Remove or ignore the files over the limit first.")
        elif not sending:
            self.upload_button.setToolTip("Nothing to upload.")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.name_field.textChanged.connect(self._on_name_changed)
        self.resize(640, 520)

    def _section(
        self, title: str, rows: list[tuple[str, str]], *, expanded: bool = False, warn: bool = False, note: str = ""
    ) -> None:
        if not rows:
            return
        top = QTreeWidgetItem([f"{title} ({len(rows):,})", note])
        font = top.font(0)
        font.setBold(True)
        top.setFont(0, font)
        if warn:
            top.setForeground(0, QColor("#b00020"))
        for path, info in rows[:LISTED_MAX]:
            item = QTreeWidgetItem(top, [path, info])
            item.setToolTip(0, path)  # the columns elide long paths and reasons
            item.setToolTip(1, info)
        if len(rows) > LISTED_MAX:
            QTreeWidgetItem(top, [f"… and {len(rows) - LISTED_MAX:,} more", ""])
        self.details.addTopLevelItem(top)
        top.setExpanded(expanded)

    def _make_detail_pane(self) -> QPlainTextEdit:
        pane = QPlainTextEdit(self)
        pane.setObjectName("previewDetail")
        pane.setReadOnly(True)
        pane.setPlaceholderText(DETAIL_HINT)
        pane.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)  # paths have no spaces
        lines = QFontMetrics(pane.font()).lineSpacing() * 3
        margins = pane.contentsMargins().top() + pane.contentsMargins().bottom()
        pane.setFixedHeight(lines + margins + 2 * int(pane.document().documentMargin()))
        return pane

    def _show_selected_detail(self) -> None:
        selected = self.details.selectedItems()
        self.detail_pane.setPlainText(detail_text(selected[0]) if selected else "")

    def _on_name_changed(self, text: str) -> None:
        if not self._plan.is_new:
            return
        name = text.strip()
        ok = bool(name)
        if ok and slugify(name) != slugify(self._plan.name):
            self._slug = new_slug(name, self._known)
        elif ok:
            self._slug = self._plan.slug
        self.slug_label.setText(self._slug if ok else "(type a name)")
        self.upload_button.setEnabled(ok and self._plan.limit_error is None and bool(self._plan.to_upload))

    def plan(self) -> PushPlan:
        """The plan with the name (and, for a new project, the slug) as edited."""
        name = self.name_field.text().strip() or self._plan.name
        if name == self._plan.name and self._slug == self._plan.slug:
            return self._plan
        return dataclasses.replace(self._plan, name=name, slug=self._slug if self._plan.is_new else self._plan.slug)


def update_heading(plan: PushPlan) -> str:
    """ "Update Demo: 3 new or changed, 1 changed on the server, 1 conflict" for a bound folder."""
    parts = [f"{len(plan.to_upload):,} new or changed"]
    if plan.left_for_other_direction:
        parts.append(f"{len(plan.left_for_other_direction):,} changed on the server")
    if plan.conflicts:
        parts.append(f"{len(plan.conflicts):,} conflict{'s' if len(plan.conflicts) != 1 else ''}")
    return f"Update {plan.name}: {', '.join(parts)}"


def detail_text(item: QTreeWidgetItem) -> str:
    """A file row's whole path and reason (or size), one per line; nothing for a section's heading."""
    if item.parent() is None:
        return ""
    return "\n".join(text for text in (item.text(0), item.text(1)) if text)
