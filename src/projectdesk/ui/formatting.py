"""Texts for people: relative dates, durations and transfer rates (pure functions, no Qt)."""

from __future__ import annotations

import time
from datetime import datetime

from projectdesk.core.sizes import human_bytes

__all__ = ["duration_text", "human_bytes", "long_date", "rate_text", "relative_time", "short_date"]


def relative_time(epoch: float, now: float | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', 'yesterday', '4 days ago', then the date."""
    if not epoch:
        return "–"
    now = time.time() if now is None else now
    delta = now - epoch
    if delta < 0:
        return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")
    if delta < 60:
        return "just now"
    if delta < 3600:
        return f"{int(delta // 60)} min ago"
    if delta < 86400:
        return f"{int(delta // 3600)} h ago"
    days = int(delta // 86400)
    if days == 1:
        return "yesterday"
    if days < 7:
        return f"{days} days ago"
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d")


def long_date(epoch: float) -> str:
    """The local date and time to the second: '2026-12-06 14:02:13'."""
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def short_date(epoch: float, now: float | None = None) -> str:
    """The local time today ('14:02'), else the date ('2026-12-01')."""
    moment = datetime.fromtimestamp(epoch)
    today = datetime.fromtimestamp(time.time() if now is None else now).date()
    return moment.strftime("%H:%M") if moment.date() == today else moment.strftime("%Y-%m-%d")


def duration_text(seconds: float) -> str:
    """3 -> '3 s', 80 -> '1 min 20 s', 4000 -> '1 h 6 min'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def rate_text(bytes_per_second: float) -> str:
    return f"{human_bytes(bytes_per_second)}/s"
