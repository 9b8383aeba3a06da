"""Builds the one boto3 S3 client a profile uses, configured for AWS and for quirky S3-compatible servers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # never print the secret, even in a traceback's locals
        return f"Credentials(access_key_id={self.access_key_id[:4]}…, secret_access_key=***)"


def make_client(
    *,
    endpoint_url: str | None,
    region: str | None,
    credentials: Credentials | None = None,
    aws_profile: str | None = None,
    path_style: bool = False,
    max_connections: int = 40,
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
    max_attempts: int = 5,
) -> S3Client:
    """A client for AWS (endpoint_url None) or any S3-compatible endpoint.

    Without `credentials` or `aws_profile`, boto3's default chain (environment, ~/.aws, SSO, …) is used.
    boto3 is imported here, not at module load, so the window paints before paying for it.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=region or None,
        signature_version="s3v4",  # presigned URLs would otherwise be SigV2 on some setups
        s3={"addressing_style": "path" if path_style else "auto"},
        retries={"mode": "standard", "max_attempts": max_attempts},
        max_pool_connections=max_connections,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # Whole-object checksums on every request cost CPU and break on servers that answer range
        # and 304 responses with full-object checksums (rclone serve s3): compute them only when required.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        user_agent_appid="projectdesk",  # type: ignore[call-arg]  # missing from the stubs
    )
    session = boto3.session.Session(profile_name=aws_profile) if aws_profile else boto3.session.Session()
    kwargs = {}
    if credentials is not None:
        kwargs = {
            "aws_access_key_id": credentials.access_key_id,
            "aws_secret_access_key": credentials.secret_access_key,
            "aws_session_token": credentials.session_token,
        }
    return session.client("s3", endpoint_url=endpoint_url or None, config=config, **kwargs)  # type: ignore[call-overload,no-any-return]
