"""The one place where botocore's exceptions become ProjectDesk's typed, secret-free errors.

`classify` names what went wrong (a `Failure`), `translate` turns it into a ProjectDeskError with one
plain sentence; the connection test (services/connection_test.py) uses both.
"""

from __future__ import annotations

import errno
import math
import os
import re
import shutil
import socket
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    InvalidConfigError,
    InvalidRegionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSLError,
    SSOError,
    TokenRetrievalError,
)

from projectdesk.core.errors import (
    AccessDenied,
    AuthError,
    BucketMissing,
    Conflict,
    InvalidInput,
    NoHistory,
    NotFound,
    Offline,
    ProjectDeskError,
    SignInRequired,
    StorageError,
)
from projectdesk.storage.proxy import ProxyRoute, route_of

try:  # only present in newer botocore
    from botocore.exceptions import ProxyConnectionError
except ImportError:  # pragma: no cover
    ProxyConnectionError = EndpointConnectionError  # type: ignore[misc,assignment]

_REGION_IN_MESSAGE = re.compile(r"expecting '([a-z0-9-]+)'")
_REGION_CODES = ("AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException", "301")
_PLAIN_WORD = re.compile(r"[\w.,:@%+=/-]+")
_DISK_FULL_ERRNOS = frozenset(code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if code is not None)
# How a full disk shows in a CRT failure: its error name, or the strerror of an OSError it was built from.
_DISK_FULL_NAMES = ("AWS_ERROR_NO_SPACE", *(os.strerror(code) for code in sorted(_DISK_FULL_ERRNOS)))


def _shell_word(text: str) -> str:
    """`text` as one word of a POSIX shell command, double-quoted only when it needs to be."""
    if _PLAIN_WORD.fullmatch(text):
        return text
    return '"' + re.sub(r'([\\"$`])', r"\\\1", text) + '"'


class DiskFull(StorageError):
    """A write found no room left on its disk (ENOSPC) or the user's quota used up (EDQUOT)."""

    title = "Disk full"


class SsoSignInMissing(SignInRequired):
    """The AWS SSO (IAM Identity Center) sign-in of an AWS profile is missing or expired.

    botocore's SSO exceptions do not say which profile they are about: `aws_profile` is "" when the
    caller did not pass it to `translate`, and `for_profile` fills it in later (the CLI knows its profile).
    With `store` (the ProjectDesk profile), the sentence names `projectdesk-cli profiles login` first: signing
    in needs no AWS CLI.
    """

    def __init__(self, aws_profile: str = "", store: str = "") -> None:
        self.store = store
        if aws_profile:
            subject, command = f"profile '{aws_profile}'", f"aws sso login --profile {_shell_word(aws_profile)}"
        else:
            subject, command = "this profile", "aws sso login"
        if store:
            how = f"run 'projectdesk-cli profiles login {_shell_word(store)}' (or '{command}')"
        else:
            how = f"run '{command}'"
        super().__init__(f"The AWS SSO sign-in for {subject} is missing or expired: {how}.", aws_profile)

    def for_profile(self, aws_profile: str, store: str = "") -> SsoSignInMissing:
        """This error naming `aws_profile` and `store` (itself when it names them already or they are empty)."""
        if (self.aws_profile or not aws_profile) and (self.store or not store):
            return self
        return SsoSignInMissing(self.aws_profile or aws_profile, self.store or store)


