"""A small real HTTP forward proxy on 127.0.0.1 for tests (stdlib only).

- `CONNECT host:port` opens a tunnel (what clients do for https endpoints) and relays bytes both ways;
- a request with an absolute URI (`GET http://127.0.0.1:8333/bucket/key HTTP/1.1`, what clients do for
  http endpoints) is forwarded to that origin in origin form, its body read whole first (the proxy answers
  `Expect: 100-continue` itself), and the origin's answer relayed; each forwarded exchange is one
  connection each side (`Connection: close`), which clients handle like any server closing an idle one;
- with `user` and `password`, every request without the matching `Proxy-Authorization: Basic …` gets
  `407 Proxy Authentication Required` (and what it sent is kept in `rejected_logins`);
- `refuse()` closes the listening socket: later connections are refused (ECONNREFUSED).

Only 127.0.0.1 and localhost are reached upstream. `requests` records every request (method, target,
whether it was let through), so tests can prove their traffic went through the proxy.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from tests.servers.threaded import HOST, ThreadedServer

__all__ = ["HttpProxy", "ProxiedRequest"]

UPSTREAM_HOSTS: Final = frozenset({"127.0.0.1", "localhost"})
HEAD_LIMIT: Final = 64 * 1024
_HOP_BY_HOP: Final = frozenset(
    {"proxy-authorization", "proxy-connection", "connection", "keep-alive", "expect", "te", "upgrade"}
)


@dataclass(frozen=True)
class ProxiedRequest:
    method: str
    target: str  # the absolute URI, or host:port for CONNECT
    allowed: bool  # False: answered 407 (or refused for a host outside 127.0.0.1)


class _Closed(Exception):
    pass


class _Conn:
    """Buffered reads of one socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> None:
        data = self.sock.recv(256 * 1024)
        if not data:
            raise _Closed
        self.buffer += data

    def head(self) -> tuple[str, list[tuple[str, str]]]:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > HEAD_LIMIT:
                raise _Closed
            self._fill()
        end = self.buffer.index(b"\r\n\r\n")
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        del self.buffer[: end + 4]
        headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:])]
        return lines[0], headers

    def exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in headers if key.lower() == name), "")


class HttpProxy(ThreadedServer):
    """Start with `start()` or as a context manager; `url` is what HTTP(S)_PROXY or a profile takes."""

    def __init__(self, *, user: str = "", password: str = "") -> None:
        super().__init__()
        self.user = user
        self.password = password
        self.requests: list[ProxiedRequest] = []
        self.rejected_logins: list[str] = []  # the Proxy-Authorization values of requests answered 407

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def count(self, method: str | None = None, *, allowed: bool = True) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.allowed == allowed and (method is None or r.method == method))

    def targets(self, method: str | None = None) -> list[str]:
        with self._lock:
            return [r.target for r in self.requests if r.allowed and (method is None or r.method == method)]

    # ---- one client connection -------------------------------------------------------------------

    def _serve(self, client: socket.socket) -> None:
        self._track(client, True)
        try:
            conn = _Conn(client)
            start, headers = conn.head()
            method, target, _ = start.split(" ", 2)
            body: bytes | None = None
            if method != "CONNECT" and _header(headers, "expect").lower() != "100-continue":
                body = conn.exactly(int(_header(headers, "content-length") or 0))  # so a 407 then loses nothing
            if not self._authorised(headers):
                self._record(method, target, allowed=False)
                client.sendall(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="test proxy"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
                )
                return
            if method == "CONNECT":
                self._tunnel(client, conn, target)
            else:
                self._forward(client, conn, method, target, headers, body)
        except (_Closed, OSError, ValueError):
            pass
        finally:
            self._track(client, False)
            with contextlib.suppress(OSError):
                client.close()

    def _authorised(self, headers: list[tuple[str, str]]) -> bool:
        if not self.user:
            return True
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        given = _header(headers, "proxy-authorization")
        if given == expected:
            return True
        with self._lock:
            self.rejected_logins.append(given)
        return False

    def _record(self, method: str, target: str, *, allowed: bool) -> None:
        with self._lock:
            self.requests.append(ProxiedRequest(method, target, allowed))

    def _upstream(self, host: str, port: int) -> socket.socket | None:
        if host not in UPSTREAM_HOSTS:
            return None
        return socket.create_connection((host, port), timeout=30)

    def _tunnel(self, client: socket.socket, conn: _Conn, target: str) -> None:
        host, _, port = target.rpartition(":")
        upstream = self._upstream(host, int(port))
        self._record("CONNECT", target, allowed=upstream is not None)
        if upstream is None:
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        self._track(upstream, True)
        try:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if conn.buffer:
                upstream.sendall(bytes(conn.buffer))
            upstream.settimeout(None)
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join()
        finally:
            self._track(upstream, False)
            upstream.close()

    def _forward(
        self,
        client: socket.socket,
        conn: _Conn,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
    ) -> None:
        url = urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            self._record(method, target, allowed=False)
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if "chunked" in _header(headers, "transfer-encoding").lower():
            self._record(method, target, allowed=False)
            client.sendall(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if body is None:  # Expect: 100-continue, answered here
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = conn.exactly(int(_header(headers, "content-length") or 0))
        upstream = self._upstream(url.hostname, url.port or 80)
        self._record(method, target, allowed=upstream is not None)
        if upstream is None:
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        self._track(upstream, True)
        try:
            path = url.path or "/"
            lines = [f"{method} {path}{'?' + url.query if url.query else ''} HTTP/1.1"]
            lines += [f"{k}: {v}" for k, v in headers if k.lower() not in _HOP_BY_HOP]
            lines.append("Connection: close")
            upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            answer = _Conn(upstream)
            status, response_headers = answer.head()
            out = [status] + [f"{k}: {v}" for k, v in response_headers if k.lower() not in _HOP_BY_HOP]
            out.append("Connection: close")
            client.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + bytes(answer.buffer))
            _pipe(upstream, client)
        finally:
            self._track(upstream, False)
            upstream.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy until `source` ends, then end `sink`'s sending side."""
    try:
        while True:
            data = source.recv(256 * 1024)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
