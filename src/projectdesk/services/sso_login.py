"""Signing in to AWS IAM Identity Center (AWS SSO) without the AWS CLI: the OAuth device authorization flow.

1. RegisterClient (sso-oidc): a client registration, cached for its ~90 days in `~/.aws/sso/cache/<sha1>.json`
   under the name the AWS CLI gives it (sha1 of its JSON arguments), so both reuse one.
2. StartDeviceAuthorization: a user code and the page (`verificationUriComplete`) where the person approves it.
3. CreateToken, polled every `interval` seconds (longer after `slow_down`) until the person approves
   (`authorization_pending` until then); `access_denied` and `expired_token` end it with one sentence.
4. The token is written where botocore's SSOTokenProvider / SSOProvider read it: `~/.aws/sso/cache/<sha1>.json`,
   sha1 of the sso-session's name (or of the start URL for a legacy profile without `sso_session`), through
   botocore's own `SSOTokenLoader`, so botocore, the AWS CLI and other tools share the sign-in. With the
   refresh token, the client's id and secret and the registration's expiry in it, botocore refreshes the
   access token itself while the registration lasts.

botocore is imported only when a sign-in runs (the window imports this module without it). The endpoints are
botocore's: `AWS_ENDPOINT_URL_SSO_OIDC` (and `AWS_ENDPOINT_URL_SSO` for the role credentials
botocore fetches later) move them, as the tests' fake server does; `oidc_endpoint` moves this module's calls only.
Tokens and client secrets go to the cache files only, never to logs or messages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from projectdesk.config.profiles import KIND_S3, Profile
from projectdesk.core.errors import AuthError, Cancelled, InvalidInput, ProjectDeskError

log = logging.getLogger(__name__)

DEFAULT_SCOPES = ("sso:account:access",)  # what `aws configure sso` writes: refresh tokens need a scope
CLIENT_NAME = "projectdesk"
SLOW_DOWN_SECONDS = 5.0  # RFC 8628: each slow_down adds 5 seconds to the interval
DEFAULT_INTERVAL = 5.0  # when StartDeviceAuthorization names none
REGISTRATION_MARGIN = 15 * 60  # a cached registration this close to its expiry is replaced
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # how botocore writes expiresAt (tokens._serialize_utc_timestamp)

Pause = Callable[[float], bool]  # waits that many seconds; True when the sign-in was cancelled meanwhile


@dataclass(frozen=True)
class SsoConfig:
    """What ~/.aws/config says of an AWS profile's SSO sign-in.

    `session_name` is None for a legacy profile (sso_start_url in the profile itself); `scopes` are those
    asked for at registration (None for a legacy profile: no refresh token then).
    """

    aws_profile: str
    start_url: str
    region: str
    session_name: str | None = None
    scopes: tuple[str, ...] | None = None
    account_id: str = ""
    role_name: str = ""

    @property
    def token_cache_key(self) -> str:
        """The token file's name without `.json`, as botocore's SSOTokenLoader computes it."""
        return hashlib.sha1((self.session_name or self.start_url).encode("utf-8")).hexdigest()

    @property
    def registration_cache_key(self) -> str:
        """The client registration's file name without `.json`, as the AWS CLI v2 computes it."""
        args = {
            "tool": "botocore",
            "startUrl": self.start_url,
            "region": self.region,
            "scopes": list(self.scopes) if self.scopes is not None else None,
            "session_name": self.session_name,
        }
        return hashlib.sha1(json.dumps(args, sort_keys=True).encode("utf-8")).hexdigest()

    @property
    def role_text(self) -> str:
        """'role Dev in account 111122223333' ("" when the profile names no role)."""
        if self.role_name and self.account_id:
            return f"role {self.role_name} in account {self.account_id}"
        return f"role {self.role_name}" if self.role_name else ""


