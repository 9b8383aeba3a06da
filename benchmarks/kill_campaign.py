"""Kill campaign: `projectdesk-cli push`, `pull` and `sync` killed with SIGKILL at random moments, then run again.

    scripts/kill-campaign                          # 30 kills each of push, pull and sync
    scripts/kill-campaign --trials 5 --seed 7 --only push,sync
    .venv/bin/python -m benchmarks.kill_campaign --small --trials 3   # the test's smaller project

It starts its own SeaweedFS (`weed mini`, tests/servers/seaweedfs.py) on 127.0.0.1 and a project folder of
1,500 files of 1–6 KB in nested folders plus two 40 MiB files (multipart uploads start at 16 MiB, so large
uploads are in flight when a kill lands). The CLI runs as a whole process with its own XDG folders and talks
to SeaweedFS through a counting HTTP proxy on 127.0.0.1 (below). Per command, two runs that are not killed
measure how long the command takes (the shorter counts: the first pays for cold caches); then each trial:

- push: `push DIR --slug push-NNN` (a new project each trial), killed at a moment drawn uniformly over
  that duration (`--moments bytes`: once the proxy has relayed a share of the file bytes drawn uniformly),
  then run again to completion;
- pull: `pull SLUG DEST` of the pushed project into a new DEST, with a data folder of its own (the offline
  cache is kept there, and a pull copies what it holds instead of downloading it), killed, run again;
- sync: changes on both sides first (small files edited, added and deleted in the folder and, directly
  with boto3, on the server; one 40 MiB file rewritten on each side), then `sync DIR`, killed, run again.

Measured per trial:

- landed before the kill: for push and sync's uploads, the objects listed right after the kill whose content
  is the folder's (ETag = MD5 for single-part objects, else the object read back and its SHA-256 compared);
  for pull and sync's downloads, the files in the folder whose SHA-256 is the server's;
- re-sent: bytes of those files moved again by the second run in the same direction (PUT and UploadPart
  request bodies of landed uploads, GET response bodies of landed downloads), as counted by the proxy;
- re-read: bytes of landed files moved the other way by the second run (a landed upload read back);
- recorded: of the landed files, those the working folder's state (the CLI's SQLite database) had recorded as
  landed when the kill came; "recorded, moved again" counts their bytes moved again either way by the second
  run, which should be none (a file that landed in the instant before the kill, not recorded yet, is compared);
- convergence after the second run: it exits 0; folder, bucket and expected content agree byte for byte
  (every file of the folder hashed; objects by their MD5 ETag, multipart ones read back); the manifest names
  exactly the objects, with their SHA-256 and ETags; no `.pd-tmp-*` file or folder is left anywhere in the
  folder; no multipart upload of the project is open; a pull never writes to the bucket.

Goals (the exit status is 1 when one is missed): per command, at least 95 % of the bytes that had landed
before the kills are not sent again, and no convergence check fails.

The proxy streams each request and response (nothing is held back, so it does not change what a kill
interrupts), and records per request the key, the method and the body bytes relayed each way, under the
phase of the run that sent it ("killed" or "rerun").
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
MB = 1000 * 1000
BUCKET = "kill-campaign"
USER_PREFIX = "projects/anonymous/"
MANIFEST = ".projectdesk.json"
TEMP_PREFIX = ".pd-tmp-"
GOAL_NOT_RESENT = 0.95
COMMANDS = ("push", "pull", "sync")
COMMAND_TIMEOUT = 600.0
IDLE_TIMEOUT = 30.0
UNKILLED_RUNS = 2  # runs that measure a command's duration; the shortest counts (the first pays for cold caches)
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Shape:
    small_files: int
    small_min: int
    small_max: int
    big_files: int
    big_size: int
    edits: int  # per sync trial and side: small files changed
    added: int  # per sync trial and side: small files added
    deleted: int  # per sync trial and side: small files deleted


FULL = Shape(1500, 1024, 6 * 1024, 2, 40 * MiB, 30, 10, 3)
SMALL = Shape(300, 1024, 6 * 1024, 1, 20 * MB, 20, 5, 2)

FOLDER_NAMES = ["src", "lib", "app", "components", "pkg", "util", "docs", "tests"]
EXTENSIONS = [".js", ".ts", ".py", ".css", ".html", ".json", ".md", ".txt", ".go"]


# ---- content --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Content:
    size: int
    sha256: str
    md5: str

    @classmethod
    def of(cls, data: bytes) -> Content:
        return cls(len(data), hashlib.sha256(data).hexdigest(), hashlib.md5(data, usedforsecurity=False).hexdigest())

    @classmethod
    def of_file(cls, path: Path) -> Content:
        sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        size = 0
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                sha.update(chunk)
                md5.update(chunk)
                size += len(chunk)
        return cls(size, sha.hexdigest(), md5.hexdigest())


def make_project(root: Path, shape: Shape, rng: random.Random) -> dict[str, Content]:
    """A project-shaped tree: small files in folders up to 5 deep, `shape.big_files` large ones."""
    folders = [""]
    while len(folders) < max(8, shape.small_files // 20):
        parent = rng.choice(folders)
        if parent.count("/") < 4:
            folders.append(f"{parent}/{rng.choice(FOLDER_NAMES)}{len(folders)}".lstrip("/"))
    content: dict[str, Content] = {}
    for i in range(shape.small_files):
        path = f"{rng.choice(folders)}/file{i:05d}{rng.choice(EXTENSIONS)}".lstrip("/")
        content[path] = write_file(root / path, rng.randbytes(rng.randint(shape.small_min, shape.small_max)))
    for i in range(shape.big_files):
        content[big_name(i)] = write_file(root / big_name(i), rng.randbytes(shape.big_size))
    return content


def big_name(i: int) -> str:
    return f"assets/big{i}.bin"


def write_file(path: Path, data: bytes) -> Content:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Content.of(data)


def walk(root: Path) -> tuple[dict[str, Path], list[str]]:
    """Every file under `root` by relative POSIX path, and every `.pd-tmp-*` entry (file or folder)."""
    files: dict[str, Path] = {}
    temps: list[str] = []
    for folder, dirs, names in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        temps += [prefix + d for d in dirs if d.startswith(TEMP_PREFIX)]
        dirs[:] = [d for d in dirs if not d.startswith(TEMP_PREFIX)]
        for name in names:
            if name.startswith(TEMP_PREFIX):
                temps.append(prefix + name)
            else:
                files[prefix + name] = Path(folder) / name
    return files, temps


# ---- the counting proxy -----------------------------------------------------------------------------


@dataclass
class Exchange:
    """One HTTP request relayed by the proxy."""

    phase: str
    method: str
    key: str  # the object key (bucket-relative, decoded); "" for bucket-level requests
    query: str
    started: float
    sent: int = 0  # request body bytes relayed to the server
    received: int = 0  # response body bytes relayed to the client
    status: int = 0
    complete: bool = False

    @property
    def file_data(self) -> bool:
        """A project file's bytes (an upload, a part of one, or a download), not a listing or the manifest."""
        return self.method in ("PUT", "GET") and is_file_key(self.key)


