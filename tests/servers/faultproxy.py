"""A TCP proxy on 127.0.0.1 that breaks HTTP/1.1 traffic to an S3 server on purpose, for fault-injection tests.

Per request (keep-alive connections carry many), drawn from a seeded RNG:

- `reset`: the connection is reset (RST) — either before the request reaches the server, or after the
  server has seen part of the request body, or after it has answered (the client never hears back);
- `slowdown`: the proxy answers `503 SlowDown` itself (the server never sees the request);
- `cut`: the server's response is relayed only in part (mid-body; mid-headers for empty bodies), then
  the connection is reset.

Everything else is relayed unchanged. One thread per client connection, one upstream connection each.
`Expect: 100-continue` is answered by the proxy so it can hold the whole request before deciding.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Self

__all__ = ["FaultProxy", "Faults"]

HOST: Final = "127.0.0.1"
HEAD_LIMIT: Final = 64 * 1024
SLOWDOWN_BODY: Final = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>faultproxy</RequestId></Error>"
)


@dataclass(frozen=True)
class Faults:
    reset: float = 0.05
    slowdown: float = 0.05
    cut: float = 0.02


class _Closed(Exception):
    """The peer closed the connection (or it was reset)."""


@dataclass
class _Message:
    head: bytes  # the start line and headers, CRLF CRLF included
    start: str  # the start line
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names

    def length(self) -> int | None:
        value = self.headers.get("content-length")
        return int(value) if value is not None else None

    @property
    def chunked(self) -> bool:
        return "chunked" in self.headers.get("transfer-encoding", "").lower()


class _Reader:
    """Buffered reads from a socket: lines, exact byte counts, whole HTTP heads."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> None:
        try:
            data = self.sock.recv(256 * 1024)
        except OSError as exc:
            raise _Closed from exc
        if not data:
            raise _Closed
        self.buffer += data

    def head(self) -> _Message:
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                raw = bytes(self.buffer[: end + 4])
                del self.buffer[: end + 4]
                lines = raw[:-4].decode("latin-1").split("\r\n")
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                return _Message(raw, lines[0], headers)
            if len(self.buffer) > HEAD_LIMIT:
                raise _Closed
            self._fill()

    def exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def line(self) -> bytes:
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                data = bytes(self.buffer[: end + 2])
                del self.buffer[: end + 2]
                return data
            self._fill()

    def rest(self) -> bytes:
        """Everything until the peer closes (a response without length)."""
        while True:
            try:
                self._fill()
            except _Closed:
                data = bytes(self.buffer)
                self.buffer.clear()
                return data

    def body(self, message: _Message, *, no_body: bool = False) -> bytes:
        if no_body:
            return b""
        if message.chunked:
            parts = []
            while True:
                size_line = self.line()
                parts.append(size_line)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers, then the blank line
                        trailer = self.line()
                        parts.append(trailer)
                        if trailer == b"\r\n":
                            return b"".join(parts)
                parts.append(self.exactly(size + 2))
        length = message.length()
        if length is not None:
            return self.exactly(length)
        if message.start.startswith("HTTP/"):
            return self.rest()
        return b""


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN (SO_LINGER 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    """Listens on 127.0.0.1:<port> and relays to `upstream`, injecting `faults` (seeded by `seed`)."""

    def __init__(
        self, upstream: tuple[str, int], *, faults: Faults | None = None, seed: int = 1, latency: float = 0.0
    ) -> None:
        self.upstream = upstream
        self.latency = latency  # seconds added before each response (a distant server)
        self.faults = faults or Faults()
        self.seed = seed
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._connections = 0
        self.enabled = True

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("proxy not started")
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen(512)
        self._listener = listener
        thread = threading.Thread(target=self._accept, name="faultproxy-accept", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:  # shutdown wakes a thread blocked in recv(); close alone would not
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            _reset(sock)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections += 1
                rng = random.Random(self.seed * 1_000_003 + self._connections)
                self._sockets.add(client)
            thread = threading.Thread(target=self._serve, args=(client, rng), name="faultproxy-conn", daemon=True)
            thread.start()
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _draw(self, rng: random.Random) -> str:
        if not self.enabled:
            return "pass"
        roll = rng.random()
        f = self.faults
        if roll < f.reset:
            return "reset"
        if roll < f.reset + f.slowdown:
            return "slowdown"
        if roll < f.reset + f.slowdown + f.cut:
            return "cut"
        return "pass"

    def _serve(self, client: socket.socket, rng: random.Random) -> None:
        upstream: socket.socket | None = None
        reader = _Reader(client)
        up_reader: _Reader | None = None
        try:
            while not self._stopping.is_set():
                request = reader.head()
                fault = self._draw(rng)
                self._count("requests")
                expect = request.headers.get("expect", "").lower() == "100-continue"
                forward_head = request.head
                if expect:
                    forward_head = b"\r\n".join(
                        line for line in request.head.split(b"\r\n") if not line.lower().startswith(b"expect:")
                    )
                if fault == "reset" and rng.random() < 0.4:  # before the server sees anything
                    self._count("reset-before")
                    _reset(client)
                    return
                if fault == "slowdown":
                    self._count("slowdown")
                    if expect:  # the client waits for 100 before the body: answer now and close
                        client.sendall(self._slowdown(close=True))
                        _reset(client)
                        return
                    reader.body(request)
                    client.sendall(self._slowdown(close=False))
                    continue
                if expect:
                    client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = reader.body(request)
                if upstream is None:
                    upstream = socket.create_connection(self.upstream)
                    with self._lock:
                        self._sockets.add(upstream)
                    up_reader = _Reader(upstream)
                assert up_reader is not None
                if fault == "reset":  # the server gets part of the request, then both sides are reset
                    self._count("reset-mid-request")
                    upstream.sendall(forward_head + body[: rng.randrange(len(body) + 1)])
                    _reset(upstream)
                    _reset(client)
                    return
                upstream.sendall(forward_head + body)
                response = up_reader.head()
                while response.start.split(" ")[1:2] == ["100"]:  # an interim answer: skip it
                    response = up_reader.head()
                method = request.start.split(" ", 1)[0].upper()
                status = response.start.split(" ")[1] if " " in response.start else ""
                no_body = method == "HEAD" or status in ("204", "304")
                response_body = up_reader.body(response, no_body=no_body)
                whole = response.head + response_body
                if self.latency:
                    time.sleep(self.latency)
                if fault == "cut":
                    self._count("cut")
                    if response_body:
                        point = len(response.head) + rng.randrange(len(response_body))
                    else:
                        point = rng.randrange(len(response.head) // 2, len(response.head))
                    client.sendall(whole[:point])
                    _reset(client)
                    _reset(upstream)
                    return
                client.sendall(whole)
                if response.headers.get("connection", "").lower() == "close":
                    break
        except (_Closed, OSError, ValueError, IndexError):
            pass
        finally:
            with self._lock:
                self._sockets.discard(client)
                if upstream is not None:
                    self._sockets.discard(upstream)
            with contextlib.suppress(OSError):
                client.close()
            if upstream is not None:
                with contextlib.suppress(OSError):
                    upstream.close()

    @staticmethod
    def _slowdown(*, close: bool) -> bytes:
        head = (
            "HTTP/1.1 503 Slow Down\r\n"
            "Content-Type: application/xml\r\n"
            f"Content-Length: {len(SLOWDOWN_BODY)}\r\n"
            f"Connection: {'close' if close else 'keep-alive'}\r\n"
            "x-amz-request-id: faultproxy\r\n\r\n"
        )
        return head.encode("ascii") + SLOWDOWN_BODY
