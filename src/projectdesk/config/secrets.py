"""S3 keys in the OS keyring (service `projectdesk`, user = profile name), or in memory for this run only.

A profile's proxy password is a second entry of the same service, user `<profile>/proxy` (a profile name
never holds '/', so it never meets a profile's own entry): the password alone, as typed.

One keyring entry per profile holds a small JSON document with the access key id, the secret access key
and the optional session token: the three are written, replaced and deleted together (no half-updated
key pair), and macOS asks once per entry, not three times. Nothing here ever writes a secret to a file:
there is no plaintext fallback, and plaintext keyring backends (keyrings.alt's) are refused unless the
user chose one explicitly (PYTHON_KEYRING_BACKEND or keyringrc.cfg).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from typing import Any

from projectdesk.core.errors import AuthError, KeyringLocked, KeyringUnavailable
from projectdesk.storage.s3client import Credentials

log = logging.getLogger(__name__)

SERVICE = "projectdesk"
PROXY_ENTRY_SUFFIX = "/proxy"  # the keyring user of a profile's proxy password: "<profile>/proxy"
_FORMAT_VERSION = 1

NO_KEYRING_HELP = (
    "install and unlock a Secret Service such as GNOME Keyring or KWallet, "
    "or use session-only credentials (kept in memory until ProjectDesk quits), an AWS profile, "
    "or the AWS_* environment variables"
)


class SecretStore:
    """The one gate to the keyring: a lock around every call, the backend looked up on first use.

    Attributes:
        service: the keyring service name (`projectdesk`).

    Session-only credentials (`remember_for_session`) live in this object only and win over the keyring.
    """

    def __init__(self, backend: Any = None, *, service: str = SERVICE) -> None:
        self.service = service
        self._backend = backend
        self._lock = threading.RLock()
        self._session: dict[str, Credentials] = {}

    # ---- backend ---------------------------------------------------------------------------------

    def _keyring(self) -> Any:
        """The backend to use, found on first call; raises KeyringUnavailable if there is none."""
        with self._lock:
            if self._backend is None:
                import keyring

                try:
                    self._backend = keyring.get_keyring()
                except Exception as exc:  # a broken keyringrc.cfg, a backend that fails to load
                    raise KeyringUnavailable(
                        f"The keyring could not be loaded ({type(exc).__name__}): {NO_KEYRING_HELP}."
                    ) from None
                log.debug("keyring backend: %s", _describe(self._backend))
            problem = _unusable(self._backend)
            if problem:
                raise KeyringUnavailable(f"{problem}: {NO_KEYRING_HELP}.")
            return self._backend

    @property
    def backend_name(self) -> str:
        """The backend in use, e.g. `keyring.backends.SecretService.Keyring` (looked up if need be)."""
        with self._lock:
            if self._backend is None:
                with contextlib.suppress(KeyringUnavailable):
                    self._keyring()
            return _describe(self._backend)

    def check(self) -> None:
        """Raise KeyringUnavailable now if there is no usable backend (before asking anyone for a secret)."""
        self._keyring()

    def available(self) -> bool:
        try:
            self._keyring()
        except KeyringUnavailable:
            return False
        return True

    # ---- credentials -----------------------------------------------------------------------------

    def load(self, profile: str) -> Credentials | None:
        """The profile's keys: session-only ones first, else the keyring's; None when none are stored."""
        with self._lock:
            if profile in self._session:
                return self._session[profile]
            raw = self._call("read", lambda backend: backend.get_password(self.service, profile))
        if raw is None:
            return None
        return _decode(raw, profile)

    def save(self, profile: str, credentials: Credentials) -> None:
        """Store the keys in the keyring (replacing any), and check they read back the same."""
        _check(credentials)
        data = json.dumps(
            {
                "version": _FORMAT_VERSION,
                "access_key_id": credentials.access_key_id,
                "secret_access_key": credentials.secret_access_key,
                "session_token": credentials.session_token,
            }
        )
        with self._lock:
            self._call("write", lambda backend: backend.set_password(self.service, profile, data))
            # Some backends (null, an empty chainer) accept a write and keep nothing: never believe them.
            if self._call("read", lambda backend: backend.get_password(self.service, profile)) != data:
                raise KeyringUnavailable(
                    f"The keyring ({self.backend_name}) did not keep the key for profile '{profile}': "
                    f"{NO_KEYRING_HELP}."
                )
            self._session.pop(profile, None)
        log.debug("stored the key for profile %r in %s", profile, self.backend_name)

    def delete(self, profile: str) -> bool:
        """Forget the profile's keys (session and keyring); True if the keyring held an entry."""
        with self._lock:
            self._session.pop(profile, None)
            if self._call("read", lambda backend: backend.get_password(self.service, profile)) is None:
                return False
            self._call("delete", lambda backend: backend.delete_password(self.service, profile))
        log.debug("deleted the key for profile %r from %s", profile, self.backend_name)
        return True

    def has_secret(self, profile: str) -> bool | None:
        """Whether keys are stored for the profile; None when the keyring cannot be asked."""
        try:
            return self.load(profile) is not None
        except (KeyringUnavailable, AuthError):
            return None

    def remember_for_session(self, profile: str, credentials: Credentials) -> None:
        """Keep keys in memory for this run only (no keyring, no file)."""
        _check(credentials)
        with self._lock:
            self._session[profile] = credentials

    def is_session_only(self, profile: str) -> bool:
        with self._lock:
            return profile in self._session

    def forget_session(self, profile: str | None = None) -> None:
        with self._lock:
            if profile is None:
                self._session.clear()
            else:
                self._session.pop(profile, None)

    # ---- the proxy's password --------------------------------------------------------------------

    def load_proxy_password(self, profile: str) -> str | None:
        """The password of the profile's proxy user, or None when none is stored."""
        entry = profile + PROXY_ENTRY_SUFFIX
        with self._lock:
            raw = self._call("read", lambda backend: backend.get_password(self.service, entry))
        return None if raw is None else str(raw)

    def save_proxy_password(self, profile: str, password: str) -> None:
        """Store the proxy password in the keyring (replacing any), and check it reads back the same."""
        if not password or not password.isprintable():
            raise AuthError("The proxy password is empty or contains control characters.")
        entry = profile + PROXY_ENTRY_SUFFIX
        with self._lock:
            self._call("write", lambda backend: backend.set_password(self.service, entry, password))
            if self._call("read", lambda backend: backend.get_password(self.service, entry)) != password:
                raise KeyringUnavailable(
                    f"The keyring ({self.backend_name}) did not keep the proxy password for profile '{profile}': "
                    f"{NO_KEYRING_HELP}."
                )
        log.debug("stored the proxy password of profile %r in %s", profile, self.backend_name)

    def delete_proxy_password(self, profile: str) -> bool:
        """Forget the profile's proxy password; True if the keyring held one."""
        entry = profile + PROXY_ENTRY_SUFFIX
        with self._lock:
            if self._call("read", lambda backend: backend.get_password(self.service, entry)) is None:
                return False
            self._call("delete", lambda backend: backend.delete_password(self.service, entry))
        log.debug("deleted the proxy password of profile %r from %s", profile, self.backend_name)
        return True

    # ---- errors ----------------------------------------------------------------------------------

    def _call(self, action: str, operation: Any) -> Any:
        """Run one keyring operation; its failures become KeyringUnavailable / KeyringLocked."""
        from keyring import errors

        backend = self._keyring()
        try:
            return operation(backend)
        except errors.KeyringLocked:
            raise KeyringLocked(
                f"The keyring ({_describe(backend)}) is locked and could not be unlocked: unlock it "
                "(for GNOME Keyring, sign in to the desktop session or open Passwords and Keys), "
                "or use session-only credentials."
            ) from None
        except errors.NoKeyringError:
            raise KeyringUnavailable(f"No keyring backend is available: {NO_KEYRING_HELP}.") from None
        except Exception as exc:  # secretstorage, D-Bus and platform errors alike: name them, copy no text
            raise KeyringUnavailable(
                f"The keyring ({_describe(backend)}) failed to {action} ({type(exc).__name__}): {NO_KEYRING_HELP}."
            ) from None


