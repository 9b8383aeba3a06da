"""`projectdesk-cli profiles …`: add, list, remove, test and choose stores; keys go to the OS keyring.

A secret is never taken from the command line (it would show in `ps` and shell history): it is typed at
a prompt without echo, or read from standard input with `--secret-stdin`.
"""

from __future__ import annotations

import getpass
import sys
from typing import TYPE_CHECKING, Any

from projectdesk.cli.bandwidth import add_bwlimit_option, apply_bwlimit, describe_limits
from projectdesk.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    Context,
    aws_profile_of,
    error_text,
    print_json,
    table,
    warn,
)
from projectdesk.cli.proxy import (
    add_proxy_options,
    apply_proxy_args,
    describe_proxy,
    forget_proxy_password,
    proxy_change_asked,
    read_proxy_password,
    save_proxy_password,
    store_proxy_password,
)
from projectdesk.config.profiles import KIND_S3, Profile
from projectdesk.config.secrets import SecretStore
from projectdesk.core.display import printable
from projectdesk.core.errors import KeyringUnavailable
from projectdesk.storage.s3client import Credentials

if TYPE_CHECKING:
    from projectdesk.services.connection_test import ConnectionReport

# The services (connection tests, ~/.aws listing) are imported by the commands that use them, so that
# `profiles list`, `add` and every other command start without them.


def _interactive() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _read_credentials(args: Any) -> Credentials:
    """Keys from standard input (`--secret-stdin`: secret on line 1, optional session token on line 2)
    or typed at no-echo prompts."""
    if args.secret_stdin:
        if not args.access_key_id:
            raise CliError("--secret-stdin needs the access key ID too: add --access-key-id ID.")
        lines = sys.stdin.read().splitlines()
        secret = lines[0].strip() if lines else ""
        token = lines[1].strip() if len(lines) > 1 else ""
        key_id = args.access_key_id
    else:
        key_id = args.access_key_id or input("Access key ID: ").strip()
        secret = getpass.getpass("Secret access key (not shown): ").strip()
        token = getpass.getpass("Session token (not shown; empty for none): ").strip() if args.ask_token else ""
    if not secret:
        raise CliError("No secret access key was given.")
    return Credentials(key_id.strip(), secret, token or None)


def _credential_source(args: Any) -> str:
    keyring_flags = args.secret_stdin or args.access_key_id or args.ask_token
    if (args.aws_profile or args.env) and keyring_flags:
        raise CliError("--aws-profile and --env take keys from elsewhere: drop --access-key-id/--secret-stdin.")
    if args.aws_profile:
        return "aws-profile"
    if args.env:
        return "env"
    if args.secret_stdin or _interactive():
        return "keyring"
    if keyring_flags:
        raise CliError("Give the secret with --secret-stdin (it is never taken from the command line).")
    return "env"  # scripts that name no source keep boto3's default chain, as before keyring support


def _source_label(profile: Profile, secrets: SecretStore) -> tuple[str, bool | None]:
    """The CREDENTIALS column text and the `secret_stored` value of one profile."""
    if profile.kind != KIND_S3:
        return "-", None
    if profile.credential_source == "aws-profile":
        return f"aws-profile:{profile.aws_profile}", False
    if profile.credential_source != "keyring":
        return profile.credential_source, False
    stored = secrets.has_secret(profile.name)
    label = {True: "keyring", False: "keyring (no key stored)", None: "keyring (unavailable)"}[stored]
    return label, stored


def profiles_list(ctx: Context) -> int:
    default = ctx.profiles.default_name()
    profiles = ctx.profiles.list()
    secrets = SecretStore()
    labels = {p.name: _source_label(p, secrets) for p in profiles}
    if ctx.args.json:
        print_json(
            [{**p.to_public_json(), "default": p.name == default, "secret_stored": labels[p.name][1]} for p in profiles]
        )
        return EXIT_OK
    rows = [
        [("* " if p.name == default else "  ") + p.name, p.kind, p.endpoint_label if p.kind == KIND_S3 else "-",
         p.bucket or "-", p.user_id, labels[p.name][0]]
        for p in profiles
    ]  # fmt: skip
    table(rows, ["  NAME", "KIND", "ENDPOINT", "BUCKET", "USER", "CREDENTIALS"])
    return EXIT_OK


