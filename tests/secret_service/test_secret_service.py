"""SecretStore and the CLI against a real Secret Service (gnome-keyring-daemon, see conftest.py)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import select
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import secretstorage

from projectdesk import cli
from projectdesk.config.paths import Paths
from projectdesk.config.secrets import SERVICE, SecretStore
from projectdesk.core.errors import KeyringLocked
from projectdesk.storage.s3client import Credentials
from tests.conftest import make_tree, tree_bytes
from tests.integration.test_credentials import assert_plain_sentence
from tests.secret_service.conftest import MASTER_PASSWORD, SecretService

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

pytestmark = [pytest.mark.secret_service, pytest.mark.usefixtures("real_keyring")]


def _secret() -> str:
    return "sk-" + uuid.uuid4().hex + uuid.uuid4().hex


def _items(profile: str) -> list[tuple[dict[str, str], bytes]]:
    """What the Secret Service itself holds for (projectdesk, profile), read without our code."""
    with contextlib.closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        return [
            (item.get_attributes(), item.get_secret())
            for item in collection.search_items({"service": SERVICE, "username": profile})
        ]


def _files_holding(root: Path, needles: list[str]) -> list[str]:
    if not root.is_dir():
        return []
    return [str(p) for p in root.rglob("*") if p.is_file() and any(n.encode() in p.read_bytes() for n in needles)]


def test_the_backend_is_gnome_keyrings_secret_service() -> None:
    store = SecretStore()
    store.check()
    assert "SecretService" in store.backend_name
    assert store.available()


def test_store_read_delete_through_our_class() -> None:
    profile = f"weed-{uuid.uuid4().hex[:6]}"
    keys = Credentials("AKIAREALSECRETSERVICE", _secret(), "token-" + uuid.uuid4().hex)
    store = SecretStore()
    store.save(profile, keys)
    [(attributes, raw)] = _items(profile)
    assert attributes["service"] == SERVICE and attributes["username"] == profile
    assert json.loads(raw)["secret_access_key"] == keys.secret_access_key
    assert SecretStore().load(profile) == keys  # a fresh instance, as the next run would
    store.save(profile, Credentials("AKIAREPLACED", _secret()))
    assert len(_items(profile)) == 1, "saving again replaces the entry"
    assert store.delete(profile) is True
    assert _items(profile) == []
    assert store.load(profile) is None and store.delete(profile) is False


def test_session_only_keys_never_reach_the_keyring() -> None:
    profile = f"session-{uuid.uuid4().hex[:6]}"
    store = SecretStore()
    store.remember_for_session(profile, Credentials("AKIASESSION", _secret()))
    assert store.load(profile) is not None
    assert _items(profile) == []


def test_the_secret_is_in_no_file_of_ours_and_not_in_plain_text_in_the_keyring(
    isolated_dirs: Paths,
    tmp_path: Path,
    secret_service: SecretService,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = _secret()
    monkeypatch.setattr(sys, "stdin", io.StringIO(secret + "\n"))
    code = cli.main(["profiles", "add", "filecheck", "--endpoint-url", "http://127.0.0.1:9", "--bucket", "bkt",
                     "--access-key-id", "AKIAFILECHECK", "--secret-stdin"], paths=isolated_dirs)  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "SecretService" in out
    assert len(_items("filecheck")) == 1
    assert isolated_dirs.profiles_file.is_file()
    assert _files_holding(tmp_path / "xdg", [secret, "AKIAFILECHECK"]) == []
    keyrings = secret_service.keyring_home / "keyrings"
    assert keyrings.is_dir(), f"the daemon keeps no files under {keyrings}"
    assert _files_holding(keyrings, [secret]) == [], "gnome-keyring stored the secret in plain text"
    assert cli.main(["profiles", "remove", "filecheck"], paths=isolated_dirs) == 0
    assert _items("filecheck") == []


@contextlib.contextmanager
def _locked_default_collection() -> Iterator[None]:
    """Lock the login keyring, and unlock it again after (gnome-keyring's unlock-with-password call)."""
    from secretstorage.util import DBusAddressWrapper, format_secret, open_session

    connection = secretstorage.dbus_init()
    collection = secretstorage.get_default_collection(connection)
    collection.lock()
    assert collection.is_locked()
    try:
        yield
    finally:
        session = open_session(connection)
        internal = DBusAddressWrapper(
            "/org/freedesktop/secrets", "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface", connection
        )
        internal.call(
            "UnlockWithMasterPassword",
            "o(oayays)",
            collection.collection_path,
            format_secret(session, MASTER_PASSWORD.encode(), "text/plain"),
        )
        assert not collection.is_locked()
        connection.close()


def test_a_locked_keyring_says_it_is_locked() -> None:
    store = SecretStore()
    store.save("locked-one", Credentials("AKIALOCKED", _secret()))
    with _locked_default_collection():
        started = time.monotonic()
        with pytest.raises(KeyringLocked) as info:
            SecretStore().load("locked-one")
        assert time.monotonic() - started < 10, "no prompter on a headless box: this must fail fast"
    assert_plain_sentence(str(info.value))
    assert "is locked" in str(info.value) and "session-only" in str(info.value)
    assert SecretStore().load("locked-one") is not None
    store.delete("locked-one")


# ---- the "done when", as a new user would do it: real processes, a real terminal ---------------


def _cli_command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "projectdesk.cli", *argv]


