"""Project commands: list, info, ls, cat, put, push, pull, rm, export, import."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projectdesk.cli.common import CliError, Context, date_text, print_json, table, warn
from projectdesk.cli.progress import TerminalProgress
from projectdesk.core.display import printable
from projectdesk.core.sizes import human_bytes

if TYPE_CHECKING:
    from projectdesk.services.projects import PushPlan
    from projectdesk.storage.repository import DownloadReport


def _note_offline(ctx: Context, what: str) -> None:
    if ctx.service().is_offline:
        warn(f"offline: showing {what} from the cache on this computer (the server was not reached).")


def list_projects(ctx: Context) -> int:
    projects = ctx.service().list_projects()
    _note_offline(ctx, "the projects")
    if ctx.args.json:
        print_json([p.to_json() for p in projects])
        return 0
    if not projects:
        print("No projects yet. Upload a folder with: projectdesk-cli push DIR")
        return 0
    rows = [
        [p.name, p.slug, str(p.files_count), human_bytes(p.total_bytes), date_text(p.updated_date),
         ", ".join(p.tech_stack)]
        for p in projects
    ]  # fmt: skip
    table(rows, ["NAME", "SLUG", "FILES", "SIZE", "UPDATED", "TECH STACK"])
    return 0


def info(ctx: Context) -> int:
    info = ctx.service().info(ctx.args.slug)
    if ctx.args.json:
        print_json(info.to_json())
        return 0
    for key, value in info.to_json().items():
        if key in ("created_date", "updated_date"):
            value = date_text(float(value))
        elif key == "total_bytes":
            value = human_bytes(int(value))
        elif isinstance(value, list):
            value = ", ".join(map(str, value)) or "-"
        print(f"{key:14} {printable(str(value))}")
    return 0


def ls(ctx: Context) -> int:
    entries = ctx.service().list_files(ctx.args.slug)
    _note_offline(ctx, "the files")
    if ctx.args.json:
        print_json([e.to_json() for e in entries])
        return 0
    table([[human_bytes(e.size), date_text(e.last_modified), e.path] for e in entries], ["SIZE", "MODIFIED", "PATH"])
    return 0


def cat(ctx: Context) -> int:
    data = ctx.service().read_file(ctx.args.slug, ctx.args.path)
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


def put(ctx: Context) -> int:
    source = ctx.args.file
    if source in (None, "-"):
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise CliError(f"Cannot read {source}: {exc.strerror}.") from None
    service = ctx.service()
    entry = service.write_file(ctx.args.slug, ctx.args.path, data)
    if any(item.slug == ctx.args.slug and item.path == entry.path for item in service.pending()):
        print(f"Saved {entry.path} ({human_bytes(entry.size)}) here; `projectdesk-cli sync` uploads it.")
    else:
        print(f"Saved {entry.path} ({human_bytes(entry.size)}).")
    return 0


def push(ctx: Context) -> int:
    a = ctx.args
    service = ctx.service()
    plan = service.plan_push(Path(a.dir), name=a.name, slug=a.slug)
    _print_plan(ctx, plan, delete=a.delete)
    if plan.limit_error is not None:
        raise plan.limit_error
    if a.dry_run:
        return 0
    if plan.remote_only and a.delete and not a.yes:
        raise CliError(f"--delete would remove {len(plan.remote_only)} file(s) from the server; add --yes.")
    bar = TerminalProgress("push")
    try:
        result = service.push(plan, delete=a.delete, progress=bar)
    finally:
        bar.close()
    for path, error in result.failed:
        warn(f"{path}: {error}")
    summary = f"{result.uploaded} sent, {result.unchanged} unchanged, {result.deleted} deleted"
    if a.json:
        print_json({"slug": plan.slug, "name": plan.name, "uploaded": result.uploaded,
                     "unchanged": result.unchanged, "deleted": result.deleted,
                     "failed": [p for p, _ in result.failed]})  # fmt: skip
    else:
        print(f"{summary}.")
        print(plan.slug)
    if result.failed or plan.scan.problems:
        raise CliError(f"{len(result.failed) + len(plan.scan.problems)} file(s) were not uploaded (see above).")
    return 0


def _print_plan(ctx: Context, plan: PushPlan, *, delete: bool) -> None:
    out = sys.stderr if ctx.args.json else sys.stdout
    print(plan.summary(), file=out)
    for path, problem in plan.scan.problems:
        warn(f"{path}: {problem}")
    if plan.remote_only:
        verb = "will be deleted from the server" if delete else "exist only on the server (kept; --delete removes)"
        print(f"{len(plan.remote_only)} file(s) {verb}.", file=out)


def _report_download(ctx: Context, report: DownloadReport, dest: Path) -> int:
    for path, why in report.skipped:
        warn(f"skipped unsafe name {path!r}: {why}")
    for path, error in report.failed:
        warn(f"{path}: {error}")
    print(f"{len(report.downloaded)} file(s) written to {dest}.", file=sys.stderr if ctx.args.json else sys.stdout)
    if report.failed:
        raise CliError(f"{len(report.failed)} file(s) could not be downloaded (see above).")
    return 0


def pull(ctx: Context) -> int:
    dest = Path(ctx.args.dest)
    bar = TerminalProgress("pull")
    try:
        report = ctx.service().pull(ctx.args.slug, dest, progress=bar)
    finally:
        bar.close()
    return _report_download(ctx, report, dest)


def rm(ctx: Context) -> int:
    service = ctx.service()
    if not ctx.args.yes:
        count = len(service.list_files(ctx.args.slug))
        raise CliError(f"This deletes project '{ctx.args.slug}' and its {count} file(s); add --yes to confirm.")
    deleted = service.delete_project(ctx.args.slug)
    print(f"Deleted '{ctx.args.slug}' ({deleted} file(s)).")
    return 0


def export_zip(ctx: Context) -> int:
    out = Path(ctx.args.out)
    report = ctx.service().export_zip(ctx.args.slug, out, progress=TerminalProgress("export"))
    return _report_download(ctx, report, out)


def import_zip(ctx: Context) -> int:
    plan, result = ctx.service().import_zip(Path(ctx.args.zip), name=ctx.args.name, slug=ctx.args.slug)
    print(plan.summary())
    print(plan.slug)
    if result.failed:
        raise CliError(f"{len(result.failed)} file(s) could not be uploaded.")
    return 0


def register(sub: Any) -> None:
    def command(name: str, handler: Callable[[Context], int], help_text: str, json_flag: bool = False) -> Any:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    command("list", list_projects, "list projects", json_flag=True)
    p = command("push", push, "upload a folder as a project (new, or update with --slug)", json_flag=True)
    p.add_argument("dir")
    p.add_argument("--name", help="project name (default: the folder's name)")
    p.add_argument("--slug", help="update this project instead of making a new one")
    p.add_argument("--delete", action="store_true", help="remove server files that are not in DIR")
    p.add_argument("--yes", action="store_true", help="confirm --delete")
    p.add_argument("--dry-run", action="store_true", help="show the preview only")
    p = command("pull", pull, "download a project into DEST", json_flag=True)
    p.add_argument("slug")
    p.add_argument("dest")
    p = command("ls", ls, "list a project's files", json_flag=True)
    p.add_argument("slug")
    p = command("cat", cat, "print a file")
    p.add_argument("slug")
    p.add_argument("path")
    p = command("put", put, "store a file from FILE or stdin")
    p.add_argument("slug")
    p.add_argument("path")
    p.add_argument("file", nargs="?", help="local file, or - for stdin (default)")
    p = command("rm", rm, "delete a project and all its files")
    p.add_argument("slug")
    p.add_argument("--yes", action="store_true", help="confirm")
    p = command("info", info, "show a project's details", json_flag=True)
    p.add_argument("slug")
    p = command("export", export_zip, "download a project as a zip file", json_flag=True)
    p.add_argument("slug")
    p.add_argument("out")
    p = command("import", import_zip, "upload a zip file as a project")
    p.add_argument("zip")
    p.add_argument("--name")
    p.add_argument("--slug")