class _Closed(Exception):
    pass


class _Stream:
    """Buffered reads from one socket; bodies are relayed in pieces as they arrive, never held whole."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> None:
        try:
            data = self.sock.recv(CHUNK)
        except OSError as exc:
            raise _Closed from exc
        if not data:
            raise _Closed
        self.buffer += data

    def head(self) -> tuple[bytes, str, dict[str, str]]:
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                raw = bytes(self.buffer[: end + 4])
                del self.buffer[: end + 4]
                lines = raw[:-4].decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                return raw, lines[0], headers
            if len(self.buffer) > 256 * 1024:
                raise _Closed
            self._fill()

    def line(self) -> bytes:
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                data = bytes(self.buffer[: end + 2])
                del self.buffer[: end + 2]
                return data
            self._fill()

    def relay(self, count: int, to: socket.socket, counted: Callable[[int], None]) -> None:
        """Pass exactly `count` bytes on to `to`."""
        left = count
        while left:
            if not self.buffer:
                self._fill()
            piece = bytes(self.buffer[:left])
            del self.buffer[: len(piece)]
            to.sendall(piece)
            counted(len(piece))
            left -= len(piece)

    def relay_chunked(self, to: socket.socket, counted: Callable[[int], None]) -> None:
        while True:
            size_line = self.line()
            to.sendall(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (trailer := self.line()) != b"\r\n":
                    to.sendall(trailer)
                to.sendall(b"\r\n")
                return
            self.relay(size, to, counted)
            to.sendall(self.line())

    def relay_rest(self, to: socket.socket, counted: Callable[[int], None]) -> None:
        while True:
            if self.buffer:
                piece = bytes(self.buffer)
                self.buffer.clear()
                to.sendall(piece)
                counted(len(piece))
            try:
                self._fill()
            except _Closed:
                return


class CountingProxy:
    """Relays HTTP/1.1 between clients on 127.0.0.1:<port> and `upstream`, recording every request."""

    def __init__(self, upstream: tuple[str, int], bucket: str) -> None:
        self.upstream = upstream
        self.bucket = bucket
        self.phase = "setup"
        self._exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self.file_bytes = 0  # file bytes relayed since `arm`
        self._trigger: tuple[int, Callable[[], None]] | None = None

    @property
    def url(self) -> str:
        assert self._listener is not None
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def arm(self, threshold: int, action: Callable[[], None]) -> None:
        """Call `action` (once, on a relaying thread) when `threshold` file bytes have been relayed from now."""
        with self._lock:
            self.file_bytes = 0
            self._trigger = (threshold, action)

    def disarm(self) -> None:
        with self._lock:
            self._trigger = None

    def _moved(self, exchange: Exchange, count: int) -> None:
        if not exchange.file_data:
            return
        with self._lock:
            self.file_bytes += count
            trigger = self._trigger
            fire = trigger is not None and self.file_bytes >= trigger[0]
            if fire:
                self._trigger = None
        if fire and trigger is not None:
            trigger[1]()

    def take(self) -> list[Exchange]:
        """The requests recorded since the last call."""
        with self._lock:
            taken, self._exchanges = self._exchanges, []
        return taken

    def wait_idle(self, timeout: float = IDLE_TIMEOUT) -> bool:
        """Wait until no client connection is open (a finished or killed CLI's have all closed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._open:
                    return True
            time.sleep(0.01)
        return False

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._open.add(client)
            threading.Thread(target=self._serve, args=(client,), name="proxy-conn", daemon=True).start()

    def _key(self, target: str) -> tuple[str, str]:
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            path, query = parts.path, parts.query
        else:
            path, _, query = target.partition("?")
        path = unquote(path)
        bucket = f"/{self.bucket}/"
        return (path[len(bucket) :] if path.startswith(bucket) else ""), query

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            inbound = _Stream(client)
            outbound: _Stream | None = None
            while True:
                raw, start, headers = inbound.head()
                method, target = start.split(" ")[:2]
                key, query = self._key(target)
                exchange = Exchange(self.phase, method.upper(), key, query, time.monotonic())
                with self._lock:
                    self._exchanges.append(exchange)
                if upstream is None:
                    upstream = socket.create_connection(self.upstream)
                    upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    outbound = _Stream(upstream)
                assert outbound is not None
                if headers.get("expect", "").lower() == "100-continue":  # answered here; the server sees none
                    raw = b"\r\n".join(line for line in raw.split(b"\r\n") if not line.lower().startswith(b"expect:"))
                    client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                upstream.sendall(raw)

                def sent(n: int, exchange: Exchange = exchange) -> None:
                    exchange.sent += n
                    self._moved(exchange, n)

                def received(n: int, exchange: Exchange = exchange) -> None:
                    exchange.received += n
                    self._moved(exchange, n)

                if "chunked" in headers.get("transfer-encoding", "").lower():
                    inbound.relay_chunked(upstream, sent)
                elif headers.get("content-length"):
                    inbound.relay(int(headers["content-length"]), upstream, sent)
                while True:
                    answer, status_line, answer_headers = outbound.head()
                    status = int(status_line.split(" ")[1])
                    if status >= 200:
                        break
                    client.sendall(answer)  # an interim answer other than 100 (none expected)
                exchange.status = status
                client.sendall(answer)
                if exchange.method == "HEAD" or status in (204, 304):
                    pass
                elif "chunked" in answer_headers.get("transfer-encoding", "").lower():
                    outbound.relay_chunked(client, received)
                elif answer_headers.get("content-length") is not None:
                    outbound.relay(int(answer_headers["content-length"]), client, received)
                else:
                    outbound.relay_rest(client, received)
                    exchange.complete = True
                    return
                exchange.complete = True
                if "close" in (headers.get("connection", "").lower(), answer_headers.get("connection", "").lower()):
                    return
        except (_Closed, OSError, ValueError, IndexError):
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()
            with self._lock:
                self._open.discard(client)


# ---- the world: server, proxy, CLI ------------------------------------------------------------------


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str
    seconds: float

    def tail(self) -> str:
        return (self.stdout[-600:] + "\n" + self.stderr[-1500:]).strip()


@dataclass(frozen=True)
class Obj:
    size: int
    etag: str


class World:
    """One bucket on a SeaweedFS server, the proxy in front of it, and the CLI's environment."""

    def __init__(self, server: SeaweedServer, work: Path, bucket: str = BUCKET) -> None:
        self.server = server
        self.work = work
        self.bucket = bucket
        server.create_bucket(bucket)
        self.s3: Any = server.client(max_pool_connections=16)
        address = urlsplit(server.endpoint_url)
        assert address.hostname is not None and address.port is not None
        self.proxy = CountingProxy((address.hostname, address.port), bucket)
        self.proxy.start()
        env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
        # (PYTHONDONTWRITEBYTECODE too: as installed, the CLI's bytecode is cached after its first start)
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                     "AWS_ENDPOINT_URL_S3", "PROJECTDESK_TRANSFER_ENGINE", "PYTHONDONTWRITEBYTECODE"):  # fmt: skip
            env.pop(name, None)
        xdg = work / "xdg"
        self.data_home = xdg / "data"
        env.update(
            AWS_ACCESS_KEY_ID=server.access_key,
            AWS_SECRET_ACCESS_KEY=server.secret_key,
            AWS_REGION=server.region,
            AWS_DEFAULT_REGION=server.region,
            AWS_CONFIG_FILE=str(xdg / "aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(xdg / "aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            NO_PROXY="127.0.0.1,localhost",
            XDG_CONFIG_HOME=str(xdg / "config"),
            XDG_DATA_HOME=str(self.data_home),
            XDG_CACHE_HOME=str(xdg / "cache"),
            XDG_STATE_HOME=str(xdg / "state"),
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        cli = Path(sys.executable).parent / "projectdesk-cli"
        self.cli = [str(cli)] if cli.exists() else [sys.executable, "-m", "projectdesk.cli"]
        added = self.run(["profiles", "add", "weed", "--endpoint-url", self.proxy.url, "--region", server.region,
                          "--bucket", bucket, "--path-style", "--env", "--max-file-mb", "100000",
                          "--max-project-mb", "10000000", "--default"])  # fmt: skip
        if added.code != 0:
            raise RuntimeError(f"could not add the profile:\n{added.tail()}")

    def close(self) -> None:
        self.proxy.stop()

    # ---- the CLI

    def spawn(self, args: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*self.cli, *args],
            env={**self.env, **(env or {})},
            cwd=self.work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: the kill reaches it and nothing else
        )

    def run(self, args: Sequence[str], env: dict[str, str] | None = None) -> Finished:
        started = time.monotonic()
        proc = self.spawn(args, env)
        try:
            out, err = proc.communicate(timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            out, err = proc.communicate()
        return Finished(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"),
                        time.monotonic() - started)  # fmt: skip

    # ---- the bucket, directly (not through the proxy)

    def prefix(self, slug: str) -> str:
        return f"{USER_PREFIX}{slug}/"

    def objects(self, slug: str) -> dict[str, Obj]:
        """The project's objects by path (the manifest left out)."""
        prefix = self.prefix(slug)
        found: dict[str, Obj] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                path = item["Key"][len(prefix) :]
                if path != MANIFEST:
                    found[path] = Obj(int(item["Size"]), str(item["ETag"]).strip('"'))
        return found

    def holds(self, slug: str, path: str, obj: Obj, want: Content) -> bool:
        """Whether the object's content is `want`: its ETag for a single-part object, else read back."""
        if obj.size != want.size:
            return False
        if "-" not in obj.etag and len(obj.etag) == 32:
            return obj.etag == want.md5
        body = self.s3.get_object(Bucket=self.bucket, Key=self.prefix(slug) + path, IfMatch=obj.etag)["Body"]
        sha = hashlib.sha256()
        while chunk := body.read(CHUNK):
            sha.update(chunk)
        return sha.hexdigest() == want.sha256

    def open_uploads(self, slug: str) -> list[str]:
        answer = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix(slug))
        return [str(u["Key"]) for u in answer.get("Uploads", [])]

    def manifest(self, slug: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self.prefix(slug) + MANIFEST)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        data: dict[str, Any] = json.loads(body)
        return data

    def put(self, slug: str, path: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=self.prefix(slug) + path, Body=data)

    def delete(self, slug: str, path: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self.prefix(slug) + path)

    def clear(self, slug: str) -> None:
        """Remove the project (objects and open uploads) to keep the server's disk small."""
        for upload in self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix(slug)).get("Uploads", []):
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        keys = [self.prefix(slug) + path for path in [*self.objects(slug), MANIFEST]]
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


