"""File history commands (S3 versioning): history, restore; and the history parts of other commands —
`cat --version`, `ls --deleted`, `pull --as-of`, `export --as-of` (cli/projects.py hands them here) and
`profiles versioning` (registered by cli/profiles.py).

Every one of them, on a bucket without versioning, fails with one sentence saying how to turn it on.
The services are imported inside the commands, as in the other command modules.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projectdesk.cli.common import CliError, Context, PartlyDone, print_json, table, warn
from projectdesk.cli.progress import TerminalProgress
from projectdesk.core.display import printable
from projectdesk.core.sizes import human_bytes

if TYPE_CHECKING:
    from projectdesk.services.history import RestorePlan
    from projectdesk.storage.repository import DownloadReport

PREVIEW_LINES = 50  # paths shown per kind of change in a restore's preview
COST_NOTE = (
    "old versions are kept, stored and billed until a lifecycle rule removes them "
    "(e.g. one that expires noncurrent versions after 90 days)"
)


def moment_text(epoch: float) -> str:
    """A moment in local time with its offset, to the second (milliseconds when it has them): what
    `--as-of` takes back exactly."""
    moment = datetime.fromtimestamp(epoch).astimezone()
    return moment.isoformat(timespec="seconds" if epoch == int(epoch) else "milliseconds")


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def _moment(text: str) -> float:
    from projectdesk.services.history import parse_moment

    return parse_moment(text)


# ---- history SLUG [PATH] ------------------------------------------------------------------------------


def history(ctx: Context) -> int:
    """A file's versions newest first; without PATH, the project's pushes and saves (its moments)."""
    from projectdesk.services import history as service_history

    service = ctx.service()
    a = ctx.args
    if a.path is None:
        moments = service_history.moments(service, a.slug)
        if a.json:
            print_json([m.to_json() for m in moments])
            return 0
        rows = [[_when(m.at), m.version_id, "latest" if m.is_latest else ""] for m in moments]
        table(rows, ["PUSHED OR SAVED", "MANIFEST VERSION", ""])
        return 0
    versions = service_history.file_history(service, a.slug, a.path)
    writers = service_history.version_writers(service, a.slug, a.path, versions) if a.writers else {}
    if a.json:
        print_json([{**v.to_json(), **({"writer": writers.get(v.version_id)} if a.writers else {})} for v in versions])
        return 0
    rows = []
    for v in versions:
        row = [v.version_id, _when(v.last_modified), "deleted" if v.is_delete_marker else human_bytes(v.size),
               "latest" if v.is_latest else ""]  # fmt: skip
        if a.writers:
            row.append("" if v.is_delete_marker else (writers.get(v.version_id) or "another tool"))
        rows.append(row)
    table(rows, ["VERSION", "DATE", "SIZE", "", *(["WRITTEN BY"] if a.writers else [])])
    return 0


# ---- restore ------------------------------------------------------------------------------------------


def restore(ctx: Context) -> int:
    a = ctx.args
    if a.as_of is not None:
        if a.path is not None or a.version is not None:
            raise CliError("--as-of restores the whole project: give no PATH and no --version.")
        return _restore_project(ctx)
    if a.path is None:
        raise CliError("Name the file to restore (SLUG PATH), or restore the whole project with --as-of.")
    from projectdesk.services import history as service_history

    entry = service_history.restore_file(ctx.service(), a.slug, a.path, a.version)
    if a.json:
        print_json(entry.to_json())
        return 0
    what = f"version {a.version}" if a.version else "its last version"
    print(f"Restored {printable(a.path)} to {printable(what)} ({human_bytes(entry.size)}); the version it replaced "
          "is kept: see 'history'.")  # fmt: skip
    return 0


def _print_restore_plan(plan: RestorePlan, out: Any) -> None:
    print(f"Restore '{printable(plan.slug)}' as of {moment_text(plan.at)}: {plan.summary()}.", file=out)
    for word, steps in (("restore", plan.changed), ("undelete", plan.deleted), ("delete", plan.added)):
        for step in steps[:PREVIEW_LINES]:
            print(f"  {word:9s} {printable(step.path)}", file=out)
        if len(steps) > PREVIEW_LINES:
            print(f"  … and {len(steps) - PREVIEW_LINES} more to {word} (--dry-run --json lists every one)", file=out)
    for path, why in plan.skipped:
        warn(f"skipped {printable(repr(path))}: {why}")


def _restore_project(ctx: Context) -> int:
    from projectdesk.services import history as service_history

    a = ctx.args
    service = ctx.service()
    plan = service_history.plan_restore(service, a.slug, _moment(a.as_of))
    out = sys.stderr if a.json else sys.stdout
    _print_restore_plan(plan, out)
    if a.dry_run:
        if a.json:
            print_json(plan.to_json())
        return 0
    if plan.is_empty:
        print("Nothing to restore: the project is as it was then.", file=out)
        if a.json:
            print_json(plan.to_json())
        return 0
    if not a.yes:
        raise CliError(f"This changes {len(plan.steps)} file(s) of '{a.slug}' (nothing is lost: each change is a new "
                       "version); add --yes to restore.")  # fmt: skip
    bar = TerminalProgress("restore")
    try:
        report = service_history.run_restore(service, plan, progress=bar)
    finally:
        bar.close()
    for path, message in report.conflicts:
        warn(f"{printable(path)}: {message}")
    for path, error in report.failed:
        warn(f"{printable(path)}: {error}")
    if a.json:
        print_json(report.to_json())
    else:
        print(f"{report.summary()}.")
        print(f'To undo: projectdesk-cli restore {a.slug} --as-of "{moment_text(report.undo_at)}" --yes')
    if report.failed:
        raise CliError(f"{len(report.failed)} file(s) could not be restored (see above).")
    if report.conflicts or plan.skipped:
        count = len(report.conflicts) + len(plan.skipped)
        raise PartlyDone(f"{count} file(s) were left as they are (see above); everything else is restored.")
    return 0


# ---- the history parts of other commands ---------------------------------------------------------------


def cat_version(ctx: Context) -> int:
    from projectdesk.services import history as service_history

    data = service_history.read_version(ctx.service(), ctx.args.slug, ctx.args.path, ctx.args.version)
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


def ls_deleted(ctx: Context) -> int:
    from projectdesk.services import history as service_history

    found = service_history.deleted_files(ctx.service(), ctx.args.slug)
    if ctx.args.json:
        print_json([d.to_json() for d in found])
        return 0
    if not found:
        print("No deleted files.")
        return 0
    rows = [[_when(d.deleted_at), human_bytes(d.last.size) if d.last else "-", d.path] for d in found]
    table(rows, ["DELETED", "SIZE", "PATH"])
    print(f"'projectdesk-cli restore {ctx.args.slug} PATH' brings one back.")
    return 0


Reporter = Callable[[Context, "DownloadReport", Path], int]


def pull_as_of(ctx: Context, report_download: Reporter) -> int:
    from projectdesk.services import history as service_history

    dest = Path(ctx.args.dest)
    at = _moment(ctx.args.as_of)
    report = service_history.pull_as_of(ctx.service(), ctx.args.slug, at, dest, progress=TerminalProgress("pull"))
    print(f"'{printable(ctx.args.slug)}' as of {moment_text(at)}; {printable(str(dest))} is not a working folder "
          "(push it with --slug to make it one).", file=sys.stderr if ctx.args.json else sys.stdout)  # fmt: skip
    return report_download(ctx, report, dest)


def export_as_of(ctx: Context, report_download: Reporter) -> int:
    from projectdesk.services import history as service_history

    out = Path(ctx.args.out)
    at = _moment(ctx.args.as_of)
    report = service_history.export_as_of(ctx.service(), ctx.args.slug, at, out, progress=TerminalProgress("export"))
    return report_download(ctx, report, out)


# ---- profiles versioning NAME [--enable] ----------------------------------------------------------------


def profiles_versioning(ctx: Context) -> int:
    from projectdesk.services import history as service_history

    profile = ctx.profiles.get(ctx.args.name)
    ctx.args.profile = profile.name  # the service of that profile
    service = ctx.service()
    status = service_history.versioning_status(service)
    if status == "unsupported":
        raise service.repo.history_unavailable(status, profile.name)
    enabled_now = False
    if ctx.args.enable and status != "Enabled":
        service_history.enable_versioning(service)
        status, enabled_now = service_history.versioning_status(service), True
    if ctx.args.json:
        print_json({"profile": profile.name, "bucket": profile.bucket, "versioning": status or "off"})
        return 0
    bucket = printable(profile.bucket)
    if enabled_now:
        print(f"Versioning is on for bucket '{bucket}': every version of every file is kept from now on; {COST_NOTE}.")
    elif status == "Enabled":
        print(f"Bucket '{bucket}' keeps every version of every file (versioning is on): history and restore work; "
              f"{COST_NOTE}.")  # fmt: skip
    else:
        state = "suspended" if status == "Suspended" else "off"
        print(f"Bucket '{bucket}' keeps no new versions (versioning is {state}). 'projectdesk-cli profiles "
              f"versioning {profile.name} --enable' turns it on: then {COST_NOTE}.")  # fmt: skip
    return 0


def add_versioning_command(psub: Any) -> None:
    """`profiles versioning NAME [--enable]` (called by cli/profiles.py's register)."""
    p = psub.add_parser("versioning", help="say whether a profile's bucket keeps old versions; --enable turns it on")
    p.add_argument("name")
    p.add_argument(
        "--enable",
        action="store_true",
        help="keep every version from now on (billed until a lifecycle rule removes them)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=profiles_versioning)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "history",
        help="a file's versions, newest first (without PATH: the project's pushes)",
        description="A file's versions, newest first; without PATH, the project's pushes and saves.",
    )
    p.add_argument("slug")
    p.add_argument("path", nargs="?")
    p.add_argument("--writers", action="store_true", help="also say who wrote each version (one request each)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=history)

    p = sub.add_parser(
        "restore",
        help="restore a file's version (no --version: undelete), or the whole project --as-of a moment",
        description="Restore a file to one of its versions (without --version: its last version, undeleting it), "
        "or the whole project as it was at a moment (--as-of '2026-12-01 14:00', local time, or ISO 8601 with an "
        "offset). Nothing is lost: each change is a new version, so a restore can itself be undone.",
    )
    p.add_argument("slug")
    p.add_argument("path", nargs="?")
    p.add_argument("--version", help="the version ID to restore (see 'history SLUG PATH')")
    p.add_argument("--as-of", metavar="MOMENT", help="restore the whole project as it was then")
    p.add_argument("--dry-run", action="store_true", help="with --as-of: show the preview only")
    p.add_argument("--yes", action="store_true", help="with --as-of: confirm")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=restore)
