"""The connection test against a real SeaweedFS server: every way a connection fails, provoked for real,
each named in one plain sentence that never holds a secret. (moto accepts any secret: not usable here.)"""

from __future__ import annotations

import datetime
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import Profile
from projectdesk.config.secrets import SecretStore
from projectdesk.core.errors import AccessDenied, AuthError, BucketMissing, Offline, StorageError
from projectdesk.services import connection_test
from projectdesk.services.connection_test import ConnectionReport
from projectdesk.storage.errors import Failure
from projectdesk.storage.s3client import Credentials

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

pytestmark = pytest.mark.seaweedfs


def assert_plain_sentence(message: str, *secrets: str | None) -> None:
    """One sentence for a person: one line, a capital first, a full stop last, no second sentence,
    no Python or botocore vocabulary, and none of the given secrets."""
    assert message and "\n" not in message, message
    assert message[0].isupper() and message.endswith("."), message
    assert not re.search(r"[.!?] [A-Z]", message), f"more than one sentence: {message}"
    for word in ("Traceback", "ClientError", "botocore", "StringToSign", "Exception", "None"):
        assert word not in message, message
    for secret in secrets:
        if secret:
            assert secret not in message, "a secret leaked into a message"
    assert len(message) < 300, message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def bucket(seaweed: SeaweedServer) -> str:
    name = f"cred-{uuid.uuid4().hex[:12]}"
    seaweed.create_bucket(name)
    return name


@pytest.fixture
def check(seaweed: SeaweedServer, isolated_dirs: Paths) -> Callable[..., ConnectionReport]:
    """Run the connection test on a keyring profile for `seaweed`, with keys stored in the (memory) keyring."""

    def run(
        bucket: str,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        endpoint: str | None = None,
        **options: Any,
    ) -> ConnectionReport:
        profile = Profile(name="weed", endpoint_url=endpoint or seaweed.endpoint_url, region=seaweed.region,
                          bucket=bucket, path_style=True, credential_source="keyring").validate()  # fmt: skip
        store = SecretStore()
        store.save("weed", Credentials(access_key or seaweed.access_key, secret_key or seaweed.secret_key))
        report = connection_test.test_connection(profile, isolated_dirs, secrets=store, **options)
        assert_plain_sentence(report.message, seaweed.secret_key, seaweed.readonly_secret_key, secret_key)
        return report

    return run


def test_ok_and_write_probe(check: Callable[..., ConnectionReport], bucket: str, seaweed: SeaweedServer) -> None:
    report = check(bucket)
    assert report.ok and report.problem is None and report.writable is None and report.projects == 0
    assert "writing was not tested" in report.message
    report = check(bucket, write=True)
    assert report.ok and report.writable is True
    assert seaweed.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0, "probe left behind"


def test_wrong_access_key(check: Callable[..., ConnectionReport], bucket: str, seaweed: SeaweedServer) -> None:
    report = check(bucket, access_key="AKNOSUCHKEY000000000")
    assert report.problem is Failure.UNKNOWN_ACCESS_KEY and type(report.error) is AuthError
    assert report.message == f"The access key ID is not known to {seaweed.endpoint_url}."


def test_wrong_secret(check: Callable[..., ConnectionReport], bucket: str) -> None:
    report = check(bucket, secret_key="this-is-not-the-secret-" + uuid.uuid4().hex)
    assert report.problem is Failure.WRONG_SECRET and type(report.error) is AuthError
    assert report.message == "The secret access key is wrong: the server rejected the request signature."


def test_missing_bucket_then_create_it(check: Callable[..., ConnectionReport], seaweed: SeaweedServer) -> None:
    name = f"missing-{uuid.uuid4().hex[:10]}"
    report = check(name)
    assert report.problem is Failure.BUCKET_MISSING and report.can_create_bucket
    assert type(report.error) is BucketMissing
    assert report.message == f"The bucket '{name}' does not exist at {seaweed.endpoint_url}."
    created = check(name, create_bucket=True, write=True)
    assert created.ok and created.bucket_created and created.writable
    seaweed.client().head_bucket(Bucket=name)
    again = check(name, create_bucket=True)
    assert again.ok and not again.bucket_created


