"""Bulk S3 transfers on the AWS Common Runtime (`awscrt`, boto3's own `crt` extra), shaped by botocore.

Why: on a 2-core machine a 2,000-file push or pull is bound by CPU, and botocore spends ≈0.3–0.4 ms of
Python per request (parameter validation, serialisation, endpoint rules, signing, urllib3, parsing),
under the GIL. The CRT's S3 client signs, sends, retries, splits large files into parts and reads and
writes files in C on its own event loop; what is left in Python per file is building one small request
object and one callback. Measured in benchmarks/transfer.py; see README.md.

How the requests stay boto3's: the profile's own boto3 client serialises one request per operation
and bucket with a placeholder key (endpoint rules, addressing style, headers and user metadata are
botocore's), captured before it is sent. Per file only the key (percent-encoded by botocore's own
encoder), Content-Length and Content-Type change. The CRT signs with the same credentials (SigV4),
and every error comes back through botocore's exception types into `storage.errors.translate`.

Anything unusual (no awscrt, anonymous access, an HTTP proxy (`_proxied`), an endpoint that is neither http nor
https, a client not made by `make_client` whose events cannot be hooked safely) returns None from
`CrtTransfers.for_client`, and the caller uses plain boto3.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import secrets
import threading
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError
from botocore.utils import percent_encode

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

PLACEHOLDER = "pd-crt-template-"  # + a random token: botocore leaves these characters as they are
_HOOK_ID = "projectdesk-crt-template"
_HOOKED_ATTR = "_projectdesk_crt_hook"
# Headers of the captured template that belong to one request only, or that the CRT sets itself.
_PER_REQUEST_HEADERS = frozenset(
    {
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-content-sha256",
        "content-md5",
        "content-length",
        "content-type",
        "expect",
        "transfer-encoding",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
    }
)
ENGINE_ENV = "PROJECTDESK_TRANSFER_ENGINE"  # "crt" | "boto3"; unset: the CRT where it can be used

PART_SIZE = 8 * 1024 * 1024
MULTIPART_THRESHOLD = 16 * 1024 * 1024
# Large files (multipart) go through a second CRT client limited to LARGE_FILE_CONNECTIONS: the CRT
# keeps part buffers for every connection it may open (sized from its throughput target: ≈250 MB RSS
# for a 200 MB upload on one unlimited client), and a per-request limit does not shrink that pool.
# Three connections keep a 200 MB transfer at full speed here at ≈110 MB RSS for the whole process
# (four: ≈125 MB, two: ≈95 MB; measured with benchmarks/transfer.py's 200 MB file).
LARGE_FILE_CONNECTIONS = 3
UPLOAD_CONNECTIONS = 3  # per large file
# Downloads above RANGED_THRESHOLD go by _RangedDownload: memory bounded whatever the disk does. They have
# their own CRT client with RANGED_PARALLEL connections: on the large-file client's three, 8 ranges of 2 MiB
# in flight moved only three at a time. 200 MB from SeaweedFS here (each range a GET_OBJECT request): 6 × 4 MiB
# ≈0.5–0.7 s at ≈90 MB RSS for the process, against s5cmd's ≈0.4–0.6 s; 8 × 4 MiB no faster, 96 MB; 6 × 8 MiB
# 116 MB. The CRT holds each range whole before its on_body.
RANGED_THRESHOLD = MULTIPART_THRESHOLD
RANGED_PARALLEL = 6
RANGE_SIZE = 4 * 1024 * 1024
HASH_CHUNK = 1024 * 1024  # a ranged download's SHA-256 reads back what landed this much at a time
MAX_CONNECTIONS: int | None = None  # small files; None: sized by the CRT from its throughput target


class _Capture:
    """The request botocore would have sent for a template call (filled by the before-send hook)."""

    def __init__(self) -> None:
        self.by_token: dict[str, Any] = {}
        self.lock = threading.Lock()


def _template_hook(request: Any, **_: Any) -> Any:
    """before-send handler: answers template calls (their key holds PLACEHOLDER) without sending them."""
    url = getattr(request, "url", "")
    if PLACEHOLDER not in url:
        return None  # a real request: let botocore send it
    from botocore.awsrequest import AWSResponse

    token = url[url.index(PLACEHOLDER) : url.index(PLACEHOLDER) + len(PLACEHOLDER) + 16]
    with _CAPTURE.lock:
        _CAPTURE.by_token[token] = request
    from botocore.compat import HTTPHeaders

    return AWSResponse(url, 200, HTTPHeaders(), _EmptyRaw())


_CAPTURE = _Capture()


class _EmptyRaw:
    """The smallest urllib3-like body botocore accepts for the stand-in response."""

    def stream(self, amt: int = 1024, decode_content: bool | None = None) -> Any:
        return iter(())

    def read(self, amt: int | None = None) -> bytes:
        return b""


def install_template_hook(client: S3Client) -> None:
    """Register the template hook on `client` (call before threads share it; idempotent).

    It runs after any other before-send handler: when something else answers this client's requests
    (moto's mock, a test stub), it never sees the template call, `CrtTransfers.usable` says so, and
    transfers stay on boto3 rather than bypass that answerer.
    """
    client.meta.events.register("before-send", _template_hook, unique_id=_HOOK_ID)
    setattr(client, _HOOKED_ATTR, True)


@dataclass(frozen=True, slots=True)
class Template:
    method: str
    path_before: str  # the request path up to the key …
    path_after: str  # … and after it (query string included)
    headers: tuple[tuple[str, str], ...]

    def path(self, key: str) -> str:
        return self.path_before + str(percent_encode(key, safe="/~")) + self.path_after


class CrtUnavailable(RuntimeError):
    """This client's requests cannot be carried by the CRT (use boto3)."""


class CrtError(Exception):
    """A failed CRT transfer, as a botocore exception (`botocore_error`) for `storage.errors.translate`."""

    def __init__(self, botocore_error: Exception, cancelled: bool = False) -> None:
        super().__init__(type(botocore_error).__name__)
        self.botocore_error = botocore_error
        self.cancelled = cancelled


Done = Callable[[CrtError | None, str], None]  # (error or None, ETag of an upload or "")


class CrtTransfers:
    """Uploads and downloads of whole files through one CRT S3 client (thread-safe; callbacks on CRT threads)."""

    def __init__(
        self,
        client: S3Client,
        s3: Any,
        s3_large: Any,
        region: str,
        endpoint_url: str,
        *,
        body_checksums: bool,
        make_ranged: Callable[[], Any] | None = None,
    ) -> None:
        self._client = client
        self._s3_large = s3_large  # large files: few connections, so part buffers stay few
        self._make_ranged = make_ranged  # the ranged downloads' client, made on first use
        self._s3_ranged_client: Any = None
        # The CRT signs UNSIGNED-PAYLOAD even over plain http, where botocore signs the body's SHA-256:
        # there, each single-request upload carries a CRC32 header the server checks instead (as a header,
        # not an aws-chunked trailer, which many S3-compatible servers reject). Over https TLS protects it.
        self._body_checksums = body_checksums
        self._s3 = s3
        self._region = region
        self._endpoint_url = endpoint_url
        self._launcher: ThreadPoolExecutor | None = None
        self._templates: dict[tuple[str, str, tuple[tuple[str, str], ...]], Template] = {}
        self._usable: dict[str, bool] = {}
        self._lock = threading.Lock()

    # ---- construction ----------------------------------------------------------------------------

    @classmethod
    def for_client(cls, client: S3Client) -> CrtTransfers | None:
        """A CRT engine for `client`'s endpoint, region and credentials, or None where boto3 must do it."""
        choice = os.environ.get(ENGINE_ENV, "").strip().lower()
        if choice == "boto3" or not getattr(client, _HOOKED_ATTR, False):
            return None
        try:
            return cls._create(client)
        except Exception as exc:  # no awscrt, an old one, or a setup it cannot serve
            log.info("bulk transfers use boto3, not the CRT: %s", exc)
            return None

    @classmethod
    def _create(cls, client: S3Client) -> CrtTransfers | None:
        import awscrt.s3
        from awscrt.io import ClientBootstrap
        from botocore import UNSIGNED

        if not hasattr(awscrt.s3.S3Client, "make_request"):
            return None
        config: Any = client.meta.config
        if config.signature_version is UNSIGNED:
            return None
        endpoint_url = client.meta.endpoint_url
        url = urlsplit(endpoint_url)
        if url.scheme not in ("http", "https") or _proxied(url.scheme, url.hostname or "", config, client):
            return None
        credentials = client._get_credentials()  # type: ignore[attr-defined]  # as boto3's own CRT manager does
        if credentials is None:
            return None
        region = client.meta.region_name or "us-east-1"
        tls = url.scheme == "https"
        tls_options = _tls_options(client) if tls else None
        options: dict[str, Any] = {}
        retries: Any = getattr(config, "retries", None) or {}
        if hasattr(awscrt.s3, "S3RetryConfig"):  # as many retries as the boto3 client makes
            attempts = int(retries.get("total_max_attempts") or (retries.get("max_attempts") or 4) + 1)
            options["retry_config"] = awscrt.s3.S3RetryConfig(max_retries=max(1, attempts - 1))
        provider = _credentials_provider(credentials)

        def s3_client(max_connections: int | None) -> Any:
            return awscrt.s3.S3Client(
                **options,
                bootstrap=ClientBootstrap.get_or_create_static_default(),
                region=region,
                tls_mode=awscrt.s3.S3RequestTlsMode.ENABLED if tls else awscrt.s3.S3RequestTlsMode.DISABLED,
                tls_connection_options=tls_options,
                credential_provider=provider,
                part_size=PART_SIZE,
                multipart_upload_threshold=MULTIPART_THRESHOLD,
                max_active_connections_override=max_connections,
            )

        return cls(
            client,
            s3_client(MAX_CONNECTIONS),
            s3_client(LARGE_FILE_CONNECTIONS),
            region,
            endpoint_url,
            body_checksums=not tls,
            make_ranged=lambda: s3_client(RANGED_PARALLEL),
        )

    def _s3_ranged(self) -> Any:
        """The CRT client of ranged downloads (RANGED_PARALLEL connections), made on first use."""
        with self._lock:
            if self._s3_ranged_client is None:
                self._s3_ranged_client = self._make_ranged() if self._make_ranged is not None else self._s3_large
            return self._s3_ranged_client

    # ---- templates -------------------------------------------------------------------------------

    def usable(self, bucket: str) -> bool:
        """True when botocore hands this engine its requests for `bucket` (checked once, with a GET template:
        building it sends nothing, and where something else answers requests, it answers a harmless read)."""
        with self._lock:
            known = self._usable.get(bucket)
        if known is None:
            try:
                self.template("get_object", bucket)
                known = True
            except Exception as exc:
                log.info("bulk transfers use boto3, not the CRT: %s", type(exc).__name__)
                known = False
            with self._lock:
                self._usable[bucket] = known
        return known

    def template(self, operation: str, bucket: str, **params: Any) -> Template:
        """The request botocore makes for `operation` on `bucket` (cached; built on first use)."""
        cache_key = (operation, bucket, tuple(sorted((k, repr(v)) for k, v in params.items())))
        with self._lock:
            cached = self._templates.get(cache_key)
        if cached is not None:
            return cached
        token = PLACEHOLDER + secrets.token_hex(8)
        getattr(self._client, operation)(Bucket=bucket, Key=token, **params)
        with _CAPTURE.lock:
            request = _CAPTURE.by_token.pop(token, None)
        if request is None:
            raise CrtUnavailable("botocore did not hand over the template request")
        url = urlsplit(request.url)
        path = url.path + (f"?{url.query}" if url.query else "")
        before, sep, after = path.partition(token)
        if not sep or token in after:
            raise CrtUnavailable("the key does not appear once in the request path")
        headers: list[tuple[str, str]] = []
        for name, value in request.headers.items():
            lower = name.lower()
            if lower in _PER_REQUEST_HEADERS or lower.startswith(("x-amz-checksum-", "x-amz-sdk-checksum")):
                continue
            headers.append((name, value if isinstance(value, str) else value.decode("utf-8")))
        if not any(name.lower() == "host" for name, _ in headers):
            headers.append(("Host", url.netloc))
        template = Template(request.method, before, after, tuple(headers))
        with self._lock:
            self._templates[cache_key] = template
        return template

    # ---- transfers -------------------------------------------------------------------------------

    def start_upload(
        self,
        template: Template,
        key: str,
        local_path: str,
        size: int,
        content_type: str,
        on_done: Done,
        on_progress: Callable[[int], None] | None = None,
        *,
        headers: Sequence[tuple[str, str]] = (),
    ) -> Any:
        """Send `local_path` as `key` (multipart above MULTIPART_THRESHOLD) with extra `headers` (such as
        preconditions); returns a cancellable handle."""
        import awscrt.http
        import awscrt.s3

        headers = [*template.headers, *headers, ("Content-Length", str(size)), ("Content-Type", content_type)]
        request = awscrt.http.HttpRequest(template.method, template.path(key), awscrt.http.HttpHeaders(headers))
        etag: list[str] = []

        def on_headers(status_code: int, headers: list[tuple[str, str]], **_: Any) -> None:
            for name, value in headers:
                if name.lower() == "etag":
                    etag.append(value.strip('"'))

        def done(error: BaseException | None = None, **kwargs: Any) -> None:
            on_done(self._error(error, kwargs) if error is not None else None, etag[-1] if etag else "")

        large = size > MULTIPART_THRESHOLD
        options: dict[str, Any] = {}
        if self._body_checksums and not large:
            options["checksum_config"] = awscrt.s3.S3ChecksumConfig(
                algorithm=awscrt.s3.S3ChecksumAlgorithm.CRC32, location=awscrt.s3.S3ChecksumLocation.HEADER
            )
        return (self._s3_large if large else self._s3).make_request(
            **options,
            type=awscrt.s3.S3RequestType.PUT_OBJECT,
            request=request,
            send_filepath=local_path,
            on_headers=on_headers,
            on_done=done,
            on_progress=on_progress if large else None,
            max_active_connections_override=UPLOAD_CONNECTIONS if large else None,
        )

    def start_download(
        self,
        template: Template,
        key: str,
        temp_path: str,
        size: int,
        on_done: Done,
        on_progress: Callable[[int], None] | None = None,
        etag: str = "",
        on_hash: Callable[[str], None] | None = None,
    ) -> Any:
        """Write `key` into `temp_path` (the caller renames it); returns a cancellable handle. With `etag`,
        only that version is written (If-Match), as in `start_fetch`.

        Up to one part: one GET the CRT writes to the file itself. Larger: see `_RangedDownload`, which also
        hands `on_hash` the file's SHA-256 (hex) before `on_done` when it succeeds.
        """
        import awscrt.http
        import awscrt.s3

        if size > RANGED_THRESHOLD:
            download = _RangedDownload(self, template, key, temp_path, size, etag, on_done, on_progress, on_hash)
            download.start()
            return download
        headers = [*template.headers, ("Content-Length", "0"), *_if_match(etag)]
        request = awscrt.http.HttpRequest(template.method, template.path(key), awscrt.http.HttpHeaders(headers))

        def done(error: BaseException | None = None, **kwargs: Any) -> None:
            on_done(self._error(error, kwargs, temp_path) if error is not None else None, "")

        large = size > PART_SIZE
        return (self._s3_large if large else self._s3).make_request(
            type=awscrt.s3.S3RequestType.GET_OBJECT,
            request=request,
            recv_filepath=temp_path,
            on_done=done,
            on_progress=on_progress if large else None,
        )

    def _launch(self, job: Callable[[], None]) -> None:
        """Run `job` (which starts a request) off the CRT's event-loop threads, where callbacks run."""
        with self._lock:
            if self._launcher is None:
                self._launcher = ThreadPoolExecutor(1, thread_name_prefix="pd-crt-launch")
            launcher = self._launcher
        launcher.submit(job)

    def start_fetch(
        self, template: Template, key: str, on_done: Callable[[CrtError | None, bytes], None], etag: str = ""
    ) -> Any:
        """Read a small object into memory (the caller writes it): the CRT creates a `recv_filepath` file
        on the calling thread, holding the GIL, which costs more than the transfer for small files.
        With `etag`, only that version is read (If-Match): a file replaced since it was listed fails."""
        import awscrt.http
        import awscrt.s3

        headers = [*template.headers, ("Content-Length", "0"), *_if_match(etag)]
        request = awscrt.http.HttpRequest(template.method, template.path(key), awscrt.http.HttpHeaders(headers))
        body = bytearray()

        def on_body(chunk: Any, offset: int, **_: Any) -> None:
            if offset == len(body):
                body.extend(chunk)
            else:  # parts out of order (not expected below the part size)
                end = offset + len(chunk)
                if end > len(body):
                    body.extend(bytes(end - len(body)))
                body[offset:end] = chunk

        def done(error: BaseException | None = None, **kwargs: Any) -> None:
            on_done(self._error(error, kwargs) if error is not None else None, bytes(body))

        return self._s3.make_request(
            type=awscrt.s3.S3RequestType.GET_OBJECT, request=request, on_body=on_body, on_done=done
        )

    def run(self, start: Callable[[Done], Any]) -> str:
        """Run one transfer to the end on the calling thread; returns the ETag (uploads) or ""."""
        finished = threading.Event()
        outcome: list[tuple[CrtError | None, str]] = []

        def on_done(error: CrtError | None, etag: str) -> None:
            outcome.append((error, etag))
            finished.set()

        start(on_done)
        finished.wait()
        error, etag = outcome[0]
        if error is not None:
            raise error
        return str(etag)

    # ---- errors ----------------------------------------------------------------------------------

    def _error(self, error: BaseException, details: dict[str, Any], path: str | None = None) -> CrtError:
        """The botocore exception boto3 would have raised for this failure (never with secrets in it).

        A failure of this computer's disk is no answer of the server's, even when the response had a status
        (200, 206): an OSError of our own callbacks (`os.pwrite`, `os.close`) stays itself, and the CRT's own
        AWS_ERROR_NO_SPACE becomes OSError(ENOSPC); both name `path` (the file being written) when known,
        so `storage.errors.translate` can say which folder's disk is full.
        """
        from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError, SSLError

        if isinstance(error, OSError):
            if path and not error.filename and error.errno is not None:  # write() and close() name no file
                return CrtError(OSError(error.errno, error.strerror, path))
            return CrtError(error)
        name = str(getattr(error, "name", "") or type(error).__name__)
        if "NO_SPACE" in name:
            return CrtError(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), *([path] if path else [])))
        status = details.get("status_code") or getattr(error, "status_code", None)
        operation = str(details.get("error_operation_name") or "")
        if name == "AWS_ERROR_S3_CANCELED":
            return CrtError(ClientError({"Error": {"Code": "Cancelled"}}, operation or "Transfer"), cancelled=True)
        if status:
            code, message = _error_code(details.get("error_body") or getattr(error, "body", None))
            response: Any = {"Error": {"Code": code, "Message": message}}
            response["ResponseMetadata"] = {"HTTPStatusCode": status}
            return CrtError(ClientError(response, operation or "Transfer"))
        if "TLS" in name or "PKI" in name or "CERT" in name:
            return CrtError(SSLError(endpoint_url=self._endpoint_url, error=RuntimeError(name)))
        if "TIMEOUT" in name and "SOCKET" not in name:
            return CrtError(ReadTimeoutError(endpoint_url=self._endpoint_url))
        if any(part in name for part in ("SOCKET", "DNS", "CONNECTION", "HTTP_", "IO_", "NETWORK")):
            return CrtError(EndpointConnectionError(endpoint_url=self._endpoint_url))
        return CrtError(CrtTransferError(name=name))


