"""The token bucket with a fake clock (rate over windows, burst bound), `--bwlimit` parsing, and the throttled
bodies' charging and pause gate without a network."""

from __future__ import annotations

import io
import threading

import pytest

from projectdesk.core.bandwidth import (
    KIB,
    BandwidthLimits,
    TokenBucket,
    burst_for,
    chunk_for,
    parse_bwlimit,
    rate_label,
    rate_option,
)
from projectdesk.core.errors import Cancelled, InvalidInput
from projectdesk.storage.throttle import DOWN, UP, Bandwidth, ThrottledBody, ThrottledStream, transfer_scope

MIB = KIB * KIB


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _send(bandwidth: Bandwidth, clock: FakeClock, total: int, chunk: int) -> list[tuple[float, int]]:
    """Charge `total` bytes in `chunk`s; returns (time the chunk may go, bytes) per chunk."""
    sent = []
    for _ in range(total // chunk):
        bandwidth.charge(UP, chunk)
        sent.append((clock.now, chunk))
    return sent


@pytest.mark.parametrize("rate", [100 * KIB, 2 * MIB, 40 * MIB])
def test_rate_over_every_5_second_window_is_within_10_percent(rate: int) -> None:
    clock = FakeClock()
    bandwidth = Bandwidth(clock, clock.sleep)
    bandwidth.set_limits(BandwidthLimits(rate, 0))
    sent = _send(bandwidth, clock, rate * 30, chunk_for(rate))
    start, end = sent[0][0], sent[-1][0]
    assert end - start == pytest.approx(30, rel=0.01)
    step = 0.25
    window_start = start
    windows = 0
    while window_start + 5 <= end:
        moved = sum(count for when, count in sent if window_start <= when < window_start + 5)
        assert moved == pytest.approx(rate * 5, rel=0.10), f"window at {window_start - start:.2f} s: {moved}"
        window_start += step
        windows += 1
    assert windows > 90


def test_after_idle_the_burst_is_bounded() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1000, 100, clock)
    clock.now += 3600  # an hour idle saves no more than the burst
    assert bucket.reserve(100) == 0
    assert bucket.reserve(50) == pytest.approx(0.05)  # 50 bytes of debt at 1000 B/s
    clock.now += 0.05
    assert bucket.reserve(1000) == pytest.approx(1.0)


def test_any_window_moves_at_most_burst_plus_rate_times_its_length() -> None:
    clock = FakeClock()
    bandwidth = Bandwidth(clock, clock.sleep)
    rate = 2 * MIB
    bandwidth.set_limits(BandwidthLimits(rate, rate))
    sent = _send(bandwidth, clock, 10 * MIB, 7 * KIB)  # chunks that do not divide the burst
    for i, (first, _) in enumerate(sent):
        for length in (0.05, 0.5, 2.0):
            moved = sum(count for when, count in sent[i:] if when <= first + length)
            assert moved <= burst_for(rate) + rate * length + 7 * KIB


def test_a_new_rate_applies_from_now() -> None:
    clock = FakeClock()
    bandwidth = Bandwidth(clock, clock.sleep)
    bandwidth.set_limits(BandwidthLimits(1 * MIB, 0))
    _send(bandwidth, clock, 2 * MIB, 32 * KIB)
    bandwidth.set_limits(BandwidthLimits(4 * MIB, 0))
    started = clock.now
    _send(bandwidth, clock, 8 * MIB, 64 * KIB)
    assert clock.now - started == pytest.approx(2.0, rel=0.05)
    bandwidth.set_limits(BandwidthLimits())
    started = clock.now
    _send(bandwidth, clock, 100 * MIB, MIB)
    assert clock.now == started  # unlimited: no waits


