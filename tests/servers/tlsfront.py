"""An https front for a plain-http server on 127.0.0.1 (stdlib ssl plus `cryptography` for the certificate).

SeaweedFS in tests speaks http only; clients reach an https endpoint through an HTTP proxy with CONNECT
(a tunnel), so tests of that path need one. Each connection is decrypted and relayed byte for byte (one
thread each) to the upstream port: requests keep their Host header, so SigV4 signatures stay valid. The
certificate is self-signed for 127.0.0.1; `ca_file` is what AWS_CA_BUNDLE takes.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import select
import socket
import ssl
from pathlib import Path

from tests.servers.threaded import HOST, ThreadedServer

__all__ = ["TlsFront"]


def _write_certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "front-cert.pem", folder / "front-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class TlsFront(ThreadedServer):
    def __init__(self, folder: Path, upstream_port: int) -> None:
        super().__init__()
        self.ca_file, key_file = _write_certificate(folder)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(self.ca_file, key_file)
        self._upstream_port = upstream_port

    @property
    def endpoint_url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def _serve(self, raw: socket.socket) -> None:
        upstream: socket.socket | None = None
        client: socket.socket = raw
        self._track(raw, True)
        try:
            client = self._context.wrap_socket(raw, server_side=True)
            upstream = socket.create_connection((HOST, self._upstream_port))
            self._track(upstream, True)
            _relay(client, upstream)
        except (OSError, ssl.SSLError):
            pass
        finally:
            self._track(raw, False)
            if upstream is not None:
                self._track(upstream, False)
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()


def _relay(client: ssl.SSLSocket, upstream: socket.socket) -> None:
    """Copy both ways on one thread (an SSL object must not be read and written by two threads at once)."""
    client.settimeout(30)
    while True:
        ready = [client] if client.pending() else select.select([client, upstream], [], [], 60)[0]
        if not ready:
            return
        for source in ready:
            data = source.recv(256 * 1024)
            if not data:
                return
            (upstream if source is client else client).sendall(data)
