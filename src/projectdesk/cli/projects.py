"""Project commands: list, info, ls, cat, put, push, pull, rm, export, import."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projectdesk.cli.common import CliError, Context, PartlyDone, date_text, print_json, table, warn
from projectdesk.cli.progress import TerminalProgress
from projectdesk.core.display import printable
from projectdesk.core.sizes import human_bytes
from projectdesk.core.threeway import Direction

if TYPE_CHECKING:
    from projectdesk.core.models import ProjectInfo
    from projectdesk.services.folder_sync import FolderPlan
    from projectdesk.storage.repository import DownloadReport


def _note_offline(ctx: Context, what: str) -> None:
    if ctx.service().is_offline:
        warn(f"offline: showing {what} from the cache on this computer (the server was not reached).")


def _botocore_without_crt() -> None:
    """Load botocore without the AWS CRT (≈50 ms of a listing, which never uses it): botocore.compat imports
    `awscrt.auth` only to know whether it may. Nothing else changes: transfers import awscrt themselves."""
    if "botocore" in sys.modules or "awscrt" in sys.modules:
        return
    sys.modules["awscrt"] = None  # type: ignore[assignment]  # makes `import awscrt…` fail: HAS_CRT is False
    try:
        import botocore.compat  # noqa: F401
    finally:
        del sys.modules["awscrt"]


def _project_row(p: ProjectInfo) -> list[str]:
    return [p.name, p.slug, str(p.files_count), human_bytes(p.total_bytes), date_text(p.updated_date),
            ", ".join(p.tech_stack)]  # fmt: skip


def list_projects(ctx: Context) -> int:
    _botocore_without_crt()
    ctx.service()
    # The ≈70,000 objects of botocore's model and the open store stay alive to the end: frozen out of the cycle
    # collector's passes, its full collections while 10,000 projects' entries and rows are made no longer walk
    # them again (what the listing makes is still collected as usual).
    gc.freeze()
    try:
        return _list_projects(ctx)
    finally:
        gc.unfreeze()


def _list_projects(ctx: Context) -> int:
    as_json = bool(ctx.args.json)
    made: dict[int, tuple[ProjectInfo, Any]] = {}  # id(project) -> (project, its row or JSON object)

    def early(batch: list[ProjectInfo], *_: int) -> None:
        """The catalog's projects arrive while the slugs are still being listed: their rows are made meanwhile,
        and used for every project the final list holds unchanged (the same object)."""
        for project in batch:
            made[id(project)] = (project, project.to_json() if as_json else _project_row(project))

    def row(project: ProjectInfo) -> Any:
        held = made.get(id(project))
        if held is not None and held[0] is project:
            return held[1]
        return project.to_json() if as_json else _project_row(project)

    projects = ctx.service().list_projects(early, check_all=bool(getattr(ctx.args, "check", False)))
    _note_offline(ctx, "the projects")
    for project in projects:
        if project.warning:
            warn(f"project {project.slug}: {project.warning}")
    if as_json:
        print_json([row(p) for p in projects])
        return 0
    if not projects:
        print("No projects yet. Upload a folder with: projectdesk-cli push DIR")
        return 0
    table([row(p) for p in projects], ["NAME", "SLUG", "FILES", "SIZE", "UPDATED", "TECH STACK"])
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
    if getattr(ctx.args, "deleted", False):
        from projectdesk.cli.history import ls_deleted

        return ls_deleted(ctx)
    entries = ctx.service().list_files(ctx.args.slug)
    _note_offline(ctx, "the files")
    if ctx.args.json:
        print_json([e.to_json() for e in entries])
        return 0
    table([[human_bytes(e.size), date_text(e.last_modified), e.path] for e in entries], ["SIZE", "MODIFIED", "PATH"])
    return 0


def cat(ctx: Context) -> int:
    if getattr(ctx.args, "version", None):
        from projectdesk.cli.history import cat_version

        return cat_version(ctx)
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
    """Send a working folder's changes (to --slug, else to the project it is bound to, else a new one)."""
    a = ctx.args
    service = ctx.service()
    plan = service.plan_push(Path(a.dir), name=a.name, slug=a.slug, follow_links=a.follow_links)
    _print_plan(ctx, plan, delete=a.delete)
    if plan.limit_error is not None:
        raise plan.limit_error
    if a.dry_run:
        return 0
    if plan.remote_deletions and a.delete and not a.yes:
        raise CliError(f"--delete would remove {len(plan.remote_deletions)} file(s) from the server; add --yes.")
    return _run_folder(ctx, plan, delete=a.delete)


