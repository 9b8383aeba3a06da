"""A real Secret Service for the tests in this folder: gnome-keyring-daemon on a private D-Bus session.

`./scripts/test` runs pytest inside `dbus-run-session` with an unlocked gnome-keyring-daemon whose files
live in a temporary directory, and says so with PROJECTDESK_TEST_SECRET_SERVICE=1. Without that (plain
`pytest tests/secret_service`), the session fixture starts the same thing itself. It never uses the desktop's
own bus, so no test writes into the keyring of the person running it. If the daemon cannot be started,
the tests fail with the reason: CI has gnome-keyring, and a skipped tier would hide a broken one.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.core
import pytest

MASTER_PASSWORD = "pw"
MARKER = "PROJECTDESK_TEST_SECRET_SERVICE"
KEYRING_HOME = "PROJECTDESK_TEST_KEYRING_HOME"  # the daemon's XDG_DATA_HOME (its keyrings/ folder)
START_TIMEOUT = 20.0
HOW_TO_FIX = (
    "the Secret Service tier needs gnome-keyring-daemon and dbus-run-session (Debian: gnome-keyring dbus "
    "dbus-x11; ./scripts/test installs them and starts the daemon)"
)


@dataclass(frozen=True)
class SecretService:
    bus_address: str
    keyring_home: Path  # the daemon's XDG_DATA_HOME: keyrings/login.keyring is in there


def _start_private_daemon(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    missing = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: {HOW_TO_FIX}.", pytrace=False)
    runtime = tmp / "runtime"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "GNOME_KEYRING"))}
    env.update(XDG_DATA_HOME=str(tmp / "data"), XDG_RUNTIME_DIR=str(runtime))
    script = (
        f"printf {MASTER_PASSWORD} | gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
        'echo "$DBUS_SESSION_BUS_ADDRESS"; exec cat >/dev/null'  # lives until we close its stdin
    )
    process = subprocess.Popen(
        ["dbus-run-session", "--", "sh", "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=(tmp / "daemon.log").open("wb"),
        env=env,
        start_new_session=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
    address = process.stdout.readline().decode().strip() if ready else ""
    if not address:
        _stop(process)
        log = (tmp / "daemon.log").read_text(errors="replace")[-2000:]
        pytest.fail(f"gnome-keyring-daemon did not start ({HOW_TO_FIX}); its log:\n{log}", pytrace=False)
    return process, address


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        if process.stdin is not None:
            process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)  # the group we created with start_new_session
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretService]:
    if os.environ.get(MARKER) == "1" and os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        yield SecretService(os.environ["DBUS_SESSION_BUS_ADDRESS"], Path(os.environ.get(KEYRING_HOME, "")))
        return
    tmp = tmp_path_factory.mktemp("secret-service")
    process, address = _start_private_daemon(tmp)
    saved = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = address
    try:
        yield SecretService(address, tmp / "data")
    finally:
        if saved is None:
            os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = saved
        _stop(process)


@pytest.fixture
def real_keyring(secret_service: SecretService, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretService]:
    """keyring's own detection, as the app runs it, on the private bus; the previous backend restored after."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.bus_address)
    previous = keyring.core._keyring_backend
    reset: Any = getattr(keyring.backend.get_all_keyring, "reset", None)
    if reset is not None:
        with contextlib.suppress(Exception):
            reset()  # detection results are cached: forget any made before the bus existed
    keyring.core._keyring_backend = None
    deadline = time.monotonic() + START_TIMEOUT
    while "SecretService" not in type(keyring.get_keyring()).__module__ and time.monotonic() < deadline:
        time.sleep(0.2)  # the daemon may still be claiming its bus name
        if reset is not None:
            reset()
        keyring.core._keyring_backend = None
    found = keyring.get_keyring()
    if "SecretService" not in type(found).__module__:
        keyring.core._keyring_backend = previous
        pytest.fail(f"keyring found {found}, not the Secret Service on {secret_service.bus_address}: {HOW_TO_FIX}.")
    try:
        yield secret_service
    finally:
        keyring.core._keyring_backend = previous