def test_closed_port(check: Callable[..., ConnectionReport], bucket: str) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    report = check(bucket, endpoint=endpoint)
    assert report.problem is Failure.UNREACHABLE and type(report.error) is Offline
    assert report.message.startswith(f"Cannot reach {endpoint}:")


def test_bad_host_name(check: Callable[..., ConnectionReport], bucket: str) -> None:
    report = check(bucket, endpoint="http://nonexistent.invalid:8333")
    assert report.problem is Failure.DNS and type(report.error) is Offline
    assert "cannot be found (DNS)" in report.message


def test_tls_to_a_plain_http_port(check: Callable[..., ConnectionReport], bucket: str, seaweed: SeaweedServer) -> None:
    report = check(bucket, endpoint=seaweed.endpoint_url.replace("http://", "https://"))
    assert report.problem is Failure.TLS and type(report.error) is StorageError
    assert "secure (TLS) connection" in report.message


def test_read_only_key(check: Callable[..., ConnectionReport], bucket: str, seaweed: SeaweedServer) -> None:
    ro = {"access_key": seaweed.readonly_access_key, "secret_key": seaweed.readonly_secret_key}
    listing = check(bucket, **ro)
    assert listing.ok and listing.writable is None
    denied = check(bucket, write=True, **ro)
    assert not denied.ok and denied.writable is False and denied.problem is Failure.ACCESS_DENIED
    assert type(denied.error) is AccessDenied
    assert denied.message == (
        f"The key can list s3://{bucket}/projects/anonymous/ at {seaweed.endpoint_url} but may not write there: "
        "it is read-only for this prefix."
    )
    name = f"ro-{uuid.uuid4().hex[:10]}"
    cannot_create = check(name, create_bucket=True, **ro)
    assert cannot_create.problem is Failure.ACCESS_DENIED
    assert (
        cannot_create.message
        == f"The bucket '{name}' does not exist at {seaweed.endpoint_url}, and this key may not create it."
    )


@pytest.fixture
def clock_two_hours_slow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Sign requests as if this computer's clock were two hours behind (botocore's and awscrt's signers)."""
    import botocore.auth
    from botocore.compat import get_current_datetime

    def slow(remove_tzinfo: bool = True) -> datetime.datetime:
        return get_current_datetime(remove_tzinfo) - datetime.timedelta(hours=2)

    monkeypatch.setattr(botocore.auth, "get_current_datetime", slow)
    try:
        import botocore.crt.auth

        monkeypatch.setattr(botocore.crt.auth, "get_current_datetime", slow)
    except ImportError:  # no awscrt: botocore's own signer only
        pass
    yield


def test_clock_skew(check: Callable[..., ConnectionReport], bucket: str, clock_two_hours_slow: None) -> None:
    report = check(bucket)
    assert report.problem is Failure.CLOCK_SKEW and type(report.error) is AuthError
    assert report.message == "This computer's clock is too far off the server's: set the correct time and retry."


def test_keyring_without_backend_is_reported(seaweed: SeaweedServer, bucket: str, isolated_dirs: Paths) -> None:
    import keyring.backends.fail

    profile = Profile(name="weed", endpoint_url=seaweed.endpoint_url, bucket=bucket, path_style=True,
                      credential_source="keyring")  # fmt: skip
    store = SecretStore(keyring.backends.fail.Keyring())
    report = connection_test.test_connection(profile, isolated_dirs, secrets=store)
    assert report.problem is Failure.NO_CREDENTIALS and not report.ok
    assert "No keyring backend is available" in report.message
    # … and session-only keys make it work for this run
    store.remember_for_session("weed", Credentials(seaweed.access_key, seaweed.secret_key))
    assert connection_test.test_connection(profile, isolated_dirs, secrets=store).ok


def test_explicit_credentials_override_the_source(seaweed: SeaweedServer, bucket: str, isolated_dirs: Paths) -> None:
    profile = Profile(name="weed", endpoint_url=seaweed.endpoint_url, bucket=bucket, path_style=True,
                      credential_source="keyring")  # fmt: skip
    report = connection_test.test_connection(
        profile, isolated_dirs, Credentials(seaweed.access_key, seaweed.secret_key), write=True
    )
    assert report.ok and report.writable
