"""Bandwidth in the window: the open store's limits applied to the process (storage/throttle.py), said on the
transfers panel's rows ("limited to 2 MiB/s"), and Pause All Transfers / Resume Transfers.

Pausing blocks the transfers' readers and writers between chunks (a CRT transfer between files); it takes
no time on the GUI thread. Rows stay running ("Paused — …"); Cancel still works while paused.
"""

from __future__ import annotations

from PySide6.QtWidgets import QStyle

from projectdesk.core.bandwidth import BandwidthLimits
from projectdesk.storage.throttle import BANDWIDTH, Bandwidth
from projectdesk.ui.commands.base import CommandContext, CommandGroup
from projectdesk.ui.transfers import TransfersPanel

PAUSE_TEXT, RESUME_TEXT = "&Pause All Transfers", "&Resume Transfers"


class TransferCommands(CommandGroup):
    """Pause / Resume for every transfer, and the open profile's bandwidth limits."""

    def __init__(self, context: CommandContext, bandwidth: Bandwidth = BANDWIDTH) -> None:
        super().__init__(context)
        self.bandwidth = bandwidth
        self.pause_action = self.toggle(PAUSE_TEXT, self.set_paused, tip="Stop every upload and download until resumed")
        self.pause_action.setShortcut("Ctrl+Alt+P")
        self.pause_action.setIcon(context.parent.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))
        self.pause_action.setIconText("Pause All")
        panel = context.transfers_dock.widget()
        if isinstance(panel, TransfersPanel):
            panel.set_pause_action(self.pause_action)
        context.session.serviceOpened.connect(self.apply_profile)
        self._show()

    def apply_profile(self) -> None:
        """The open store's limits, for every transfer of the process from now on."""
        profile = self.session.profile
        self.set_limits(profile.bandwidth if profile is not None else BandwidthLimits())

    def set_limits(self, limits: BandwidthLimits) -> None:
        self.bandwidth.set_limits(limits)
        self._show()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self.bandwidth.pause()
            self.feedback.notify("Transfers paused: Resume Transfers continues them.")
        else:
            self.bandwidth.resume()
            self.feedback.notify("Transfers resumed.")
        self._show()

    def _show(self) -> None:
        paused = self.bandwidth.paused
        self.set_checked(self.pause_action, paused)
        self.pause_action.setText(RESUME_TEXT if paused else PAUSE_TEXT)
        self.pause_action.setIconText("Resume" if paused else "Pause All")
        style = self.context.parent.style()
        icon = QStyle.StandardPixmap.SP_MediaPlay if paused else QStyle.StandardPixmap.SP_MediaPause
        self.pause_action.setIcon(style.standardIcon(icon))
        self.context.transfer_model.set_bandwidth(self.bandwidth.limits, paused)
