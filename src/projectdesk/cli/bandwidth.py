"""Bandwidth limits on the command line: a profile's (`profiles add … --bwlimit UP[:DOWN]`, `profiles edit NAME
--bwlimit UP[:DOWN]`) and one command's (`projectdesk-cli --bwlimit UP[:DOWN] …`, which wins over the profile's).

Values as rclone's `--bwlimit` takes them (core/bandwidth.py): KiB/s, or with a suffix `512k`, `2M`, `1G`;
`off` for none; `UP:DOWN` for different limits each way.
"""

from __future__ import annotations

from typing import Any

from projectdesk.config.profiles import Profile
from projectdesk.core.bandwidth import BandwidthLimits, parse_bwlimit, rate_label

BWLIMIT_HELP = (
    "limit transfers to UP[:DOWN] KiB/s, or with a suffix: 512k, 2M, 1G (as rclone's --bwlimit); 'off' for none"
)


def add_bwlimit_option(p: Any) -> None:
    p.add_argument("--bwlimit", metavar="UP[:DOWN]", help=BWLIMIT_HELP)


def apply_bwlimit(profile: Profile, args: Any) -> None:
    """Put `--bwlimit` (when given) into the profile's max_upload_kbps / max_download_kbps."""
    text = getattr(args, "bwlimit", None)
    if text is not None:
        profile.max_upload_kbps, profile.max_download_kbps = parse_bwlimit(text).kibps()


def describe_limits(limits: BandwidthLimits) -> str:
    if not limits.any:
        return "no bandwidth limit"
    up = f"uploads limited to {rate_label(limits.up)}" if limits.up else "uploads unlimited"
    down = f"downloads limited to {rate_label(limits.down)}" if limits.down else "downloads unlimited"
    return f"{up}, {down}"
