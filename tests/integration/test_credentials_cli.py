"""`projectdesk-cli profiles …` with keys in the keyring (the in-memory backend from tests/conftest.py),
against a real SeaweedFS server; and a whole session proving no secret reaches a file, the output or a log."""

from __future__ import annotations

import io
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keyring
import keyring.backends.fail
import pytest

from projectdesk import cli
from projectdesk.config.paths import Paths
from projectdesk.config.secrets import SERVICE
from tests.conftest import MemoryKeyring, make_tree, tree_bytes
from tests.integration.test_credentials import assert_plain_sentence

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer


class TtyInput(io.StringIO):
    """A standard input that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Cli:
    """Runs projectdesk-cli in-process; `stdin` text is piped, `tty=True` makes stdin a terminal."""

    def __init__(self, paths: Paths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths = paths
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        self.outputs: list[str] = []

    def __call__(self, *argv: str, stdin: str = "", tty: bool = False, expect: int = 0) -> tuple[str, str]:
        self.monkeypatch.setattr(sys, "stdin", TtyInput(stdin) if tty else io.StringIO(stdin))
        code = cli.main(list(argv), paths=self.paths)
        out, err = self.capsys.readouterr()
        self.outputs += [out, err]
        assert code == expect, f"exit {code} for {argv}\nstdout: {out}\nstderr: {err}"
        return out, err

    def json(self, *argv: str) -> Any:
        return json.loads(self(*argv, "--json")[0])


@pytest.fixture
def run(isolated_dirs: Paths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(isolated_dirs, capsys, monkeypatch)


@pytest.fixture
def bucket(seaweed: SeaweedServer) -> str:
    name = f"clicred-{uuid.uuid4().hex[:10]}"
    seaweed.create_bucket(name)
    return name


def _add_args(seaweed: SeaweedServer, bucket: str, name: str = "weed") -> list[str]:
    return ["profiles", "add", name, "--endpoint-url", seaweed.endpoint_url, "--region", seaweed.region,
            "--bucket", bucket, "--path-style"]  # fmt: skip


def _entry(memory_keyring: MemoryKeyring, name: str = "weed") -> dict[str, Any] | None:
    raw = memory_keyring.entries.get((SERVICE, name))
    return None if raw is None else dict(json.loads(raw))


def test_add_with_secret_stdin_stores_the_key_in_the_keyring_only(
    run: Cli, seaweed: SeaweedServer, bucket: str, memory_keyring: MemoryKeyring, isolated_dirs: Paths
) -> None:
    out, _ = run(*_add_args(seaweed, bucket), "--access-key-id", seaweed.access_key, "--secret-stdin", "--default",
                 stdin=seaweed.secret_key + "\n")  # fmt: skip
    assert "its key is in the keyring (tests.conftest.MemoryKeyring)" in out
    entry = _entry(memory_keyring)
    assert entry is not None
    assert entry["access_key_id"] == seaweed.access_key and entry["secret_access_key"] == seaweed.secret_key
    assert entry["session_token"] is None
    text = isolated_dirs.profiles_file.read_text()
    assert 'credential_source = "keyring"' in text
    assert seaweed.secret_key not in text and seaweed.access_key not in text
    [local, weed] = run.json("profiles", "list")
    assert weed["credential_source"] == "keyring" and weed["secret_stored"] is True and weed["default"] is True
    assert local["secret_stored"] is None
    assert seaweed.secret_key not in json.dumps([local, weed])
    out, _ = run("profiles", "list")
    assert "keyring" in out and seaweed.secret_key not in out
    out, _ = run("profiles", "test", "weed", "--write")
    assert out.startswith("OK: Connected to s3://") and "reading and writing work" in out


def test_add_prompts_without_echo_on_a_terminal(
    run: Cli, seaweed: SeaweedServer, bucket: str, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return seaweed.secret_key if prompt.startswith("Secret") else ""

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setattr("builtins.input", lambda prompt="": prompts.append(prompt) or seaweed.access_key)
    out, err = run(*_add_args(seaweed, bucket), "--test", tty=True)
    assert prompts == ["Access key ID: ", "Secret access key (not shown): "]
    assert (_entry(memory_keyring) or {})["secret_access_key"] == seaweed.secret_key
    assert "OK: Connected" in out and seaweed.secret_key not in out + err


def test_session_token_prompt_and_second_stdin_line(
    run: Cli, seaweed: SeaweedServer, bucket: str, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "tok-from-prompt" if "token" in prompt else "sec")
    run(*_add_args(seaweed, bucket), "--access-key-id", "AKID1", "--ask-session-token", tty=True)
    assert (_entry(memory_keyring) or {})["session_token"] == "tok-from-prompt"
    run(*_add_args(seaweed, bucket, "two"), "--access-key-id", "AKID2", "--secret-stdin", stdin="sec2\ntok2\n")
    assert _entry(memory_keyring, "two") == {"version": 1, "access_key_id": "AKID2", "secret_access_key": "sec2",
                                             "session_token": "tok2"}  # fmt: skip


def test_remove_deletes_the_keyring_entry(
    run: Cli, seaweed: SeaweedServer, bucket: str, memory_keyring: MemoryKeyring
) -> None:
    run(*_add_args(seaweed, bucket), "--access-key-id", "AKID", "--secret-stdin", stdin="sec")
    assert _entry(memory_keyring) is not None
    out, _ = run("profiles", "remove", "weed")
    assert out.strip() == "Profile 'weed' removed and its key deleted from the keyring."
    assert memory_keyring.entries == {}
    assert [p["name"] for p in run.json("profiles", "list")] == ["local"]


def test_remove_keeps_the_profile_when_the_keyring_is_gone(
    run: Cli, seaweed: SeaweedServer, bucket: str, memory_keyring: MemoryKeyring
) -> None:
    run(*_add_args(seaweed, bucket), "--access-key-id", "AKID", "--secret-stdin", stdin="sec")
    keyring.set_keyring(keyring.backends.fail.Keyring())
    _, err = run("profiles", "remove", "weed", expect=1)
    assert "No keyring backend is available" in err and "--force" in err
    assert [p["name"] for p in run.json("profiles", "list")] == ["local", "weed"]
    assert run.json("profiles", "list")[1]["secret_stored"] is None
    run("profiles", "remove", "weed", "--force")
    assert [p["name"] for p in run.json("profiles", "list")] == ["local"]


def test_no_keyring_fails_before_any_prompt_and_saves_nothing(
    run: Cli, seaweed: SeaweedServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("prompted although no keyring exists"))
    _, err = run(*_add_args(seaweed, bucket), "--access-key-id", "AKID", tty=True, expect=1)
    message = err.strip().removeprefix("projectdesk-cli: error: ")
    assert_plain_sentence(message)
    assert "GNOME Keyring" in message and "session-only" in message
    assert [p["name"] for p in run.json("profiles", "list")] == ["local"]


def test_other_sources_and_usage_errors(
    run: Cli, seaweed: SeaweedServer, bucket: str, memory_keyring: MemoryKeyring, isolated_dirs: Paths
) -> None:
    out, _ = run(*_add_args(seaweed, bucket, "e"), "--env")
    assert "keys from the environment" in out
    out, _ = run(*_add_args(seaweed, bucket, "scripted"))  # no source, no terminal: the default chain
    assert "keys from the environment" in out
    out, _ = run(*_add_args(seaweed, bucket, "a"), "--aws-profile", "work")
    assert "AWS profile 'work'" in out
    _, err = run(*_add_args(seaweed, bucket, "x"), "--aws-profile", "work", "--secret-stdin", expect=1)
    assert "--aws-profile and --env take keys from elsewhere" in err
    _, err = run(*_add_args(seaweed, bucket, "x"), "--access-key-id", "AKID", expect=1)
    assert "--secret-stdin" in err
    _, err = run(*_add_args(seaweed, bucket, "x"), "--secret-stdin", stdin="s", expect=1)
    assert "--access-key-id" in err
    _, err = run(*_add_args(seaweed, bucket, "x"), "--access-key-id", "AK", "--secret-stdin", stdin="\n", expect=1)
    assert "No secret access key was given." in err
    assert memory_keyring.entries == {}
    sources = {p["name"]: p["credential_source"] for p in run.json("profiles", "list")}
    assert sources == {"local": "env", "e": "env", "scripted": "env", "a": "aws-profile"}
    _, err = run("profiles", "test", "a", expect=1)
    assert "The AWS profile 'work' is not in" in err


def test_existing_profile_and_its_key_survive_a_refused_add(
    run: Cli, seaweed: SeaweedServer, bucket: str, memory_keyring: MemoryKeyring
) -> None:
    run(*_add_args(seaweed, bucket), "--access-key-id", "AKID", "--secret-stdin", stdin="first")
    _, err = run(*_add_args(seaweed, bucket), "--access-key-id", "AKID", "--secret-stdin", stdin="second", expect=1)
    assert "exists already" in err
    assert (_entry(memory_keyring) or {})["secret_access_key"] == "first"
    run(*_add_args(seaweed, bucket), "--replace", "--env")
    assert memory_keyring.entries == {}, "switching to --env deletes the stored key"


def test_set_secret_and_test_failures(
    run: Cli, seaweed: SeaweedServer, bucket: str, memory_keyring: MemoryKeyring
) -> None:
    run(*_add_args(seaweed, bucket), "--env")
    _, err = run("profiles", "test", "weed", expect=1)
    assert "No S3 credentials were found" in err
    out, _ = run("profiles", "set-secret", "weed", "--access-key-id", seaweed.access_key, "--secret-stdin",
                 stdin=seaweed.secret_key)  # fmt: skip
    assert "stored in the keyring" in out
    assert run.json("profiles", "list")[1]["credential_source"] == "keyring"
    run("--profile", "weed", "profiles", "test")
    report = run.json("profiles", "test", "weed")
    assert report["ok"] is True and report["problem"] is None
    run("profiles", "set-secret", "weed", "--access-key-id", seaweed.access_key, "--secret-stdin", stdin="wrong")
    _, err = run("profiles", "test", "weed", expect=1)
    assert err == "projectdesk-cli: error: The secret access key is wrong: the server rejected the request signature.\n"
    run("profiles", "set-secret", "weed", "--access-key-id", seaweed.access_key, "--secret-stdin",
        stdin=seaweed.secret_key)  # fmt: skip
    missing = f"gone-{uuid.uuid4().hex[:8]}"
    run(*_add_args(seaweed, missing, "nob"), "--access-key-id", seaweed.access_key, "--secret-stdin",
        stdin=seaweed.secret_key)  # fmt: skip
    _, err = run("profiles", "test", "nob", expect=1)
    assert f"The bucket '{missing}' does not exist" in err and "--create-bucket" in err
    out, _ = run("profiles", "test", "nob", "--create-bucket")
    assert out.startswith(f"OK: Created the bucket '{missing}'")


def test_aws_list(run: Cli, isolated_dirs: Paths, tmp_path: Path) -> None:
    out, _ = run("profiles", "aws-list")
    assert "No AWS profiles" in out
    (tmp_path / "xdg").mkdir(exist_ok=True)
    (tmp_path / "xdg" / "aws-config").write_text("[profile work]\nregion = eu-west-1\n")
    (tmp_path / "xdg" / "aws-credentials").write_text(
        "[work]\naws_access_key_id = AKIAX\naws_secret_access_key = topsecret123\n"
    )
    assert run.json("profiles", "aws-list") == [{"name": "work", "region": "eu-west-1", "sso": False}]
    out, _ = run("profiles", "aws-list")
    assert "work" in out and "topsecret123" not in out and "AKIAX" not in out


# ---- no secret anywhere ----------------------------------------------------------------------------


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


def _files_holding(root: Path, needles: list[str]) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {n[:4]}…" for n in needles if n.encode() in data]
    return found


def test_a_whole_session_leaves_no_secret_anywhere(
    run: Cli,
    seaweed: SeaweedServer,
    bucket: str,
    tmp_path: Path,
    isolated_dirs: Paths,
    debug_logs: pytest.LogCaptureFixture,
    memory_keyring: MemoryKeyring,
) -> None:
    token = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN" + uuid.uuid4().hex
    wrong = "wrong-" + uuid.uuid4().hex
    secrets = [seaweed.secret_key, token, wrong]
    # The first steps use the real key; the last ones a wrong secret plus a session token, signed and sent.
    run("--debug", *_add_args(seaweed, bucket), "--access-key-id", seaweed.access_key, "--secret-stdin", "--default",
        "--test", "--write", stdin=seaweed.secret_key + "\n")  # fmt: skip
    source = make_tree(tmp_path / "src" / "Secret Keeper", {"a.txt": b"alpha\n", "sub/b.bin": bytes(range(256))})
    out, _ = run("--debug", "push", str(source))
    slug = out.strip().splitlines()[-1]
    assert [p["slug"] for p in run.json("--debug", "list")] == [slug]
    run("--debug", "pull", slug, str(tmp_path / "copy"))
    assert tree_bytes(tmp_path / "copy") == tree_bytes(source)
    run("--debug", "profiles", "list", "--json")
    run("--debug", "profiles", "set-secret", "weed", "--access-key-id", seaweed.access_key, "--secret-stdin",
        stdin=f"{wrong}\n{token}\n")  # fmt: skip
    _, err = run("--debug", "list", expect=1)  # SeaweedFS looks a key with a token up as an STS key: unknown
    assert_plain_sentence(err.strip().removeprefix("projectdesk-cli: error: "), *secrets)
    assert "access key ID is not known" in err
    _, err = run("--debug", "profiles", "test", "weed", "--write", expect=1)
    assert_plain_sentence(err.strip().removeprefix("projectdesk-cli: error: "), *secrets)
    _, err = run("--debug", "push", str(source), expect=1)

    assert (_entry(memory_keyring) or {})["session_token"] == token  # it was stored, in the keyring only
    xdg = tmp_path / "xdg"
    assert (xdg / "config" / "projectdesk" / "profiles.toml").is_file()
    assert _files_holding(xdg, secrets) == []
    assert _files_holding(xdg, [seaweed.access_key]) == [], "the access key ID lives in the keyring too"
    output = "\n".join(run.outputs)
    for secret in secrets:
        assert secret not in output
    assert debug_logs.records, "--debug produced no log records to check"
    for record in debug_logs.records:
        text = record.getMessage() + repr(record.args) + (record.exc_text or "")
        for secret in secrets:
            assert secret not in text, f"a secret in a log record of {record.name}"
