"""Bandwidth limits: rclone's `--bwlimit UP[:DOWN]` syntax, and the token bucket that enforces a rate.

The unit is rclone's: KiB per second (1 KiB = 1,024 bytes). A bare number is KiB/s; the suffixes B, K, M,
G (either case) mean bytes, KiB, MiB and GiB per second; `off` or 0 means no limit. So `2M` is 2 MiB/s,
`512k:4M` is 512 KiB/s up and 4 MiB/s down. Profiles keep `max_upload_kbps` / `max_download_kbps` in
KiB/s (0: unlimited).

`TokenBucket` is pure (its clock is given): a caller reserves bytes before moving them and waits the
time it is told. The bucket holds at most `burst` bytes, so over any window of T seconds at most
`burst + rate × T` bytes go (plus the one reservation that ran it into debt, itself at most a chunk).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from projectdesk.core.errors import InvalidInput

KIB = 1024
_UNITS = {"": KIB, "b": 1, "k": KIB, "m": KIB**2, "g": KIB**3}
_VALUE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)(?:i?b?(?:/s)?)?\s*$", re.IGNORECASE)
BURST_SECONDS = 0.1  # the bucket holds this many seconds of the rate (at least one chunk)
MIN_CHUNK = 4 * KIB
MAX_CHUNK = 64 * KIB


@dataclass(frozen=True, slots=True)
class BandwidthLimits:
    """Bytes per second up and down; 0 means unlimited."""

    up: int = 0
    down: int = 0

    @property
    def any(self) -> bool:
        return bool(self.up or self.down)

    @classmethod
    def from_kibps(cls, up_kibps: int, down_kibps: int) -> BandwidthLimits:
        return cls(max(0, int(up_kibps)) * KIB, max(0, int(down_kibps)) * KIB)

    def kibps(self) -> tuple[int, int]:
        """(up, down) in KiB/s, as profiles keep them (rounded up: a limit never becomes 0 = none)."""
        return -(-self.up // KIB), -(-self.down // KIB)

    def text(self) -> str:
        """As `--bwlimit` takes it: `2M`, `512K:4M`, `off`."""
        if not self.any:
            return "off"
        up, down = rate_option(self.up), rate_option(self.down)
        return up if up == down else f"{up}:{down}"


def parse_rate(text: str) -> int:
    """One rate (`2M`, `512k`, `100`, `off`) in bytes per second; 0 for none."""
    value = text.strip()
    if value.lower() in ("off", "0", ""):
        return 0
    match = _VALUE.match(value)
    if match is None:
        raise InvalidInput(
            f"'{text}' is not a bandwidth: use a number of KiB/s or one with a suffix (512k, 2M, 1G), or off."
        )
    rate = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if rate >= 1 << 50:
        raise InvalidInput(f"'{text}' is not a usable bandwidth: it is far too large (use off for no limit).")
    if 0 < rate < 1:
        raise InvalidInput(f"'{text}' is below one byte per second: use off for no limit, or a larger rate.")
    return int(rate)


def parse_bwlimit(text: str) -> BandwidthLimits:
    """`UP[:DOWN]` as rclone's --bwlimit takes it: one value limits both directions; `off` none."""
    parts = text.split(":")
    if len(parts) > 2:
        raise InvalidInput(f"'{text}' is not a bandwidth limit: give UP or UP:DOWN, such as 2M or 512k:4M.")
    up = parse_rate(parts[0])
    down = parse_rate(parts[1]) if len(parts) == 2 else up
    return BandwidthLimits(up, down)


def rate_option(rate: int) -> str:
    """A rate in bytes per second as the shortest exact `--bwlimit` value (`2M`, `1536K`, `100B`, `off`)."""
    if rate <= 0:
        return "off"
    for suffix, unit in (("G", KIB**3), ("M", KIB**2), ("K", KIB)):
        if rate % unit == 0:
            return f"{rate // unit}{suffix}"
    return f"{rate}B"


def rate_label(rate: int) -> str:
    """A rate for people: `2 MiB/s`, `1.5 MiB/s`, `512 KiB/s`."""
    for suffix, unit in (("GiB/s", KIB**3), ("MiB/s", KIB**2), ("KiB/s", KIB)):
        if rate >= unit:
            value = rate / unit
            return f"{value:.0f} {suffix}" if value == int(value) or value >= 100 else f"{value:.1f} {suffix}"
    return f"{rate} B/s"


def chunk_for(rate: int) -> int:
    """How many bytes one throttled read moves at `rate`: about a twentieth of a second, 4–64 KiB."""
    return max(MIN_CHUNK, min(MAX_CHUNK, rate // 20))


class TokenBucket:
    """`rate` bytes per second with at most `burst` saved up; not thread-safe (its owner holds a lock).

    `reserve(n)` takes n tokens at once, running into debt when there are too few, and returns how many
    seconds the caller must wait before moving those bytes: the debt paid back at `rate`.
    """

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("a token bucket needs a positive rate and burst")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def reserve(self, count: int) -> float:
        now = self._clock()
        self._refill(now)
        self._tokens -= count
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def set_rate(self, rate: float, burst: float) -> None:
        """A new rate from now on (the tokens saved so far kept, up to the new burst)."""
        self._refill(self._clock())
        self.rate, self.burst = float(rate), float(burst)
        self._tokens = min(self._tokens, self.burst)


def burst_for(rate: int) -> int:
    return max(chunk_for(rate), int(rate * BURST_SECONDS))