def _run_in_terminal(argv: list[str], answers: list[tuple[str, str]], timeout: float = 60) -> tuple[int, str]:
    """Run a command on a new pseudo-terminal (its controlling tty, as in a real shell), answer each prompt,
    and return its exit code and everything the terminal showed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its stdin, stdout, stderr and /dev/tty
        try:
            os.execve(argv[0], argv, dict(os.environ))
        finally:
            os._exit(127)
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if pending and pending[0][0].encode() in shown.rsplit(b"\n", 1)[-1]:
                os.write(fd, pending.pop(0)[1].encode() + b"\n")
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    assert not pending, f"never prompted for {pending[0][0]!r}; the terminal showed:\n{shown.decode(errors='replace')}"
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_new_user_session_with_the_secret_typed_at_the_prompt(
    seaweed: SeaweedServer, isolated_dirs: Paths, tmp_path: Path
) -> None:
    import subprocess

    bucket = f"newuser-{uuid.uuid4().hex[:8]}"
    seaweed.create_bucket(bucket)
    # the terminal session: access key ID (echoed, as it is not secret) and the secret (not echoed)
    add = _cli_command("profiles", "add", "weed", "--endpoint-url", seaweed.endpoint_url, "--bucket", bucket,
                       "--path-style", "--default", "--test")  # fmt: skip
    code, screen = _run_in_terminal(
        add,
        [("Access key ID: ", seaweed.access_key), ("Secret access key (not shown): ", seaweed.secret_key)],
    )
    assert code == 0, screen
    assert seaweed.secret_key not in screen, "the secret was echoed"
    assert "SecretService" in screen and "OK: Connected to" in screen
    [(_, raw)] = _items("weed")
    assert json.loads(raw)["secret_access_key"] == seaweed.secret_key  # in the keyring …
    assert _files_holding(tmp_path / "xdg", [seaweed.secret_key]) == []  # … and nowhere else

    outputs = [screen]

    def run(*argv: str, stdin: str = "", expect: int = 0) -> tuple[str, str]:
        done = subprocess.run(_cli_command("--debug", *argv), input=stdin, capture_output=True, text=True,
                              timeout=120, check=False)  # fmt: skip
        outputs.extend([done.stdout, done.stderr])
        assert done.returncode == expect, f"{argv}: {done.stdout}{done.stderr}"
        return done.stdout, done.stderr

    source = make_tree(tmp_path / "work" / "Keyring Demo", {"index.html": b"<h1>hi</h1>", "app/main.py": b"print(1)\n"})
    slug = run("push", str(source))[0].strip().splitlines()[-1]
    assert slug in run("list")[0]
    run("pull", slug, str(tmp_path / "copy"))
    assert tree_bytes(tmp_path / "copy") == tree_bytes(source)
    wrong = "wrong-" + uuid.uuid4().hex
    run("profiles", "set-secret", "weed", "--access-key-id", seaweed.access_key, "--secret-stdin", stdin=wrong)
    _, failure = run("profiles", "test", "weed", expect=1)
    assert (
        "projectdesk-cli: error: The secret access key is wrong: the server rejected the request signature." in failure
    )
    run("list", expect=1)
    run("profiles", "remove", "weed")
    assert _items("weed") == []

    secrets = [seaweed.secret_key, wrong]
    assert _files_holding(tmp_path / "xdg", secrets) == []
    for text in outputs:
        for secret in secrets:
            assert secret not in text
