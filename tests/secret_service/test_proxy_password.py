"""A profile's proxy password in a real Secret Service (gnome-keyring-daemon, see conftest.py): a second
entry beside the S3 key, written and deleted with the profile, in no file of ours and not in plain text."""

from __future__ import annotations

import contextlib
import io
import sys
import uuid
from pathlib import Path

import pytest
import secretstorage

from projectdesk import cli
from projectdesk.config.paths import Paths
from projectdesk.config.secrets import SERVICE, SecretStore
from tests.secret_service.conftest import SecretService

pytestmark = [pytest.mark.secret_service, pytest.mark.usefixtures("real_keyring")]


def _secrets_of(user: str) -> list[bytes]:
    """The secrets the Secret Service holds for (projectdesk, user), read without our code."""
    with contextlib.closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        return [item.get_secret() for item in collection.search_items({"service": SERVICE, "username": user})]


def _files_holding(root: Path, needle: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_the_proxy_password_is_a_second_keyring_entry(
    isolated_dirs: Paths,
    tmp_path: Path,
    secret_service: SecretService,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, secret, password = f"office-{uuid.uuid4().hex[:6]}", "sk-" + uuid.uuid4().hex, "px-" + uuid.uuid4().hex
    monkeypatch.setattr(sys, "stdin", io.StringIO(secret + "\n"))
    code = cli.main(["profiles", "add", name, "--endpoint-url", "http://127.0.0.1:9", "--bucket", "bkt",
                     "--access-key-id", "AKIAPROXYCHECK", "--secret-stdin"], paths=isolated_dirs)  # fmt: skip
    assert code == 0, capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    code = cli.main(["profiles", "edit", name, "--proxy", "http://127.0.0.1:3128", "--proxy-user", "alice",
                     "--proxy-password-stdin"], paths=isolated_dirs)  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert password not in out + err
    assert _secrets_of(f"{name}/proxy") == [password.encode()]
    assert len(_secrets_of(name)) == 1 and secret.encode() in _secrets_of(name)[0], "the S3 key is untouched"
    assert SecretStore().load_proxy_password(name) == password  # a fresh instance, as the next run would
    assert _files_holding(tmp_path / "xdg", password) == []
    assert _files_holding(secret_service.keyring_home / "keyrings", password) == [], "stored in plain text"

    assert cli.main(["profiles", "remove", name], paths=isolated_dirs) == 0
    assert _secrets_of(f"{name}/proxy") == [] and _secrets_of(name) == []
