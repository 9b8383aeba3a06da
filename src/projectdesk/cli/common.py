"""What every CLI command shares: the context (arguments, paths, profiles), output helpers, errors."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import ProfileStore
from projectdesk.core.errors import ProjectDeskError

if TYPE_CHECKING:
    from projectdesk.services.offline import CachedProjectService


class CliError(ProjectDeskError):
    """A usage problem found by the CLI itself."""


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def date_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M") if epoch else "-"


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    widths = [max(len(str(v)) for v in column) for column in zip(headers, *rows, strict=False)]
    for row in [headers, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=False)).rstrip())


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


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

            profile = self.profiles.get(self.args.profile)
            self._service = open_cached_service(profile, self.paths, offline=bool(getattr(self.args, "offline", False)))
        return self._service

    def close(self) -> None:
        if self._service is not None:
            self._service.close()
            self._service = None