class Failure(StrEnum):
    """What went wrong, as far as the exception tells."""

    UNREACHABLE = "unreachable"  # connection refused, no route, connect timeout
    DNS = "dns"  # the endpoint's host name does not resolve
    TLS = "tls"
    TIMEOUT = "timeout"  # connected, then no answer
    NO_CREDENTIALS = "no-credentials"
    AWS_PROFILE = "aws-profile"  # the ~/.aws profile is missing or broken
    SSO_EXPIRED = "sso-expired"
    UNKNOWN_ACCESS_KEY = "unknown-access-key"
    WRONG_SECRET = "wrong-secret"
    EXPIRED_TOKEN = "expired-token"
    CLOCK_SKEW = "clock-skew"
    WRONG_REGION = "wrong-region"
    ACCESS_DENIED = "access-denied"
    BUCKET_MISSING = "bucket-missing"
    NOT_FOUND = "not-found"
    NO_SUCH_VERSION = "no-such-version"  # a version id the key does not have, or a delete marker's
    CONFLICT = "conflict"
    SERVER_BUSY = "server-busy"
    BAD_CONFIG = "bad-config"
    PROXY_REFUSED = "proxy-refused"  # nothing listens at the proxy's port, or it would not open the tunnel
    PROXY_LOGIN = "proxy-login"  # 407: the proxy wants a user name and password, or not the ones sent
    PROXY_UNREACHABLE = "proxy-unreachable"  # the proxy's name does not resolve, or it does not answer
    OTHER = "other"


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, ProxyConnectionError) and type(exc).__name__ == "ProxyConnectionError":
        return _classify_proxy_error(exc)
    if isinstance(exc, SSLError):
        return Failure.TLS
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError | ProxyConnectionError):
        return Failure.DNS if _is_dns_failure(exc) else Failure.UNREACHABLE
    if isinstance(exc, ReadTimeoutError):
        return Failure.TIMEOUT
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return Failure.NO_CREDENTIALS
    if isinstance(exc, SSOError | TokenRetrievalError):
        return Failure.SSO_EXPIRED
    if isinstance(exc, ProfileNotFound | CredentialRetrievalError | InvalidConfigError):
        return Failure.AWS_PROFILE
    if isinstance(exc, InvalidRegionError):
        return Failure.BAD_CONFIG
    if isinstance(exc, ClientError):
        return _classify_client_error(exc)
    return Failure.OTHER


def _classify_client_error(exc: ClientError) -> Failure:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = _status(exc)
    if status == 407 or code == "407":  # an http endpoint's requests are forwarded: the proxy answers them
        return Failure.PROXY_LOGIN
    if code == "NoSuchBucket":
        return Failure.BUCKET_MISSING
    if code in ("NoSuchVersion", "MethodNotAllowed") or (code == "InvalidArgument" and _names_version(exc)):
        return Failure.NO_SUCH_VERSION  # a GET of a delete marker is 405 MethodNotAllowed
    if code in ("NoSuchKey", "NotFound", "404") or status == 404:
        return Failure.NOT_FOUND
    if code in ("PreconditionFailed", "412", "ConditionalRequestConflict") or status == 412:
        return Failure.CONFLICT
    if code == "InvalidAccessKeyId":
        return Failure.UNKNOWN_ACCESS_KEY
    if code == "SignatureDoesNotMatch":
        return Failure.WRONG_SECRET
    if code in ("RequestTimeTooSkewed", "RequestExpired"):
        return Failure.CLOCK_SKEW
    if code in _REGION_CODES or status == 301 or (status == 400 and code in ("", "400") and bucket_region(exc)):
        return Failure.WRONG_REGION  # HEAD answers carry no code, only x-amz-bucket-region
    if code in ("ExpiredToken", "InvalidToken", "TokenRefreshRequired"):
        return Failure.EXPIRED_TOKEN
    if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
        return Failure.ACCESS_DENIED
    if code in ("SlowDown", "ServiceUnavailable", "503") or status in (500, 502, 503, 504):
        return Failure.SERVER_BUSY
    return Failure.OTHER