def pull(ctx: Context) -> int:
    """Bring a project's changes into DEST (a working folder: nothing changed there is overwritten)."""
    if getattr(ctx.args, "as_of", None):
        from projectdesk.cli.history import pull_as_of

        return pull_as_of(ctx, _report_download)
    service = ctx.service()
    plan = service.plan_folder(Path(ctx.args.dest), Direction.PULL, slug=ctx.args.slug)
    if plan.is_new:
        raise CliError(f"There is no project '{printable(ctx.args.slug)}'.")
    _print_plan(ctx, plan, delete=False)
    return _run_folder(ctx, plan)


def sync_folder(ctx: Context) -> int:
    """Both directions at once for a working folder bound by an earlier push or pull."""
    folder = Path(ctx.args.folder)
    service = ctx.service()
    slug = getattr(ctx.args, "slug", None)
    if service.folders.binding(folder, slug) is None:
        raise CliError(f"{printable(str(folder))} is not a working folder yet: push or pull it once first.")
    follow = bool(getattr(ctx.args, "follow_links", False))
    plan = service.plan_folder(folder, Direction.SYNC, slug=slug, follow_links=follow)
    _print_plan(ctx, plan, delete=True)
    if plan.limit_error is not None:
        raise plan.limit_error
    return _run_folder(ctx, plan)


def _print_plan(ctx: Context, plan: FolderPlan, *, delete: bool) -> None:
    out = sys.stderr if ctx.args.json else sys.stdout
    if plan.moved_from is not None:
        print(f"This folder was bound at {printable(str(plan.moved_from))}; the binding follows it.", file=out)
    print(printable(plan.summary()), file=out)
    for path, problem in plan.scan.problems:
        warn(f"{path}: {problem}")
    if plan.outside:
        print(f"{len(plan.outside)} server file(s) are left out by this folder's ignore rules.", file=out)
    if plan.direction == Direction.PUSH and plan.remote_deletions and not delete:
        print(f"{len(plan.remote_deletions)} file(s) deleted here stay on the server (--delete removes them).",
              file=out)  # fmt: skip


def _run_folder(ctx: Context, plan: FolderPlan, *, delete: bool = False) -> int:
    bar = TerminalProgress(plan.direction.value)
    try:
        report = ctx.service().run_folder(plan, delete=delete, progress=bar)
    finally:
        bar.close()
    announced = set(plan.scan.problems)
    unsafe = set(plan.unsafe_remote)
    for path, why in report.skipped:
        if (path, why) in unsafe:
            warn(f"skipped unsafe name {printable(repr(path))}: {why}")
        elif (path, why) not in announced:
            warn(f"skipped {printable(path)}: {why}")
    for path, error in report.failed:
        warn(f"{path}: {error}")
    for path, why in report.kept:
        warn(f"{printable(path)}: {why}")
    for path, note in report.notes:
        warn(f"{printable(path)}: {printable(note)}")
    for conflict in report.conflicts:
        warn(f"conflict: {conflict.message}")
    left = report.left
    if left:
        other = "push or sync" if plan.direction == Direction.PULL else "pull or sync"
        noun = "file changed here" if plan.direction == Direction.PULL else "file changed on the server"
        print(f"{len(left)} {noun}{'s' if len(left) != 1 else ''} not carried by {plan.direction.value}: "
              f"{other} to bring {'them' if len(left) != 1 else 'it'} over.",
              file=sys.stderr if ctx.args.json else sys.stdout)  # fmt: skip
    if ctx.args.json:
        print_json(report.to_json())
    else:
        print(f"{report.summary()}.")
        print(plan.slug)
    if report.conflicts or report.failed:
        problems = [f"{len(report.conflicts)} conflict(s) (both versions kept)"] if report.conflicts else []
        problems += [f"{len(report.failed)} failed"] if report.failed else []
        raise CliError(f"{plan.direction.value.capitalize()} finished with {' and '.join(problems)}; see above.")
    if report.skipped:
        raise PartlyDone(f"{len(report.skipped)} file(s) were skipped (see above); everything else is done.")
    return 0


