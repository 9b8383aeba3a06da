"""Working behind an HTTP proxy: projectdesk-cli in-process against a real SeaweedFS server, through the
small real forward proxy of tests/servers/httpproxy.py (its request log proves where traffic went).

SeaweedFS listens on plain http, so the proxy forwards absolute-URI requests; behind an https front
(tests/servers/tlsfront.py) the same server is reached through a CONNECT tunnel instead.
"""

from __future__ import annotations

import base64
import io
import logging
import sys
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from projectdesk import cli
from projectdesk.config.paths import Paths
from projectdesk.config.profiles import ProfileStore
from projectdesk.config.secrets import SERVICE, SecretStore
from projectdesk.services.connect import make_profile_client
from projectdesk.storage.crt import CrtTransfers
from tests.conftest import MemoryKeyring, make_tree, tree_bytes
from tests.integration.test_credentials import assert_plain_sentence
from tests.servers.httpproxy import HttpProxy
from tests.servers.tlsfront import TlsFront

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

pytestmark = pytest.mark.seaweedfs

USER = "alice"
PASSWORD = "pr0xy-" + uuid.uuid4().hex  # a fresh secret per run, searched for everywhere afterwards
FILES = {
    "README.md": b"# Behind the proxy\n",
    "src/app.py": b"print('hello')\n",
    "data/blob.bin": bytes(range(256)) * 4096,  # 1 MiB: an upload and download of some size
    "big/archive.bin": uuid.uuid4().bytes * 1_100_000,  # 17.6 MB: a multipart upload and ranged download
}