class CrtTransferError(BotoCoreError):
    """A CRT failure with no HTTP status and no network cause (its CRT error name only)."""

    fmt = "S3 transfer failed: {name}"


class _RangedDownload:
    """A large object fetched as ranged GETs of RANGE_SIZE, RANGED_PARALLEL at a time, each written at
    its offset as it arrives (os.pwrite), so memory stays about 2 × RANGED_PARALLEL × RANGE_SIZE.

    The CRT's own multi-part GET writes parts in order and keeps later parts in memory meanwhile: while
    the disk was busy a 200 MB download reached ≈200 MB RSS that way (≈110 MB when it was not). Every
    range carries If-Match with the listed ETag, so a file replaced on the server mid-download fails
    instead of mixing two versions.

    With `on_hash`, the file's SHA-256 is computed as it arrives: each time the ranges from the start are
    complete, they are read back (from the page cache, on the launcher thread) into the hash, so a caller
    that needs the digest does not read the whole file again after the last range.
    """

    def __init__(
        self,
        engine: CrtTransfers,
        template: Template,
        key: str,
        temp_path: str,
        size: int,
        etag: str,
        on_done: Done,
        on_progress: Callable[[int], None] | None,
        on_hash: Callable[[str], None] | None = None,
    ) -> None:
        import awscrt.http

        self._engine = engine
        self._on_hash = on_hash
        self._size = size
        self._sha = hashlib.sha256() if on_hash is not None else None
        self._hashed = 0  # bytes from the start already in the hash
        self._landed: dict[int, int] = {}  # ranges complete, not yet hashed: first byte -> end (exclusive)
        self._hash_lock = threading.Lock()
        self._on_done = on_done
        self._on_progress = on_progress
        self._path = template.path(key)
        self._method = template.method
        self._headers = [*template.headers, ("Content-Length", "0"), *_if_match(etag)]
        self._http = awscrt.http
        self._ranges = deque((start, min(start + RANGE_SIZE, size) - 1) for start in range(0, size, RANGE_SIZE))
        self._lock = threading.Lock()
        self._active: dict[int, Any] = {}
        self._next_id = 0
        self._error: CrtError | None = None
        self._finished = False
        self._temp_path = temp_path
        mode = os.O_RDWR if on_hash is not None else os.O_WRONLY  # the hash reads back what landed
        self._fd = os.open(temp_path, mode | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)

    def start(self) -> None:
        for _ in range(RANGED_PARALLEL):
            self._launch_next()

    def cancel(self) -> None:
        from botocore.exceptions import ClientError

        with self._lock:
            if self._error is None:
                self._error = CrtError(ClientError({"Error": {"Code": "Cancelled"}}, "GetObject"), cancelled=True)
            active = [request for request in self._active.values() if request is not None]
            self._ranges.clear()
        for request in active:
            request.cancel()
        self._maybe_finish()

    def _launch_next(self) -> None:
        import awscrt.s3

        with self._lock:
            if self._error is not None or not self._ranges:
                launch = None
            else:
                launch = self._ranges.popleft()
                request_id = self._next_id
                self._next_id += 1
                self._active[request_id] = None  # reserved: finishing waits for it
        if launch is None:
            self._maybe_finish()
            return
        first, last = launch
        headers = [*self._headers, ("Range", f"bytes={first}-{last}")]
        request = self._http.HttpRequest(self._method, self._path, self._http.HttpHeaders(headers))
        fd = self._fd
        written = [0]

        def on_body(chunk: Any, offset: int, **_: Any) -> None:
            # `offset` is the position in the object (the CRT reads it from Content-Range)
            if offset < first or offset + len(chunk) > last + 1:
                raise ValueError(f"bytes {offset}+{len(chunk)} outside the range asked for ({first}-{last})")
            os.pwrite(fd, chunk, offset)
            written[0] += len(chunk)

        def done(error: BaseException | None = None, **kwargs: Any) -> None:
            if error is None and written[0] != last - first + 1:
                error = ValueError(f"{written[0]} bytes for a range of {last - first + 1}")
            self._range_done(request_id, error, kwargs, first, last - first + 1)

        try:
            handle = self._engine._s3_ranged().make_request(
                # GET_OBJECT, not DEFAULT: the CRT then reads the body into a part buffer from its pool, where
                # DEFAULT grew a buffer as the bytes came (half the CPU of a 200 MB download, ≈20 MB more RSS)
                type=awscrt.s3.S3RequestType.GET_OBJECT,
                request=request,
                on_body=on_body,
                on_done=done,
            )
        except Exception as exc:
            done(exc)
            return
        with self._lock:
            if request_id in self._active:
                self._active[request_id] = handle

    def _range_done(
        self, request_id: int, error: BaseException | None, details: dict[str, Any], first: int, size: int
    ) -> None:
        with self._lock:
            self._active.pop(request_id, None)
            if error is None and self._sha is not None:
                self._landed[first] = first + size
            if error is not None and self._error is None:
                self._error = self._engine._error(error, details, self._temp_path)
                self._ranges.clear()
                others = [request for request in self._active.values() if request is not None]
            else:
                others = []
        for request in others:
            request.cancel()
        if error is None and self._on_progress is not None:
            self._on_progress(size)
        if error is None:
            self._engine._launch(self._next_and_hash)  # not from this CRT callback thread
        else:
            self._maybe_finish()

    def _next_and_hash(self) -> None:
        self._launch_next()
        self._hash_landed()

    def _hash_landed(self, final: bool = False) -> None:
        """Add to the hash the ranges complete from where it stopped (each written whole before its on_done).
        Once the download is finished only `_maybe_finish` (`final`) reads: the descriptor is closed after it."""
        if self._sha is None:
            return
        with self._hash_lock:
            while True:
                with self._lock:
                    if self._error is not None or (self._finished and not final):
                        return
                    end = self._landed.pop(self._hashed, None)
                if end is None:
                    return
                try:
                    while self._hashed < end:
                        chunk = os.pread(self._fd, min(HASH_CHUNK, end - self._hashed), self._hashed)
                        if not chunk:
                            raise OSError(errno.EIO, "short read of a range just written", self._temp_path)
                        self._sha.update(chunk)
                        self._hashed += len(chunk)
                except OSError as exc:  # no digest then: the caller hashes the file itself, the download stands
                    log.info("no SHA-256 from the ranged download of %s: %s", self._temp_path, exc)
                    self._sha = None
                    return

    def _maybe_finish(self) -> None:
        with self._lock:
            if self._finished or self._active or (self._ranges and self._error is None):
                return
            self._finished = True
            error = self._error
        digest = None
        if error is None and self._sha is not None:
            self._hash_landed(final=True)
            sha = self._sha
            digest = sha.hexdigest() if sha is not None and self._hashed == self._size else None
        try:
            os.close(self._fd)
        except OSError as exc:  # delayed write errors show here (a full disk, NFS)
            if error is None:
                error = self._engine._error(exc, {}, self._temp_path)
        if error is None and digest is not None and self._on_hash is not None:
            self._on_hash(digest)
        self._on_done(error, "")


