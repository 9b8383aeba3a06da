"""translate(): botocore failures become typed, actionable, secret-free ProjectDesk errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
    SSLError,
)

from projectdesk.core.errors import (
    AccessDenied,
    AuthError,
    BucketMissing,
    Conflict,
    InvalidKey,
    NotFound,
    Offline,
    ProjectDeskError,
    StorageError,
)
from projectdesk.storage.errors import translate

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz"
ACCESS_KEY = "AKIAZZZFAKEKEYID9999"
BUCKET = "my-projects"
ENDPOINT = "https://s3.example.test"


def client_error(code: str, status: int, op: str = "GetObject", **extra: Any) -> ClientError:
    error: dict[str, Any] = {
        "Code": code,
        "Message": f"The request signature we calculated does not match. StringToSign: {SECRET} key {ACCESS_KEY}",
        **extra,
    }
    response: Any = {
        "Error": error,
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "REQ123", "HostId": "host"},
    }
    return ClientError(response, op)


CASES: list[tuple[str, int, dict[str, Any], type[ProjectDeskError]]] = [
    ("NoSuchBucket", 404, {"BucketName": BUCKET}, BucketMissing),
    ("NoSuchKey", 404, {"Key": "projects/a/b/c.txt"}, NotFound),
    ("404", 404, {}, NotFound),
    ("PreconditionFailed", 412, {}, Conflict),
    ("InvalidAccessKeyId", 403, {"AWSAccessKeyId": ACCESS_KEY}, AuthError),
    ("SignatureDoesNotMatch", 403, {"StringToSign": SECRET, "SignatureProvided": SECRET}, AuthError),
    ("AccessDenied", 403, {}, AccessDenied),
    ("RequestTimeTooSkewed", 403, {"ServerTime": "2030-01-01T00:00:00Z"}, AuthError),
    ("AuthorizationHeaderMalformed", 400, {"Region": "eu-west-1"}, StorageError),
    ("ExpiredToken", 400, {}, AuthError),
    ("SlowDown", 503, {}, Offline),
    ("InternalError", 500, {}, Offline),
    ("SomethingNew", 400, {}, StorageError),
]


@pytest.mark.parametrize(("code", "status", "extra", "expected"), CASES, ids=[c[0] for c in CASES])
def test_client_errors_map_to_the_right_type(
    code: str, status: int, extra: dict[str, Any], expected: type[ProjectDeskError]
) -> None:
    result = translate(client_error(code, status, **extra), bucket=BUCKET, endpoint=ENDPOINT, what="site-12345")
    assert type(result) is expected
    assert result.message
    assert SECRET not in result.message
    assert SECRET not in str(result)
    assert ACCESS_KEY not in result.message
    assert "StringToSign" not in result.message


def test_messages_are_actionable() -> None:
    def msg(code: str, status: int, **extra: Any) -> str:
        return translate(client_error(code, status, **extra), bucket=BUCKET, endpoint=ENDPOINT, what="a.txt").message

    assert BUCKET in msg("NoSuchBucket", 404)
    assert "a.txt" in msg("NoSuchKey", 404)
    assert "clock" in msg("RequestTimeTooSkewed", 403)
    assert "eu-west-1" in msg("AuthorizationHeaderMalformed", 400, Region="eu-west-1")
    assert "region" in msg("AuthorizationHeaderMalformed", 400)
    assert "503" in msg("SlowDown", 503)
    assert ENDPOINT in msg("InvalidAccessKeyId", 403)
    assert "SomethingNew" in msg("SomethingNew", 400)


def test_region_is_read_from_aws_message_when_no_region_field() -> None:
    exc = ClientError(
        {
            "Error": {
                "Code": "AuthorizationHeaderMalformed",
                "Message": "The authorization header is malformed; the region 'us-east-1' is wrong; "
                "expecting 'ap-southeast-2'",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "ListObjectsV2",
    )
    assert "ap-southeast-2" in translate(exc, bucket=BUCKET, endpoint=ENDPOINT).message


def test_status_only_errors() -> None:
    head_404 = ClientError({"Error": {"Code": "", "Message": SECRET}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "H")
    head_403 = ClientError({"Error": {"Code": "", "Message": SECRET}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "H")
    assert type(translate(head_404, bucket=BUCKET, endpoint=ENDPOINT)) is NotFound
    assert type(translate(head_403, bucket=BUCKET, endpoint=ENDPOINT)) is AccessDenied


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (EndpointConnectionError(endpoint_url=ENDPOINT), Offline),
        (ConnectTimeoutError(endpoint_url=ENDPOINT), Offline),
        (ReadTimeoutError(endpoint_url=ENDPOINT), Offline),
        (SSLError(endpoint_url=ENDPOINT, error=f"certificate verify failed {SECRET}"), StorageError),
        (NoCredentialsError(), AuthError),
        (ValueError(SECRET), StorageError),
    ],
    ids=["endpoint", "connect-timeout", "read-timeout", "ssl", "no-credentials", "unexpected"],
)
def test_transport_errors(exc: Exception, expected: type[ProjectDeskError]) -> None:
    result = translate(exc, bucket=BUCKET, endpoint=ENDPOINT)
    assert type(result) is expected
    assert SECRET not in result.message


def test_ssl_error_mentions_tls_and_endpoint() -> None:
    message = translate(SSLError(endpoint_url=ENDPOINT, error="x"), bucket=BUCKET, endpoint=ENDPOINT).message
    assert "TLS" in message
    assert ENDPOINT in message


def test_project_desk_errors_pass_through() -> None:
    original = InvalidKey("bad key")
    assert translate(original, bucket=BUCKET, endpoint=ENDPOINT) is original