class Cli:
    """projectdesk-cli in-process: stdout, stderr and every line it printed are kept."""

    def __init__(self, paths: Paths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths, self.capsys, self.monkeypatch = paths, capsys, monkeypatch
        self.outputs: list[str] = []

    def __call__(self, *argv: str, stdin: str = "", expect: int = 0) -> tuple[str, str]:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = cli.main(["--debug", *argv], paths=self.paths)
        out, err = self.capsys.readouterr()
        self.outputs += [out, err]
        assert code == expect, f"exit {code} for {argv}\nstdout: {out}\nstderr: {err}"
        return out, err

    def error(self, *argv: str) -> str:
        """The one sentence a failing command printed."""
        _, err = self(*argv, expect=1)
        lines = [line for line in err.splitlines() if line.startswith("projectdesk-cli: error: ")]
        assert len(lines) == 1, err
        return lines[0].removeprefix("projectdesk-cli: error: ")


@pytest.fixture
def run(
    isolated_dirs: Paths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, seaweed: SeaweedServer
) -> Cli:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return Cli(isolated_dirs, capsys, monkeypatch)


@pytest.fixture
def bucket(seaweed: SeaweedServer) -> str:
    name = f"proxy-{uuid.uuid4().hex[:10]}"
    seaweed.create_bucket(name)
    return name


@pytest.fixture
def proxy() -> Iterator[HttpProxy]:
    with HttpProxy() as server:
        yield server


@pytest.fixture
def login_proxy() -> Iterator[HttpProxy]:
    with HttpProxy(user=USER, password=PASSWORD) as server:
        yield server


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


def _add(run: Cli, seaweed: SeaweedServer, bucket: str, *extra: str, stdin: str = "", endpoint: str = "") -> None:
    run("profiles", "add", "weed", "--endpoint-url", endpoint or seaweed.endpoint_url, "--region", seaweed.region,
        "--bucket", bucket, "--path-style", "--env", "--default", "--max-file-mb", "30", *extra,
        stdin=stdin)  # fmt: skip


SMALL = {path: data for path, data in FILES.items() if len(data) < 2_000_000}


def _round_trip(run: Cli, tmp_path: Path, files: dict[str, bytes] = FILES) -> str:
    """Push `files` as a new project, pull it into a new folder, check the bytes; the project's slug."""
    source = make_tree(tmp_path / "src" / "Proxied", files)
    out, _ = run("push", str(source))
    slug = out.strip().splitlines()[-1]
    run("pull", slug, str(tmp_path / "copy"))
    assert tree_bytes(tmp_path / "copy") == files
    return slug


def _saw_every_file(
    proxy: HttpProxy, seaweed: SeaweedServer, bucket: str, slug: str, files: dict[str, bytes] = FILES
) -> None:
    """The proxy carried an upload and a download of every file, forwarded (none went around it on the CRT)."""
    prefix = f"{seaweed.endpoint_url}/{bucket}/projects/anonymous/{slug}/"
    for method in ("PUT", "GET"):
        paths = {target.removeprefix(prefix).partition("?")[0] for target in proxy.targets(method)}
        missing = sorted(path for path in files if path not in paths)
        assert not missing, f"no {method} of {missing} went through the proxy"


def _assert_no_password(run: Cli, logs: pytest.LogCaptureFixture, tmp_path: Path, *secrets: str) -> None:
    """None of `secrets` (nor a Basic header made of them) in the output, a log record or a file we wrote."""
    needles = [s for s in secrets if s]
    needles += [base64.b64encode(f"{USER}:{s}".encode()).decode() for s in secrets if s]
    output = "\n".join(run.outputs)
    assert logs.records, "--debug produced no log records to check"
    texts = [output]
    for record in logs.records:
        texts.append(record.getMessage() + repr(record.args))
        if record.exc_info:
            texts.append("".join(traceback.format_exception(*record.exc_info)))
    for text in texts:
        for needle in needles:
            assert needle not in text, "the proxy password leaked into the output or a log record"
    for path in (tmp_path / "xdg").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(n.encode() in data for n in needles), f"the proxy password is in {path}"


def test_environment_proxy_carries_push_and_pull_and_no_proxy_exempts(
    run: Cli, seaweed: SeaweedServer, bucket: str, proxy: HttpProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add(run, seaweed, bucket)
    profile = ProfileStore(run.paths).get("weed")
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "")
    assert CrtTransfers.for_client(make_profile_client(profile)) is None, "bulk transfers should stay on boto3"
    slug = _round_trip(run, tmp_path / "through")
    _saw_every_file(proxy, seaweed, bucket, slug)
    assert proxy.count() > 2 * len(FILES) and proxy.count(allowed=False) == 0

    # NO_PROXY naming the endpoint's host sends everything around the proxy, and the CRT may carry it again.
    before = proxy.count()
    monkeypatch.setenv("NO_PROXY", "example.org,127.0.0.1")
    assert CrtTransfers.for_client(make_profile_client(profile)) is not None
    _round_trip(run, tmp_path / "around", SMALL)
    assert proxy.count() == before, "a request exempted by NO_PROXY went through the proxy"

    # The lower-case spellings count too.
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.setenv("http_proxy", proxy.url)
    slug = _round_trip(run, tmp_path / "lower", SMALL)
    _saw_every_file(proxy, seaweed, bucket, slug, SMALL)


def test_profile_proxy_with_a_login_from_the_keyring(
    run: Cli,
    seaweed: SeaweedServer,
    bucket: str,
    login_proxy: HttpProxy,
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    # NO_PROXY=127.0.0.1,localhost is set for every test (tests/conftest.py): a profile's proxy still applies.
    _add(run, seaweed, bucket, "--proxy", login_proxy.url, "--proxy-user", USER, "--proxy-password-stdin",
         stdin=PASSWORD + "\n")  # fmt: skip
    assert memory_keyring.entries[(SERVICE, "weed/proxy")] == PASSWORD
    toml = (tmp_path / "xdg" / "config" / "projectdesk" / "profiles.toml").read_text()
    assert f'proxy_url = "{login_proxy.url}"' in toml and f'proxy_user = "{USER}"' in toml

    slug = _round_trip(run, tmp_path)
    _saw_every_file(login_proxy, seaweed, bucket, slug)
    assert login_proxy.count(allowed=False) == 0, "a request went without the proxy's login"
    out, _ = run("profiles", "test", "weed")
    assert out.startswith("OK:")

    # Editing the profile: a wrong password is sent, refused in one sentence, and leaks nowhere.
    wrong = "wrong-" + uuid.uuid4().hex
    run("profiles", "edit", "weed", "--proxy-user", USER, "--proxy-password-stdin", stdin=wrong + "\n")
    assert SecretStore().load_proxy_password("weed") == wrong
    message = run.error("profiles", "test", "weed")
    assert message == (
        f"The proxy at {login_proxy.address} did not accept its user name and password: "
        "check the proxy user and password."
    )
    assert_plain_sentence(message, PASSWORD, wrong)
    assert login_proxy.rejected_logins, "the wrong login never reached the proxy"
    assert run.error("push", str(tmp_path / "src" / "Proxied")) == message

    # Without a user the proxy asks for one (407).
    run("profiles", "edit", "weed", "--proxy", login_proxy.url, "--proxy-user", "")
    assert (SERVICE, "weed/proxy") not in memory_keyring.entries, "a proxy password outlived its user"
    message = run.error("profiles", "test", "weed")
    assert message == f"The proxy at {login_proxy.address} needs a user name and password (Proxy-Authorization)."

    run("profiles", "remove", "weed")
    _assert_no_password(run, debug_logs, tmp_path, PASSWORD, wrong)


def test_a_refused_or_unreachable_proxy_is_one_sentence(
    run: Cli,
    seaweed: SeaweedServer,
    bucket: str,
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    refusing = HttpProxy(user=USER, password=PASSWORD).start()
    refusing.refuse()  # nothing listens on its port any more
    _add(run, seaweed, bucket, "--proxy", refusing.url, "--proxy-user", USER, "--proxy-password-stdin",
         stdin=PASSWORD + "\n")  # fmt: skip
    message = run.error("profiles", "test", "weed")
    assert message == f"The proxy at {refusing.address} refused the connection."
    assert_plain_sentence(message, PASSWORD)
    refusing.stop()

    # 224.0.0.1 is multicast: the kernel answers "network unreachable" at once, nothing leaves the machine.
    run("profiles", "edit", "weed", "--proxy", "http://224.0.0.1:3128")
    message = run.error("profiles", "test", "weed")
    assert message == "The proxy at 224.0.0.1:3128 cannot be reached: check the proxy address and the network."
    assert_plain_sentence(message, PASSWORD)

    # Credentials in the URL are refused, and not repeated.
    _, err = run("profiles", "edit", "weed", "--proxy", f"http://{USER}:{PASSWORD}@127.0.0.1:3128", expect=1)
    assert "not in the URL" in err
    _assert_no_password(run, debug_logs, tmp_path, PASSWORD)


def test_an_https_endpoint_is_tunnelled_with_the_login(
    run: Cli,
    seaweed: SeaweedServer,
    bucket: str,
    login_proxy: HttpProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    assert seaweed.ports is not None
    with TlsFront(tmp_path, seaweed.ports.s3) as front:
        monkeypatch.setenv("AWS_CA_BUNDLE", str(front.ca_file))
        _add(run, seaweed, bucket, "--proxy", login_proxy.url, "--proxy-user", USER, "--proxy-password-stdin",
             stdin=PASSWORD + "\n", endpoint=front.endpoint_url)  # fmt: skip
        _round_trip(run, tmp_path)
        tunnels = login_proxy.targets("CONNECT")
        assert tunnels and set(tunnels) == {f"127.0.0.1:{front.port}"}
        assert login_proxy.count() == len(tunnels), "a request was forwarded instead of tunnelled"

        # A tunnel refused for want of a login (407 to the CONNECT: botocore's ProxyConnectionError).
        run("profiles", "edit", "weed", "--proxy-user", "")
        message = run.error("profiles", "test", "weed")
        assert message == f"The proxy at {login_proxy.address} needs a user name and password (Proxy-Authorization)."

        wrong = "wrong-" + uuid.uuid4().hex
        run("profiles", "edit", "weed", "--proxy-user", USER, "--proxy-password-stdin", stdin=wrong + "\n")
        message = run.error("profiles", "test", "weed")
        assert message.startswith(f"The proxy at {login_proxy.address} did not accept its user name and password")
        assert base64.b64encode(f"{USER}:{wrong}".encode()).decode() in login_proxy.rejected_logins[-1]
        message = run.error("push", str(tmp_path / "src" / "Proxied"))
        assert message.startswith(f"The proxy at {login_proxy.address} did not accept")
    _assert_no_password(run, debug_logs, tmp_path, PASSWORD, wrong)