def translate(
    exc: Exception,
    *,
    bucket: str,
    endpoint: str,
    what: str = "",
    aws_profile: str = "",
    proxy: ProxyRoute | None = None,
) -> ProjectDeskError:
    """Turn a botocore/boto3 exception into a ProjectDeskError whose message a person can act on.

    Only error codes, the bucket, the region, the endpoint, an AWS profile name (`aws_profile`: the
    ~/.aws profile in use, named by the SSO sentence) and `what` (a key or project name) go into
    messages; botocore's own text is never copied, as some of it (string-to-sign dumps, credential
    provider output) is too revealing. A full disk (ENOSPC, EDQUOT), also inside a CRT failure, is a DiskFull.
    The proxy's failures name it by `proxy` (the route the client uses, storage/proxy.py) or else by the
    host and port of the URL botocore's ProxyConnectionError carries: never by its credentials.
    """
    if isinstance(exc, ProjectDeskError):
        return exc
    subject = f" ({what})" if what else ""
    full = _disk_full_cause(exc)
    if full is not None:
        if isinstance(full, OSError) and full.filename:
            return disk_full_error(Path(os.fsdecode(full.filename)), None)
        return DiskFull(f"The disk being written to is full{subject}.")
    kind = classify(exc)
    if kind in (Failure.PROXY_REFUSED, Failure.PROXY_LOGIN, Failure.PROXY_UNREACHABLE):
        return _proxy_error(kind, exc, proxy)
    match kind:
        case Failure.TLS:
            return StorageError(
                f"A secure (TLS) connection to {endpoint} failed: the certificate is not trusted or the "
                "server does not speak HTTPS on that port."
            )
        case Failure.DNS:
            return Offline(
                f"The server name in {endpoint} cannot be found (DNS): check the endpoint URL or the network."
            )
        case Failure.UNREACHABLE:
            return Offline(f"Cannot reach {endpoint}: the server is down, the port is wrong or the network is offline.")
        case Failure.TIMEOUT:
            return Offline(f"{endpoint} stopped answering (timed out){subject}.")
        case Failure.NO_CREDENTIALS:
            return AuthError("No S3 credentials were found for this profile: add an access key first.")
        case Failure.SSO_EXPIRED:
            return SsoSignInMissing(aws_profile)
        case Failure.AWS_PROFILE:
            if isinstance(exc, ProfileNotFound):
                name = str(exc.kwargs.get("profile", ""))
                return AuthError(f"The AWS profile '{name}' is not in ~/.aws/config or ~/.aws/credentials.")
            return AuthError(f"The AWS profile's credentials could not be loaded ({type(exc).__name__}).")
        case Failure.BAD_CONFIG:
            return InvalidInput(f"The profile's region is not a valid region name ({type(exc).__name__}).")
        case Failure.BUCKET_MISSING:
            return BucketMissing(f"The bucket '{bucket}' does not exist at {endpoint}.")
        case Failure.NOT_FOUND:
            return NotFound(f"Not found{subject}.")
        case Failure.NO_SUCH_VERSION:
            return NotFound(f"There is no such version with content{subject}: it is unknown, or a deletion.")
        case Failure.CONFLICT:
            return Conflict(f"The file changed on the server since it was last read{subject}; nothing was overwritten.")
        case Failure.UNKNOWN_ACCESS_KEY:
            return AuthError(f"The access key ID is not known to {endpoint}.")
        case Failure.WRONG_SECRET:
            return AuthError("The secret access key is wrong: the server rejected the request signature.")
        case Failure.CLOCK_SKEW:
            return AuthError("This computer's clock is too far off the server's: set the correct time and retry.")
        case Failure.WRONG_REGION:
            return wrong_region(bucket, bucket_region(exc))
        case Failure.EXPIRED_TOKEN:
            return AuthError("The session token has expired or is invalid: sign in again.")
        case Failure.ACCESS_DENIED:
            return AccessDenied(f"Access denied to bucket '{bucket}'{subject}: the key lacks permission.")
        case Failure.SERVER_BUSY:
            status = _status(exc) if isinstance(exc, ClientError) else 0
            return Offline(f"{endpoint} is overloaded or unavailable right now (HTTP {status}); try again later.")
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "")) or f"HTTP {_status(exc)}"
        return StorageError(f"The server refused the request{subject}: {code}.")
    if isinstance(exc, BotoCoreError):
        return StorageError(f"S3 request failed{subject}: {type(exc).__name__}.")
    return StorageError(f"Unexpected storage failure{subject}: {type(exc).__name__}.")