def _describe(backend: Any) -> str:
    if backend is None:
        return "none"
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


def _unusable(backend: Any) -> str:
    """Why this backend cannot hold secrets, or '' if it can."""
    from keyring.backends import chainer, fail, null

    if isinstance(backend, fail.Keyring):
        return "No keyring backend is available (no Secret Service is running)"
    if isinstance(backend, null.Keyring):
        return "The keyring is disabled (null backend)"
    if isinstance(backend, chainer.ChainerBackend):
        chained = list(backend.backends)
        if not chained:
            return "No keyring backend is available (the chainer has no backends)"
        backend = chained[0]  # the one that receives writes
    if _is_plaintext(backend) and not _chosen_explicitly(backend):
        return (
            f"The only keyring found ({_describe(backend)}) stores secrets as plain text, which ProjectDesk "
            "does not use unless you choose it yourself (PYTHON_KEYRING_BACKEND)"
        )
    return ""


def _is_plaintext(backend: Any) -> bool:
    kind = type(backend)
    return kind.__module__.startswith("keyrings.alt") and "Plaintext" in kind.__name__


def _chosen_explicitly(backend: Any) -> bool:
    """True when the user named this backend (PYTHON_KEYRING_BACKEND or keyringrc.cfg's default-keyring)."""
    import keyring.core

    name = _describe(backend)
    if os.environ.get("PYTHON_KEYRING_BACKEND", "").strip() == name:
        return True
    try:
        configured = keyring.core.load_config()
    except Exception:
        return False
    return configured is not None and _describe(configured) == name


def _check(credentials: Credentials) -> None:
    key_id = credentials.access_key_id
    if not key_id or not key_id.isprintable() or any(c.isspace() for c in key_id):
        raise AuthError("The access key ID is empty or contains spaces.")
    if not credentials.secret_access_key:
        raise AuthError("The secret access key is empty.")
    if not credentials.secret_access_key.isprintable():
        raise AuthError("The secret access key contains control characters.")


def _decode(raw: str, profile: str) -> Credentials:
    bad = AuthError(f"The keyring entry for profile '{profile}' is not in ProjectDesk's format: enter the key again.")
    try:
        doc = json.loads(raw)
    except ValueError:
        raise bad from None
    if not isinstance(doc, dict):
        raise bad
    key_id, secret, token = doc.get("access_key_id"), doc.get("secret_access_key"), doc.get("session_token")
    if not isinstance(key_id, str) or not isinstance(secret, str) or not isinstance(token, str | None):
        raise bad
    return Credentials(key_id, secret, token or None)
