"""projectdesk-cli: the window's operations, headless. Exit 0 on success, 1 with a one-line message on error."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from projectdesk import __version__
from projectdesk.cli_progress import TerminalProgress
from projectdesk.config.paths import Paths
from projectdesk.config.profiles import KIND_S3, Profile, ProfileStore
from projectdesk.core.errors import Cancelled, ProjectDeskError
from projectdesk.core.sizes import human_bytes
from projectdesk.services.connect import open_repository, open_service
from projectdesk.services.projects import ProjectService, PushPlan
from projectdesk.storage.repository import DownloadReport

log = logging.getLogger("projectdesk.cli")


class CliError(ProjectDeskError):
    """A usage problem found by the CLI itself."""


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M") if epoch else "-"


def _table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    widths = [max(len(str(v)) for v in column) for column in zip(headers, *rows, strict=False)]
    for row in [headers, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=False)).rstrip())


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


class Cli:
    def __init__(self, args: argparse.Namespace, paths: Paths) -> None:
        self.args = args
        self.paths = paths
        self.profiles = ProfileStore(paths)

    def service(self) -> ProjectService:
        return open_service(self.profiles.get(self.args.profile), self.paths)

    # ---- profiles --------------------------------------------------------------------------------

    def profiles_list(self) -> int:
        default = self.profiles.default_name()
        profiles = self.profiles.list()
        if self.args.json:
            _print_json([{**p.to_public_json(), "default": p.name == default} for p in profiles])
            return 0
        rows = [
            [("* " if p.name == default else "  ") + p.name, p.kind, p.endpoint_label if p.kind == KIND_S3 else "-",
             p.bucket or "-", p.user_id, p.credential_source if p.kind == KIND_S3 else "-"]
            for p in profiles
        ]  # fmt: skip
        _table(rows, ["  NAME", "KIND", "ENDPOINT", "BUCKET", "USER", "CREDENTIALS"])
        return 0

    def profiles_add(self) -> int:
        a = self.args
        source = "aws-profile" if a.aws_profile else "env"
        profile = Profile(
            name=a.name,
            endpoint_url=a.endpoint_url or "",
            region=a.region or "",
            bucket=a.bucket,
            user_id=a.user_id,
            path_style=a.path_style,
            credential_source=source,
            aws_profile=a.aws_profile or "",
        )
        if a.max_file_mb:
            profile.max_file_bytes = int(a.max_file_mb * 1_000_000)
        if a.max_project_mb:
            profile.max_project_bytes = int(a.max_project_mb * 1_000_000)
        self.profiles.add(profile.validate(), replace=a.replace)
        if a.default:
            self.profiles.set_default(profile.name)
        print(f"Profile '{profile.name}' saved ({profile.endpoint_label}, bucket {profile.bucket}).")
        return 0

    def profiles_remove(self) -> int:
        self.profiles.remove(self.args.name)
        print(f"Profile '{self.args.name}' removed.")
        return 0

    def profiles_default(self) -> int:
        self.profiles.set_default(self.args.name)
        print(f"'{self.args.name}' is now the default profile.")
        return 0

    def profiles_test(self) -> int:
        profile = self.profiles.get(self.args.name)
        repo = open_repository(profile, self.paths)
        check = getattr(repo, "check_bucket", None)
        if check is not None:
            check()
        count = len(repo.list_slugs())
        print(f"OK: {repo.description} answers; {count} project(s) for user '{profile.user_id}'.")
        return 0

    # ---- projects --------------------------------------------------------------------------------

    def list(self) -> int:
        projects = self.service().list_projects()
        if self.args.json:
            _print_json([p.to_json() for p in projects])
            return 0
        if not projects:
            print("No projects yet. Upload a folder with: projectdesk-cli push DIR")
            return 0
        rows = [
            [p.name, p.slug, str(p.files_count), human_bytes(p.total_bytes), _date(p.updated_date),
             ", ".join(p.tech_stack)]
            for p in projects
        ]  # fmt: skip
        _table(rows, ["NAME", "SLUG", "FILES", "SIZE", "UPDATED", "TECH STACK"])
        return 0

    def info(self) -> int:
        info = self.service().info(self.args.slug)
        if self.args.json:
            _print_json(info.to_json())
            return 0
        for key, value in info.to_json().items():
            if key in ("created_date", "updated_date"):
                value = _date(float(value))
            elif key == "total_bytes":
                value = human_bytes(int(value))
            elif isinstance(value, list):
                value = ", ".join(value) or "-"
            print(f"{key:14} {value}")
        return 0

    def ls(self) -> int:
        entries = self.service().list_files(self.args.slug)
        if self.args.json:
            _print_json([e.to_json() for e in entries])
            return 0
        _table([[human_bytes(e.size), _date(e.last_modified), e.path] for e in entries], ["SIZE", "MODIFIED", "PATH"])
        return 0

    def cat(self) -> int:
        data = self.service().read_file(self.args.slug, self.args.path)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0

    def put(self) -> int:
        source = self.args.file
        if source in (None, "-"):
            data = sys.stdin.buffer.read()
        else:
            try:
                data = Path(source).read_bytes()
            except OSError as exc:
                raise CliError(f"Cannot read {source}: {exc.strerror}.") from None
        entry = self.service().write_file(self.args.slug, self.args.path, data)
        print(f"Saved {entry.path} ({human_bytes(entry.size)}).")
        return 0

    def push(self) -> int:
        a = self.args
        service = self.service()
        plan = service.plan_push(Path(a.dir), name=a.name, slug=a.slug)
        self._print_plan(plan, delete=a.delete)
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
            _warn(f"{path}: {error}")
        summary = f"{result.uploaded} sent, {result.unchanged} unchanged, {result.deleted} deleted"
        if a.json:
            _print_json({"slug": plan.slug, "name": plan.name, "uploaded": result.uploaded,
                         "unchanged": result.unchanged, "deleted": result.deleted,
                         "failed": [p for p, _ in result.failed]})  # fmt: skip
        else:
            print(f"{summary}.")
            print(plan.slug)
        if result.failed or plan.scan.problems:
            raise CliError(f"{len(result.failed) + len(plan.scan.problems)} file(s) were not uploaded (see above).")
        return 0

    def _print_plan(self, plan: PushPlan, *, delete: bool) -> None:
        out = sys.stderr if self.args.json else sys.stdout
        print(plan.summary(), file=out)
        for path, problem in plan.scan.problems:
            _warn(f"{path}: {problem}")
        if plan.remote_only:
            verb = "will be deleted from the server" if delete else "exist only on the server (kept; --delete removes)"
            print(f"{len(plan.remote_only)} file(s) {verb}.", file=out)

    def _report_download(self, report: DownloadReport, dest: Path) -> int:
        for path, why in report.skipped:
            _warn(f"skipped unsafe name {path!r}: {why}")
        for path, error in report.failed:
            _warn(f"{path}: {error}")
        print(f"{len(report.downloaded)} file(s) written to {dest}.", file=sys.stderr if self.args.json else sys.stdout)
        if report.failed:
            raise CliError(f"{len(report.failed)} file(s) could not be downloaded (see above).")
        return 0

    def pull(self) -> int:
        dest = Path(self.args.dest)
        bar = TerminalProgress("pull")
        try:
            report = self.service().pull(self.args.slug, dest, progress=bar)
        finally:
            bar.close()
        return self._report_download(report, dest)

    def rm(self) -> int:
        service = self.service()
        if not self.args.yes:
            count = len(service.list_files(self.args.slug))
            raise CliError(f"This deletes project '{self.args.slug}' and its {count} file(s); add --yes to confirm.")
        deleted = service.delete_project(self.args.slug)
        print(f"Deleted '{self.args.slug}' ({deleted} file(s)).")
        return 0

    def export(self) -> int:
        out = Path(self.args.out)
        report = self.service().export_zip(self.args.slug, out, progress=TerminalProgress("export"))
        return self._report_download(report, out)

    def import_(self) -> int:
        plan, result = self.service().import_zip(Path(self.args.zip), name=self.args.name, slug=self.args.slug)
        print(plan.summary())
        print(plan.slug)
        if result.failed:
            raise CliError(f"{len(result.failed)} file(s) could not be uploaded.")
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="projectdesk-cli", description="Keep software projects in S3.")
    parser.add_argument("--version", action="version", version=f"projectdesk {__version__}")
    parser.add_argument("--profile", help="profile to use (default: the default profile, else 'local')")
    parser.add_argument("--debug", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[Cli], int], help_text: str, json_flag: bool = False) -> Any:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    profiles = command("profiles", lambda c: 0, "manage profiles (stores)")
    psub = profiles.add_subparsers(dest="profiles_command", required=True, metavar="ACTION")
    p = psub.add_parser("list", help="list profiles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=Cli.profiles_list)
    p = psub.add_parser("add", help="add an S3 profile")
    p.add_argument("name")
    p.add_argument("--endpoint-url", help="S3-compatible endpoint (omit for Amazon S3)")
    p.add_argument("--region", default="")
    p.add_argument("--bucket", required=True)
    p.add_argument("--user-id", default="anonymous")
    p.add_argument("--path-style", action="store_true", help="path-style addressing (MinIO, SeaweedFS, Ceph)")
    p.add_argument("--aws-profile", help="take keys from this ~/.aws profile instead of the environment")
    p.add_argument("--max-file-mb", type=float, help="per-file limit in MB (default 10)")
    p.add_argument("--max-project-mb", type=float, help="per-project limit in MB (default 100)")
    p.add_argument("--default", action="store_true", help="make it the default profile")
    p.add_argument("--replace", action="store_true", help="overwrite a profile of the same name")
    p.set_defaults(handler=Cli.profiles_add)
    for name, handler, help_text in (
        ("remove", Cli.profiles_remove, "remove a profile"),
        ("test", Cli.profiles_test, "check that a profile's store answers"),
        ("default", Cli.profiles_default, "make a profile the default"),
    ):
        p = psub.add_parser(name, help=help_text)
        p.add_argument("name")
        p.set_defaults(handler=handler)

    command("list", Cli.list, "list projects", json_flag=True)
    p = command("push", Cli.push, "upload a folder as a project (new, or update with --slug)", json_flag=True)
    p.add_argument("dir")
    p.add_argument("--name", help="project name (default: the folder's name)")
    p.add_argument("--slug", help="update this project instead of making a new one")
    p.add_argument("--delete", action="store_true", help="remove server files that are not in DIR")
    p.add_argument("--yes", action="store_true", help="confirm --delete")
    p.add_argument("--dry-run", action="store_true", help="show the preview only")
    p = command("pull", Cli.pull, "download a project into DEST", json_flag=True)
    p.add_argument("slug")
    p.add_argument("dest")
    p = command("ls", Cli.ls, "list a project's files", json_flag=True)
    p.add_argument("slug")
    p = command("cat", Cli.cat, "print a file")
    p.add_argument("slug")
    p.add_argument("path")
    p = command("put", Cli.put, "store a file from FILE or stdin")
    p.add_argument("slug")
    p.add_argument("path")
    p.add_argument("file", nargs="?", help="local file, or - for stdin (default)")
    p = command("rm", Cli.rm, "delete a project and all its files")
    p.add_argument("slug")
    p.add_argument("--yes", action="store_true", help="confirm")
    p = command("info", Cli.info, "show a project's details", json_flag=True)
    p.add_argument("slug")
    p = command("export", Cli.export, "download a project as a zip file", json_flag=True)
    p.add_argument("slug")
    p.add_argument("out")
    p = command("import", Cli.import_, "upload a zip file as a project")
    p.add_argument("zip")
    p.add_argument("--name")
    p.add_argument("--slug")
    return parser


def main(argv: Sequence[str] | None = None, paths: Paths | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.ERROR, format="%(levelname)s %(name)s: %(message)s"
    )
    # botocore's debug logs include request headers: keep them out even with --debug.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    cli = Cli(args, paths or Paths.default())
    try:
        return int(args.handler(cli))
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


if __name__ == "__main__":
    sys.exit(main())
