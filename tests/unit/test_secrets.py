"""SecretStore: keys in the keyring as one JSON entry, typed errors when there is no usable keyring,
session-only keys in memory, and never a secret in an error, a repr or a log line."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import keyring
import keyring.errors
import pytest
from keyring.backends import chainer, fail, null

from projectdesk.config.secrets import SERVICE, SecretStore
from projectdesk.core.errors import AuthError, KeyringLocked, KeyringUnavailable, ProjectDeskError
from projectdesk.storage.s3client import Credentials
from tests.conftest import MemoryKeyring

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"
KEYS = Credentials("AKIAEXAMPLEKEYID1234", SECRET, TOKEN)


def _no_secret_in(text: str) -> None:
    assert SECRET not in text
    assert TOKEN not in text


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    set_password = delete_password = get_password  # type: ignore[assignment]


class ExplodingKeyring(MemoryKeyring):
    """Fails with an exception whose text carries the secret (as a careless backend might)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise OSError(f"D-Bus said no to {password}")


class ForgetfulKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        pass


class EmptyChainer(chainer.ChainerBackend):  # type: ignore[misc]
    priority = -1
    backends: list[Any] = []  # noqa: RUF012


def _plaintext_backend() -> Any:
    cls = type("PlaintextKeyring", (MemoryKeyring,), {"__module__": "keyrings.alt.file", "priority": -1})
    return cls()