# How a poll of the AWS SSO device sign-in (sso-oidc CreateToken) that raised goes on.
SSO_PENDING = "pending"  # not approved in the browser yet: poll again after the interval
SSO_SLOW_DOWN = "slow-down"  # polled too often: poll again after a longer interval


def sso_poll_answer(exc: BaseException) -> str:
    """SSO_PENDING or SSO_SLOW_DOWN when a failed CreateToken poll means "keep polling", else "" (the sign-in
    failed: `translate_sso_sign_in` says why)."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("AuthorizationPendingException", "authorization_pending"):
            return SSO_PENDING
        if code in ("SlowDownException", "slow_down"):
            return SSO_SLOW_DOWN
    return ""


def translate_sso_sign_in(exc: Exception, *, start_url: str, endpoint: str) -> ProjectDeskError:
    """The one sentence for a failed step of the AWS SSO device sign-in (sso-oidc RegisterClient,
    StartDeviceAuthorization, CreateToken): denied or expired in the browser, a refused start URL or
    registration, else as `translate` says (unreachable, timed out, …)."""
    if isinstance(exc, ProjectDeskError):
        return exc
    code = str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""
    if code in ("AccessDeniedException", "access_denied"):
        return AccessDenied("The sign-in was denied in the browser: sign in again and choose Allow.")
    if code in ("ExpiredTokenException", "expired_token"):
        return AuthError("The sign-in code expired before it was approved in the browser: sign in again.")
    if code in ("InvalidClientException", "UnauthorizedClientException", "InvalidGrantException"):
        return AuthError(f"{start_url} refused ProjectDesk's sign-in request ({code}): sign in again.")
    if code in ("InvalidRequestException", "InvalidScopeException"):
        return InvalidInput(f"{start_url} refused the sign-in ({code}): check sso_start_url and sso_region.")
    return translate(exc, bucket="", endpoint=endpoint, what="AWS SSO sign-in")


def _proxy_error(kind: Failure, exc: BaseException, proxy: ProxyRoute | None) -> ProjectDeskError:
    """The sentence for a proxy's failure, naming the proxy by host and port only."""
    if proxy is None and isinstance(exc, ProxyConnectionError):
        proxy = route_of(str(getattr(exc, "kwargs", {}).get("proxy_url", "")))
    the_proxy = f"The proxy at {proxy.address}" if proxy is not None and proxy.address else "The proxy"
    if kind is Failure.PROXY_LOGIN:
        if proxy is not None and proxy.user:
            return AuthError(
                f"{the_proxy} did not accept its user name and password: check the proxy user and password."
            )
        return AuthError(f"{the_proxy} needs a user name and password (Proxy-Authorization).")
    if kind is Failure.PROXY_REFUSED:
        return Offline(f"{the_proxy} refused the connection.")
    if _is_dns_failure(exc):
        return Offline(f"{the_proxy} cannot be found (DNS): check the proxy address.")
    return Offline(f"{the_proxy} cannot be reached: check the proxy address and the network.")


_TUNNEL_FAILED = re.compile(r"Tunnel connection failed: (\d{3})")


def _classify_proxy_error(exc: BaseException) -> Failure:
    """Refused (no listener, or the proxy would not tunnel), a login wanted (407), or unreachable."""
    for item in _causes(exc):
        if isinstance(item, ConnectionRefusedError) or getattr(item, "errno", None) == errno.ECONNREFUSED:
            return Failure.PROXY_REFUSED
        tunnel = _TUNNEL_FAILED.search(str(item)) if isinstance(item, OSError) else None
        if tunnel is not None:
            return Failure.PROXY_LOGIN if tunnel.group(1) == "407" else Failure.PROXY_REFUSED
    return Failure.PROXY_UNREACHABLE


