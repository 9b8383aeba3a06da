"""Signing in to AWS SSO (IAM Identity Center) without the AWS CLI, against the fake sso-oidc / portal server
(tests/servers/fake_sso.py) and a real SeaweedFS server whose fixed key the fake hands out as the role's
(the world: tests/integration/sso_world.py)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from projectdesk.config.profiles import Profile
from projectdesk.core.errors import AccessDenied, AuthError, Cancelled, InvalidInput, SignInRequired
from projectdesk.services.connect import open_repository
from projectdesk.services.sso_login import DeviceSignIn, aws_profile_for, read_sso_config
from tests.integration.sso_world import START_URL, SsoWorld, sso_world_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.seaweedfs


def test_the_device_flow_writes_the_token_botocore_reads_and_the_store_lists_with_the_role(
    sso_world: SsoWorld, caplog: pytest.LogCaptureFixture
) -> None:
    from botocore.utils import JSONFileCache, SSOTokenLoader

    caplog.set_level(logging.DEBUG)
    profile = sso_world.profile("dev")
    with pytest.raises(SignInRequired):  # no sign-in yet: the distinct error the window offers a sign-in for
        open_repository(profile, sso_world.paths).list_slugs()

    signed = sso_world.sign_in("dev")

    # the file botocore's SSOTokenProvider reads for an sso-session: sha1 of the session's name
    assert signed.cache_file == sso_world.token_file("corp")
    token = SSOTokenLoader(cache=JSONFileCache(str(sso_world.cache)))(START_URL, session_name="corp")
    assert set(token) == {"startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret",
                          "registrationExpiresAt", "refreshToken"}  # fmt: skip
    assert token["startUrl"] == START_URL and token["region"] == "eu-west-1" and signed.refreshable
    assert abs(datetime.fromisoformat(token["expiresAt"].replace("Z", "+00:00")).timestamp() - time.time() - 3600) < 60
    # the client registration, under the AWS CLI's name for it
    args = {"tool": "botocore", "startUrl": START_URL, "region": "eu-west-1", "scopes": ["sso:account:access"],
            "session_name": "corp"}  # fmt: skip
    key = hashlib.sha1(json.dumps(args, sort_keys=True).encode()).hexdigest()
    registration = json.loads((sso_world.cache / f"{key}.json").read_text())
    assert registration["clientId"] == token["clientId"] and registration["scopes"] == ["sso:account:access"]
    assert "as role Developer in account 111122223333 (AWS profile 'dev') until " in signed.sentence()
    for written in (signed.cache_file, sso_world.cache / f"{key}.json"):  # readable by their owner only
        assert written.stat().st_mode & 0o077 == 0

    # botocore signs in with the role's credentials from the portal: SeaweedFS accepts only its own key
    assert open_repository(profile, sso_world.paths).list_slugs() == ["demo"]
    assert sso_world.fake.calls().count("GetRoleCredentials") == 1

    # a second sign-in reuses the cached registration
    sso_world.sign_in("dev")
    assert sso_world.fake.calls().count("RegisterClient") == 1
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("projectdesk"))
    for secret in (token["accessToken"], token["refreshToken"], token["clientSecret"]):
        assert secret not in logged


def test_an_expired_sign_in_is_the_sign_in_error_and_profiles_login_fixes_it(sso_world: SsoWorld) -> None:
    """A legacy profile (sso_start_url in the profile, no refresh token): the CLI end to end, as a person runs it."""
    profile = sso_world.profile("legacy")
    cli = [str(Path(sys.executable).parent / "projectdesk-cli")]
    sso_world.sign_in("legacy")
    token_file = sso_world.token_file(START_URL)  # a legacy profile's token: sha1 of the start URL
    assert "refreshToken" not in json.loads(token_file.read_text())
    sso_world.age_token(token_file)
    with pytest.raises(SignInRequired) as caught:
        open_repository(profile, sso_world.paths).list_slugs()
    assert "sign-in" in caught.value.message and caught.value.message.endswith(".")

    listing = subprocess.run([*cli, "--profile", profile.name, "list"], capture_output=True, text=True, timeout=120)
    assert listing.returncode == 1
    assert listing.stderr == (
        "projectdesk-cli: error: The AWS SSO sign-in for profile 'legacy' is missing or expired: "
        "run 'projectdesk-cli profiles login legacy-store' (or 'aws sso login --profile legacy').\n"
    )

    login = subprocess.Popen([*cli, "profiles", "login", profile.name, "--no-browser", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert login.stdout is not None
        event = json.loads(login.stdout.readline())
        assert event["event"] == "code" and event["aws_profile"] == "legacy"
        assert event["verification_uri_complete"].endswith(event["user_code"])
        sso_world.fake.wait_for_poll(event["user_code"])
        sso_world.fake.approve(event["user_code"])
        out, err = login.communicate(timeout=60)
    finally:
        login.kill()
        login.wait()
    assert login.returncode == 0, err
    done = json.loads(out.splitlines()[-1])
    assert done["event"] == "signed-in" and done["cache_file"] == str(token_file) and not done["refreshable"]

    listing = subprocess.run([*cli, "--profile", profile.name, "list", "--json"], capture_output=True, text=True,
                             timeout=120)  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    assert [p["slug"] for p in json.loads(listing.stdout)] == ["demo"]


def test_botocore_renews_an_expired_access_token_with_the_refresh_token_written(sso_world: SsoWorld) -> None:
    profile = sso_world.profile("dev")
    sso_world.sign_in("dev")
    token_file = sso_world.token_file("corp")
    before = json.loads(token_file.read_text())
    sso_world.age_token(token_file)
    sso_world.fake.revoke_access_tokens()  # only a renewed token gets the role's credentials now

    assert open_repository(profile, sso_world.paths).list_slugs() == ["demo"]

    assert "CreateToken refresh_token" in sso_world.fake.calls()
    after = json.loads(token_file.read_text())
    assert after["accessToken"] != before["accessToken"] and after["refreshToken"] != before["refreshToken"]
    assert datetime.fromisoformat(after["expiresAt"].replace("Z", "+00:00")).timestamp() > time.time() + 3000
    assert after["clientId"] == before["clientId"]


@pytest.mark.parametrize(
    ("person", "error", "sentence"),
    [
        ("deny", AccessDenied, "The sign-in was denied in the browser: sign in again and choose Allow."),
        ("expire", AuthError, "The sign-in code expired before it was approved in the browser: sign in again."),
    ],
)
def test_a_denied_or_expired_code_is_one_sentence_and_writes_no_token(
    sso_world: SsoWorld, person: str, error: type[Exception], sentence: str
) -> None:
    flow = DeviceSignIn(read_sso_config("dev"))
    code = flow.start()
    caught: list[BaseException] = []
    worker = threading.Thread(target=lambda: _run_catching(flow, caught))
    worker.start()
    sso_world.fake.wait_for_poll(code.user_code)
    getattr(sso_world.fake, person)(code.user_code)
    worker.join(timeout=30)
    assert len(caught) == 1 and type(caught[0]) is error
    assert str(caught[0]) == sentence
    assert not sso_world.token_file("corp").exists()


def _run_catching(flow: DeviceSignIn, caught: list[BaseException]) -> None:
    try:
        flow.finish()
    except BaseException as exc:
        caught.append(exc)


def test_slow_down_lengthens_the_interval_and_a_cancel_ends_the_wait(sso_world: SsoWorld) -> None:
    flow = DeviceSignIn(read_sso_config("dev"))
    code = flow.start()
    assert code.interval == 1.0
    sso_world.fake.slow_down(2, code.user_code)
    waits: list[float] = []

    def pause(seconds: float) -> bool:  # time passes: on the third wait the person has approved
        waits.append(seconds)
        if len(waits) == 3:
            sso_world.fake.approve(code.user_code)
        return False

    signed = flow.finish(pause=pause)
    assert waits == [6.0, 11.0, 11.0]  # +5 s per slow_down, then that interval kept
    assert signed.cache_file.exists()

    flow = DeviceSignIn(read_sso_config("dev"))
    code = flow.start()
    cancel = threading.Event()
    caught: list[BaseException] = []
    worker = threading.Thread(target=lambda: _finish_cancellable(flow, cancel, caught))
    worker.start()
    sso_world.fake.wait_for_poll(code.user_code)
    cancel.set()
    worker.join(timeout=5)
    assert not worker.is_alive() and len(caught) == 1 and isinstance(caught[0], Cancelled)


def _finish_cancellable(flow: DeviceSignIn, cancel: threading.Event, caught: list[BaseException]) -> None:
    try:
        flow.finish(cancel)
    except BaseException as exc:
        caught.append(exc)


def test_a_profile_that_does_not_sign_in_through_sso_is_one_sentence(tmp_path: Path) -> None:
    config = Path(os.environ["AWS_CONFIG_FILE"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[profile keys]\nregion = us-east-1\n\n[profile broken]\nsso_session = nowhere\n")
    with pytest.raises(InvalidInput) as caught:
        read_sso_config("keys")
    assert str(caught.value) == (
        "The AWS profile 'keys' does not sign in through AWS SSO (it has neither sso_session nor sso_start_url)."
    )
    missing_session = "names the sso-session 'nowhere', which ~/.aws/config does not have"
    with pytest.raises(InvalidInput, match=re.escape(missing_session)):
        read_sso_config("broken")
    with pytest.raises(AuthError, match=re.escape("The AWS profile 'missing' is not in ~/.aws/config")):
        read_sso_config("missing")
    keyring_store = Profile(name="k", bucket="bucket-one", credential_source="keyring")
    with pytest.raises(InvalidInput, match="takes its key from the keyring: it has no AWS SSO sign-in"):
        aws_profile_for(keyring_store)