@dataclass(frozen=True)
class DeviceCode:
    """A started sign-in: the code the person confirms on the page. No secret here (the device code the
    polls need stays inside `DeviceSignIn`)."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str  # the page with the code filled in: the one to open
    expires_at: float  # epoch seconds: approve before this
    interval: float  # seconds between polls


@dataclass(frozen=True)
class SignedIn:
    """A finished sign-in: the token (not kept here) lasts until `expires_at`, written to `cache_file`."""

    config: SsoConfig
    expires_at: datetime  # UTC
    cache_file: Path
    refreshable: bool  # the cache holds a refresh token: botocore renews the access token itself

    def sentence(self) -> str:
        """'Signed in as role Dev in account 1111… (AWS profile 'dev') until 18:42.' (local time)."""
        until = self.expires_at.astimezone().strftime("%H:%M")
        who = f"as {self.config.role_text} " if self.config.role_text else ""
        return f"Signed in {who}(AWS profile '{self.config.aws_profile}') until {until}."


def aws_profile_for(profile: Profile) -> str:
    """The ~/.aws profile boto3 signs in with for a ProjectDesk profile; InvalidInput when there is none."""
    if profile.kind != KIND_S3:
        raise InvalidInput(f"Profile '{profile.name}' is a folder on this computer: it needs no sign-in.")
    if profile.credential_source == "aws-profile" and profile.aws_profile:
        return profile.aws_profile
    if profile.credential_source == "env":
        return os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or "default"
    raise InvalidInput(f"Profile '{profile.name}' takes its key from the keyring: it has no AWS SSO sign-in.")


def sso_cache_dir() -> Path:
    """`~/.aws/sso/cache`, where botocore and the AWS CLI keep SSO tokens and client registrations."""
    return Path(os.path.expanduser(os.path.join("~", ".aws", "sso", "cache")))


def _parse_scopes(text: object) -> tuple[str, ...] | None:
    if not isinstance(text, str):
        return None
    return tuple(part.strip() for part in text.split(",") if part.strip())


def read_sso_config(aws_profile: str) -> SsoConfig:
    """The SSO settings of an AWS profile (its `sso_session` section's, else its own legacy ones).

    Raises AuthError when the config files do not parse or the profile is missing, InvalidInput when the
    profile does not sign in through AWS SSO or its settings are incomplete.
    """
    import botocore.session

    try:
        full = botocore.session.Session().full_config
    except Exception as exc:
        raise AuthError(f"The AWS config files could not be read ({type(exc).__name__}).") from None
    values: dict[str, Any] = (full.get("profiles") or {}).get(aws_profile) or {}
    if not values:
        raise AuthError(f"The AWS profile '{aws_profile}' is not in ~/.aws/config.")
    session_name = values.get("sso_session")
    if session_name:
        section: dict[str, Any] = (full.get("sso_sessions") or {}).get(session_name) or {}
        if not section:
            raise InvalidInput(f"The AWS profile '{aws_profile}' names the sso-session '{session_name}', "
                               "which ~/.aws/config does not have.")  # fmt: skip
        scopes = _parse_scopes(section.get("sso_registration_scopes")) or DEFAULT_SCOPES
        start_url, region = section.get("sso_start_url"), section.get("sso_region")
    else:
        scopes = None
        start_url, region = values.get("sso_start_url"), values.get("sso_region")
        if not start_url:
            raise InvalidInput(f"The AWS profile '{aws_profile}' does not sign in through AWS SSO "
                               "(it has neither sso_session nor sso_start_url).")  # fmt: skip
    if not start_url or not region:
        raise InvalidInput(f"The AWS profile '{aws_profile}' lacks sso_start_url or sso_region.")
    return SsoConfig(
        aws_profile=aws_profile,
        start_url=str(start_url),
        region=str(region),
        session_name=str(session_name) if session_name else None,
        scopes=scopes,
        account_id=str(values.get("sso_account_id", "")),
        role_name=str(values.get("sso_role_name", "")),
    )


def _utc_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(TIME_FORMAT)


def _parse_time(text: object) -> float:
    """Epoch seconds of a cache file's time ("2026-12-06T18:00:00Z" or with an offset); 0 when unreadable."""
    if not isinstance(text, str) or not text:
        return 0.0
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("UTC", "+00:00"))
    except ValueError:
        return 0.0
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def token_expiry(config: SsoConfig, cache_dir: Path | None = None) -> datetime | None:
    """When the cached sign-in's access token expires (UTC), None when there is none."""
    path = (cache_dir or sso_cache_dir()) / f"{config.token_cache_key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    epoch = _parse_time(data.get("expiresAt")) if isinstance(data, dict) and data.get("accessToken") else 0.0
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