# ---- trials -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """When a run is killed: `seconds` after it was started, or once the proxy has relayed `fraction` of the
    file bytes the command has to move (request bodies of uploads, response bodies of downloads)."""

    seconds: float | None = None
    fraction: float | None = None

    def __str__(self) -> str:
        if self.fraction is not None:
            return f"after {100 * self.fraction:.0f} % of the bytes"
        return f"at {self.seconds or 0:.2f}s"


@dataclass
class Trial:
    command: str
    index: int
    kill: Moment | None  # None: an unkilled run that measures the duration
    duration: float  # the measured duration of the command
    total: int = 0  # bytes of the files the command has to move
    killed: bool = False  # the process was still running when the kill came
    ended_at: float = 0.0  # seconds from the start to the end of the run that was to be killed
    transfers_begun: bool = False  # the killed run had started moving file bytes
    complete_before_kill: bool = False  # everything had landed already
    landed: int = 0  # bytes of files that had landed before the kill
    landed_files: int = 0
    recorded: int = 0  # of those, bytes of the files the folder's state had recorded as landed
    moved_recorded: int = 0  # bytes of recorded files moved again, either way, by the second run
    resent: int = 0  # of those, bytes moved again in the same direction by the second run
    resent_files: int = 0
    reread: int = 0  # of those, bytes moved the other way by the second run
    rerun_seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def mid_transfer(self) -> bool:
        return self.killed and self.transfers_begun and not self.complete_before_kill

    @property
    def moment(self) -> str:
        if not self.killed:
            return f"too late: it had exited at {self.ended_at:.2f}s"
        if not self.transfers_begun:
            return "before any transfer"
        return "after every file had landed" if self.complete_before_kill else "mid-transfer"

    def line(self) -> str:
        if self.kill is None:
            head = f"{self.command} (not killed: measures the duration): {self.rerun_seconds:.2f}s"
        else:
            head = (
                f"{self.command} #{self.index}: kill {self.kill} (came at {self.ended_at:.2f}s of "
                f"{self.duration:.2f}s: {self.moment}); "
                f"landed {self.landed_files} files {human(self.landed)} ({human(self.recorded)} recorded), re-sent "
                f"{self.resent_files} files {human(self.resent)}, re-read {human(self.reread)}, recorded and moved "
                f"again {human(self.moved_recorded)}; second run {self.rerun_seconds:.2f}s"
            )
        return head + ("; OK" if not self.failures else "; FAILED: " + " | ".join(self.failures))


def human(n: int) -> str:
    return f"{n / MB:,.1f} MB" if n >= 100_000 else f"{n:,} B"


class Campaign:
    """The three kinds of trial on one World."""

    def __init__(
        self,
        world: World,
        shape: Shape,
        seed: int,
        log: Callable[[str], None] = lambda _: None,
        *,
        unkilled_runs: int = UNKILLED_RUNS,
        moment: Callable[[Campaign, str, int], Moment] | None = None,
    ) -> None:
        self.world = world
        self.unkilled_runs = unkilled_runs
        self.moment = moment or uniform_in_time
        self.shape = shape
        self.seed = seed
        self.log = log
        self.work = world.work
        self.source = self.work / "project"
        self.source_content = make_project(self.source, shape, self.rng("project", 0))
        self.pull_slug = "pull-source"
        self.sync_dir = self.work / "sync-folder"
        self.sync_slug = "sync"
        self.sync_content: dict[str, Content] = {}
        self.durations: dict[str, float] = {}
        self.pull_source_pushed = False

    def rng(self, what: str, index: int) -> random.Random:
        return random.Random(f"{self.seed}-{what}-{index}")

    def run_command(self, command: str, trials: int) -> list[Trial]:
        """Unkilled runs that measure the duration (the shortest counts), then `trials` killed ones."""
        results: list[Trial] = []
        for index in range(1 - self.unkilled_runs, trials + 1):
            if index == 1:
                self.durations[command] = min(t.rerun_seconds for t in results)
            trial = {"push": self.push_trial, "pull": self.pull_trial, "sync": self.sync_trial}[command](index)
            self.log(trial.line())
            results.append(trial)
        return results

    def _trial(self, command: str, index: int, total: int) -> Trial:
        if index <= 0:
            return Trial(command, index, None, 0.0, total)
        return Trial(command, index, self.moment(self, command, index), self.durations[command], total)

    def _ensure_pull_source(self) -> None:
        if self.pull_source_pushed:
            return
        done = self.world.run(["push", str(self.source), "--slug", self.pull_slug, "--name", "Pull source"])
        if done.code != 0:
            raise RuntimeError(f"the push of the pull source failed:\n{done.tail()}")
        self.pull_source_pushed = True
        self.world.proxy.take()

    def _ensure_sync_folder(self) -> None:
        if self.sync_content:
            return
        self.sync_content = make_project(self.sync_dir, self.shape, self.rng("sync-project", 0))
        first = self.world.run(["push", str(self.sync_dir), "--slug", self.sync_slug, "--name", "Sync"])
        if first.code != 0:
            raise RuntimeError(f"the first push of the sync folder failed:\n{first.tail()}")
        self.world.proxy.take()

    # ---- one killed run and the run after it

    def _kill_and_rerun(
        self,
        trial: Trial,
        args: Sequence[str],
        env: dict[str, str] | None,
        landed: Callable[[], dict[str, int]],
        recorded: Callable[[], dict[str, str]],
    ) -> tuple[dict[str, int], dict[str, str], list[Exchange], list[Exchange]]:
        """Run `args`, SIGKILL it at `trial.kill`, measure what had landed (and what the folder's state had
        recorded), run it again to the end."""
        proxy = self.world.proxy
        proxy.take()
        proxy.phase = "killed"
        if trial.kill is not None:
            started = time.monotonic()
            proc = self.world.spawn(args, env)
            if trial.kill.fraction is not None:
                proxy.arm(int(trial.kill.fraction * trial.total), lambda: kill_group(proc))
            try:
                proc.wait(timeout=trial.kill.seconds if trial.kill.seconds is not None else COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                kill_group(proc)
            trial.ended_at = time.monotonic() - started
            proxy.disarm()
            proc.communicate()
            trial.killed = proc.returncode == -signal.SIGKILL
            if not trial.killed and proc.returncode != 0:
                trial.failures.append(f"the run before the kill exited {proc.returncode}")
        if not proxy.wait_idle():
            trial.failures.append("the killed run's connections stayed open")
        killed_run = proxy.take()
        trial.transfers_begun = any(e.file_data for e in killed_run)
        before = landed() if trial.kill is not None else {}
        noted = recorded() if trial.kill is not None else {}
        proxy.phase = "rerun"
        second = self.world.run(args, env)
        trial.rerun_seconds = second.seconds
        if second.code != 0:
            trial.failures.append(f"the second run exited {second.code}: {second.tail()}")
        if not proxy.wait_idle():
            trial.failures.append("the second run's connections stayed open")
        proxy.phase = "checks"
        return before, noted, killed_run, proxy.take()

    def _account(
        self,
        trial: Trial,
        slug: str,
        landed: dict[str, int],
        noted: dict[str, str],
        rerun: list[Exchange],
        *,
        uploads: dict[str, Content],
        downloads: dict[str, Content],
    ) -> None:
        """Bytes of landed files moved again by the second run: the same way (re-sent), the other way (re-read);
        and of those the folder's state had recorded as landed (`noted`: path -> SHA-256 of its base), either way."""
        prefix = self.world.prefix(slug)
        ups, downs = set(uploads) & set(landed), set(downloads) & set(landed)
        want = {**downloads, **uploads}
        recorded = {path for path in landed if noted.get(path) == want[path].sha256}
        again: set[str] = set()
        for exchange in rerun:
            if not exchange.key.startswith(prefix) or exchange.method not in ("PUT", "GET"):
                continue
            path = exchange.key[len(prefix) :]
            moved = exchange.sent + exchange.received
            if (exchange.method == "PUT" and path in ups) or (exchange.method == "GET" and path in downs):
                trial.resent += moved
                again.add(path)
            elif path in ups or path in downs:
                trial.reread += moved
            if path in recorded:
                trial.moved_recorded += moved
        trial.landed = sum(landed.values())
        trial.landed_files = len(landed)
        trial.recorded = sum(landed[path] for path in recorded)
        trial.resent_files = len(again)

    def recorded(self, folder: Path, slug: str, data_home: Path) -> Callable[[], dict[str, str]]:
        """A reader of the folder's bases in the CLI's state (path -> SHA-256 of the version recorded)."""

        def read() -> dict[str, str]:
            from projectdesk import APP_NAME
            from projectdesk.services.workfolders import DB_NAME, FolderStates

            if not (data_home / APP_NAME / DB_NAME).exists():
                return {}
            states = FolderStates(data_home / APP_NAME)
            try:
                for binding in states.bindings():
                    if binding.folder == folder.resolve() and binding.slug == slug:
                        return {path: row.base.sha256 for path, row in states.bases(binding).items()}
                return {}
            finally:
                states.close()

        return read

    # ---- convergence

    def check(self, slug: str, folder: Path, expected: dict[str, Content]) -> list[str]:
        """Folder, bucket, manifest and expected content agree; no temp files; no open multipart uploads."""
        failures: list[str] = []
        files, temps = walk(folder)
        if temps:
            failures.append(f"temp files left in the folder: {sorted(temps)[:5]}")
        failures += differences("folder", set(files), expected)
        for path in sorted(set(files) & set(expected)):
            if Content.of_file(files[path]) != expected[path]:
                failures.append(f"folder: {path} differs from what was expected")
        objects = self.world.objects(slug)
        failures += differences("bucket", set(objects), expected)
        for path in sorted(set(objects) & set(expected)):
            if not self.world.holds(slug, path, objects[path], expected[path]):
                failures.append(f"bucket: {path} differs from what was expected")
        manifest = self.world.manifest(slug)
        if manifest is None:
            failures.append("no manifest")
        else:
            listed: dict[str, str] = manifest.get("files", {})
            etags: dict[str, str] = manifest.get("file_etags", {})
            if set(listed) != set(objects) or set(etags) != set(objects):
                failures.append(f"the manifest names {len(listed)} files, the bucket holds {len(objects)}: "
                                f"{sorted(set(listed) ^ set(objects))[:5]}")  # fmt: skip
            wrong = [p for p, o in objects.items() if p in expected and
                     (listed.get(p) != expected[p].sha256 or etags.get(p, "").strip('"') != o.etag)]  # fmt: skip
            if wrong:
                failures.append(f"the manifest's SHA-256 or ETag is wrong for {len(wrong)} files: {wrong[:5]}")
        uploads = self.world.open_uploads(slug)
        if uploads:
            failures.append(f"{len(uploads)} multipart uploads left open: {uploads[:3]}")
        return failures

    # ---- push

    def push_trial(self, index: int) -> Trial:
        # the last unkilled run's project is the pull's source; the others are removed after their checks
        slug = self.pull_slug if index == 0 else f"push-{index:03d}" if index > 0 else f"warm-up-{-index}"
        trial = self._trial("push", index, sum(c.size for c in self.source_content.values()))
        args = ["push", str(self.source), "--slug", slug, "--name", f"Kill {index}"]

        def landed() -> dict[str, int]:
            objects = self.world.objects(slug)
            return {p: o.size for p, o in objects.items()
                    if p in self.source_content and self.world.holds(slug, p, o, self.source_content[p])}  # fmt: skip

        recorded = self.recorded(self.source, slug, self.world.data_home)
        before, noted, _, rerun = self._kill_and_rerun(trial, args, None, landed, recorded)
        if index == 0:
            self.pull_source_pushed = True
        trial.complete_before_kill = len(before) == len(self.source_content)
        self._account(trial, slug, before, noted, rerun, uploads=self.source_content, downloads={})
        trial.failures += self.check(slug, self.source, self.source_content)
        if index != 0:
            self.world.clear(slug)
        return trial

    # ---- pull

    def pull_trial(self, index: int) -> Trial:
        dest = self.work / f"pulled-{index + UNKILLED_RUNS:03d}"
        # A data folder of its own, as on a machine that never pulled it: the offline cache lives there, and a
        # pull gives what the cache holds by copying it instead of downloading it.
        data = self.work / f"pull-data-{index + UNKILLED_RUNS:03d}"
        env = {"XDG_DATA_HOME": str(data)}
        self._ensure_pull_source()
        trial = self._trial("pull", index, sum(c.size for c in self.source_content.values()))
        args = ["pull", self.pull_slug, str(dest)]

        def landed() -> dict[str, int]:
            files, _ = walk(dest) if dest.is_dir() else ({}, [])
            found: dict[str, int] = {}
            for path, local in files.items():
                want = self.source_content.get(path)
                if want is not None and want.size == local.stat().st_size and Content.of_file(local) == want:
                    found[path] = want.size
            return found

        recorded = self.recorded(dest, self.pull_slug, data)
        before, noted, killed_run, rerun = self._kill_and_rerun(trial, args, env, landed, recorded)
        trial.complete_before_kill = len(before) == len(self.source_content)
        self._account(trial, self.pull_slug, before, noted, rerun, uploads={}, downloads=self.source_content)
        writes = [e for e in killed_run + rerun if e.method in ("PUT", "POST", "DELETE")]
        if writes:
            trial.failures.append(f"the pull wrote to the bucket: {writes[0].method} {writes[0].key}")
        trial.failures += self.check(self.pull_slug, dest, self.source_content)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
        return trial

    # ---- sync

    def sync_trial(self, index: int) -> Trial:
        self._ensure_sync_folder()
        ups, downs = self.change_both_sides(index)
        trial = self._trial("sync", index, sum(c.size for c in [*ups.values(), *downs.values()]))
        args = ["sync", str(self.sync_dir)]

        def landed() -> dict[str, int]:
            found: dict[str, int] = {}
            objects = self.world.objects(self.sync_slug)
            for path, want in ups.items():
                obj = objects.get(path)
                if obj is not None and self.world.holds(self.sync_slug, path, obj, want):
                    found[path] = want.size
            for path, want in downs.items():
                local = self.sync_dir / path
                if local.is_file() and local.stat().st_size == want.size and Content.of_file(local) == want:
                    found[path] = want.size
            return found

        recorded = self.recorded(self.sync_dir, self.sync_slug, self.world.data_home)
        before, noted, _, rerun = self._kill_and_rerun(trial, args, None, landed, recorded)
        trial.complete_before_kill = len(before) == len(ups) + len(downs)
        self._account(trial, self.sync_slug, before, noted, rerun, uploads=ups, downloads=downs)
        trial.failures += self.check(self.sync_slug, self.sync_dir, self.sync_content)
        return trial

    def change_both_sides(self, index: int) -> tuple[dict[str, Content], dict[str, Content]]:
        """Edit, add and delete small files in the folder and on the server (never the same file on both
        sides), and rewrite one large file on each side (with one large file: here on even trials, there on
        odd ones). Returns what goes up and what comes down; `sync_content` becomes the expected result."""
        shape = self.shape
        rng = self.rng("sync-changes", index)
        smalls = sorted(p for p in self.sync_content if not p.startswith("assets/big"))
        picked = rng.sample(smalls, 2 * (shape.edits + shape.deleted))
        edit_here, edit_there = picked[: shape.edits], picked[shape.edits : 2 * shape.edits]
        delete_here = picked[2 * shape.edits : 2 * shape.edits + shape.deleted]
        delete_there = picked[2 * shape.edits + shape.deleted :]
        bigs = [big_name(i) for i in range(shape.big_files)]
        if len(bigs) >= 2:
            big_here, big_there = [bigs[index % len(bigs)]], [bigs[(index + 1) % len(bigs)]]
        else:
            big_here, big_there = (bigs, []) if index % 2 == 0 else ([], bigs)
        ups: dict[str, Content] = {}
        downs: dict[str, Content] = {}
        for path in [*edit_here, *(f"added-{index:03d}/here-{j}.txt" for j in range(shape.added))]:
            ups[path] = write_file(self.sync_dir / path, rng.randbytes(rng.randint(shape.small_min, shape.small_max)))
        for path in big_here:
            ups[path] = write_file(self.sync_dir / path, rng.randbytes(shape.big_size))
        for path in delete_here:
            (self.sync_dir / path).unlink()
        for path in [*edit_there, *(f"added-{index:03d}/there-{j}.txt" for j in range(shape.added))]:
            data = rng.randbytes(rng.randint(shape.small_min, shape.small_max))
            self.world.put(self.sync_slug, path, data)
            downs[path] = Content.of(data)
        for path in big_there:
            data = rng.randbytes(shape.big_size)
            self.world.put(self.sync_slug, path, data)
            downs[path] = Content.of(data)
        for path in delete_there:
            self.world.delete(self.sync_slug, path)
        for path in [*delete_here, *delete_there]:
            del self.sync_content[path]
        self.sync_content.update(ups)
        self.sync_content.update(downs)
        return ups, downs


