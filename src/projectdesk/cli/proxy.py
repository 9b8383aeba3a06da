"""A profile's HTTP(S) proxy on the command line: `profiles add … --proxy URL [--proxy-user U]` and
`profiles edit NAME --proxy URL | --no-proxy [--proxy-user U] [--proxy-password-stdin]`.

The proxy's password, like an S3 secret, is never taken from the command line: it is typed at a prompt
without echo, or read from standard input's first line with `--proxy-password-stdin`, and kept in the OS
keyring (config/secrets.py), never in profiles.toml.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from projectdesk.cli.common import CliError, warn
from projectdesk.config.profiles import Profile
from projectdesk.config.secrets import SecretStore
from projectdesk.core.display import printable
from projectdesk.core.errors import KeyringUnavailable


def _interactive() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def add_proxy_options(p: Any, *, edit: bool = False) -> None:
    p.add_argument(
        "--proxy",
        metavar="URL",
        help="send every request through this HTTP(S) proxy, e.g. http://proxy.corp:3128 (no credentials in it); "
        "without it HTTPS_PROXY / HTTP_PROXY / NO_PROXY apply",
    )
    p.add_argument("--proxy-user", metavar="U", help="the proxy's user name (its password is prompted for)")
    p.add_argument(
        "--proxy-password-stdin", action="store_true", help="read the proxy's password from stdin's first line"
    )
    if edit:
        p.add_argument("--no-proxy", action="store_true", help="drop the profile's proxy (the environment's apply)")


def apply_proxy_args(profile: Profile, args: Any) -> None:
    """Put --proxy / --proxy-user / --no-proxy into `profile` (validated when the profile is saved)."""
    if getattr(args, "no_proxy", False):
        if args.proxy or args.proxy_user or args.proxy_password_stdin:
            raise CliError("--no-proxy drops the proxy: give no other proxy option with it.")
        profile.proxy_url = profile.proxy_user = ""
        return
    if args.proxy is not None:
        profile.proxy_url = args.proxy.strip()
    if args.proxy_user is not None:
        profile.proxy_user = args.proxy_user.strip()
    if args.proxy_password_stdin and not profile.proxy_user:
        raise CliError("--proxy-password-stdin needs a proxy user: add --proxy-user U.")


def read_proxy_password(profile: Profile, args: Any, *, stdin_taken: bool = False) -> str | None:
    """The proxy password to store now, or None to keep the stored one (or when there is no proxy user)."""
    if not profile.proxy_user:
        return None
    if args.proxy_password_stdin:
        if stdin_taken:
            raise CliError(
                "--secret-stdin and --proxy-password-stdin cannot share stdin: set the proxy's password after, "
                f"with 'profiles edit {profile.name} --proxy-password-stdin'."
            )
        lines = sys.stdin.read().splitlines()
        password = lines[0].strip() if lines else ""
    elif args.proxy_user is None:
        return None  # the user is unchanged: so is its stored password
    elif _interactive():
        password = getpass.getpass(f"Password of proxy user '{profile.proxy_user}' (not shown): ").strip()
    else:
        raise CliError("Give the proxy's password with --proxy-password-stdin (never on the command line).")
    if not password:
        raise CliError("No proxy password was given.")
    return password


def store_proxy_password(secrets: SecretStore, profile: Profile, password: str | None) -> None:
    """Keep `password` in the keyring for the profile's proxy user; forget any when it has no user."""
    if password is not None:
        secrets.save_proxy_password(profile.name, password)
    elif not profile.proxy_user:
        forget_proxy_password(secrets, profile.name)


def forget_proxy_password(secrets: SecretStore, name: str) -> None:
    try:
        secrets.delete_proxy_password(name)
    except KeyringUnavailable as exc:
        warn(f"the proxy password of '{name}' (if any) could not be deleted from the keyring: {exc}")


def describe_proxy(profile: Profile) -> str:
    """How the profile's requests reach the server, in words (no password)."""
    if not profile.proxy_url:
        return "its requests use the environment's proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), if any"
    user = f" as user '{printable(profile.proxy_user)}' (password in the keyring)" if profile.proxy_user else ""
    return f"its requests go through the proxy {printable(profile.proxy_url)}{user}"


def proxy_change_asked(args: Any) -> bool:
    return args.proxy is not None or args.proxy_user is not None or bool(args.proxy_password_stdin or args.no_proxy)


def save_proxy_password(profile: Profile, args: Any) -> None:
    """The proxy's password as `profiles edit` was given it (prompted or stdin), into the keyring."""
    password = read_proxy_password(profile, args)
    secrets = SecretStore()
    if password is not None:
        secrets.check()
    store_proxy_password(secrets, profile, password)