def profiles_add(ctx: Context) -> int:
    a = ctx.args
    source = _credential_source(a)
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
    apply_proxy_args(profile, a)
    apply_bwlimit(profile, a)
    previous = ctx.profiles.check_add(profile, replace=a.replace)  # before any keyring write
    secrets = SecretStore()
    if source == "keyring":
        secrets.check()  # say so before anyone types a secret
        secrets.save(profile.name, _read_credentials(a))
    proxy_password = read_proxy_password(profile, a, stdin_taken=a.secret_stdin)
    if proxy_password is not None:
        secrets.check()
    store_proxy_password(secrets, profile, proxy_password)
    try:
        ctx.profiles.add(profile, replace=a.replace)
    except BaseException:
        if source == "keyring" and previous is None:
            secrets.delete(profile.name)
        raise
    if source != "keyring" and previous is not None and previous.credential_source == "keyring":
        _delete_secret(secrets, profile.name)
    if a.default:
        ctx.profiles.set_default(profile.name)
    where = {
        "keyring": f"its key is in the keyring ({secrets.backend_name})",
        "aws-profile": f"keys from the AWS profile '{profile.aws_profile}'",
        "env": "keys from the environment or boto3's default chain",
    }[source]
    print(f"Profile '{profile.name}' saved ({profile.endpoint_label}, bucket {profile.bucket}); {where}.")
    if profile.proxy_url:
        print(f"Profile '{profile.name}': {describe_proxy(profile)}.")
    if a.test or a.write or a.create_bucket:
        from projectdesk.services.connection_test import test_connection

        return _report(ctx, test_connection(profile, ctx.paths, secrets=secrets, write=a.write,
                                            create_bucket=a.create_bucket), profile)  # fmt: skip
    return EXIT_OK


def profiles_set_secret(ctx: Context) -> int:
    profile = ctx.profiles.get(ctx.args.name)
    if profile.kind != KIND_S3:
        raise CliError(f"'{profile.name}' is not an S3 profile: it needs no key.")
    secrets = SecretStore()
    secrets.check()
    secrets.save(profile.name, _read_credentials(ctx.args))
    if profile.credential_source != "keyring":
        profile.credential_source, profile.aws_profile = "keyring", ""
        ctx.profiles.add(profile, replace=True)
    print(f"The key of profile '{profile.name}' is stored in the keyring ({secrets.backend_name}).")
    return EXIT_OK


def _delete_secret(secrets: SecretStore, name: str) -> None:
    try:
        secrets.delete(name)
    except KeyringUnavailable as exc:
        warn(f"the keyring entry of '{name}' (if any) could not be deleted: {exc}")


def profiles_remove(ctx: Context) -> int:
    profile = ctx.profiles.get(ctx.args.name)
    secrets = SecretStore()
    deleted = False
    if profile.kind == KIND_S3:
        try:
            deleted = secrets.delete(profile.name)
        except KeyringUnavailable as exc:
            if profile.credential_source == "keyring" and not ctx.args.force:
                raise KeyringUnavailable(
                    f"{exc} The profile was kept so its key can still be deleted; add --force to remove it anyway."
                ) from None
    if profile.kind == KIND_S3:
        forget_proxy_password(secrets, profile.name)
    ctx.profiles.remove(profile.name)
    suffix = " and its key deleted from the keyring" if deleted else ""
    print(f"Profile '{profile.name}' removed{suffix}.")
    return EXIT_OK


def profiles_default(ctx: Context) -> int:
    ctx.profiles.set_default(ctx.args.name)
    print(f"'{ctx.args.name}' is now the default profile.")
    return EXIT_OK


def _report(ctx: Context, report: ConnectionReport, profile: Profile) -> int:
    if getattr(ctx.args, "json", False):
        print_json(report.to_json())
        return EXIT_OK if report.ok else EXIT_FAILED
    if report.ok:
        print(f"OK: {printable(report.message)}")
        if report.history_note:
            print(printable(report.history_note.replace(" NAME ", f" {profile.name} ")))
        return EXIT_OK
    message = (
        error_text(report.error, lambda: aws_profile_of(profile), lambda: profile.name)
        if report.error
        else printable(report.message)
    )
    print(f"projectdesk-cli: error: {message}", file=sys.stderr)
    name = profile.name
    if report.can_create_bucket:
        print(f"projectdesk-cli: hint: 'profiles test {name} --create-bucket' creates it.", file=sys.stderr)
    elif isinstance(report.error, KeyringUnavailable):
        print(f"projectdesk-cli: hint: 'profiles add {name} --replace --env' uses AWS_* variables.", file=sys.stderr)
    return EXIT_FAILED


def profiles_test(ctx: Context) -> int:
    from projectdesk.services.connection_test import test_connection

    profile = ctx.profiles.get(ctx.args.name or ctx.args.profile)
    report = test_connection(
        profile, ctx.paths, secrets=SecretStore(), write=ctx.args.write, create_bucket=ctx.args.create_bucket
    )
    return _report(ctx, report, profile)


def profiles_aws_list(ctx: Context) -> int:
    from projectdesk.services.connect import list_aws_profiles

    profiles = list_aws_profiles()
    if ctx.args.json:
        print_json([{"name": p.name, "region": p.region or None, "sso": p.sso} for p in profiles])
        return EXIT_OK
    if not profiles:
        print("No AWS profiles in ~/.aws/config or ~/.aws/credentials.")
        return EXIT_OK
    table([[p.name, p.region or "-", "sso" if p.sso else "keys"] for p in profiles], ["NAME", "REGION", "SIGN-IN"])
    return EXIT_OK