def _report_download(ctx: Context, report: DownloadReport, dest: Path) -> int:
    for path, why in report.skipped:
        warn(f"skipped unsafe name {path!r}: {why}")
    for path, error in report.failed:
        warn(f"{path}: {error}")
    print(f"{len(report.downloaded)} file(s) written to {dest}.", file=sys.stderr if ctx.args.json else sys.stdout)
    if report.failed:
        raise CliError(f"{len(report.failed)} file(s) could not be downloaded (see above).")
    if report.skipped:
        raise PartlyDone(f"{len(report.skipped)} file(s) with unsafe names were skipped; the rest is written.")
    return 0


def rm(ctx: Context) -> int:
    service = ctx.service()
    if not ctx.args.yes:
        count = len(service.list_files(ctx.args.slug))
        raise CliError(f"This deletes project '{ctx.args.slug}' and its {count} file(s); add --yes to confirm.")
    deleted = service.delete_project(ctx.args.slug)
    print(f"Deleted '{ctx.args.slug}' ({deleted} file(s)).")
    return 0


def export_zip(ctx: Context) -> int:
    if getattr(ctx.args, "as_of", None):
        from projectdesk.cli.history import export_as_of

        return export_as_of(ctx, _report_download)
    out = Path(ctx.args.out)
    report = ctx.service().export_zip(ctx.args.slug, out, progress=TerminalProgress("export"))
    return _report_download(ctx, report, out)


def import_zip(ctx: Context) -> int:
    plan, result = ctx.service().import_zip(Path(ctx.args.zip), name=ctx.args.name, slug=ctx.args.slug)
    print(printable(plan.summary()))
    for path, note in result.notes:
        warn(f"{printable(path)}: {printable(note)}")
    for path, error in result.failed:
        warn(f"{printable(path)}: {error}")
    print(f"{result.summary()}.")
    print(plan.slug)
    if result.failed or result.conflicts:
        raise CliError(f"{len(result.failed) + len(result.conflicts)} file(s) could not be uploaded as they are.")
    return 0


def register(sub: Any) -> None:
    def command(name: str, handler: Callable[[Context], int], help_text: str, json_flag: bool = False) -> Any:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    p = command("list", list_projects, "list projects", json_flag=True)
    p.add_argument("--check", action="store_true",
                   help="read every project's manifest again (one request each), not only the catalog")  # fmt: skip
    p = command("push", push, "send a working folder's changes (a new project, or --slug / its binding)",
                json_flag=True)  # fmt: skip
    p.add_argument("dir")
    p.add_argument("--name", help="project name (default: the folder's name)")
    p.add_argument("--slug", help="update this project instead of making a new one")
    p.add_argument("--delete", action="store_true", help="also delete on the server what was deleted in DIR")
    p.add_argument("--yes", action="store_true", help="confirm --delete")
    p.add_argument("--dry-run", action="store_true", help="show the preview only")
    p.add_argument("--follow-links", action="store_true",
                   help="send what links in DIR point at (never outside DIR), not the links")  # fmt: skip
    p = command("pull", pull, "bring a project's changes into the working folder DEST", json_flag=True)
    p.add_argument("slug")
    p.add_argument("dest")
    p.add_argument("--as-of", metavar="MOMENT", help="the project as it was then, into a new or empty folder")
    p = command("ls", ls, "list a project's files", json_flag=True)
    p.add_argument("slug")
    p.add_argument("--deleted", action="store_true", help="list its deleted files instead (needs versioning)")
    p = command("cat", cat, "print a file")
    p.add_argument("slug")
    p.add_argument("path")
    p.add_argument("--version", help="print this version of it (see 'history SLUG PATH')")
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
    p.add_argument("--as-of", metavar="MOMENT", help="the project as it was then")
    p = command("import", import_zip, "upload a zip file as a project")
    p.add_argument("zip")
    p.add_argument("--name")
    p.add_argument("--slug")
