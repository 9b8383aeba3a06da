"""Bandwidth limits and pause on a real SeaweedFS server, through the CRT engine's store and botocore's.

A limit sends a direction through botocore even where the CRT would carry it (storage/throttle.py): the
"auto" store is checked to use the CRT without a limit and botocore with one. Durations are measured
around the store's own bulk calls; the benchmark (benchmarks/bandwidth.py) measures 20 MiB and 5 s windows.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from projectdesk.core.bandwidth import KIB, BandwidthLimits
from projectdesk.core.errors import Cancelled
from projectdesk.core.models import Progress
from projectdesk.storage.repository import UploadItem
from projectdesk.storage.s3 import S3Repository
from projectdesk.storage.s3client import Credentials, make_client
from projectdesk.storage.throttle import BANDWIDTH, DOWN, UP
from tests.conftest import seaweed_repo
from tests.servers.seaweedfs import SeaweedServer

MIB = KIB * KIB
SIZE = 6 * MIB
RATE = 2 * MIB  # 6 MiB at 2 MiB/s: 3 s


@pytest.fixture(autouse=True)
def unlimited_after() -> Iterator[None]:
    yield
    BANDWIDTH.resume()
    BANDWIDTH.set_limits(BandwidthLimits())


def _repo(seaweed: SeaweedServer, engine: str) -> S3Repository:
    bucket = f"pd-bw-{os.urandom(6).hex()}"
    seaweed.create_bucket(bucket)
    return seaweed_repo(seaweed, bucket, transfer_engine=engine)


def _file(folder: Path, name: str, size: int) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = folder / name
    path.write_bytes(data)
    return path, data


@pytest.mark.parametrize("engine", ["auto", "boto3"])
def test_upload_and_download_take_the_limits_time(seaweed: SeaweedServer, tmp_path: Path, engine: str) -> None:
    repo = _repo(seaweed, engine)
    assert (repo._crt(UP) is not None) == (engine == "auto")  # the CRT carries this store's transfers …
    BANDWIDTH.set_limits(BandwidthLimits(RATE, RATE))
    assert repo._crt(UP) is None and repo._crt(DOWN) is None  # … but not while a limit is set
    path, data = _file(tmp_path, "big.bin", SIZE)

    before = BANDWIDTH.moved[UP]
    started = time.monotonic()
    seen: list[Progress] = []
    report = repo.upload_tree("p", [UploadItem("big.bin", path, SIZE)], project_name="p", progress=seen.append)
    up_seconds = time.monotonic() - started
    assert not report.failed
    assert BANDWIDTH.moved[UP] - before == SIZE  # the body as sent, not the reads that signed it

    before = BANDWIDTH.moved[DOWN]
    started = time.monotonic()
    down_seen: list[Progress] = []
    down = repo.download_tree("p", tmp_path / "out", progress=down_seen.append)
    down_seconds = time.monotonic() - started
    assert not down.failed
    assert (tmp_path / "out" / "big.bin").read_bytes() == data
    assert BANDWIDTH.moved[DOWN] - before == SIZE

    for progress in (seen, down_seen):  # the file's bytes show before it ends (a row's speed and time left)
        assert len([p for p in progress if p.files_done == 0 and 0 < p.bytes_done < SIZE]) >= 10
        assert progress[-1].bytes_done == SIZE
    expected = SIZE / RATE
    assert expected * 0.9 <= up_seconds <= expected * 1.1, f"upload took {up_seconds:.2f} s, expected {expected} s"
    assert expected * 0.9 <= down_seconds <= expected * 1.1, f"download took {down_seconds:.2f} s"


class IdleDropProxy:
    """A TCP relay to the server that resets a connection idle for `idle` seconds, as servers and
    middleboxes drop connections that stop moving (a paused transfer's)."""

    def __init__(self, upstream: tuple[str, int], idle: float) -> None:
        self.upstream = upstream
        self.idle = idle
        self.drops = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopped = False
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._relay, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _relay(self, client: socket.socket) -> None:
        server = socket.create_connection(self.upstream)
        peers = {client: server, server: client}
        try:
            while not self._stopped:
                ready, _, _ = select.select(list(peers), [], [], self.idle)
                if not ready:
                    self.drops += 1
                    break
                for sock in ready:
                    data = sock.recv(256 * 1024)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            for sock in (client, server):
                with contextlib.suppress(OSError):  # a reset, not a clean close: as a dropped connection
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()

    def stop(self) -> None:
        self._stopped = True
        self._listener.close()
        self._accepter.join(5)
        for thread in self._threads:
            thread.join(5)


def _moved_while_paused(direction: str, start_after: int, pause_for: float, run: Callable[[], object]) -> int:
    """Run `run` on a thread; once `start_after` bytes moved in `direction`, pause for `pause_for` seconds and
    resume. Returns how many bytes moved while paused; re-raises what `run` raised."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            run()
        except BaseException as exc:
            failure.append(exc)

    base = BANDWIDTH.moved[direction]
    thread = threading.Thread(target=target)
    thread.start()
    _wait_until(lambda: BANDWIDTH.moved[direction] - base >= start_after or not thread.is_alive(), 30)
    BANDWIDTH.pause()
    at_pause = BANDWIDTH.moved[direction]
    paused_until = time.monotonic() + pause_for
    while (left := paused_until - time.monotonic()) > 0:
        thread.join(left)  # does not end while paused (asserted below)
    assert thread.is_alive(), "the transfer ended while paused"
    moved = BANDWIDTH.moved[direction] - at_pause
    BANDWIDTH.resume()
    thread.join(60)
    assert not thread.is_alive()
    if failure:
        raise failure[0]
    return moved


def _wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


PAUSE_SIZE = 17 * MIB  # above the multipart threshold: parts on the upload side, one stream down
PAUSE_RATE = 32 * MIB  # the whole transfer takes ≈0.5 s; it is paused for longer than that


@pytest.mark.parametrize("drop", [False, True], ids=["connection-kept", "connection-dropped"])
def test_pause_moves_nothing_and_resume_completes(seaweed: SeaweedServer, tmp_path: Path, drop: bool) -> None:
    """Paused longer than the transfer takes, and than the client's read timeout: no byte moves; after resume the
    file is whole, each byte sent once (the pause cost no retry). With `drop`, the connection is reset while
    paused (idle 0.5 s): the request is made again and the file still lands whole."""
    bucket = f"pd-bw-{os.urandom(6).hex()}"
    seaweed.create_bucket(bucket)
    proxy = IdleDropProxy(("127.0.0.1", int(seaweed.endpoint_url.rsplit(":", 1)[1])), 0.5) if drop else None
    try:
        endpoint = proxy.url if proxy is not None else seaweed.endpoint_url
        client = make_client(
            endpoint_url=endpoint,
            region=seaweed.region,
            credentials=Credentials(seaweed.access_key, seaweed.secret_key),
            path_style=True,
            read_timeout=1.0,  # shorter than the pause: a pause must not run into it
        )
        repo = S3Repository(client, bucket, endpoint=endpoint, transfer_engine="boto3")
        BANDWIDTH.set_limits(BandwidthLimits(PAUSE_RATE, PAUSE_RATE))
        path, data = _file(tmp_path, "big.bin", PAUSE_SIZE)
        pause_for = max(PAUSE_SIZE / PAUSE_RATE, 1.0) + 0.3  # longer than the transfer and the read timeout
        before = dict(BANDWIDTH.moved)

        def upload() -> None:
            report = repo.upload_tree("p", [UploadItem("big.bin", path, PAUSE_SIZE)], project_name="p")
            assert not report.failed, report.failed

        assert _moved_while_paused(UP, 4 * MIB, pause_for, upload) == 0

        def download() -> None:
            report = repo.download_tree("p", tmp_path / "out")
            assert not report.failed, report.failed

        assert _moved_while_paused(DOWN, 4 * MIB, pause_for, download) == 0
        assert (tmp_path / "out" / "big.bin").read_bytes() == data
        assert seaweed.client().get_object(Bucket=bucket, Key="projects/anonymous/p/big.bin")["Body"].read() == data
        if proxy is not None:
            assert proxy.drops >= 2  # both paused requests lost their connection
        else:
            assert BANDWIDTH.moved[UP] - before[UP] == PAUSE_SIZE  # no part sent twice
            assert BANDWIDTH.moved[DOWN] - before[DOWN] == PAUSE_SIZE  # no read timed out and started again
        assert not seaweed.client().list_multipart_uploads(Bucket=bucket).get("Uploads")
    finally:
        if proxy is not None:
            proxy.stop()


def test_a_transfer_cancelled_while_paused_stops(seaweed: SeaweedServer, tmp_path: Path) -> None:
    repo = _repo(seaweed, "boto3")
    path, _ = _file(tmp_path, "a.bin", 64 * KIB)
    cancel = threading.Event()
    BANDWIDTH.pause()
    outcome: list[BaseException] = []

    def upload() -> None:
        try:
            repo.upload_tree("p", [UploadItem("a.bin", path, 64 * KIB)], project_name="p", cancel=cancel)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=upload)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # held by the pause
    cancel.set()
    thread.join(5)
    assert not thread.is_alive()
    assert outcome and isinstance(outcome[0], Cancelled)
    assert not repo.list_files("p")


@pytest.mark.parametrize("engine", ["auto", "boto3"])
def test_no_file_starts_while_paused(seaweed: SeaweedServer, tmp_path: Path, engine: str) -> None:
    """Small files are sent whole (the CRT cannot stop mid-file; botocore's small bodies are plain bytes): a
    pause holds back every file not yet started, and resume sends them."""
    repo = _repo(seaweed, engine)
    assert (repo._crt(UP) is not None) == (engine == "auto")
    items = []
    for number in range(5):
        path, _ = _file(tmp_path, f"f{number}.txt", 1000)
        items.append(UploadItem(path.name, path, 1000))
    BANDWIDTH.pause()
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(repo.upload_tree("p", items, project_name="p")))
    thread.start()
    thread.join(0.5)
    assert thread.is_alive() and not repo.list_files("p")
    BANDWIDTH.resume()
    thread.join(30)
    assert sorted(entry.path for entry in repo.list_files("p")) == sorted(item.path for item in items)


def test_a_large_manifest_reads_whole_under_a_limit(seaweed: SeaweedServer) -> None:
    """Bodies read with a size (a manifest's bounded read) come whole, however small the limit's chunks."""
    repo = _repo(seaweed, "boto3")
    BANDWIDTH.set_limits(BandwidthLimits(64 * MIB, 64 * MIB))
    data = os.urandom(300 * KIB)
    etag = repo.write_manifest_bytes("p", data, "p")
    assert repo.read_manifest_versioned("p") == (data, etag)
