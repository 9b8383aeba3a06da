"""`projectdesk-cli profiles login NAME`: sign a profile's AWS profile in to AWS SSO (IAM Identity Center)
without the AWS CLI, by the device authorization flow of services/sso_login.py.

It prints the page and the code, opens the browser (unless `--no-browser`), waits until the person approves
the code there (Ctrl+C cancels) and writes the token where botocore and the AWS CLI read it. `--json` prints
JSON Lines: `{"event": "code", …}` once the code is known, then `{"event": "signed-in", …}`.
"""

from __future__ import annotations

import sys
from typing import Any

from projectdesk.cli.common import EXIT_OK, Context, print_json
from projectdesk.core.display import printable


def profiles_login(ctx: Context) -> int:
    from projectdesk.services.sso_login import DeviceSignIn, aws_profile_for, read_sso_config

    args = ctx.args
    profile = ctx.profiles.get(args.name or args.profile)
    config = read_sso_config(aws_profile_for(profile))
    flow = DeviceSignIn(config)
    code = flow.start()
    if args.json:
        print_json({"event": "code", "profile": profile.name, "aws_profile": config.aws_profile,
                    "user_code": code.user_code, "verification_uri": code.verification_uri,
                    "verification_uri_complete": code.verification_uri_complete}, one_line=True)  # fmt: skip
    else:
        print(printable(f"To sign in to AWS profile '{config.aws_profile}' ({config.start_url}), open this page "
                        f"and check that it shows the code {code.user_code}:"))  # fmt: skip
        print(f"  {printable(code.verification_uri_complete)}")
    sys.stdout.flush()
    if not args.no_browser:
        _open_browser(code.verification_uri_complete)
    if not args.json:
        print("Waiting for the sign-in to be approved in the browser (Ctrl+C cancels)…", flush=True)
    signed = flow.finish()
    if args.json:
        print_json({"event": "signed-in", "profile": profile.name, "aws_profile": config.aws_profile,
                    "expires_at": signed.expires_at.isoformat(), "refreshable": signed.refreshable,
                    "cache_file": str(signed.cache_file)}, one_line=True)  # fmt: skip
    else:
        print(printable(signed.sentence()))
    return EXIT_OK


def _open_browser(url: str) -> None:
    import webbrowser

    try:
        opened = webbrowser.open(url)
    except Exception:  # no browser, no display: the URL is printed above
        opened = False
    if not opened:
        print("(No browser could be opened: open the page above yourself.)", file=sys.stderr)


def add_login_command(psub: Any) -> None:
    """`profiles login` (registered by cli/profiles.py)."""
    p = psub.add_parser(
        "login",
        help="sign in to AWS SSO (IAM Identity Center) for a profile, without the AWS CLI",
        description="Sign in to AWS SSO (IAM Identity Center) for the AWS profile a ProjectDesk profile uses: "
        "approve the code shown in the browser; the token is shared with the AWS CLI and boto3.",
    )
    p.add_argument("name", nargs="?", help="the profile (default: --profile, else the default profile)")
    p.add_argument("--no-browser", action="store_true", help="only print the page to open")
    p.add_argument("--json", action="store_true", help="JSON Lines: the code, then the sign-in")
    p.set_defaults(handler=profiles_login)