def uniform_in_time(campaign: Campaign, command: str, index: int) -> Moment:
    """The campaign's kill moments: drawn uniformly over the command's measured duration."""
    return Moment(seconds=campaign.rng(f"{command}-kill", index).uniform(0.0, campaign.durations[command]))


def uniform_in_bytes(campaign: Campaign, command: str, index: int) -> Moment:
    """Kill moments drawn uniformly over the file bytes the command moves (`--moments bytes`)."""
    return Moment(fraction=campaign.rng(f"{command}-kill", index).uniform(0.0, 1.0))


def is_file_key(key: str) -> bool:
    return key.startswith(USER_PREFIX) and not key.endswith("/" + MANIFEST)


def differences(where: str, present: set[str], expected: dict[str, Content]) -> list[str]:
    missing, extra = sorted(set(expected) - present), sorted(present - set(expected))
    found = []
    if missing:
        found.append(f"{where}: {len(missing)} files missing: {missing[:5]}")
    if extra:
        found.append(f"{where}: {len(extra)} unexpected files: {extra[:5]}")
    return found


# ---- the summary ------------------------------------------------------------------------------------


@dataclass
class Summary:
    command: str
    trials: int
    killed: int
    mid_transfer: int
    landed: int
    recorded: int
    resent: int
    reread: int
    moved_recorded: int
    failures: int
    rerun_median: float

    @classmethod
    def of(cls, command: str, results: Sequence[Trial]) -> Summary:
        killed = [t for t in results if t.kill is not None]
        return cls(
            command,
            len(killed),
            sum(t.killed for t in killed),
            sum(t.mid_transfer for t in killed),
            sum(t.landed for t in killed),
            sum(t.recorded for t in killed),
            sum(t.resent for t in killed),
            sum(t.reread for t in killed),
            sum(t.moved_recorded for t in killed),
            sum(bool(t.failures) for t in results),
            statistics.median(t.rerun_seconds for t in killed) if killed else 0.0,
        )

    @property
    def not_resent(self) -> float:
        return 1.0 - self.resent / self.landed if self.landed else 1.0

    @property
    def met(self) -> bool:
        return self.not_resent >= GOAL_NOT_RESENT and self.failures == 0


