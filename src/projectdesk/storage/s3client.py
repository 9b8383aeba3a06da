"""Builds the one S3 client a profile uses (botocore's, the class boto3 hands out), for AWS and quirky S3 servers."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from projectdesk.storage.proxy import ProxySettings

# Enough for the bulk transfer pool (storage.repository.DEFAULT_WORKERS) plus the window's own calls.
DEFAULT_MAX_CONNECTIONS = 48


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # never print the secret, even in a traceback's locals
        return f"Credentials(access_key_id={self.access_key_id[:4]}…, secret_access_key=***)"


def fast_timestamp(value: Any) -> Any:
    """botocore's timestamp parser, minus dateutil for the ISO 8601 form S3 listings use.

    botocore parses every LastModified of a listing with dateutil (≈100 µs each: a third of the CPU of
    listing 2,000 keys); `datetime.fromisoformat` reads S3's `2025-01-31T12:00:00.000Z` in ≈1 µs.
    Anything else (HTTP dates in headers, epoch numbers) goes to botocore's own parser.
    """
    if isinstance(value, str) and len(value) >= 20 and value[10] == "T":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed
    from botocore.utils import parse_timestamp

    return parse_timestamp(value)


def make_client(
    *,
    endpoint_url: str | None,
    region: str | None,
    credentials: Credentials | None = None,
    aws_profile: str | None = None,
    path_style: bool = False,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
    max_attempts: int = 5,
    proxy: ProxySettings | None = None,
) -> S3Client:
    """A client for AWS (endpoint_url None) or any S3-compatible endpoint.

    Without `credentials` or `aws_profile`, boto3's default chain (environment, ~/.aws, SSO, …) is used.
    The client is the one boto3 would hand out, made by botocore's session directly: going through boto3
    would also import boto3 and s3transfer (≈20 ms of every start), which only the no-CRT transfer fallback
    needs (storage/s3.py `_transfer` imports them there). botocore is imported here, not at module load, so
    the window paints before paying for it.

    `proxy` sends every request through that HTTP(S) proxy (storage/proxy.py); without it botocore
    honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment.
    """
    import botocore.session
    from botocore.config import Config

    config = Config(
        region_name=region or None,
        signature_version="s3v4",  # presigned URLs would otherwise be SigV2 on some setups
        s3={"addressing_style": "path" if path_style else "auto"},
        retries={"mode": "standard", "max_attempts": max_attempts},
        max_pool_connections=max_connections,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        tcp_keepalive=True,
        # Whole-object checksums on every request cost CPU and break on servers that answer range
        # and 304 responses with full-object checksums (rclone serve s3): compute them only when required.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        user_agent_appid="projectdesk",  # type: ignore[call-arg]  # missing from the stubs
        proxies=proxy.botocore_proxies() if proxy is not None else None,
    )
    session = botocore.session.Session(profile=aws_profile) if aws_profile else botocore.session.Session()
    from projectdesk.storage import s3_parsing

    parsers = s3_parsing.FastParserFactory()  # botocore's parsers, listings read in one pass (s3_parsing.py)
    parsers.set_parser_defaults(timestamp_parser=fast_timestamp)
    session.register_component("response_parser_factory", parsers)
    kwargs: dict[str, Any] = {}
    if credentials is not None:
        kwargs = {
            "aws_access_key_id": credentials.access_key_id,
            "aws_secret_access_key": credentials.secret_access_key,
            "aws_session_token": credentials.session_token,
        }
    kwargs.update(region_name=region or None, endpoint_url=endpoint_url or None, config=config)
    # Creating the client turns botocore's S3 model and endpoint rules into ≈35,000 objects that live as long
    # as it does: with the cycle collector paused meanwhile, they are not scanned again and again as they
    # pile up (≈20 ms of the ≈85 ms this call takes). Turned back on right after, unless it was off already.
    collecting = gc.isenabled()
    gc.disable()
    try:
        client = cast("S3Client", session.create_client("s3", **kwargs))
    finally:
        if collecting:
            gc.enable()
    from projectdesk.storage.crt import install_template_hook

    install_template_hook(client)  # before any thread uses the client: registering events is not thread-safe
    s3_parsing.install(client)
    return client
