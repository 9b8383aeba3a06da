"""What every CLI command shares: the context (arguments, paths, profiles), output helpers, errors.

Names from a bucket, a manifest or a folder are hostile input: text output goes through `printable`
(`table`, `warn`, `error_text`), and `--json` output is always valid JSON.

Exit codes, the same for every command: EXIT_OK (0) all done; EXIT_PARTLY_DONE (2) done, but named
items were skipped (unsafe keys, unreadable files, FIFOs…), said in warnings and a `PartlyDone` last line;
EXIT_FAILED (1) failed, with one sentence on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import KIND_S3, Profile, ProfileStore
from projectdesk.core.bandwidth import BandwidthLimits, parse_bwlimit
from projectdesk.core.display import printable
from projectdesk.core.errors import ProjectDeskError

if TYPE_CHECKING:
    from projectdesk.services.offline import CachedProjectService

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PARTLY_DONE = 2
EXIT_CANCELLED = 130


class CliError(ProjectDeskError):
    """A usage problem found by the CLI itself."""

    exit_code = EXIT_FAILED


class PartlyDone(CliError):
    """The command did its work but skipped the items named in the warnings before (exit 2)."""

    exit_code = EXIT_PARTLY_DONE


# Left raw by json.dumps(ensure_ascii=False), and only ever inside strings: DEL and C1 (0x9b is a CSI to some
# terminals), the line separators JavaScript chokes on, and lone surrogates (which no encoder takes).
_JSON_ESCAPED = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _finite(value: Any) -> Any:
    """`value` with every NaN and ±infinity (which JSON cannot hold) replaced by None, at any depth."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def print_json(data: Any, *, one_line: bool = False) -> None:
    """`data` as valid JSON, the same data once parsed: non-finite floats become null; DEL, C1 controls,
    line separators and lone surrogates (a name that was not UTF-8) are \\u-escaped as JSON allows, and
    everything else too when stdout's encoding cannot hold it. `one_line`: one object per line (a stream of
    events or matches, as JSON Lines)."""
    clean = _finite(data)
    indent = None if one_line else 2
    text = _JSON_ESCAPED.sub(_json_escape, json.dumps(clean, indent=indent, ensure_ascii=False, allow_nan=False))
    try:
        text.encode(getattr(sys.stdout, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(clean, indent=indent, ensure_ascii=True, allow_nan=False)
    sys.stdout.write(text + "\n")


def date_text(epoch: float) -> str:
    """A local date and time, or "-" for none (0) and for what is no date (NaN, infinite, out of range)."""
    if not epoch or not math.isfinite(epoch):
        return "-"
    if epoch > 0:  # time.localtime is ≈4× faster than datetime (10,000 rows of `list`); the same minute
        part, whole = math.modf(epoch)
        if round(part * 1e6) >= 1_000_000:  # datetime rounds to the microsecond (half even) before it splits
            whole += 1
        try:
            t = time.localtime(whole)
        except (OverflowError, OSError, ValueError):
            return "-"
        if t.tm_year <= 9999:
            return "%04d-%02d-%02d %02d:%02d" % t[:5]  # noqa: UP031  # faster than f-strings of t.tm_*
        return "-"
    try:
        return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return "-"


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    shown = [[str(v) for v in row] for row in [headers, *rows]]
    text = "".join("".join(row) for row in shown)
    if printable(text) != text:  # one pass over all of it: escaping cell by cell is for tables that need it
        shown = [[printable(v) for v in row] for row in shown]
    widths = [max(map(len, column)) for column in zip(*shown, strict=False)]
    if all(len(row) == len(widths) for row in shown):  # one format call a row (10,000 rows of `list`)
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        lines = [line.format(*row).rstrip() for row in shown]
    else:
        lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip() for row in shown]
    sys.stdout.write("\n".join(lines) + "\n")


def warn(message: str) -> None:
    print(f"warning: {printable(message)}", file=sys.stderr)


def aws_profile_of(profile: Profile) -> str:
    """The ~/.aws profile boto3 signs in with for `profile` ("" when none: keyring keys, the local store)."""
    if profile.kind != KIND_S3:
        return ""
    if profile.credential_source == "aws-profile":
        return profile.aws_profile
    if profile.credential_source == "env":  # boto3's default chain picks the profile as the aws CLI does
        return os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or "default"
    return ""


def error_text(
    exc: ProjectDeskError, aws_profile: Callable[[], str] | None = None, store: Callable[[], str] | None = None
) -> str:
    """The one line to print for `exc`, escaped; an SSO sign-in failure names the ~/.aws profile
    (`aws_profile()`, asked only then: botocore's exceptions do not say it) and the store's
    `profiles login` command (`store()`: the ProjectDesk profile)."""
    if aws_profile is not None and "projectdesk.storage.errors" in sys.modules:  # loaded once botocore was met
        from projectdesk.storage.errors import SsoSignInMissing

        if isinstance(exc, SsoSignInMissing):
            exc = exc.for_profile(aws_profile(), store() if store is not None else "")
    return printable(exc.message)


class Context:
    """One CLI invocation: parsed arguments, the folders in use and the profile store."""

    def __init__(self, args: argparse.Namespace, paths: Paths) -> None:
        self.args = args
        self.paths = paths
        self.profiles = ProfileStore(paths)
        self._service: CachedProjectService | None = None

    def service(self) -> CachedProjectService:
        """The profile's service, through the offline cache (`--offline`: the cache only)."""
        if self._service is None:
            # Imported here: the services (and the S3 stack behind them) are for the commands that use a
            # store, not for `--help`, `profiles list` and the like.
            from projectdesk.services.offline import open_cached_service
            from projectdesk.storage.throttle import BANDWIDTH

            profile = self.profiles.get(self.args.profile)
            BANDWIDTH.set_limits(self.bandwidth_override() or profile.bandwidth)
            self._service = open_cached_service(profile, self.paths, offline=bool(getattr(self.args, "offline", False)))
        return self._service

    def bandwidth_override(self) -> BandwidthLimits | None:
        """The limits `--bwlimit` gives this command (None: the profile's apply); InvalidInput when unreadable."""
        text = getattr(self.args, "bwlimit", None)
        return None if text is None else parse_bwlimit(text)

    def aws_profile_in_use(self) -> str:
        """The ~/.aws profile boto3 signs in with for the chosen profile ("" when none: keys, local)."""
        try:
            return aws_profile_of(self.profiles.get(self.args.profile))
        except ProjectDeskError:
            return ""

    def store_in_use(self) -> str:
        """The chosen ProjectDesk profile's name ("" when it does not exist)."""
        try:
            return self.profiles.get(self.args.profile).name
        except ProjectDeskError:
            return ""

    def close(self) -> None:
        if self._service is not None:
            self._service.close()
            self._service = None