def _if_match(etag: str) -> list[tuple[str, str]]:
    """The If-Match header that pins a GET to the listed version (none when the version is unknown)."""
    return [("If-Match", f'"{etag}"')] if etag else []


def _error_code(body: bytes | None) -> tuple[str, str]:
    """Code and Message of an S3 XML error body ("" when there is none)."""
    if not body:
        return "", ""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return "", ""
    return (root.findtext("Code") or "").strip(), (root.findtext("Message") or "").strip()


def _proxied(scheme: str, host: str, config: Any, client: Any = None) -> bool:
    """True when requests to `host` would go through an HTTP proxy (boto3 handles those; the CRT here does not).

    awscrt's S3Client takes no proxy options (nor a proxy login) from Python: it would reach the server
    around a profile's proxy. (Its C library reads HTTP(S)_PROXY on its own.) So a proxy the client uses
    (`proxy_route`: what botocore decided, the profile's or HTTP(S)_PROXY minus NO_PROXY), one set in its
    config, or one set in the environment now, keeps the transfers on boto3: one set of rules decides.
    """
    from projectdesk.storage.proxy import proxy_route

    if client is not None and proxy_route(client) is not None:
        return True
    if getattr(config, "proxies", None):
        return True
    proxies = urllib.request.getproxies()
    if scheme not in proxies:
        return False
    return not urllib.request.proxy_bypass(host)


