"""projectdesk-cli: the window's operations, headless. Exit 0 when all is done, 2 when done but named items
were skipped (see the warnings), 1 with a one-line message on error (cli/common.py: "Exit codes").

Each command group lives in its own module with a `register(subparsers)` function. Those modules import
the services (and the S3 stack behind them) inside the commands that use a store, so `--help`, `--version`
and the profile commands start without them.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import logging
import sys
from collections.abc import Sequence
from typing import Any

from projectdesk.cli import cache, folders, history, profiles, projects, search, share
from projectdesk.cli.bandwidth import BWLIMIT_HELP
from projectdesk.cli.common import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_OK,
    Context,
    PartlyDone,
    error_text,
    warn,
)
from projectdesk.config.paths import Paths
from projectdesk.core.display import third_party_log_levels
from projectdesk.core.errors import Cancelled, ProjectDeskError

COMMAND_GROUPS = [profiles, projects, cache, folders, search, history, share]


class _VersionAction(argparse.Action):
    """argparse's `version` action, with the version read only when `--version` is given: reading it imports
    importlib.metadata (≈35 ms), which `--help` and the commands without a store would pay for nothing."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show program's version number and exit")
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from projectdesk import __version__

        print(f"projectdesk {__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="projectdesk-cli", description="Keep software projects in S3.")
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--profile", help="profile to use (default: the default profile, else 'local')")
    parser.add_argument("--debug", action="store_true", help="log details to stderr")
    parser.add_argument("--offline", action="store_true", help="work from the offline cache only (no network)")
    parser.add_argument("--bwlimit", metavar="UP[:DOWN]", help=BWLIMIT_HELP + "; this command only, over the profile's")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def _skip_collections_at_exit() -> None:
    """Make the interpreter's shutdown skip its garbage collections (≈65 ms of a command that opened an S3 store).

    Finalization runs several full collections over whatever is still alive — ≈70,000 objects once
    botocore's S3 model is loaded — although the process is ending. Freezing the heap in an exit hook moves
    it out of their reach; reference counting still frees it module by module, and open files and the
    cache's database are closed explicitly before (Context.close). Registered once per process.
    """
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def setup_logging(debug: bool) -> dict[str, int]:
    """Our records at ERROR (everything with `debug`); the libraries' silent unless `debug` (core/display.py).

    Returns the third-party loggers' previous levels, for `main` to put back when it is called in-process.
    """
    logging.basicConfig(level=logging.DEBUG if debug else logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    previous: dict[str, int] = {}
    for name, level in third_party_log_levels(debug).items():
        logger = logging.getLogger(name)
        previous[name] = logger.level
        logger.setLevel(level)
    return previous


def main(argv: Sequence[str] | None = None, paths: Paths | None = None) -> int:
    _skip_collections_at_exit()
    args = build_parser().parse_args(argv)
    previous_levels = setup_logging(args.debug)
    ctx = Context(args, paths or Paths.default())
    try:
        ctx.bandwidth_override()  # a bad --bwlimit is said before any work
        return int(args.handler(ctx))
    except Cancelled as exc:
        print(f"projectdesk-cli: {error_text(exc)}", file=sys.stderr)
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        print("projectdesk-cli: interrupted", file=sys.stderr)
        return EXIT_CANCELLED
    except PartlyDone as exc:
        warn(exc.message)
        return exc.exit_code
    except ProjectDeskError as exc:
        print(f"projectdesk-cli: error: {error_text(exc, ctx.aws_profile_in_use, ctx.store_in_use)}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        return EXIT_OK
    finally:
        ctx.close()
        for name, level in previous_levels.items():
            logging.getLogger(name).setLevel(level)


if __name__ == "__main__":
    sys.exit(main())
