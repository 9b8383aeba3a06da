"""`projectdesk-cli profiles …`: add, list, remove, test and choose stores."""

from __future__ import annotations

from typing import Any

from projectdesk.cli.common import Context, print_json, table
from projectdesk.config.profiles import KIND_S3, Profile
from projectdesk.services.connect import open_repository


def profiles_list(ctx: Context) -> int:
    default = ctx.profiles.default_name()
    profiles = ctx.profiles.list()
    if ctx.args.json:
        print_json([{**p.to_public_json(), "default": p.name == default} for p in profiles])
        return 0
    rows = [
        [("* " if p.name == default else "  ") + p.name, p.kind, p.endpoint_label if p.kind == KIND_S3 else "-",
         p.bucket or "-", p.user_id, p.credential_source if p.kind == KIND_S3 else "-"]
        for p in profiles
    ]  # fmt: skip
    table(rows, ["  NAME", "KIND", "ENDPOINT", "BUCKET", "USER", "CREDENTIALS"])
    return 0


def profiles_add(ctx: Context) -> int:
    a = ctx.args
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
    ctx.profiles.add(profile.validate(), replace=a.replace)
    if a.default:
        ctx.profiles.set_default(profile.name)
    print(f"Profile '{profile.name}' saved ({profile.endpoint_label}, bucket {profile.bucket}).")
    return 0


def profiles_remove(ctx: Context) -> int:
    ctx.profiles.remove(ctx.args.name)
    print(f"Profile '{ctx.args.name}' removed.")
    return 0


def profiles_default(ctx: Context) -> int:
    ctx.profiles.set_default(ctx.args.name)
    print(f"'{ctx.args.name}' is now the default profile.")
    return 0


def profiles_test(ctx: Context) -> int:
    profile = ctx.profiles.get(ctx.args.name)
    repo = open_repository(profile, ctx.paths)
    check = getattr(repo, "check_bucket", None)
    if check is not None:
        check()
    count = len(repo.list_slugs())
    print(f"OK: {repo.description} answers; {count} project(s) for user '{profile.user_id}'.")
    return 0


def register(sub: Any) -> None:
    profiles = sub.add_parser("profiles", help="manage profiles (stores)", description="Manage profiles (stores).")
    psub = profiles.add_subparsers(dest="profiles_command", required=True, metavar="ACTION")
    p = psub.add_parser("list", help="list profiles")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=profiles_list)
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
    p.set_defaults(handler=profiles_add)
    for name, handler, help_text in (
        ("remove", profiles_remove, "remove a profile"),
        ("test", profiles_test, "check that a profile's store answers"),
        ("default", profiles_default, "make a profile the default"),
    ):
        p = psub.add_parser(name, help=help_text)
        p.add_argument("name")
        p.set_defaults(handler=handler)
