"""The world the AWS SSO sign-in tests share (tests/integration/test_sso_login.py, tests/ui/test_sso_window.py):
a private HOME and ~/.aws/config with SSO profiles, the fake sso-oidc / portal server (tests/servers/fake_sso.py)
handing out the SeaweedFS server's fixed key as the role's, and a bucket holding one project.

HOME, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE point into the test's folder; botocore fixed its SSO
cache folder (~/.aws/sso/cache) when it was imported, so `sso_world` points botocore's two readers at the
test's home too (a subprocess, started with the test's HOME, needs nothing of the kind).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import Profile, ProfileStore
from projectdesk.services.sso_login import DeviceSignIn, SignedIn, read_sso_config
from tests.servers.fake_sso import FakeSso, RoleKeys
from tests.servers.seaweedfs import SeaweedServer

__all__ = ["AWS_CONFIG", "START_URL", "SsoWorld", "sso_world_fixture"]

START_URL = "https://corp.awsapps.com/start"
AWS_CONFIG = f"""
[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Developer
region = us-east-1

[sso-session corp]
sso_start_url = {START_URL}
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile legacy]
sso_start_url = {START_URL}
sso_region = eu-west-1
sso_account_id = 111122223333
sso_role_name = ReadOnly
region = us-east-1
"""


@dataclass
class SsoWorld:
    fake: FakeSso
    cache: Path  # ~/.aws/sso/cache of the test's HOME
    paths: Paths
    bucket: str
    server: SeaweedServer

    def profile(self, aws_profile: str) -> Profile:
        """A ProjectDesk profile on the SeaweedFS bucket whose key comes from `aws_profile` (saved, named after it)."""
        profile = Profile(name=f"{aws_profile}-store", endpoint_url=self.server.endpoint_url, region="us-east-1",
                          bucket=self.bucket, path_style=True, credential_source="aws-profile",
                          aws_profile=aws_profile)  # fmt: skip
        ProfileStore(self.paths).add(profile, replace=True)
        return profile

    def sign_in(self, aws_profile: str) -> SignedIn:
        """The device flow as a person does it: start, the page polled while pending, Allow, the token."""
        flow = DeviceSignIn(read_sso_config(aws_profile))
        code = flow.start()
        result: list[SignedIn | BaseException] = []

        def finish() -> None:
            try:
                result.append(flow.finish())
            except BaseException as exc:
                result.append(exc)

        worker = threading.Thread(target=finish)
        worker.start()
        self.fake.wait_for_poll(code.user_code)  # authorization_pending answered at least once
        self.fake.approve(code.user_code)
        worker.join(timeout=30)
        assert not worker.is_alive()
        outcome = result[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def token_file(self, key: str) -> Path:
        return self.cache / f"{hashlib.sha1(key.encode()).hexdigest()}.json"

    def age_token(self, path: Path, *, drop_refresh: bool = False) -> None:
        """Make the cached access token one that expired a minute ago."""
        data = json.loads(path.read_text())
        data["expiresAt"] = datetime.fromtimestamp(time.time() - 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if drop_refresh:
            data.pop("refreshToken", None)
        path.write_text(json.dumps(data))


@pytest.fixture(name="sso_world")
def sso_world_fixture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_dirs: Paths, seaweed: SeaweedServer
) -> Iterator[SsoWorld]:
    from botocore.credentials import SSOProvider
    from botocore.tokens import SSOTokenProvider

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    cache = home / ".aws" / "sso" / "cache"
    monkeypatch.setattr(SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    config = Path(os.environ["AWS_CONFIG_FILE"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(AWS_CONFIG)
    bucket = f"pd-sso-{uuid.uuid4().hex[:12]}"
    seaweed.create_bucket(bucket)
    seaweed.client().put_object(Bucket=bucket, Key="projects/anonymous/demo/readme.md", Body=b"# demo\n")
    # SeaweedFS refuses any session token: the fake hands out its fixed key with none
    with FakeSso(RoleKeys(seaweed.access_key, seaweed.secret_key, "")) as fake:
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        yield SsoWorld(fake, cache, isolated_dirs, bucket, seaweed)