def _tls_options(client: S3Client) -> Any:
    """TLS options matching boto3's `verify` setting (a CA bundle path, or no verification)."""
    from awscrt.io import ClientTlsContext, TlsContextOptions

    verify = getattr(getattr(client._endpoint, "http_session", None), "_verify", True)  # type: ignore[attr-defined]
    if verify is True or verify is None:
        return None
    options = TlsContextOptions()
    if isinstance(verify, str) and verify.strip():
        options.override_default_trust_store_from_path(ca_filepath=verify)
    elif verify is False:
        options.verify_peer = False
    return ClientTlsContext(options).new_connection_options()


def _credentials_provider(credentials: Any) -> Any:
    """A CRT credentials provider reading botocore's credentials (refreshed by botocore when they expire)."""
    from awscrt.auth import AwsCredentials, AwsCredentialsProvider
    from botocore.credentials import RefreshableCredentials

    if not isinstance(credentials, RefreshableCredentials):  # static keys: no call into Python per request
        frozen = credentials.get_frozen_credentials()
        return AwsCredentialsProvider.new_static(frozen.access_key, frozen.secret_key, frozen.token)

    def current() -> Any:
        now = credentials.get_frozen_credentials()
        return AwsCredentials(now.access_key, now.secret_key, now.token)

    return AwsCredentialsProvider.new_delegate(current)