def _add_secret_options(p: Any) -> None:
    p.add_argument("--access-key-id", metavar="ID", help="the access key ID (prompted for when omitted)")
    p.add_argument(
        "--secret-stdin",
        action="store_true",
        help="read the secret access key from stdin's first line (and a session token from its second)",
    )
    p.add_argument("--ask-session-token", dest="ask_token", action="store_true", help="also prompt for a session token")


def profiles_edit(ctx: Context) -> int:
    """Change an S3 profile's bandwidth limit (--bwlimit) or proxy (--proxy, --proxy-user, --no-proxy)."""
    a = ctx.args
    proxy = proxy_change_asked(a)
    if a.bwlimit is None and not proxy:
        raise CliError("Say what to change, e.g. --bwlimit 2M or --proxy URL (see 'profiles edit --help').")
    profile = ctx.profiles.get(a.name)
    if profile.kind != KIND_S3:
        raise CliError(f"'{profile.name}' is not an S3 profile: it has no proxy, and its copies are never limited.")
    apply_bwlimit(profile, a)
    apply_proxy_args(profile, a)
    ctx.profiles.check_add(profile, replace=True)  # validates before anyone types a password
    if proxy:
        save_proxy_password(profile, a)
    ctx.profiles.add(profile, replace=True)
    said = ([describe_limits(profile.bandwidth)] if a.bwlimit is not None else []) + (
        [describe_proxy(profile)] if proxy else []
    )
    print(f"Profile '{profile.name}' saved: {'; '.join(said)}.")
    return EXIT_OK


def register(sub: Any) -> None:
    profiles = sub.add_parser("profiles", help="manage profiles (stores)", description="Manage profiles (stores).")
    psub = profiles.add_subparsers(dest="profiles_command", required=True, metavar="ACTION")
    p = psub.add_parser("list", help="list profiles (never their secrets)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=profiles_list)

    p = psub.add_parser(
        "add",
        help="add an S3 profile",
        description="Add an S3 profile. Its key goes to the OS keyring: typed at a prompt (no echo), or "
        "read from stdin with --secret-stdin. --aws-profile or --env take keys from elsewhere instead.",
    )
    p.add_argument("name")
    p.add_argument("--endpoint-url", help="S3-compatible endpoint (omit for Amazon S3)")
    p.add_argument("--region", default="")
    p.add_argument("--bucket", required=True)
    p.add_argument("--user-id", default="anonymous")
    p.add_argument("--path-style", action="store_true", help="path-style addressing (MinIO, SeaweedFS, Ceph)")
    _add_secret_options(p)
    p.add_argument("--aws-profile", metavar="P", help="take keys from this ~/.aws profile (see 'profiles aws-list')")
    p.add_argument("--env", action="store_true", help="take keys from AWS_* variables / boto3's default chain")
    p.add_argument("--max-file-mb", type=float, help="per-file limit in MB (default 10)")
    p.add_argument("--max-project-mb", type=float, help="per-project limit in MB (default 100)")
    p.add_argument("--default", action="store_true", help="make it the default profile")
    p.add_argument("--replace", action="store_true", help="overwrite a profile of the same name")
    p.add_argument("--test", action="store_true", help="test the connection once saved")
    p.add_argument("--write", action="store_true", help="test writing too (implies --test)")
    p.add_argument("--create-bucket", action="store_true", help="create the bucket if missing (implies --test)")
    add_proxy_options(p)
    add_bwlimit_option(p)
    p.set_defaults(handler=profiles_add)

    p = psub.add_parser("set-secret", help="store a profile's key in the keyring (prompt or --secret-stdin)")
    p.add_argument("name")
    _add_secret_options(p)
    p.set_defaults(handler=profiles_set_secret)

    p = psub.add_parser("remove", help="remove a profile and its key in the keyring")
    p.add_argument("name")
    p.add_argument("--force", action="store_true", help="remove it even when the keyring cannot be reached")
    p.set_defaults(handler=profiles_remove)

    p = psub.add_parser("test", help="check that a profile's store answers, or say what is wrong")
    p.add_argument("name", nargs="?", help="the profile (default: --profile, else the default profile)")
    p.add_argument("--write", action="store_true", help="also write and delete a small probe object")
    p.add_argument("--create-bucket", action="store_true", help="create the bucket if it is missing")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.set_defaults(handler=profiles_test)

    from projectdesk.cli.history import add_versioning_command

    add_versioning_command(psub)

    from projectdesk.cli.sso import add_login_command

    add_login_command(psub)

    p = psub.add_parser(
        "edit", help="change an S3 profile's bandwidth limit or proxy", description=profiles_edit.__doc__
    )
    p.add_argument("name")
    add_bwlimit_option(p)
    add_proxy_options(p, edit=True)
    p.set_defaults(handler=profiles_edit)

    p = psub.add_parser("default", help="make a profile the default")
    p.add_argument("name")
    p.set_defaults(handler=profiles_default)

    p = psub.add_parser("aws-list", help="list the profiles of ~/.aws (for --aws-profile)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=profiles_aws_list)
