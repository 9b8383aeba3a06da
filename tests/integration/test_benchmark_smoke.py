"""The transfer benchmark keeps working: its smoke variant (200 files, one round) runs end to end.

No timing is asserted (the machine may be busy); only that every tool ran, the pulls were complete
(the benchmark checks file counts and sizes itself) and the table was printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.seaweedfs


def test_benchmark_smoke_prints_the_table(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.transfer", "--smoke", "--no-install", "--work", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "| operation" in out and "× s5cmd" in out
    rows = ("push 203 files", "pull 203 files", "upload 8 MB file", "download 8 MB file", "re-push, 10 of 203",
            "sync, nothing changed (203 files)")  # fmt: skip
    for row in rows:
        assert f"| {row}" in out, row
    for tool in ("s5cmd", "projectdesk-cli", "ProjectService"):
        assert f"| {tool} " in out, tool
    projectdesk_rows = [line for line in out.splitlines() if line.startswith("|") and "| ProjectService " in line]
    assert len(projectdesk_rows) == 6 and all("not run" not in line for line in projectdesk_rows)
    assert not list(tmp_path.iterdir()), "the benchmark left its working folder behind"


def test_watch_benchmark_quick_prints_its_tables(tmp_path: Path) -> None:
    """benchmarks/watch.py end to end, as small as it goes (no figure asserted: the machine may be busy)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["--quick", "--small", "--saves", "3", "--server-changes", "2", "--idle", "2", "--no-install",
            "--work", str(tmp_path)]  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "benchmarks.watch", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    rows = ("| local save → on the server (3 saves)", "| server change → in the folder (2,", "| CPU while idle",
            "| resident memory (VmRSS at the end)", "| projectdesk-cli sync (one round)")  # fmt: skip
    for row in rows:
        assert row in out, row
    assert not list(tmp_path.iterdir()), "the benchmark left its working folder behind"


def test_projects_benchmark_small_prints_its_figures(tmp_path: Path) -> None:
    """benchmarks/projects.py with 50 projects of each kind, one round (no figure asserted: the machine may be
    busy); it checks itself that every listing names all the projects."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "benchmarks.projects", "--count", "50", "--rounds", "1",
                             "--work", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for row in ("first listing, no catalog yet", "pd  list, cold", "pd  list, nothing changed", "web list, cold",
                "web list, nothing changed", "× s5cmd ls + cp", "× s5cmd ls"):  # fmt: skip
        assert row in out, row
    assert not list(tmp_path.iterdir()), "the benchmark left its working folder behind"