def table(summaries: Sequence[Summary]) -> str:
    head = ["command", "trials", "killed", "mid-transfer", "landed before kill", "recorded", "re-sent",
            "not re-sent", "re-read", "recorded, moved again", "convergence failures", "2nd run s (median)",
            "goals"]  # fmt: skip
    rows = [head]
    for s in summaries:
        rows.append([s.command, str(s.trials), str(s.killed), str(s.mid_transfer), human(s.landed),
                     human(s.recorded), human(s.resent), f"{100 * s.not_resent:.1f} %", human(s.reread),
                     human(s.moved_recorded), str(s.failures), f"{s.rerun_median:.2f}",
                     "met" if s.met else "MISSED"])  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        cells = [v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


@contextlib.contextmanager
def seaweed(work: Path) -> Iterator[SeaweedServer]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.servers.seaweedfs import SeaweedServer

    server = SeaweedServer(work / "weed", readonly_identity=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kill_campaign", description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=30, help="kills per command (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the project, the changes and the kill moments")
    parser.add_argument("--only", default=",".join(COMMANDS), help="comma-separated subset of push,pull,sync")
    parser.add_argument(
        "--moments",
        choices=("time", "bytes"),
        default="time",
        help="kill moments drawn uniformly over the measured duration (default) or the file bytes",
    )
    parser.add_argument("--small", action="store_true", help="the test's project: 300 small files, one 20 MB file")
    parser.add_argument("--work", type=Path, help="where the working folder is made (default: the temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (and the server's data)")
    parser.add_argument("--json", type=Path, help="also write every trial here")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: the server stops, the folder goes
    only = [c for c in COMMANDS if c in args.only.split(",")]
    shape = SMALL if args.small else FULL

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="pd-kill-", dir=args.work))
    started = time.monotonic()
    results: dict[str, list[Trial]] = {}
    try:
        with seaweed(work) as server:
            world = World(server, work)
            try:
                moment = uniform_in_time if args.moments == "time" else uniform_in_bytes
                campaign = Campaign(world, shape, args.seed, log, moment=moment)
                files = len(campaign.source_content)
                total = sum(c.size for c in campaign.source_content.values())
                log(f"project: {files} files, {human(total)}; SeaweedFS at {server.endpoint_url}")
                for command in only:
                    results[command] = campaign.run_command(command, args.trials)
            finally:
                world.close()
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    summaries = [Summary.of(command, trials) for command, trials in results.items()]
    print(f"Kill campaign: {args.trials} kills each of {', '.join(only)}; seed {args.seed}; project of {files} files, "
          f"{human(total)}; one SeaweedFS on 127.0.0.1; took {elapsed:.0f}s")  # fmt: skip
    print("landed: bytes of files complete on the other side when the kill came (recorded: of those, the files the "
          "folder's state had recorded as landed); re-sent: bytes of landed files the second run moved again the same "
          "way; re-read: moved the other way; recorded, moved again: bytes of recorded files moved again either way. "
          "Goals: not re-sent >= 95 %, no convergence failure.")  # fmt: skip
    print()
    print(table(summaries))
    for summary in summaries:
        if summary.landed and summary.reread > 0.05 * summary.landed:
            share = 100 * summary.reread / summary.landed
            print(f"{summary.command}: the second runs moved {share:.0f} % of the landed bytes again the other way "
                  "(re-read, not counted as re-sent)")  # fmt: skip
    for trials in results.values():
        for trial in trials:
            if trial.failures:
                print(f"\n{trial.line()}")
    if args.json:
        args.json.write_text(
            json.dumps({c: [dataclasses.asdict(t) for t in ts] for c, ts in results.items()}, indent=1)
        )
    return 0 if all(s.met for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
