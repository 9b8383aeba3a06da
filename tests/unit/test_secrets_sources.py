"""Where an S3 profile's keys come from (keyring, ~/.aws profile, default chain), the new failure kinds
of storage/errors.py, and the connection test's region and write checks on moto (in-process).

moto accepts any secret, so authentication failures are tested on SeaweedFS (tests/integration)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    ProfileNotFound,
    SSOTokenLoadError,
    UnauthorizedSSOTokenError,
)

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import Profile
from projectdesk.config.secrets import SecretStore
from projectdesk.core.errors import AuthError, KeyringUnavailable, Offline, StorageError
from projectdesk.services import connection_test
from projectdesk.services.connect import (
    check_aws_profile,
    list_aws_profiles,
    open_repository,
    resolve_credentials,
)
from projectdesk.storage.errors import Failure, bucket_region, classify, translate
from projectdesk.storage.s3 import S3Repository
from projectdesk.storage.s3client import Credentials, make_client
from tests.conftest import MemoryKeyring

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz"
AWS_CONFIG = """
[default]
region = eu-central-1

[profile work]
region = eu-west-1

[profile sso-dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Dev
region = us-west-2

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
"""
AWS_CREDENTIALS = f"""
[work]
aws_access_key_id = AKIAWORKEXAMPLE00001
aws_secret_access_key = {SECRET}

[keys-only]
aws_access_key_id = AKIAKEYSEXAMPLE00002
aws_secret_access_key = {SECRET}
"""


def _write_aws_files(tmp_path: Path) -> None:
    (tmp_path / "xdg").mkdir(exist_ok=True)
    (tmp_path / "xdg" / "aws-config").write_text(AWS_CONFIG)
    (tmp_path / "xdg" / "aws-credentials").write_text(AWS_CREDENTIALS)


def _profile(**overrides: Any) -> Profile:
    values: dict[str, Any] = {"name": "p", "region": "us-east-1", "bucket": "my-projects"}
    values.update(overrides)
    return Profile(**values).validate()


# ---- sources ---------------------------------------------------------------------------------------


def test_keyring_source_reads_the_keyring(memory_keyring: MemoryKeyring) -> None:
    keys = Credentials("AKIAEXAMPLEKEYID1234", SECRET)
    SecretStore().save("p", keys)
    assert resolve_credentials(_profile(credential_source="keyring")) == keys


def test_keyring_source_without_a_stored_key_is_a_clear_error() -> None:
    with pytest.raises(AuthError, match="No access key is stored for profile 'p'"):
        resolve_credentials(_profile(credential_source="keyring"))


def test_session_only_keys_serve_a_keyring_profile_without_a_keyring() -> None:
    import keyring.backends.fail

    store = SecretStore(keyring.backends.fail.Keyring())
    keys = Credentials("AKIAEXAMPLEKEYID1234", SECRET)
    with pytest.raises(KeyringUnavailable):
        resolve_credentials(_profile(credential_source="keyring"), store)
    store.remember_for_session("p", keys)
    assert resolve_credentials(_profile(credential_source="keyring"), store) == keys


@pytest.mark.parametrize("source", ["env", "aws-profile"])
def test_other_sources_leave_resolution_to_boto3(source: str) -> None:
    assert resolve_credentials(_profile(credential_source=source, aws_profile="work")) is None


def test_aws_profiles_are_listed_with_region_and_sso(tmp_path: Path) -> None:
    _write_aws_files(tmp_path)
    listed = {p.name: p for p in list_aws_profiles()}
    assert sorted(listed) == ["default", "keys-only", "sso-dev", "work"]
    assert listed["work"].region == "eu-west-1" and not listed["work"].sso
    assert listed["sso-dev"].sso and listed["sso-dev"].region == "us-west-2"
    assert SECRET not in repr(list_aws_profiles())


def test_no_aws_files_means_no_profiles() -> None:
    assert list_aws_profiles() == []


def test_missing_aws_profile_is_named_with_the_known_ones(tmp_path: Path) -> None:
    _write_aws_files(tmp_path)
    check_aws_profile(_profile(credential_source="aws-profile", aws_profile="work"))
    with pytest.raises(AuthError) as info:
        check_aws_profile(_profile(credential_source="aws-profile", aws_profile="wrok"))
    message = str(info.value)
    assert "'wrok'" in message and "known: default, keys-only, sso-dev, work" in message
    assert "ProfileNotFound" not in message


def test_aws_profile_keys_reach_the_client(tmp_path: Path, moto_env: None, isolated_dirs: Paths) -> None:
    _write_aws_files(tmp_path)
    profile = _profile(credential_source="aws-profile", aws_profile="keys-only")
    repo = open_repository(profile, isolated_dirs)
    assert isinstance(repo, S3Repository)
    creds = repo._client._request_signer._credentials
    assert creds.access_key == "AKIAKEYSEXAMPLE00002"


def test_env_source_with_a_missing_aws_profile_variable(monkeypatch: pytest.MonkeyPatch, isolated_dirs: Paths) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nope")
    with pytest.raises(AuthError, match="The AWS profile 'nope' is not in"):
        open_repository(_profile(credential_source="env"), isolated_dirs)


# ---- translate: the new kinds --------------------------------------------------------------------


def _client_error(code: str, status: int, headers: dict[str, str] | None = None, **error: Any) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": f"signature {SECRET}", **error},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
    }
    return ClientError(response, "HeadBucket")


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (_client_error("301", 301, {"x-amz-bucket-region": "ap-south-1"}), Failure.WRONG_REGION),
        (_client_error("400", 400, {"x-amz-bucket-region": "ap-south-1"}), Failure.WRONG_REGION),
        (_client_error("PermanentRedirect", 301), Failure.WRONG_REGION),
        (_client_error("400", 400), Failure.OTHER),
        (_client_error("InvalidAccessKeyId", 403), Failure.UNKNOWN_ACCESS_KEY),
        (_client_error("SignatureDoesNotMatch", 403), Failure.WRONG_SECRET),
        (_client_error("RequestTimeTooSkewed", 403), Failure.CLOCK_SKEW),
        (_client_error("NoSuchBucket", 404), Failure.BUCKET_MISSING),
        (_client_error("AccessDenied", 403), Failure.ACCESS_DENIED),
        (ProfileNotFound(profile="x"), Failure.AWS_PROFILE),
        (UnauthorizedSSOTokenError(), Failure.SSO_EXPIRED),
        (SSOTokenLoadError(error_msg=SECRET), Failure.SSO_EXPIRED),
    ],
    ids=lambda v: v.value if isinstance(v, Failure) else type(v).__name__,
)
def test_classify(exc: Exception, kind: Failure) -> None:
    assert classify(exc) is kind
    assert SECRET not in translate(exc, bucket="b", endpoint="E").message


def test_head_bucket_region_header_gives_the_right_region() -> None:
    exc = _client_error("301", 301, {"x-amz-bucket-region": "ap-south-1"})
    assert bucket_region(exc) == "ap-south-1"
    error = translate(exc, bucket="b", endpoint="E")
    assert type(error) is StorageError
    assert error.message == (
        "The bucket 'b' is in region 'ap-south-1', not the one this profile names: "
        "set the profile's region to 'ap-south-1'."
    )


def test_sso_and_profile_messages() -> None:
    assert "aws sso login" in translate(UnauthorizedSSOTokenError(), bucket="b", endpoint="E").message
    assert "'x'" in translate(ProfileNotFound(profile="x"), bucket="b", endpoint="E").message


def _connection_error(inner: BaseException) -> EndpointConnectionError:
    return EndpointConnectionError(endpoint_url="http://h:1", error=inner)


def test_dns_failures_are_told_apart_from_refused_connections() -> None:
    dns = _connection_error(OSError("wrapped"))
    dns.kwargs["error"].__cause__ = socket.gaierror(-2, "Name or service not known")
    refused = _connection_error(ConnectionRefusedError(111, "Connection refused"))
    assert classify(dns) is Failure.DNS
    assert classify(refused) is Failure.UNREACHABLE
    assert "cannot be found (DNS)" in translate(dns, bucket="b", endpoint="E").message
    assert type(translate(dns, bucket="b", endpoint="E")) is Offline
    assert "Cannot reach E" in translate(refused, bucket="b", endpoint="E").message


# ---- the connection test on moto (region and write checks) ---------------------------------------


@pytest.fixture
def moto_bucket(moto_env: None) -> str:
    client = make_client(endpoint_url=None, region="eu-west-1", credentials=Credentials("testing", "testing"))
    client.create_bucket(Bucket="eu-projects", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return "eu-projects"


def _moto_profile(**overrides: Any) -> Profile:
    return _profile(bucket="eu-projects", credential_source="env", **overrides)


def test_wrong_region_is_reported_with_the_right_one(moto_bucket: str, isolated_dirs: Paths) -> None:
    report = connection_test.test_connection(_moto_profile(region="us-east-1"), isolated_dirs)
    assert not report.ok
    assert report.problem is Failure.WRONG_REGION
    assert report.bucket_region == "eu-west-1"
    assert "'eu-west-1'" in report.message


def test_right_region_and_write_probe(moto_bucket: str, isolated_dirs: Paths) -> None:
    report = connection_test.test_connection(
        _moto_profile(region="eu-west-1", user_id="alice"), isolated_dirs, write=True
    )
    assert report.ok, report.message
    assert report.writable is True and report.projects == 0 and report.bucket_region == "eu-west-1"
    assert report.message == (
        "Connected to s3://eu-projects/projects/alice/ at Amazon S3: 0 project(s) for user 'alice'; "
        "reading and writing work."
    )
    client = make_client(endpoint_url=None, region="eu-west-1", credentials=Credentials("testing", "testing"))
    assert client.list_objects_v2(Bucket="eu-projects").get("KeyCount") == 0  # the probe is gone


def test_missing_bucket_is_created_in_the_profile_region(moto_env: None, isolated_dirs: Paths) -> None:
    profile = _profile(bucket="fresh-bucket", region="eu-west-1", credential_source="env")
    missing = connection_test.test_connection(profile, isolated_dirs)
    assert missing.problem is Failure.BUCKET_MISSING and missing.can_create_bucket
    created = connection_test.test_connection(profile, isolated_dirs, create_bucket=True)
    assert created.ok and created.bucket_created and created.bucket_region == "eu-west-1"
    assert created.message.startswith("Created the bucket 'fresh-bucket'; connected to")


def test_local_profile_test(isolated_dirs: Paths) -> None:
    report = connection_test.test_connection(Profile(name="local", kind="local"), isolated_dirs)
    assert report.ok and report.projects == 0
    assert report.to_json()["ok"] is True


def test_missing_keyring_key_is_a_report_not_an_exception(isolated_dirs: Paths) -> None:
    report = connection_test.test_connection(_profile(credential_source="keyring"), isolated_dirs)
    assert not report.ok and report.problem is Failure.NO_CREDENTIALS
    assert isinstance(report.error, AuthError)


def test_pytest_does_not_collect_the_service_function() -> None:
    assert connection_test.test_connection.__test__ is False  # type: ignore[attr-defined]
