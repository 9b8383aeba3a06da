"""Start-up: ProjectDesk's window against a bare PySide6 QMainWindow from the same venv, under Xvfb.

    .venv/bin/python -m benchmarks.startup              # 10 interleaved launches of each
    .venv/bin/python -m benchmarks.startup --rounds 20

Each launch is a fresh interpreter, timed from just before it is started to the first paint of its main window
(the child prints when the window receives its first Paint event and quits). Ours is the app's own path —
`create_application`, the qasync loop, `create_window` on the data directories of a first run — and a bare
QMainWindow is the floor any PySide6 app pays. A third kind, "floor", is the bare QMainWindow that also loads
asyncio and qasync and touches every Qt class the window's modules import (PySide builds a class's Python enums on
its first use): what a window like ours pays before a line of our own runs. Printed: the medians and ratios (goal
≤ 2×, on the way to 1.5×), and where ours spends its time (`-X importtime` of one launch, largest imports).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.transfer import load, machine

PAINTED = textwrap.dedent(
    """
    from PySide6.QtCore import QEvent, QObject

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint:
                print("painted", flush=True)
                import os
                os._exit(0)
            return False
    """
)
BARE = PAINTED + textwrap.dedent(
    """
    import sys
    from PySide6.QtWidgets import QApplication, QMainWindow
    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.resize(1200, 800)
    spy = FirstPaint()
    window.installEventFilter(spy)
    window.show()
    app.exec()
    """
)
OURS = PAINTED + textwrap.dedent(
    """
    import asyncio
    import qasync
    from projectdesk.app import create_application, create_window
    from projectdesk.config.paths import Paths
    app = create_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = create_window(Paths.default())
    spy = FirstPaint()
    window.installEventFilter(spy)
    window.show()
    with loop:
        loop.run_forever()
    """
)


# What any window like ours pays before a line of our own runs: asyncio and qasync (the window's event loop), and
# the first use of each Qt class our window's modules name (PySide builds a class's Python enums on first access:
# the `Qt` namespace alone takes ~45 ms). The names are collected from the modules the window imports.
QT_NAMES = textwrap.dedent(
    """
    import ast, json, sys
    import PySide6.QtCore, asyncio, qasync
    before = set(sys.modules)
    import projectdesk.app, projectdesk.ui.main_window
    names = {}
    for name in sorted(set(sys.modules) - before):
        module = sys.modules[name]
        if name.startswith("projectdesk") and getattr(module, "__file__", None):
            for node in ast.parse(open(module.__file__).read()).body:
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("PySide6"):
                    names.setdefault(node.module, set()).update(a.name for a in node.names)
    print(json.dumps({k: sorted(v) for k, v in names.items()}))
    """
)
FLOOR = PAINTED + textwrap.dedent(
    """
    import asyncio, importlib, json, os, sys
    import qasync
    from PySide6.QtWidgets import QApplication, QMainWindow
    for module, names in json.loads(os.environ["PD_QT_NAMES"]).items():
        loaded = importlib.import_module(module)
        for name in names:
            getattr(loaded, name)
    app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = QMainWindow()
    window.resize(1200, 800)
    spy = FirstPaint()
    window.installEventFilter(spy)
    window.show()
    with loop:
        loop.run_forever()
    """
)


def launch(script: str, env: dict[str, str], extra: list[str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *(extra or []), "-c", script],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    seconds = time.perf_counter() - started
    _, err = proc.communicate(timeout=60)
    if line.strip() != "painted":
        raise RuntimeError(f"the window never painted: {err[-2000:]}")
    return seconds, err


def largest_imports(stderr: str, count: int = 12) -> list[str]:
    rows = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name.rstrip()))
    top = [r for r in rows if not r[1].startswith("  ")]  # top-level imports: what the script itself asked for
    return [f"  {us / 1000:7.1f} ms  {name.strip()}" for us, name in sorted(top, reverse=True)[:count]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from screenshots import start_xvfb

    servers = start_xvfb()
    print(machine())
    print(f"load before: {load()}")
    try:
        with tempfile.TemporaryDirectory(prefix="pd-startup-") as tmp:
            env = {
                **os.environ,
                "XDG_CONFIG_HOME": f"{tmp}/config",
                "XDG_DATA_HOME": f"{tmp}/data",
                "XDG_CACHE_HOME": f"{tmp}/cache",
            }
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            launch(BARE, env)  # bytecode compiled and the page cache warm for both
            launch(OURS, env)
            names = (
                subprocess.run(
                    [sys.executable, "-c", QT_NAMES], env=env, capture_output=True, text=True, check=True, timeout=120
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            env["PD_QT_NAMES"] = names
            times: dict[str, list[float]] = {"bare QMainWindow": [], "floor": [], "ProjectDesk": []}
            for r in range(args.rounds):
                order = [("bare QMainWindow", BARE), ("floor", FLOOR), ("ProjectDesk", OURS)]
                for name, script in order if r % 2 == 0 else order[::-1]:
                    times[name].append(launch(script, env)[0])
            _, profile = launch(OURS, env, ["-X", "importtime"])
    finally:
        for server in servers:
            server.terminate()
    bare, ours = (statistics.median(times[k]) for k in ("bare QMainWindow", "ProjectDesk"))
    print(f"launch to first paint, median of {args.rounds} interleaved launches under Xvfb:")
    for name, samples in times.items():
        print(f"  {name:17s} {statistics.median(samples):.3f} s  (min {min(samples):.3f}, max {max(samples):.3f})")
    floor = statistics.median(times["floor"])
    print(f"  ProjectDesk = {ours / bare:.2f}× a bare QMainWindow (goal ≤ 2×, aiming at 1.5×)")
    print(
        f"  floor = {floor / bare:.2f}× bare: a bare QMainWindow that also loads asyncio, qasync and the "
        f"{sum(len(v) for v in json.loads(names).values())} Qt classes our window's modules name; "
        f"ProjectDesk = floor + {ours - floor:.3f} s (our modules, building the window)"
    )
    print("largest imports of one launch of ours (cumulative):")
    print("\n".join(largest_imports(profile)))
    print(f"load after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
