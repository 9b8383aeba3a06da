"""Byte counts for people."""

from __future__ import annotations


def human_bytes(count: float) -> str:
    """1536 -> '1.5 KB' (decimal units, as file managers show them)."""
    units = ["B", "KB", "MB", "GB", "TB"]
    value = float(count)
    for unit in units:
        if abs(value) < 1000 or unit == units[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