class DeviceSignIn:
    """One device-authorization sign-in of an AWS profile: `start()`, show the code and open the page, then
    `finish()` (blocking: run it off the GUI thread) until approved, denied, expired or cancelled.

    Args:
        config: the profile's SSO settings (`read_sso_config`).
        cache_dir: where tokens and registrations are cached (`~/.aws/sso/cache`).
        oidc_endpoint: the sso-oidc endpoint URL (None: botocore's, which AWS_ENDPOINT_URL_SSO_OIDC moves).
        clock: epoch seconds now (tests move it).
    """

    def __init__(
        self,
        config: SsoConfig,
        *,
        cache_dir: Path | None = None,
        oidc_endpoint: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.cache_dir = cache_dir or sso_cache_dir()
        self._endpoint = oidc_endpoint
        self._clock = clock
        self._client_value: Any = None  # botocore's sso-oidc client (no type stubs installed for it)
        self._registration: dict[str, Any] | None = None
        self._device_code = ""
        self.code: DeviceCode | None = None

    # ---- the sso-oidc client ------------------------------------------------------------------------

    @property
    def _client(self) -> Any:
        if self._client_value is None:
            import botocore.session
            from botocore import UNSIGNED
            from botocore.config import Config

            config = Config(
                region_name=self.config.region,
                signature_version=UNSIGNED,
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=10.0,
                read_timeout=30.0,
                user_agent_appid="projectdesk",  # type: ignore[call-arg]  # missing from the stubs
            )
            session = botocore.session.Session()
            try:
                self._client_value = session.create_client(
                    "sso-oidc", region_name=self.config.region, endpoint_url=self._endpoint, config=config
                )
            except Exception as exc:
                from projectdesk.storage.errors import translate

                raise translate(exc, bucket="", endpoint=self.endpoint) from None
        return self._client_value

    @property
    def endpoint(self) -> str:
        """The sso-oidc endpoint, for messages."""
        if self._client_value is not None:
            return str(self._client_value.meta.endpoint_url)
        return self._endpoint or f"the AWS SSO sign-in service in {self.config.region}"

    def _failed(self, exc: Exception) -> ProjectDeskError:
        from projectdesk.storage.errors import translate_sso_sign_in

        log.debug("AWS SSO sign-in of %r failed: %s", self.config.aws_profile, type(exc).__name__)
        return translate_sso_sign_in(exc, start_url=self.config.start_url, endpoint=self.endpoint)

    # ---- the client registration (cached as the AWS CLI caches it) ----------------------------------

    def _registration_file(self) -> Path:
        return self.cache_dir / f"{self.config.registration_cache_key}.json"

    def _cached_registration(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self._registration_file().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not data.get("clientId") or not data.get("clientSecret"):
            return None
        if _parse_time(data.get("expiresAt")) - self._clock() < REGISTRATION_MARGIN:
            return None
        return data

    def _register(self) -> dict[str, Any]:
        from botocore.utils import JSONFileCache

        kwargs: dict[str, Any] = {"clientName": CLIENT_NAME, "clientType": "public"}
        if self.config.scopes:
            kwargs["scopes"] = list(self.config.scopes)
        try:
            answer = self._client.register_client(**kwargs)
        except Exception as exc:
            raise self._failed(exc) from None
        registration: dict[str, Any] = {
            "clientId": answer["clientId"],
            "clientSecret": answer["clientSecret"],
            "expiresAt": _utc_text(float(answer["clientSecretExpiresAt"])),
        }
        if self.config.scopes:
            registration["scopes"] = list(self.config.scopes)
        JSONFileCache(str(self.cache_dir))[self.config.registration_cache_key] = registration
        return registration

    def _get_registration(self, *, fresh: bool = False) -> dict[str, Any]:
        registration = None if fresh else self._cached_registration()
        return registration if registration is not None else self._register()

    # ---- the flow -----------------------------------------------------------------------------------

    def start(self) -> DeviceCode:
        """Register (or reuse the cached registration) and start a device authorization."""
        registration = self._get_registration()
        for attempt in (1, 2):
            try:
                answer = self._client.start_device_authorization(
                    clientId=registration["clientId"],
                    clientSecret=registration["clientSecret"],
                    startUrl=self.config.start_url,
                )
                break
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                if attempt == 1 and code in ("InvalidClientException", "UnauthorizedClientException"):
                    registration = self._get_registration(fresh=True)  # revoked or expired early: register again
                    continue
                raise self._failed(exc) from None
        self._registration = registration
        self._device_code = answer["deviceCode"]
        uri = answer.get("verificationUri", "")
        self.code = DeviceCode(
            user_code=answer["userCode"],
            verification_uri=uri,
            verification_uri_complete=answer.get("verificationUriComplete") or uri,
            expires_at=self._clock() + float(answer.get("expiresIn", 600)),
            interval=float(answer.get("interval") or DEFAULT_INTERVAL),
        )
        return self.code

    def finish(self, cancel: threading.Event | None = None, *, pause: Pause | None = None) -> SignedIn:
        """Poll CreateToken until the person approved the code, then write the token; returns the sign-in.

        `cancel` set ends it with Cancelled within a moment (the pause between polls waits on it); `pause`
        replaces that wait (tests). Raises AccessDenied (denied in the browser), AuthError (the code
        expired), Offline and the like as `translate_sso_sign_in` says.
        """
        code, registration = self.code, self._registration
        if code is None or registration is None:
            raise RuntimeError("start() the sign-in first")
        from projectdesk.storage.errors import SSO_SLOW_DOWN, sso_poll_answer

        stop = cancel or threading.Event()
        wait: Pause = pause or stop.wait
        interval = code.interval
        while True:
            if stop.is_set():
                raise Cancelled("The AWS SSO sign-in was cancelled.")
            try:
                answer = self._client.create_token(
                    clientId=registration["clientId"],
                    clientSecret=registration["clientSecret"],
                    grantType="urn:ietf:params:oauth:grant-type:device_code",
                    deviceCode=self._device_code,
                )
                break
            except Exception as exc:
                state = sso_poll_answer(exc)
                if not state:
                    raise self._failed(exc) from None
                if state == SSO_SLOW_DOWN:
                    interval += SLOW_DOWN_SECONDS
            if self._clock() + interval >= code.expires_at:
                raise AuthError("The sign-in code expired before it was approved in the browser: sign in again.")
            if wait(interval) or stop.is_set():
                raise Cancelled("The AWS SSO sign-in was cancelled.")
        return self._save_token(answer, registration)

    def _save_token(self, answer: Any, registration: dict[str, Any]) -> SignedIn:
        from botocore.utils import JSONFileCache, SSOTokenLoader

        expires = self._clock() + float(answer["expiresIn"])
        token: dict[str, Any] = {
            "startUrl": self.config.start_url,
            "region": self.config.region,
            "accessToken": answer["accessToken"],
            "expiresAt": _utc_text(expires),
            "clientId": registration["clientId"],
            "clientSecret": registration["clientSecret"],
            "registrationExpiresAt": registration["expiresAt"],
        }
        refresh = answer.get("refreshToken")
        if refresh:
            token["refreshToken"] = refresh
        loader = SSOTokenLoader(cache=JSONFileCache(str(self.cache_dir)))
        loader.save_token(self.config.start_url, token, session_name=self.config.session_name)  # type: ignore[arg-type]
        return SignedIn(
            config=self.config,
            expires_at=datetime.fromtimestamp(expires, UTC),
            cache_file=self.cache_dir / f"{self.config.token_cache_key}.json",
            refreshable=bool(refresh),
        )
