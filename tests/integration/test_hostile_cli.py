"""projectdesk-cli on hostile and unusual input: names that try to drive the terminal, JSON that must stay JSON,
libraries that must keep quiet, SSO sign-ins that are missing, full disks, and the one exit-code rule."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from projectdesk.cli import common, projects
from projectdesk.cli.common import EXIT_PARTLY_DONE, PartlyDone, print_json
from projectdesk.config.paths import Paths
from projectdesk.core.errors import InvalidKey
from projectdesk.storage.errors import DiskFull, SsoSignInMissing, disk_full_error, translate
from projectdesk.storage.repository import DownloadReport, FileEntry
from tests.integration.test_cli import Runner

# Raw bytes that must never reach a terminal: C0 (the newline ending a line aside), DEL, C1, lone surrogates.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
SLUG = "evil-00001"
NAME = "Evil\x1b]0;owned\x07\x1b[2J\nsecond line\x9b31m"
PATHS = ["ok.txt", "esc\x1b[31mred.txt", "new\nline.txt", "c1\x9b31m.txt", "bell\x07and\ttab.txt", "del\x7f.txt"]
SHOWN = ["ok.txt", "esc\\x1b[31mred.txt", "new\\nline.txt", "c1\\x9b31m.txt", "bell\\x07and\\ttab.txt", "del\\x7f.txt"]
MANIFEST = {"name": NAME, "slug": SLUG, "tech_stack": ["Re\x1bact"], "created_date": 1.0e9, "updated_date": 1.7e9}


def _assert_clean(*texts: str) -> None:
    for text in texts:
        assert RAW.search(text) is None, f"raw control character in {text!r}"


@pytest.fixture(params=["local", "moto"])
def hostile(request: pytest.FixtureRequest, isolated_dirs: Paths, capsys: pytest.CaptureFixture[str]) -> Runner:
    """A store holding project SLUG, whose manifest name and file names carry terminal escapes."""
    run = Runner(isolated_dirs, capsys, None)
    planted = {path: b"x" for path in PATHS} | {".projectdesk.json": json.dumps(MANIFEST).encode()}
    if request.param == "local":
        base = isolated_dirs.local_store / "projects" / "anonymous" / SLUG
        base.mkdir(parents=True)
        for path, data in planted.items():
            (base / path).write_bytes(data)
        return run
    request.getfixturevalue("moto_env")
    import boto3

    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="hostile-names")
    for path, data in planted.items():
        client.put_object(Bucket="hostile-names", Key=f"projects/anonymous/{SLUG}/{path}", Body=data)
    run("profiles", "add", "aws", "--region", "us-east-1", "--bucket", "hostile-names", "--default")
    return run


def test_list_ls_info_escape_names_from_the_store(hostile: Runner) -> None:
    out, err = hostile("list")
    _assert_clean(out, err)
    assert "Evil\\x1b]0;owned\\x07\\x1b[2J\\nsecond line\\x9b31m" in out and "Re\\x1bact" in out
    out, err = hostile("ls", SLUG)
    _assert_clean(out, err)
    for shown in SHOWN:
        assert shown in out
    assert len(out.splitlines()) == 1 + len(PATHS)  # a newline in a name does not make a line
    out, err = hostile("info", SLUG)
    _assert_clean(out, err)
    assert "Evil\\x1b]0;owned" in out


def test_json_output_parses_and_keeps_the_names_exactly(hostile: Runner) -> None:
    [project] = hostile.json("list")
    assert project["name"] == NAME and project["tech_stack"] == ["Re\x1bact"]
    out, _ = hostile("ls", SLUG, "--json")
    assert "\x7f" not in out and "\x9b" not in out  # JSON escapes for DEL and C1 too: \u007f, \u009b
    assert sorted(entry["path"] for entry in json.loads(out)) == sorted(PATHS)
    assert hostile.json("info", SLUG)["name"] == NAME


def test_error_messages_escape_the_names_they_quote(hostile: Runner) -> None:
    _, err = hostile("info", "no\x9bsuch\x1b[2J", expect=1)
    _assert_clean(err)
    assert len(err.splitlines()) == 1
    _, err = hostile("cat", SLUG, "gone\x9b.txt", expect=1)
    _assert_clean(err)
    assert "gone\\x9b.txt" in err


def test_a_local_store_name_that_is_not_utf8(isolated_dirs: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    run = Runner(isolated_dirs, capsys, None)
    base = isolated_dirs.local_store / "projects" / "anonymous" / SLUG
    base.mkdir(parents=True)
    (base / "ok.txt").write_bytes(b"x")
    with open(os.path.join(os.fsencode(str(base)), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"x")
    out, err = run("ls", SLUG)
    _assert_clean(out, err)
    assert "ok.txt" in out  # the name no UTF-8 decoder accepts is left out, the rest listed
    assert [e["path"] for e in json.loads(run("ls", SLUG, "--json")[0])] == ["ok.txt"]


# ---- print_json and date_text on their own -------------------------------------------------------


def test_print_json_is_always_valid_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = {"nan": float("nan"), "inf": [float("inf"), -float("inf")], "name": "caf\udce9\x1b\x85\u2028", "n": 1.5}
    print_json(data)
    out = capsys.readouterr().out
    assert "NaN" not in out and "Infinity" not in out
    out.encode("utf-8")
    assert json.loads(out) == {"nan": None, "inf": [None, None], "name": "caf\udce9\x1b\x85\u2028", "n": 1.5}


def test_dates_that_are_no_dates_show_as_a_dash() -> None:
    assert [common.date_text(v) for v in (0.0, float("nan"), float("inf"), 1e300, -1e300)] == ["-"] * 5


# ---- third-party loggers ----------------------------------------------------------------------------


@pytest.fixture
def stderr_logging(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """A root handler on stderr, as logging.basicConfig makes outside pytest (whose own handlers stop it)."""
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def _chatty_list(ctx: common.Context) -> int:
    try:
        raise RuntimeError("SSOTokenLoadError: Token for https://example.awsapps.com/start does not exist")
    except RuntimeError:
        logging.getLogger("botocore.credentials").warning("Refreshing temporary credentials failed", exc_info=True)
    logging.getLogger("botocore.tokens").error("Refreshing token failed")
    logging.getLogger("urllib3.connectionpool").warning("Retrying (Retry(total=4)) after connection broken")
    logging.getLogger("keyring.backend").warning("no backend")
    logging.getLogger("s3transfer.tasks").error("Exception raised")
    print("our output")
    return 0


def test_library_logs_stay_off_stderr_without_debug(
    isolated_dirs: Paths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stderr_logging: None
) -> None:
    monkeypatch.setattr(projects, "list_projects", _chatty_list)
    run = Runner(isolated_dirs, capsys, None)
    out, err = run("list")
    assert out == "our output\n" and err == ""
    _, err = run("--debug", "list")
    assert "Refreshing temporary credentials failed" in err and "Retrying" in err


def test_debug_never_lets_botocore_log_request_details(isolated_dirs: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, int] = {}

    def record_levels(ctx: common.Context) -> int:
        seen.update({name: logging.getLogger(name).getEffectiveLevel() for name in ("botocore", "s3transfer")})
        return 0

    monkeypatch.setattr(projects, "list_projects", record_levels)
    from projectdesk import cli

    assert cli.main(["--debug", "list"], paths=isolated_dirs) == 0
    assert seen and all(level > logging.DEBUG for level in seen.values())


# ---- a missing AWS SSO sign-in ------------------------------------------------------------------------

SSO_CONFIG = """
[profile work-sso]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = Developer
region = us-east-1
"""
SSO_SENTENCE = (
    "projectdesk-cli: error: The AWS SSO sign-in for profile 'work-sso' is missing or expired: "
    "run 'projectdesk-cli profiles login aws' (or 'aws sso login --profile work-sso').\n"
)


@pytest.fixture
def sso_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """~/.aws/config with an SSO profile and no sign-in (an empty SSO token cache under a private HOME)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    config = Path(os.environ["AWS_CONFIG_FILE"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(SSO_CONFIG)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path / "home"


@pytest.mark.parametrize("source", ["aws-profile", "env"])
def test_a_missing_sso_sign_in_is_one_sentence_naming_the_profile(
    sso_home: Path,
    isolated_dirs: Paths,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stderr_logging: None,
    source: str,
) -> None:
    run = Runner(isolated_dirs, capsys, None)
    if source == "env":
        monkeypatch.setenv("AWS_PROFILE", "work-sso")
        run("profiles", "add", "aws", "--region", "us-east-1", "--bucket", "sso-bucket", "--env", "--default")
    else:
        run("profiles", "add", "aws", "--region", "us-east-1", "--bucket", "sso-bucket", "--aws-profile", "work-sso",
            "--default")  # fmt: skip
    _, err = run("list", expect=1)
    assert err == SSO_SENTENCE
    _, err = run("profiles", "test", "aws", expect=1)
    assert err == SSO_SENTENCE


def test_a_missing_sso_sign_in_in_a_fresh_process_prints_no_traceback(sso_home: Path, isolated_dirs: Paths) -> None:
    """As a person runs it: logging configured by main itself, botocore's WARNING tracebacks included."""
    cli = Path(sys.executable).parent / "projectdesk-cli"
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true"}
    add = ["profiles", "add", "aws", "--region", "us-east-1", "--bucket", "sso-bucket", "--aws-profile", "work-sso"]
    subprocess.run([cli, *add], capture_output=True, text=True, check=True, env=env, timeout=120)
    proc = subprocess.run([cli, "--profile", "aws", "list"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr == SSO_SENTENCE


def test_the_sso_sentence_without_a_profile_still_says_what_to_run() -> None:
    assert "run 'aws sso login'" in SsoSignInMissing().message
    named = SsoSignInMissing().for_profile("my profile")
    assert named.message == (
        "The AWS SSO sign-in for profile 'my profile' is missing or expired: "
        "run 'aws sso login --profile \"my profile\"'."
    )
    assert named.for_profile("other") is named
    from botocore.exceptions import UnauthorizedSSOTokenError

    error = translate(UnauthorizedSSOTokenError(), bucket="b", endpoint="E", aws_profile="work-sso")
    assert isinstance(error, SsoSignInMissing) and error.message == (
        "The AWS SSO sign-in for profile 'work-sso' is missing or expired: run 'aws sso login --profile work-sso'."
    )
    assert f"projectdesk-cli: error: {error.for_profile('work-sso', 'aws')}\n" == SSO_SENTENCE


# ---- a full disk --------------------------------------------------------------------------------------


def _full(path: Path, code: int = errno.ENOSPC) -> OSError:
    return OSError(code, os.strerror(code), str(path))


@pytest.mark.parametrize("code", [errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)])
def test_a_full_disk_names_the_folder(tmp_path: Path, code: int) -> None:
    error = translate(_full(tmp_path / "dest" / ".pd-tmp-1-2", code), bucket="b", endpoint="E", what="p/a.txt")
    assert type(error) is DiskFull
    assert error.message == f"The disk holding {tmp_path / 'dest'} is full."


def test_a_full_disk_says_how_much_more_room_is_needed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage._replace(free=1_000_000))
    assert disk_full_error(tmp_path, 6_500_000).message == f"The disk holding {tmp_path} is full (needed 6 MB more)."
    assert disk_full_error(tmp_path / "new" / "sub", 500).message == f"The disk holding {tmp_path / 'new'} is full."
    assert disk_full_error(tmp_path / "f.bin", None).message == f"The disk holding {tmp_path} is full."


@pytest.mark.parametrize(
    "make",
    [
        lambda: _crt_error("AWS_ERROR_NO_SPACE"),
        lambda: _crt_error(f"close: {os.strerror(errno.ENOSPC)}"),
        lambda: _wrapped(_full(Path("/somewhere/file"))),
    ],
    ids=["crt-no-space", "crt-close", "wrapped-oserror"],
)
def test_a_full_disk_inside_a_transfer_error_is_still_a_full_disk(make: Callable[[], Exception]) -> None:
    error = translate(make(), bucket="b", endpoint="E", what="p/a.txt")
    assert type(error) is DiskFull and "is full" in error.message and "CrtTransferError" not in error.message


def _crt_error(name: str) -> Exception:
    from projectdesk.storage.crt import CrtError, CrtTransferError

    return CrtError(CrtTransferError(name=name))


def _wrapped(inner: OSError) -> Exception:
    try:
        try:
            raise inner
        except OSError as exc:
            raise RuntimeError("transfer failed") from exc
    except RuntimeError as outer:
        return outer


# ---- exit codes ---------------------------------------------------------------------------------------


def test_keep_offline_with_skipped_names_exits_2(
    isolated_dirs: Paths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from projectdesk.services.offline import CachedProjectService

    def keep(self: Any, slug: str, keep: bool) -> DownloadReport:
        why = InvalidKey("The name 'evil\\x1b[2J.txt' contains control characters (such as NUL).").message
        return DownloadReport(downloaded=[FileEntry("ok.txt", 1, "e", 0.0)], skipped=[("evil\x1b[2J.txt", why)])

    monkeypatch.setattr(CachedProjectService, "set_keep_offline", keep)
    run = Runner(isolated_dirs, capsys, None)
    out, err = run("keep-offline", SLUG, expect=EXIT_PARTLY_DONE)
    _assert_clean(out, err)
    assert "1 file(s) downloaded" in out
    assert err.splitlines()[0].startswith("warning: skipped unsafe name 'evil\\x1b[2J.txt'")
    assert err.splitlines()[-1] == "warning: 1 file(s) were skipped (see above); the rest is kept offline."


def test_partly_done_is_exit_2_and_other_errors_exit_1(
    isolated_dirs: Paths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def partly(ctx: common.Context) -> int:
        print("3 listed")
        raise PartlyDone("2 name(s) were skipped\x1b[2J (see above).")

    monkeypatch.setattr(projects, "list_projects", partly)
    run = Runner(isolated_dirs, capsys, None)
    out, err = run("list", expect=2)
    assert out == "3 listed\n" and err == "warning: 2 name(s) were skipped\\x1b[2J (see above).\n"
    _, err = run("ls", "no-such-project", expect=1)
    assert err.startswith("projectdesk-cli: error: ")
