"""projectdesk-cli: the window's operations, headless. Exit 0 on success, 1 with a one-line message on error.

Each command group lives in its own module with a `register(subparsers)` function.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from projectdesk import __version__
from projectdesk.cli import cache, profiles, projects
from projectdesk.cli.common import Context
from projectdesk.config.paths import Paths
from projectdesk.core.errors import Cancelled, ProjectDeskError

COMMAND_GROUPS = [profiles, projects, cache]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="projectdesk-cli", description="Keep software projects in S3.")
    parser.add_argument("--version", action="version", version=f"projectdesk {__version__}")
    parser.add_argument("--profile", help="profile to use (default: the default profile, else 'local')")
    parser.add_argument("--debug", action="store_true", help="log details to stderr")
    parser.add_argument("--offline", action="store_true", help="work from the offline cache only (no network)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, paths: Paths | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.ERROR, format="%(levelname)s %(name)s: %(message)s"
    )
    # botocore's debug logs include request headers: keep them out even with --debug.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    ctx = Context(args, paths or Paths.default())
    try:
        return int(args.handler(ctx))
    except Cancelled as exc:
        print(f"projectdesk-cli: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("projectdesk-cli: interrupted", file=sys.stderr)
        return 130
    except ProjectDeskError as exc:
        print(f"projectdesk-cli: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
