"""The one place where botocore's exceptions become ProjectDesk's typed, secret-free errors."""

from __future__ import annotations

import re

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    SSLError,
)

from projectdesk.core.errors import (
    AccessDenied,
    AuthError,
    BucketMissing,
    Conflict,
    NotFound,
    Offline,
    ProjectDeskError,
    StorageError,
)

try:  # only present in newer botocore
    from botocore.exceptions import ProxyConnectionError
except ImportError:  # pragma: no cover
    ProxyConnectionError = EndpointConnectionError  # type: ignore[misc,assignment]

_REGION_IN_MESSAGE = re.compile(r"expecting '([a-z0-9-]+)'")


def translate(exc: Exception, *, bucket: str, endpoint: str, what: str = "") -> ProjectDeskError:
    """Turn a botocore/boto3 exception into a ProjectDeskError whose message a person can act on.

    Only error codes, the bucket, the endpoint and `what` (a key or project name) go into messages;
    botocore's own text is never copied, as some of it (string-to-sign dumps) is too revealing.
    """
    if isinstance(exc, ProjectDeskError):
        return exc
    subject = f" ({what})" if what else ""
    if isinstance(exc, SSLError):
        return StorageError(
            f"A secure (TLS) connection to {endpoint} failed: the certificate is not trusted or the "
            "server does not speak HTTPS on that port."
        )
    if isinstance(
        exc,
        EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError | ProxyConnectionError,
    ):
        return Offline(f"Cannot reach {endpoint}: the server is down or the network is offline.")
    if isinstance(exc, ReadTimeoutError):
        return Offline(f"{endpoint} stopped answering (timed out){subject}.")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AuthError("No S3 credentials were found for this profile: add an access key first.")
    if isinstance(exc, ClientError):
        return _from_client_error(exc, bucket=bucket, endpoint=endpoint, subject=subject)
    if isinstance(exc, BotoCoreError):
        return StorageError(f"S3 request failed{subject}: {type(exc).__name__}.")
    return StorageError(f"Unexpected storage failure{subject}: {type(exc).__name__}.")


def _from_client_error(exc: ClientError, *, bucket: str, endpoint: str, subject: str) -> ProjectDeskError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code == "NoSuchBucket":
        return BucketMissing(f"The bucket '{bucket}' does not exist at {endpoint}.")
    if code in ("NoSuchKey", "NotFound", "404") or status == 404:
        return NotFound(f"Not found{subject}.")
    if code in ("PreconditionFailed", "412", "ConditionalRequestConflict") or status == 412:
        return Conflict(f"The file changed on the server since it was last read{subject}; nothing was overwritten.")
    if code == "InvalidAccessKeyId":
        return AuthError(f"The access key ID is not known to {endpoint}.")
    if code == "SignatureDoesNotMatch":
        return AuthError("The secret access key is wrong: the server rejected the request signature.")
    if code in ("RequestTimeTooSkewed", "RequestExpired"):
        return AuthError("This computer's clock is too far off the server's: set the correct time and retry.")
    if code in ("AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException"):
        region = error.get("Region") or _region_from(str(error.get("Message", "")))
        hint = f" It is in '{region}'." if region else ""
        return StorageError(f"The bucket '{bucket}' is in another region than this profile says.{hint}")
    if code in ("ExpiredToken", "InvalidToken", "TokenRefreshRequired"):
        return AuthError("The session token has expired or is invalid: sign in again.")
    if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
        return AccessDenied(f"Access denied to bucket '{bucket}'{subject}: the key lacks permission.")
    if code in ("SlowDown", "ServiceUnavailable", "503") or status in (500, 502, 503, 504):
        return Offline(f"{endpoint} is overloaded or unavailable right now (HTTP {status}); try again later.")
    return StorageError(f"The server refused the request{subject}: {code or 'HTTP ' + str(status)}.")


def _region_from(message: str) -> str:
    match = _REGION_IN_MESSAGE.search(message)
    return match.group(1) if match else ""
