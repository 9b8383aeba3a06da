"""ProjectDesk as the benchmark runs it, one whole process per command.

    python -m benchmarks.pd_run cli push DIR --slug S --name N   # exactly `projectdesk-cli push …`
    python -m benchmarks.pd_run service push DIR --slug S         # ProjectService, without the offline cache
    python -m benchmarks.pd_run service pull SLUG DEST

`cli` is the real command (through the offline cache since the CLI uses it); `service` is the same
push and pull code the window and the CLI call underneath (services.projects + storage), so the
table can show what the cache layer adds.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402  (the clock starts before any import)
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402


def service_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="pd_run service")
    sub = parser.add_subparsers(dest="command", required=True)
    push = sub.add_parser("push")
    push.add_argument("dir")
    push.add_argument("--slug")
    push.add_argument("--name")
    pull = sub.add_parser("pull")
    pull.add_argument("slug")
    pull.add_argument("dest")
    sync = sub.add_parser("sync")
    sync.add_argument("dir")
    sync.add_argument("--slug")
    args = parser.parse_args(argv)

    from projectdesk.config.paths import Paths
    from projectdesk.config.profiles import ProfileStore
    from projectdesk.services.connect import open_service

    paths = Paths.default()
    service = open_service(ProfileStore(paths).get(None), paths)
    ready = time.perf_counter()
    if args.command == "push":
        plan = service.plan_push(Path(args.dir), name=args.name, slug=args.slug)
        result = service.push(plan)
        print(f"{result.summary()}.")
        print(plan.slug)
        for path, error in result.failed:
            print(f"failed: {path}: {error}", file=sys.stderr)
        failed = bool(result.failed or result.conflicts)
    elif args.command == "sync":
        report = service.sync_folder(Path(args.dir), slug=args.slug)
        print(f"{report.summary()}.")
        failed = bool(report.failed or report.conflicts)
    else:
        report = service.pull(args.slug, Path(args.dest))
        print(f"{len(report.downloaded)} file(s) written to {args.dest}.")
        for path, error in report.failed:
            print(f"failed: {path}: {error}", file=sys.stderr)
        failed = bool(report.failed)
    # Imports and client set-up vs the work itself, for the benchmark's "in-process" column.
    print(f"pd_run timing: ready {ready - STARTED:.3f} work {time.perf_counter() - ready:.3f}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    mode, rest = argv[0], argv[1:]
    if mode == "cli":
        from projectdesk.cli import main as cli_main

        return int(cli_main(rest))
    if mode == "service":
        return service_main(rest)
    print(f"unknown mode {mode!r}: cli or service", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
