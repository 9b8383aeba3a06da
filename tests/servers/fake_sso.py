"""A small fake of AWS IAM Identity Center's `sso-oidc` and `portal.sso` endpoints, for tests.

One stdlib HTTP server on 127.0.0.1 (a thread) answers the JSON REST calls botocore makes:

- POST /client/register (RegisterClient), POST /device_authorization (StartDeviceAuthorization),
  POST /token (CreateToken: the device-code grant, polled until the code is approved, and the refresh-token
  grant botocore's SSOTokenProvider uses);
- GET /federation/credentials (GetRoleCredentials, the `x-amz-sso_bearer_token` header holding an access
  token this server issued and that has not been revoked).

Point botocore at it with `AWS_ENDPOINT_URL_SSO_OIDC` and `AWS_ENDPOINT_URL_SSO` (`env()`). A test plays the
person at the browser: `approve()`, `deny()` or `expire()` a user code, after `wait_for_poll()` has seen the
device flow ask at least once. Errors are sent as AWS sends them: status 400/401 with the error name in
`x-amzn-ErrorType` and an OAuth `{"error": ..., "error_description": ...}` body.

The role credentials handed out are the ones given to the constructor: SeaweedFS has fixed keys and refuses
any session token (it takes one for an STS token), so a test against it passes its keys and session_token="".
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlparse

__all__ = ["FakeSso", "RoleKeys"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PENDING, APPROVED, DENIED, EXPIRED = "pending", "approved", "denied", "expired"


@dataclass(frozen=True)
class RoleKeys:
    access_key: str
    secret_key: str
    session_token: str = ""


@dataclass
class _Device:
    client_id: str
    user_code: str
    state: str = PENDING
    polls: int = 0
    slow_downs: int = 0  # answer this many polls with slow_down first


@dataclass
class _State:
    clients: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # client id → (secret, scopes)
    devices: dict[str, _Device] = field(default_factory=dict)  # device code → device
    access_tokens: dict[str, float] = field(default_factory=dict)  # access token → expires (epoch)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token → client id
    calls: list[str] = field(default_factory=list)  # "POST /token device_code", …


class FakeSso:
    """The fake server. Args: keys (what GetRoleCredentials hands out), token_seconds (an access token's
    life), interval (the device flow's poll interval), device_seconds (a user code's life)."""

    def __init__(
        self,
        keys: RoleKeys,
        *,
        token_seconds: int = 3600,
        interval: int = 1,
        device_seconds: int = 600,
        registration_seconds: int = 90 * 86400,
    ) -> None:
        self.keys = keys
        self.token_seconds = token_seconds
        self.interval = interval
        self.device_seconds = device_seconds
        self.registration_seconds = registration_seconds
        self.state = _State()
        self.lock = threading.Lock()
        self.polled = threading.Condition(self.lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- life ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def env(self) -> dict[str, str]:
        """The environment variables that send botocore's sso-oidc and sso clients here."""
        return {"AWS_ENDPOINT_URL_SSO_OIDC": self.url, "AWS_ENDPOINT_URL_SSO": self.url}

    def start(self) -> Self:
        handler = type("FakeSsoHandler", (_Handler,), {"server_fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-sso", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # ---- the person at the browser ------------------------------------------------------------------

    def _device(self, user_code: str | None) -> _Device:
        devices = list(self.state.devices.values())
        if user_code is None:
            assert devices, "no device authorization was started"
            return devices[-1]
        matching = [d for d in devices if d.user_code == user_code]
        assert matching, f"no device authorization has the code {user_code}"
        return matching[-1]

    def wait_for_poll(self, user_code: str | None = None, *, polls: int = 1, timeout: float = 30.0) -> None:
        """Block until the device flow has asked for its token `polls` times (the sign-in is waiting)."""
        deadline = time.monotonic() + timeout
        with self.polled:
            while not (self.state.devices and self._device(user_code).polls >= polls):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the device flow never polled for its token")
                self.polled.wait(left)

    def approve(self, user_code: str | None = None) -> None:
        """Allow, as the person clicking it on the page (the newest code when none is named)."""
        self._set(user_code, APPROVED)

    def deny(self, user_code: str | None = None) -> None:
        self._set(user_code, DENIED)

    def expire(self, user_code: str | None = None) -> None:
        self._set(user_code, EXPIRED)

    def slow_down(self, times: int = 1, user_code: str | None = None) -> None:
        """Answer the next `times` polls with slow_down."""
        with self.lock:
            self._device(user_code).slow_downs += times

    def _set(self, user_code: str | None, state: str) -> None:
        with self.lock:
            self._device(user_code).state = state

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far stops working (GetRoleCredentials answers 401)."""
        with self.lock:
            self.state.access_tokens.clear()

    def calls(self) -> list[str]:
        with self.lock:
            return list(self.state.calls)

    # ---- the operations (under the lock) ------------------------------------------------------------

    def _issue(self, client_id: str, scopes: list[str]) -> dict[str, Any]:
        access = "aoa" + secrets.token_urlsafe(24)
        self.state.access_tokens[access] = time.time() + self.token_seconds
        answer: dict[str, Any] = {"accessToken": access, "tokenType": "Bearer", "expiresIn": self.token_seconds}
        if scopes:  # as IAM Identity Center: refresh tokens only for clients registered with scopes
            refresh = "aor" + secrets.token_urlsafe(24)
            self.state.refresh_tokens[refresh] = client_id
            answer["refreshToken"] = refresh
        return answer

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], str]:
        """(status, JSON answer, error type) of one request."""
        with self.lock:
            if method == "POST" and path == "/client/register":
                self.state.calls.append("RegisterClient")
                client_id, secret = "cid-" + secrets.token_hex(8), "csecret-" + secrets.token_hex(16)
                scopes = list(body.get("scopes") or [])
                self.state.clients[client_id] = (secret, scopes)
                now = int(time.time())
                return 200, {"clientId": client_id, "clientSecret": secret, "clientIdIssuedAt": now,
                             "clientSecretExpiresAt": now + self.registration_seconds}, ""  # fmt: skip
            if method == "POST" and path == "/device_authorization":
                self.state.calls.append("StartDeviceAuthorization")
                if not self._client_ok(body):
                    return 400, _oauth("invalid_client", "unknown client"), "InvalidClientException"
                device_code = secrets.token_urlsafe(24)
                user_code = f"{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}"
                self.state.devices[device_code] = _Device(body["clientId"], user_code)
                page = "https://device.sso.fake.example/"
                return 200, {"deviceCode": device_code, "userCode": user_code, "verificationUri": page,
                             "verificationUriComplete": f"{page}?user_code={user_code}",
                             "expiresIn": self.device_seconds, "interval": self.interval}, ""  # fmt: skip
            if method == "POST" and path == "/token":
                return self._token(body)
            if method == "GET" and path == "/federation/credentials":
                self.state.calls.append("GetRoleCredentials")
                token = headers.get("x-amz-sso_bearer_token", "")
                if self.state.access_tokens.get(token, 0) <= time.time():
                    return 401, {"message": "Session token not found or invalid"}, "UnauthorizedException"
                if not query.get("role_name") or not query.get("account_id"):
                    return 400, {"message": "role_name and account_id are required"}, "InvalidRequestException"
                expiration = int((time.time() + 3600) * 1000)
                return 200, {"roleCredentials": {"accessKeyId": self.keys.access_key,
                                                 "secretAccessKey": self.keys.secret_key,
                                                 "sessionToken": self.keys.session_token,
                                                 "expiration": expiration}}, ""  # fmt: skip
            return 404, {"message": f"no such operation: {method} {path}"}, "ResourceNotFoundException"

    def _client_ok(self, body: dict[str, Any]) -> bool:
        known = self.state.clients.get(str(body.get("clientId", "")))
        return known is not None and known[0] == body.get("clientSecret")

    def _token(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
        grant = body.get("grantType")
        self.state.calls.append(f"CreateToken {'device_code' if grant == DEVICE_GRANT else grant}")
        if not self._client_ok(body):
            return 400, _oauth("invalid_client", "unknown client"), "InvalidClientException"
        scopes = self.state.clients[body["clientId"]][1]
        if grant == "refresh_token":
            client = self.state.refresh_tokens.pop(str(body.get("refreshToken", "")), "")
            if client != body["clientId"]:
                return 400, _oauth("invalid_grant", "refresh token unknown"), "InvalidGrantException"
            return 200, self._issue(client, scopes), ""
        if grant != DEVICE_GRANT:
            return 400, _oauth("unsupported_grant_type", str(grant)), "UnsupportedGrantTypeException"
        device = self.state.devices.get(str(body.get("deviceCode", "")))
        if device is None or device.client_id != body["clientId"]:
            return 400, _oauth("invalid_grant", "device code unknown"), "InvalidGrantException"
        device.polls += 1
        self.polled.notify_all()
        if device.slow_downs:
            device.slow_downs -= 1
            return 400, _oauth("slow_down", "poll less often"), "SlowDownException"
        if device.state == PENDING:
            return 400, _oauth("authorization_pending", "not approved yet"), "AuthorizationPendingException"
        if device.state == DENIED:
            return 400, _oauth("access_denied", "the user denied"), "AccessDeniedException"
        if device.state == EXPIRED:
            return 400, _oauth("expired_token", "the device code expired"), "ExpiredTokenException"
        del self.state.devices[body["deviceCode"]]  # a device code is good for one token
        self.state.devices["used-" + secrets.token_hex(8)] = device  # still findable by its user code
        device.state = "used"
        return 200, self._issue(device.client_id, scopes), ""


def _oauth(error: str, description: str) -> dict[str, Any]:
    return {"error": error, "error_description": description}


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeSso
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet

    def _serve(self, method: str) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer, error_type = self.server_fake.handle(method, url.path, query, headers, body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")
