"""Offline cache commands: status (queued changes, conflicts), sync, cache (sizes, clearing), keep-offline."""

from __future__ import annotations

from typing import Any

from projectdesk.cli.common import EXIT_OK, CliError, Context, PartlyDone, date_text, print_json, table, warn
from projectdesk.core.display import printable
from projectdesk.core.sizes import human_bytes


def status(ctx: Context) -> int:
    """What waits to be sent and which conflicts need a look — from the cache, without the network."""
    service = ctx.service()
    pending, conflicts = service.pending(), service.conflicts()
    if ctx.args.json:
        print_json({"pending": [item.to_json() for item in pending], "conflicts": [c.to_json() for c in conflicts]})
        return EXIT_OK
    if not pending and not conflicts:
        print("Nothing waiting to be sent, no conflicts.")
        return EXIT_OK
    if pending:
        print(f"{len(pending)} change(s) waiting to be sent (projectdesk-cli sync):")
        rows = [
            [item.op, f"{item.slug}/{item.path}", date_text(item.created),
             f"{item.attempts} failed: {item.last_error}" if item.last_error else ""]
            for item in pending
        ]  # fmt: skip
        table(rows, ["OP", "FILE", "QUEUED", "LAST ERROR"])
    if conflicts:
        if pending:
            print()
        print(f"{len(conflicts)} conflict(s), both versions kept:")
        for record in conflicts:
            print(f"  [{record.id}] {printable(record.message)}")
    return EXIT_OK


def sync(ctx: Context) -> int:
    """Send the queued changes in order, then refresh the keep-offline projects. With FOLDER: sync that
    working folder both ways (three-way: nothing changed on either side is overwritten)."""
    if ctx.args.offline:
        raise CliError("sync needs the server: run it without --offline.")
    if ctx.args.folder is not None:
        if ctx.args.watch:
            from projectdesk.cli.folders import watch

            return watch(ctx)
        from projectdesk.cli.projects import sync_folder

        return sync_folder(ctx)
    if ctx.args.watch:
        raise CliError("--watch needs a FOLDER.")
    report = ctx.service().sync()
    if ctx.args.json:
        print_json(report.to_json())
    else:
        print(f"Sync: {report.summary()}.")
    for record in report.conflicts:
        warn(f"conflict: {record.message}")
    for where, error in report.failed:
        warn(f"{where}: {error}")
    if report.offline and report.remaining:
        raise CliError(f"The server cannot be reached; {report.remaining} change(s) stay queued.")
    if report.conflicts or report.failed:
        problems = [f"{len(report.conflicts)} conflict(s) (both versions kept)"] if report.conflicts else []
        problems += [f"{len(report.failed)} failed"] if report.failed else []
        raise CliError(f"Sync finished with {' and '.join(problems)}; see above.")
    return EXIT_OK


def cache(ctx: Context) -> int:
    service = ctx.service()
    if ctx.args.clear:
        removed, kept = service.clear_cache(ctx.args.clear)
        kept_text = f"; {kept} kept (unsent edits or conflicted copies)" if kept else ""
        print(f"Removed {removed} cached file(s) of '{printable(ctx.args.clear)}'{kept_text}.")
        return EXIT_OK
    usage = service.cache_usage()
    total = sum(u.bytes for u in usage)
    if ctx.args.json:
        print_json(
            {"projects": [u.to_json() for u in usage], "total_bytes": total, "max_bytes": service.cache_max_bytes}
        )
        return EXIT_OK
    rows = [
        [u.slug, u.name, str(u.files), human_bytes(u.bytes), str(u.pending) if u.pending else "-",
         "yes" if u.keep_offline else "-"]
        for u in usage
    ]  # fmt: skip
    if rows:
        table(rows, ["SLUG", "NAME", "FILES", "SIZE", "PENDING", "KEEP OFFLINE"])
    root = printable(str(service.cache.blobs.root))
    print(f"Cache: {human_bytes(total)} of {human_bytes(service.cache_max_bytes)} in {root}")
    return EXIT_OK


def keep_offline(ctx: Context) -> int:
    keep = not ctx.args.off
    slug = printable(ctx.args.slug)
    report = ctx.service().set_keep_offline(ctx.args.slug, keep)
    if not keep:
        print(f"'{slug}' is no longer kept offline (its copies may be evicted).")
        return EXIT_OK
    fetched = f"; {len(report.downloaded)} file(s) downloaded" if report is not None else " (offline: later)"
    print(f"'{slug}' is kept offline{fetched}.")
    if report is None:
        return EXIT_OK
    for path, why in report.skipped:
        warn(f"skipped unsafe name '{path}': {why}")
    for path, error in report.failed:
        warn(f"{path}: {error}")
    if report.failed:
        raise CliError(f"{len(report.failed)} file(s) could not be downloaded.")
    if report.skipped:
        raise PartlyDone(f"{len(report.skipped)} file(s) were skipped (see above); the rest is kept offline.")
    return EXIT_OK


def register(sub: Any) -> None:
    p = sub.add_parser("status", help="show changes waiting to be sent and conflicts", description=status.__doc__)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=status)
    p = sub.add_parser("sync", help="send queued changes now; with FOLDER, sync that working folder",
                       description=sync.__doc__)  # fmt: skip
    p.add_argument("folder", nargs="?", help="a working folder (bound by an earlier push or pull)")
    p.add_argument("--follow-links", action="store_true", help="with FOLDER: as push --follow-links")
    p.add_argument("--slug", help="with FOLDER: the project (when the folder is bound to several)")
    p.add_argument(
        "--watch",
        action="store_true",
        help="with FOLDER: keep it in two-way sync until Ctrl+C (local saves and server changes)",
    )
    p.add_argument(
        "--interval",
        default="2",
        metavar="SECONDS",
        help="with --watch: how often the server is checked after a change (backs off while idle)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output (with --watch: one object per line)")
    p.set_defaults(handler=sync)
    p = sub.add_parser("cache", help="show the offline cache's size per project, or clear one")
    p.add_argument("--clear", metavar="SLUG", help="remove the project's cached copies (unsent edits stay)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cache)
    p = sub.add_parser("keep-offline", help="keep a whole project in the cache (and fresh)")
    p.add_argument("slug")
    p.add_argument("--off", action="store_true", help="stop keeping it offline")
    p.set_defaults(handler=keep_offline)
