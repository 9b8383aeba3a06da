"""Bandwidth limit benchmark (issue #17): one 20 MiB file up and down at 2 MiB/s on SeaweedFS, each way on
the CRT store ("auto": the CRT carries unlimited transfers, botocore limited ones) and on botocore's,
against the same transfers unlimited in the same run.

    .venv/bin/python -m benchmarks.bandwidth                  # 20 MiB at 2M: ≈ 10 s per limited transfer
    .venv/bin/python -m benchmarks.bandwidth --size 6 --limit 2M

Printed per transfer: the unlimited time, the limited time against size / limit, and the rate over every
sliding 5 s window of the limited transfer (the bytes charged to the bucket, sampled every 20 ms; windows
start every 0.1 s), lowest and highest, as a ratio to the limit. The goal is each window within ±10 %.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WINDOW = 5.0
SAMPLE = 0.02
STEP = 0.1
MIB = 1024 * 1024


@contextlib.contextmanager
def _seaweed(work: Path) -> Iterator[Any]:
    sys.path.insert(0, str(ROOT))
    from tests.servers.seaweedfs import SeaweedServer

    (work / "weed").mkdir()
    server = SeaweedServer(work / "weed", readonly_identity=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Sampler:
    """(time, bytes charged in `direction`) every SAMPLE seconds while running."""

    def __init__(self, direction: str) -> None:
        from projectdesk.storage.throttle import BANDWIDTH

        self._moved = BANDWIDTH.moved
        self._direction = direction
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), self._moved[self._direction]))
            self._stop.wait(SAMPLE)
        self.samples.append((time.monotonic(), self._moved[self._direction]))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def window_rates(self) -> list[float]:
        """Bytes per second over every WINDOW-second span from the first byte to the last, starting every STEP."""
        moving = [(t, b) for t, b in self.samples]
        base = moving[0][1]
        first = next((t for t, b in moving if b > base), moving[0][0])
        last = next((t for t, b in reversed(moving) if b < moving[-1][1]), moving[-1][0])
        rates = []
        start = first
        while start + WINDOW <= last + SAMPLE:
            rates.append((_at(moving, start + WINDOW) - _at(moving, start)) / WINDOW)
            start += STEP
        return rates


def _at(samples: Sequence[tuple[float, int]], when: float) -> float:
    """Bytes charged by `when` (linear between samples)."""
    for (t0, b0), (t1, b1) in itertools.pairwise(samples):
        if t0 <= when <= t1:
            return b0 + (b1 - b0) * ((when - t0) / (t1 - t0) if t1 > t0 else 1.0)
    return float(samples[-1][1] if when > samples[-1][0] else samples[0][1])


def _timed(repo: Any, direction: str, slug: str, items: list[Any], dest: Path) -> float:
    """Seconds to upload `items` as project `slug` (UP), or to download project `slug` into `dest` (DOWN)."""
    started = time.monotonic()
    up = direction == "up"
    report = repo.upload_tree(slug, items, project_name=slug) if up else repo.download_tree(slug, dest)
    if report.failed:
        raise SystemExit(f"{direction} of {slug} failed: {report.failed[0][1]}")
    return time.monotonic() - started


def run(size: int, limit_text: str, work: Path) -> int:
    from projectdesk.core.bandwidth import BandwidthLimits, parse_bwlimit, rate_label
    from projectdesk.storage.repository import UploadItem
    from projectdesk.storage.s3 import S3Repository
    from projectdesk.storage.s3client import Credentials, make_client
    from projectdesk.storage.throttle import BANDWIDTH, DOWN, UP

    limits = parse_bwlimit(limit_text)
    if not limits.up or not limits.down:
        raise SystemExit("give a limit both ways, e.g. --limit 2M")
    source = work / "big.bin"
    data = os.urandom(size)
    source.write_bytes(data)
    rows: list[list[str]] = []
    failures = 0
    with _seaweed(work) as server:
        for engine in ("auto", "boto3"):
            bucket = f"bw-{engine}"
            server.create_bucket(bucket)
            client = make_client(endpoint_url=server.endpoint_url, region=server.region, path_style=True,
                                 credentials=Credentials(server.access_key, server.secret_key))  # fmt: skip
            repo = S3Repository(client, bucket, endpoint=server.endpoint_url, transfer_engine=engine)
            carrier = "CRT" if repo._crt(UP) is not None else "botocore"
            item = [UploadItem("big.bin", source, size)]
            for direction, label in ((UP, "upload"), (DOWN, "download")):
                BANDWIDTH.set_limits(BandwidthLimits())
                slug = f"free-{direction}"
                repo.upload_tree(slug, item, project_name=slug)
                free = _timed(repo, direction, "free-again" if direction == UP else slug, item, work / f"free-{engine}")
                BANDWIDTH.set_limits(limits)
                rate = limits.up if direction == UP else limits.down
                with Sampler(direction) as sampler:
                    limited = _timed(repo, direction, "limited" if direction == UP else slug, item,
                                     work / f"limited-{engine}")  # fmt: skip
                BANDWIDTH.set_limits(BandwidthLimits())
                if direction == DOWN and (work / f"limited-{engine}" / "big.bin").read_bytes() != data:
                    raise SystemExit(f"{engine}: the limited download differs from the file")
                rates = sampler.window_rates()
                low, high = (min(rates) / rate, max(rates) / rate) if rates else (float("nan"), float("nan"))
                ok = bool(rates) and low >= 0.9 and high <= 1.1
                failures += not ok
                expected = size / rate
                rows.append([f"{engine} ({carrier} unlimited)", f"{label} {size / MIB:.0f} MiB", f"{free:.2f} s",
                             f"{limited:.2f} s", f"{limited / expected:.3f}", f"{len(rates)}",
                             f"{low:.3f} – {high:.3f}", "yes" if ok else "NO"])  # fmt: skip
    headers = ["store", "transfer", "unlimited", f"at {rate_label(limits.up)}", "× size/limit",
               "5 s windows", "window rate ÷ limit", "±10 %"]  # fmt: skip
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    print()
    for row in [headers, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; limited transfers go through botocore on both "
          "stores (the CRT cannot be charged per chunk)")  # fmt: skip
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bandwidth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20, help="file size in MiB (default 20)")
    parser.add_argument("--limit", default="2M", help="the limit, as --bwlimit takes it (default 2M)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pd-bw-bench-") as work:
        return run(args.size * MIB, args.limit, Path(work))


if __name__ == "__main__":
    sys.exit(main())