@pytest.mark.parametrize(
    ("text", "limits"),
    [
        ("2M", BandwidthLimits(2 * MIB, 2 * MIB)),
        ("512k:4M", BandwidthLimits(512 * KIB, 4 * MIB)),
        ("100", BandwidthLimits(100 * KIB, 100 * KIB)),
        ("off", BandwidthLimits()),
        ("0:1G", BandwidthLimits(0, 1024 * MIB)),
        ("1.5M:off", BandwidthLimits(int(1.5 * MIB), 0)),
        ("800B", BandwidthLimits(800, 800)),
        ("2MiB/s", BandwidthLimits(2 * MIB, 2 * MIB)),
    ],
)
def test_bwlimit_values(text: str, limits: BandwidthLimits) -> None:
    assert parse_bwlimit(text) == limits


@pytest.mark.parametrize("text", ["fast", "2X", "1:2:3", "-5", "2 M M", "1e9", "0.5B"])
def test_bad_bwlimit_values_say_so_in_one_sentence(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_bwlimit(text)
    message = caught.value.message
    assert text.split(":")[0] in message or text in message
    assert message.count(". ") == 0 and message.endswith(".") and "\n" not in message


def test_limits_round_trip_and_labels() -> None:
    assert BandwidthLimits(2 * MIB, 512 * KIB).text() == "2M:512K"
    assert BandwidthLimits(2 * MIB, 2 * MIB).text() == "2M"
    assert BandwidthLimits().text() == "off"
    assert parse_bwlimit(BandwidthLimits(1536 * KIB, 100).text()) == BandwidthLimits(1536 * KIB, 100)
    assert BandwidthLimits.from_kibps(2048, 0) == BandwidthLimits(2 * MIB, 0)
    assert BandwidthLimits(2 * MIB, 100).kibps() == (2048, 1)  # never rounded down to 0 (= no limit)
    assert rate_label(2 * MIB) == "2 MiB/s"
    assert rate_label(1536 * KIB) == "1.5 MiB/s"
    assert rate_label(512 * KIB) == "512 KiB/s"
    assert rate_option(0) == "off"


def test_throttled_body_charges_only_what_is_sent_after_arming() -> None:
    clock = FakeClock()
    bandwidth = Bandwidth(clock, clock.sleep)
    bandwidth.set_limits(BandwidthLimits(1 * MIB, 0))
    data = bytes(range(256)) * 4096  # 1 MiB
    body = ThrottledBody(io.BytesIO(b"head" + data), len(data), start=4, bandwidth=bandwidth)
    assert len(body) == len(data)
    assert body.read() == data  # as a signer reads it: not charged
    body.seek(0)
    assert bandwidth.moved[UP] == 0 and clock.now == 1000.0
    body.arm()
    received = b"".join(iter(lambda: body.read(16 * KIB), b""))
    assert received == data
    assert bandwidth.moved[UP] == len(data)
    assert clock.now - 1000.0 == pytest.approx((len(data) - burst_for(MIB)) / MIB, rel=0.02)
    body.seek(0)  # a retry rewinds: disarmed until sent again
    body.read(1000)
    assert bandwidth.moved[UP] == len(data)


def test_throttled_stream_reads_in_chunks_and_pauses_inside_a_transfer_only() -> None:
    bandwidth = Bandwidth()
    bandwidth.set_limits(BandwidthLimits(0, 40 * MIB))
    stream = ThrottledStream(io.BytesIO(b"x" * (3 * MIB)), bandwidth)
    assert len(stream.read(MIB)) == MIB  # whole, as botocore's body reads (charged chunk by chunk)
    assert bandwidth.moved[DOWN] == MIB
    bandwidth.pause()
    assert len(stream.read()) == 2 * MIB  # not a transfer's: never paused
    assert bandwidth.moved[DOWN] == 3 * MIB
    cancel = threading.Event()
    outcome: list[BaseException] = []
    stream = ThrottledStream(io.BytesIO(b"y" * MIB), bandwidth)

    def read() -> None:
        with transfer_scope(cancel):
            try:
                stream.read(10)
            except BaseException as exc:
                outcome.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    thread.join(0.3)
    assert thread.is_alive() and bandwidth.moved[DOWN] == 3 * MIB  # held by the pause, nothing charged
    cancel.set()
    thread.join(5)
    assert isinstance(outcome[0], Cancelled)
