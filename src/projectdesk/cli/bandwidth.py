"""Bandwidth limits on the command line: a profile's (`profiles add … --bwlimit UP[:DOWN]`, `profiles edit NAME
--bwlimit UP[:DOWN]`) and one command's (`projectdesk-cli --bwlimit UP[:DOWN] …`, which wins over the profile's).

Values as rclone's `--bwlimit` takes them (core/bandwidth.py): KiB/s, or with a suffix `512k`, `2M`, `1G`;
`off` for none; `UP:DOWN` for different limits each way.
"""

from __future__ import annotations

from typing import Any

from projectdesk.cli.common import EXIT_OK, CliError, Context
from projectdesk.config.profiles import KIND_S3, Profile
from projectdesk.core.bandwidth import BandwidthLimits, parse_bwlimit, rate_label

BWLIMIT_HELP = (
    "limit transfers to UP[:DOWN] KiB/s, or with a suffix: 512k, 2M, 1G (as rclone's --bwlimit); 'off' for none"
)
_PROXY_OPTIONS = ("proxy", "proxy_user", "proxy_password_stdin", "no_proxy")


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


def profiles_edit_bandwidth(ctx: Context) -> int:
    args = ctx.args
    if args.bwlimit is None:
        if any(getattr(args, name, None) not in (None, False) for name in _PROXY_OPTIONS):
            return EXIT_OK  # a proxy change only: done by the proxy's own handler
        raise CliError("Say what to change, e.g. --bwlimit 2M (see 'profiles edit --help').")
    profile = ctx.profiles.get(args.name)
    if profile.kind != KIND_S3:
        raise CliError(f"'{profile.name}' is not an S3 profile: its transfers are local copies, never limited.")
    apply_bwlimit(profile, args)
    ctx.profiles.add(profile, replace=True)
    print(f"Profile '{profile.name}' saved: {describe_limits(profile.bandwidth)}.")
    return EXIT_OK


def add_edit_command(psub: Any) -> None:
    """`profiles edit NAME --bwlimit UP[:DOWN]` (other modules may add their own options to it after)."""
    existing = psub.choices.get("edit")
    if existing is None:
        p = psub.add_parser("edit", help="change a profile's settings", description="Change an S3 profile.")
        p.add_argument("name")
        add_bwlimit_option(p)
        p.set_defaults(handler=profiles_edit_bandwidth)
        return
    add_bwlimit_option(existing)
    other = existing.get_default("handler")

    def both(ctx: Context) -> int:
        if ctx.args.bwlimit is not None:
            profiles_edit_bandwidth(ctx)
        return int(other(ctx))

    existing.set_defaults(handler=both)
