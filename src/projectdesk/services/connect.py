"""Turns a profile into a working repository and service (credentials resolved here, never stored).

Credential sources: `keyring` (the OS keyring via config/secrets.py, or session-only keys held there),
`aws-profile` (a profile of ~/.aws, SSO and session tokens included as boto3 supports them) and `env`
(boto3's default chain: environment variables, ~/.aws default profile, instance roles, …).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import KIND_LOCAL, Profile
from projectdesk.config.secrets import SecretStore
from projectdesk.core.errors import AuthError
from projectdesk.services.projects import ProjectService
from projectdesk.storage.local import LocalRepository
from projectdesk.storage.proxy import ProxySettings
from projectdesk.storage.repository import Repository
from projectdesk.storage.s3client import Credentials

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True, slots=True)
class AwsProfileInfo:
    """A profile of ~/.aws/config or ~/.aws/credentials, as offered to the user (no keys in it)."""

    name: str
    region: str = ""
    sso: bool = False  # signs in through IAM Identity Center (`aws sso login`)


def list_aws_profiles() -> list[AwsProfileInfo]:
    """The profiles boto3 can use, from ~/.aws/config and ~/.aws/credentials (AWS_CONFIG_FILE,
    AWS_SHARED_CREDENTIALS_FILE move them), sorted by name."""
    import botocore.session

    session = botocore.session.Session()
    try:
        configs: dict[str, Any] = session.full_config.get("profiles", {})
    except Exception as exc:  # a config file that does not parse
        raise AuthError(f"The AWS config files could not be read ({type(exc).__name__}).") from None
    result = []
    for name in sorted(configs):
        values = configs.get(name) or {}
        sso = bool(values.get("sso_session") or values.get("sso_start_url"))
        result.append(AwsProfileInfo(name=name, region=str(values.get("region", "")), sso=sso))
    return result


def _aws_files() -> str:
    config = os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")
    credentials = os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    return f"{config} or {credentials}"


def resolve_credentials(profile: Profile, secrets: SecretStore | None = None) -> Credentials | None:
    """The keys of a `keyring` profile (None for the other sources, which boto3 resolves itself).

    Raises AuthError when the keyring holds nothing for the profile, KeyringUnavailable / KeyringLocked
    when the keyring cannot be asked.
    """
    if profile.kind == KIND_LOCAL or profile.credential_source != "keyring":
        return None
    credentials = (secrets or SecretStore()).load(profile.name)
    if credentials is None:
        raise AuthError(f"No access key is stored for profile '{profile.name}': enter its key and secret again.")
    return credentials


def resolve_proxy(
    profile: Profile, secrets: SecretStore | None = None, *, password: str | None = None
) -> ProxySettings | None:
    """The profile's own proxy (None: the environment's HTTPS_PROXY / HTTP_PROXY / NO_PROXY apply).

    A proxy user's password comes from the keyring, unless `password` (typed, not yet saved) is given;
    a user without a stored password raises AuthError.
    """
    if profile.kind == KIND_LOCAL or not profile.proxy_url:
        return None
    if not profile.proxy_user:
        return ProxySettings(profile.proxy_url)
    if password is None:
        password = (secrets or SecretStore()).load_proxy_password(profile.name)
    if not password:
        raise AuthError(
            f"No password is stored for the proxy user '{profile.proxy_user}' of profile '{profile.name}': "
            "enter it again."
        )
    return ProxySettings(profile.proxy_url, profile.proxy_user, password)


def check_aws_profile(profile: Profile) -> None:
    """A clear error when an `aws-profile` profile names a profile ~/.aws does not have."""
    if profile.credential_source != "aws-profile":
        return
    known = [p.name for p in list_aws_profiles()]
    if profile.aws_profile not in known:
        listed = ", ".join(known) if known else "none"
        raise AuthError(f"The AWS profile '{profile.aws_profile}' is not in {_aws_files()} (known: {listed}).")


def make_profile_client(
    profile: Profile,
    *,
    credentials: Credentials | None = None,
    secrets: SecretStore | None = None,
    proxy_password: str | None = None,
    **client_options: Any,
) -> S3Client:
    """The boto3 client an S3 profile describes; `credentials`, when given, win over its source, and
    `proxy_password` over the keyring's password for the profile's proxy user."""
    from projectdesk.storage.errors import translate
    from projectdesk.storage.s3client import make_client

    if credentials is None:
        credentials = resolve_credentials(profile, secrets)
        check_aws_profile(profile)
    proxy = resolve_proxy(profile, secrets, password=proxy_password)
    try:
        return make_client(
            endpoint_url=profile.endpoint_url or None,
            region=profile.region or None,
            credentials=credentials,
            aws_profile=profile.aws_profile if profile.credential_source == "aws-profile" and not credentials else None,
            path_style=profile.path_style,
            proxy=proxy,
            **client_options,
        )
    except Exception as exc:  # ProfileNotFound, broken config files, an invalid region
        raise translate(exc, bucket=profile.bucket, endpoint=profile.endpoint_label) from None


def open_repository(
    profile: Profile,
    paths: Paths,
    *,
    credentials: Credentials | None = None,
    secrets: SecretStore | None = None,
) -> Repository:
    """The repository a profile describes. S3 profiles use `credentials` when given, else the profile's
    credential source (see the module docstring)."""
    if profile.kind == KIND_LOCAL:
        return LocalRepository(paths.local_store, user_id=profile.user_id)
    from projectdesk.storage.s3 import S3Repository

    client = make_profile_client(profile, credentials=credentials, secrets=secrets)
    return S3Repository(client, profile.bucket, user_id=profile.user_id, endpoint=profile.endpoint_label)


def open_service(
    profile: Profile,
    paths: Paths,
    *,
    credentials: Credentials | None = None,
    secrets: SecretStore | None = None,
) -> ProjectService:
    service = ProjectService(
        open_repository(profile, paths, credentials=credentials, secrets=secrets),
        limits=profile.limits,
        ignore_patterns=profile.ignore_patterns,
        data_dir=paths.data_dir,
    )
    service.conditional_writes = profile.conditional_writes
    service.profile_name = profile.name
    return service
