"""The accounts dialog's Bandwidth row: the store's upload and download limits typed as rclone's --bwlimit
takes them (`2M`, `512k:4M`; empty or `off`: none), kept in the profile as KiB/s (core/bandwidth.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLineEdit, QWidget

from projectdesk.core.bandwidth import parse_bwlimit

if TYPE_CHECKING:
    from projectdesk.config.profiles import Profile


class BandwidthField(QLineEdit):
    """`UP[:DOWN]`; `fill` shows a profile's limits, `apply` puts the typed ones into a profile (InvalidInput
    with one sentence when they cannot be read)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bandwidthLimit")
        self.setPlaceholderText("no limit (e.g. 2M for 2 MiB/s each way, or 512k:4M for up:down)")
        self.setToolTip(
            "Upload[:download] limit in KiB/s, or with a suffix: 512k, 2M, 1G (as rclone's --bwlimit). "
            "Empty or off: no limit."
        )

    def fill(self, profile: Profile | None) -> None:
        limits = profile.bandwidth if profile is not None else None
        self.setText(limits.text() if limits is not None and limits.any else "")

    def apply(self, profile: Profile) -> None:
        profile.max_upload_kbps, profile.max_download_kbps = parse_bwlimit(self.text()).kibps()