def test_round_trip_is_one_json_entry_under_service_and_profile(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    store.save("weed", KEYS)
    assert list(memory_keyring.entries) == [(SERVICE, "weed")]
    assert SERVICE == "projectdesk"
    doc = json.loads(memory_keyring.entries[(SERVICE, "weed")])
    assert doc == {"version": 1, "access_key_id": KEYS.access_key_id, "secret_access_key": SECRET,
                   "session_token": TOKEN}  # fmt: skip
    assert SecretStore().load("weed") == KEYS
    assert store.has_secret("weed") is True
    assert store.delete("weed") is True
    assert memory_keyring.entries == {}
    assert store.load("weed") is None
    assert store.delete("weed") is False
    assert store.has_secret("weed") is False


def test_session_token_is_optional(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    store.save("aws", Credentials("AKIAEXAMPLEKEYID1234", SECRET))
    loaded = store.load("aws")
    assert loaded is not None and loaded.session_token is None


def test_backend_is_looked_up_lazily_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = keyring.get_keyring

    def counting() -> Any:
        calls.append(1)
        return real()

    monkeypatch.setattr(keyring, "get_keyring", counting)
    store = SecretStore()
    assert calls == []
    store.save("p", KEYS)
    store.load("p")
    assert store.backend_name == "tests.conftest.MemoryKeyring"
    assert calls == [1]


def test_no_backend_says_so_and_what_to_do() -> None:
    store = SecretStore(fail.Keyring())
    with pytest.raises(KeyringUnavailable) as info:
        store.save("weed", KEYS)
    message = str(info.value)
    assert "No keyring backend is available" in message
    for hint in ("GNOME Keyring", "KWallet", "session-only", "AWS profile"):
        assert hint in message
    assert "\n" not in message and message.endswith(".")
    assert not store.available()
    assert store.has_secret("weed") is None
    assert store.backend_name == "keyring.backends.fail.Keyring"
    _no_secret_in(message)


def test_no_keyring_error_raised_at_call_time_is_typed_too() -> None:
    class Raising(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise keyring.errors.NoKeyringError("nothing")

    with pytest.raises(KeyringUnavailable, match="No keyring backend is available"):
        SecretStore(Raising()).load("x")


@pytest.mark.parametrize("backend", [null.Keyring(), EmptyChainer()], ids=["null", "empty-chainer"])
def test_backends_that_keep_nothing_are_unavailable(backend: Any) -> None:
    with pytest.raises(KeyringUnavailable):
        SecretStore(backend).save("weed", KEYS)


def test_default_lookup_finds_fail_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(KeyringUnavailable):
        SecretStore().load("weed")


def test_locked_keyring_says_it_is_locked() -> None:
    with pytest.raises(KeyringLocked) as info:
        SecretStore(LockedKeyring()).load("weed")
    assert "locked" in str(info.value)
    assert "session-only" in str(info.value)
    assert isinstance(info.value, KeyringUnavailable)


def test_backend_failure_text_is_never_copied() -> None:
    with pytest.raises(KeyringUnavailable) as info:
        SecretStore(ExplodingKeyring()).save("weed", KEYS)
    assert "OSError" in str(info.value)
    _no_secret_in(str(info.value))
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_backend_that_drops_writes_is_caught() -> None:
    with pytest.raises(KeyringUnavailable, match="did not keep the key"):
        SecretStore(ForgetfulKeyring()).save("weed", KEYS)


def test_plaintext_backend_is_refused_unless_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    with pytest.raises(KeyringUnavailable, match="plain text"):
        SecretStore(_plaintext_backend()).save("weed", KEYS)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    SecretStore(_plaintext_backend()).save("weed", KEYS)  # the user asked for it by name


def test_session_only_keys_stay_in_memory(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    store.remember_for_session("weed", KEYS)
    assert store.load("weed") == KEYS
    assert store.is_session_only("weed")
    assert memory_keyring.entries == {}
    assert SecretStore().load("weed") is None  # another run knows nothing of it
    store.forget_session("weed")
    assert store.load("weed") is None


def test_session_only_keys_work_without_any_keyring() -> None:
    store = SecretStore(fail.Keyring())
    store.remember_for_session("weed", KEYS)
    assert store.load("weed") == KEYS
    store.forget_session()
    assert not store.is_session_only("weed")


def test_saving_to_the_keyring_replaces_session_keys(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    store.remember_for_session("weed", Credentials("AKOLD", "old-secret"))
    store.save("weed", KEYS)
    assert not store.is_session_only("weed")
    assert store.load("weed") == KEYS


@pytest.mark.parametrize(
    "raw",
    ["not json " + SECRET, json.dumps([SECRET]), json.dumps({"access_key_id": "A", "secret_access_key": 5})],
    ids=["text", "list", "wrong-types"],
)
def test_foreign_entries_are_reported_without_their_content(memory_keyring: MemoryKeyring, raw: str) -> None:
    memory_keyring.entries[(SERVICE, "weed")] = raw
    with pytest.raises(AuthError) as info:
        SecretStore().load("weed")
    assert "not in ProjectDesk's format" in str(info.value)
    _no_secret_in(str(info.value))
    assert SecretStore().has_secret("weed") is None


@pytest.mark.parametrize(
    "keys",
    [Credentials("", SECRET), Credentials("AK ID", SECRET), Credentials("AKID", ""), Credentials("AKID", "a\nb")],
    ids=["empty-id", "space-in-id", "empty-secret", "control-char"],
)
def test_unusable_keys_are_refused(keys: Credentials, memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(AuthError):
        SecretStore().save("weed", keys)
    assert memory_keyring.entries == {}


def test_repr_and_errors_never_show_the_secret() -> None:
    assert SECRET not in repr(KEYS) and SECRET not in str(KEYS) and TOKEN not in repr(KEYS)
    assert "***" in repr(KEYS)


def test_logs_name_the_backend_but_never_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = SecretStore()
    store.save("weed", KEYS)
    store.load("weed")
    store.delete("weed")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "MemoryKeyring" in text
    _no_secret_in(text)


def test_calls_are_serialised_by_the_lock() -> None:
    inside = 0
    most = 0
    guard = threading.Lock()

    class Slow(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            nonlocal inside, most
            with guard:
                inside += 1
                most = max(most, inside)
            threading.Event().wait(0.002)
            with guard:
                inside -= 1
            return super().get_password(service, username)

    store = SecretStore(Slow())
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            store.save(f"p{i}", KEYS)
            assert store.load(f"p{i}") == KEYS
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert most == 1


def test_keyring_errors_are_projectdesk_errors() -> None:
    assert issubclass(KeyringUnavailable, ProjectDeskError)
    assert issubclass(KeyringLocked, KeyringUnavailable)
    assert KeyringLocked("x").title == "Keyring locked"