def disk_full_error(path: Path, needed_bytes: int | None) -> StorageError:
    """The error for a write under `path` (a file or folder) that found its disk full.

    With `needed_bytes` (the size the write wanted in all), it says how much more room is needed:
    that size minus what the disk has free now.
    """
    folder = path if os.path.isdir(path) else path.parent  # os.path's checks answer False on any OSError
    existing = folder
    while not os.path.exists(existing) and existing != existing.parent:
        existing = existing.parent
    short = 0
    if needed_bytes is not None:
        try:
            short = needed_bytes - shutil.disk_usage(existing).free
        except OSError:
            short = 0
    if short > 0:
        return DiskFull(f"The disk holding {folder} is full (needed {max(1, math.ceil(short / 1_000_000))} MB more).")
    return DiskFull(f"The disk holding {folder} is full.")


def versioning_off(bucket: str, status: str, profile_name: str = "") -> NoHistory:
    """The one sentence for a history command on a bucket that keeps no old versions (`status` is what
    GetBucketVersioning said: "" when versioning was never enabled, "Suspended")."""
    name = _shell_word(profile_name) if profile_name else "NAME"
    how = f"turn it on with 'projectdesk-cli profiles versioning {name} --enable' (or in the accounts dialog)"
    if status == "Suspended":
        return NoHistory(
            f"Versioning is suspended on bucket '{bucket}', so a restore could replace the current version for "
            f"good: {how}."
        )
    return NoHistory(f"The bucket '{bucket}' does not keep old versions of files (versioning is off): {how}.")


def wrong_region(bucket: str, region: str) -> StorageError:
    """The error for a bucket that lives in another region than the profile names (`region` if known)."""
    if region:
        return StorageError(
            f"The bucket '{bucket}' is in region '{region}', not the one this profile names: "
            f"set the profile's region to '{region}'."
        )
    return StorageError(f"The bucket '{bucket}' is in another region than the one this profile names.")


def bucket_region(exc: BaseException) -> str:
    """The bucket's real region when the server says it (error field, x-amz-bucket-region, or message)."""
    if not isinstance(exc, ClientError):
        return ""
    error = exc.response.get("Error", {})
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
    region = error.get("Region") or headers.get("x-amz-bucket-region") or ""
    if not region:
        match = _REGION_IN_MESSAGE.search(str(error.get("Message", "")))
        region = match.group(1) if match else ""
    return str(region)


def _names_version(exc: ClientError) -> bool:
    return "version" in str(exc.response.get("Error", {}).get("Message", "")).lower()


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _disk_full_cause(exc: BaseException) -> BaseException | None:
    """The OSError (ENOSPC, EDQUOT) or CRT failure behind `exc` that says the disk is full, if any."""
    for item in _causes(exc):
        if isinstance(item, OSError) and item.errno in _DISK_FULL_ERRNOS:
            return item
        kwargs = getattr(item, "kwargs", None)  # botocore errors keep their fields there (CrtTransferError: name)
        name = str(kwargs.get("name", "")) if isinstance(kwargs, dict) else str(getattr(item, "name", "") or "")
        if any(part in name for part in _DISK_FULL_NAMES):
            return item
    return None


def _is_dns_failure(exc: BaseException) -> bool:
    """Whether a connection error comes from name resolution (urllib3's NameResolutionError, gaierror)."""
    return any(
        isinstance(item, socket.gaierror) or type(item).__name__ == "NameResolutionError" for item in _causes(exc)
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception behind it, each once: Python's cause and context, what botocore, urllib3 and
    the CRT keep inside theirs (`kwargs['error']`, `original_error`, `botocore_error`, `reason`, arguments)."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        kwargs = getattr(item, "kwargs", None)
        if isinstance(kwargs, dict):
            todo.append(kwargs.get("error"))
        todo += [item.__cause__, item.__context__, *item.args]
        todo += [getattr(item, name, None) for name in ("original_error", "botocore_error", "reason")]
