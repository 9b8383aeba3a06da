"""GUI stalls while the window transfers 2,000 files (issue #18): the longest and the 99th-percentile gap of
a 10 ms QTimer on the GUI thread, against an idle window measured in the same run under the same load.

    .venv/bin/python -m benchmarks.stall                # quiet, then with a busy core; 2 rounds each
    .venv/bin/python -m benchmarks.stall --rounds 1 --loads busy

One SeaweedFS (`weed mini`) on 127.0.0.1 and one real MainWindow (offscreen) on the offline cache, as the
app opens every store. Per round and load, in this order: the idle window for as long as the upload took
last (the floor any Qt app pays on this machine at that moment), the upload of the transfer benchmark's
2,000 small files through the transfers panel (`TransferJobs.push`), their download into a new folder
(`TransferJobs.download`), each twice: in the window's worker process (ui/transfer_process.py: the store is
opened from a profile, as the app does, so the worker can open it too) and on the window's own threads as before
it (`Tasks.use_process` off; 1 ms switch interval while they run). The worker starts at the first
transfer that uses it (its start-up is in that row's time). "busy" runs `sh -c 'while :; do :; done'` beside it
(started and killed here).
The goal is a longest stall ≤ 50 ms; the machine is often shared: read each row against the idle row of the
same load and round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TICK_MS = 10
FILES = 2000


class GapRecorder:
    """Every gap between ticks of a 10 ms precise QTimer on the GUI thread, in seconds, and where the time of
    each went (Linux's /proc/thread-self/schedstat of the GUI thread): running, waiting for a CPU (run queue),
    and the rest beyond the timer's 10 ms — asleep though due, which for a Python thread that the timer has
    woken is waiting for the GIL."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self.parts: list[tuple[float, float, float]] = []  # (cpu, run queue, blocked beyond the interval) per gap
        self._last = time.perf_counter()
        self._stat = self._read()
        self._timer = QTimer()
        self._timer.setInterval(TICK_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    @staticmethod
    def _read() -> tuple[float, float]:
        try:
            with open("/proc/thread-self/schedstat") as handle:
                cpu, queued, _slices = handle.read().split()
            return int(cpu) / 1e9, int(queued) / 1e9
        except (OSError, ValueError):
            return 0.0, 0.0

    def _tick(self) -> None:
        now, stat = time.perf_counter(), self._read()
        gap = now - self._last
        cpu, queued = stat[0] - self._stat[0], stat[1] - self._stat[1]
        self.gaps.append(gap)
        self.parts.append((cpu, queued, max(0.0, gap - TICK_MS / 1000 - cpu - queued)))
        self._last, self._stat = now, stat

    def __enter__(self) -> GapRecorder:
        self._last, self._stat = time.perf_counter(), self._read()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.stop()

    def figures(self) -> tuple[float, float]:
        """(longest, p99) in milliseconds."""
        if not self.gaps:
            return float("nan"), float("nan")
        ordered = sorted(self.gaps)
        return ordered[-1] * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    def split(self) -> tuple[str, str]:
        """The longest gap's parts and the blocked (GIL) time over the whole run, in ms."""
        if not self.gaps:
            return "", ""
        cpu, queued, blocked = self.parts[self.gaps.index(max(self.gaps))]
        total = sum(p[2] for p in self.parts)
        return f"{cpu * 1000:.0f} / {queued * 1000:.0f} / {blocked * 1000:.0f}", f"{total * 1000:.0f}"


@contextlib.contextmanager
def busy_core(on: bool) -> Iterator[None]:
    """Another process keeping one core busy while on."""
    if not on:
        yield
        return
    spinner = subprocess.Popen(["sh", "-c", "while :; do :; done"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


# The same upload by another process (S3Repository.upload_tree, no window, no cache): what the transfer costs the
# window's process when none of its Python runs there (its CPU still competes with the GUI thread for a core).
PEER = """
import sys
from pathlib import Path
from projectdesk.storage.repository import UploadItem
from projectdesk.storage.s3 import S3Repository
from projectdesk.storage.s3client import Credentials, make_client
endpoint, region, key, secret, source, slug = sys.argv[1:]
client = make_client(endpoint_url=endpoint, region=region, path_style=True, credentials=Credentials(key, secret))
root = Path(source)
files = [p for p in sorted(root.rglob("*")) if p.is_file()]
items = [UploadItem(p.relative_to(root).as_posix(), p, p.stat().st_size) for p in files]
result = S3Repository(client, "stall", endpoint=endpoint).upload_tree(slug, items, project_name=slug)
sys.exit(1 if result.failed else 0)
"""


def run(rounds: int, loads: Sequence[str], work: Path) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                     ("XDG_STATE_HOME", "state")):  # fmt: skip
        os.environ[var] = str(work / "xdg" / sub)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    sys.path.insert(0, str(ROOT))
    import qasync
    from PySide6.QtWidgets import QApplication
    from tests.ui.test_stall import generated_project

    from benchmarks.transfer import load, machine, seaweed
    from projectdesk.config.paths import Paths
    from projectdesk.config.profiles import Profile
    from projectdesk.services.offline import open_cached_service
    from projectdesk.storage.s3client import Credentials
    from projectdesk.ui import tasks
    from projectdesk.ui.main_window import MainWindow
    from projectdesk.ui.transfers import DONE, FINISHED

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    source, total = generated_project(work / "bulk")
    rows: list[list[str]] = []
    failures = 0
    with seaweed(work) as server:
        server.create_bucket("stall")
        paths = Paths.default()
        profile = Profile(name="bench", endpoint_url=server.endpoint_url, region=server.region, bucket="stall",
                          path_style=True, credential_source="keyring")  # fmt: skip
        service = open_cached_service(profile, paths, credentials=Credentials(server.access_key, server.secret_key))
        window = MainWindow(paths, lambda _profile: service)
        window.resize(1200, 760)
        window.show()

        async def until(done: Any, timeout: float = 600.0) -> None:
            ends = time.monotonic() + timeout
            while not done():
                if time.monotonic() > ends:
                    raise SystemExit("the window did not finish in time")
                await asyncio.sleep(0.02)

        def row(round_no: int, kind: str, what: str, seconds: float, probe: GapRecorder, base: float) -> None:
            longest, p99 = probe.figures()
            rows.append([str(round_no), kind, what, f"{seconds:.1f} s", f"{longest:.0f}", f"{p99:.0f}",
                         f"{longest / base:.2f}", *probe.split()])  # fmt: skip

        async def measure() -> None:
            nonlocal failures
            await until(lambda: window.service is not None and not window.wait_idle_tasks())
            model = window.transfer_model
            last = 10.0
            for round_no in range(1, rounds + 1):
                for kind in loads:
                    with busy_core(kind == "busy"):
                        await asyncio.sleep(0.5)  # the spinner is running
                        with GapRecorder() as idle:
                            await asyncio.sleep(last)
                        base = idle.figures()[0]
                        row(round_no, kind, "idle window", last, idle, base)
                        slug = f"peer-{round_no}-{kind}"
                        with GapRecorder() as probe:
                            started = time.perf_counter()
                            peer = subprocess.Popen([sys.executable, "-c", PEER, server.endpoint_url, server.region,
                                                     server.access_key, server.secret_key, str(source), slug],
                                                    env={**os.environ, "PYTHONPATH": str(ROOT / "src")})  # fmt: skip
                            await until(lambda peer=peer: peer.poll() is not None)
                            elapsed = time.perf_counter() - started
                        if peer.returncode:
                            raise SystemExit("the upload in another process failed")
                        row(round_no, kind, "upload, another process", elapsed, probe, base)
                        variants = ["threads", "worker"] if round_no % 2 else ["worker", "threads"]
                        for variant in variants:
                            window.tasks.use_process = variant == "worker"
                            slug = f"bulk-{round_no}-{kind}-{variant}"
                            plan = await window.tasks.call(service.plan_push, source, name=slug, slug=slug)
                            for label in ("upload", "download"):
                                before = len(model.transfers())
                                with GapRecorder() as probe:
                                    started = time.perf_counter()
                                    if label == "upload":
                                        window.jobs.push(plan, source, service)
                                    else:
                                        window.jobs.download(slug, work / f"down-{slug}", service)
                                    await until(lambda before=before: len(model.transfers()) > before
                                                and all(t.state in FINISHED for t in model.transfers()))  # fmt: skip
                                    elapsed = time.perf_counter() - started
                                transfer = model.transfers()[-1]
                                if transfer.state != DONE:
                                    raise SystemExit(f"{label} ended {transfer.state}: {transfer.error}")
                                await until(lambda: not window.wait_idle_tasks())
                                if label == "upload":
                                    last = elapsed
                                row(round_no, kind, f"{label} {FILES:,} files, {variant}", elapsed, probe, base)
                                failures += variant == "worker" and probe.figures()[0] > 50
                        window.tasks.use_process = True

        try:
            loop.run_until_complete(measure())
        finally:
            window.force_close()
            window.tasks.shutdown(wait=True)
            loop.close()
    headers = ["round", "load", "what", "time", "longest ms", "p99 ms", "× idle longest",
               "longest: cpu / run queue / GIL ms", "GIL wait ms"]  # fmt: skip
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    print(f"\n{machine()}; {FILES:,} files, {total / 1e6:.1f} MB; worker: the transfers in the window's worker "
          f"process; threads: on the window's threads (switch interval {tasks.TRANSFER_SWITCH_INTERVAL * 1000:g} ms "
          "while they run)")  # fmt: skip
    for line in [headers, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |")
    print(f"\nload average {load()}; goal: longest ≤ 50 ms ({failures} of the worker's above). GIL: the time the GUI "
          "thread slept beyond the timer's 10 ms though due (neither running nor waiting for a CPU)")  # fmt: skip
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stall", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--loads", nargs="+", choices=["quiet", "busy"], default=["quiet", "busy"])
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="pd-stall-bench-"))
    try:
        return run(args.rounds, args.loads, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
