"""How long the GUI thread stalls (a 10 ms QTimer's longest gap) during a 2,000-file upload and download and
while a 10 MB file opens. The figures are printed. A transfer (in the window's worker process) is bounded at
150 ms not counting the time the GUI thread waited for a CPU (other processes on CI's 2 shared cores): what our
own process makes the window wait, our work and the GIL our other threads hold. benchmarks/stall.py measures the
wall-clock figures.

    .venv/bin/pytest tests/ui/test_stall.py -s      # prints the figures
"""

from __future__ import annotations

import gc
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import KIND_LOCAL, Profile
from projectdesk.services.offline import CachedProjectService, open_cached_service
from projectdesk.services.projects import ProjectService
from projectdesk.storage.s3client import Credentials
from projectdesk.ui.dialogs.push_preview import PushPreviewDialog
from tests.conftest import make_tree
from tests.servers.seaweedfs import SeaweedServer
from tests.ui.conftest import StallProbe, drag_drop, wait_for_child

# Seconds. The goal is < 50 ms. Wall-clock gaps include waiting for a CPU or the GIL, which on a busy
# 2-core box (load 4-6 from other work while these were written) reached 430 ms with 15 ms of our own
# work: the wall bound only catches freezes (a network call on the GUI thread costs seconds here); the
# CPU bound catches our code doing too much at once: it caught a quadratic lookup in FolderPlan.to_upload
# (0.36 s of GUI-thread CPU for 2,000 files, once in 10 loaded runs; 20-30 ms since). Both leave room for a
# loaded CI box: the figures themselves are printed and tracked in the closing notes.
WALL_BOUND = 1.5
CPU_BOUND = 0.120
# Seconds: the longest gap less the GUI thread's wait for a CPU, during a 2,000-file transfer: what our process
# makes the window wait (its work, and the GIL held by its other threads). Issue #18's goal is 50 ms. The transfer
# runs in the window's worker process (ui/transfer_process.py; the store is opened from a profile, as the app
# does): the window's process only sends the plan, reads progress and the result and refreshes its views. Measured
# 16-35 ms in 4 transfers at load 2.6-3.6, and 16-96 ms in 8 transfers with a busy core beside them at load 5-10
# on 2 cores. On the window's own threads (before) it was 17-84 ms at load 5-8 and up to 171 ms at load 11-13 with
# a busy core, and the bound that held every time was 250 ms.
OURS_BOUND = 0.150
# Loading 10 MB into a QTextDocument grows its text buffer past 8 M characters once: Qt copies it into
# a new 32 MB buffer in one go (50-130 ms measured here), the only step that cannot be split.
CPU_BOUND_10MB = 0.400
FILES = 2000


def generated_project(root: Path) -> tuple[Path, int]:
    """2,000 files of 0.5–20 KB, nested up to 6 levels (as the transfer benchmark's dataset)."""
    rng = random.Random(2000)
    files: dict[str, bytes] = {}
    for i in range(FILES):
        depth = rng.randint(0, 6)
        folder = "/".join(f"d{rng.randint(0, 4)}" for _ in range(depth))
        files[f"{folder}/f{i:04d}.txt" if folder else f"f{i:04d}.txt"] = rng.randbytes(rng.randint(500, 20_000))
    return make_tree(root, files), sum(len(d) for d in files.values())


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n[stall probe] {line}", end="")


def opened_store(kind: str, request: pytest.FixtureRequest, paths: Paths) -> CachedProjectService:
    """The store opened from a profile, as the app opens it: its transfers run in the window's worker process."""
    if kind == "local":
        return open_cached_service(Profile(name="local", kind=KIND_LOCAL), paths)
    server: SeaweedServer = request.getfixturevalue("seaweed")
    bucket = f"stall-{os.urandom(6).hex()}"
    server.create_bucket(bucket)
    profile = Profile(name="weed", endpoint_url=server.endpoint_url, region=server.region, bucket=bucket,
                      path_style=True, credential_source="keyring")  # fmt: skip
    return open_cached_service(profile, paths, credentials=Credentials(server.access_key, server.secret_key))


# Not moto: its in-process server runs 32 threads of Python beside the GUI thread and takes the GIL
# (stalls of 0.3–1 s measured here), which says nothing about the window; SeaweedFS runs in its own process.
@pytest.mark.parametrize("kind", ["local", "seaweedfs"])
def test_upload_and_download_of_2000_files_do_not_stall_the_window(
    kind: str,
    request: pytest.FixtureRequest,
    isolated_dirs: Paths,
    make_window: Any,
    tmp_path: Path,
    qtbot: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    h = make_window(opened_store(kind, request, isolated_dirs))
    switch_interval = sys.getswitchinterval()
    frozen = gc.get_freeze_count()
    assert frozen > 0  # the objects alive once the store opened: a full collection does not scan them
    source, total = generated_project(tmp_path / "bulk")
    assert drag_drop(h.window.project_view.viewport(), [source])
    dialog = wait_for_child(qtbot, h.window, PushPreviewDialog, timeout=60000)
    with StallProbe() as probe:
        started = time.perf_counter()
        dialog.upload_button.click()
        qtbot.waitUntil(lambda: h.window.transfer_model.rowCount() == 1)
        h.wait_transfers(timeout=180000)
        elapsed = time.perf_counter() - started
    [transfer] = h.window.transfer_model.transfers()
    assert transfer.state == "done", transfer.error
    assert transfer.files_done == FILES
    report(
        capsys,
        f"{kind}: {FILES} files ({total / 1e6:.1f} MB) uploaded in {elapsed:.2f} s, {probe}",
    )
    process = h.window.tasks.transfer_process()
    assert process is not None and process.last_pid not in (0, os.getpid())  # it ran in the worker
    assert probe.longest < WALL_BOUND and probe.longest_cpu < CPU_BOUND
    assert probe.longest_ours < OURS_BOUND, str(probe)
    assert sys.getswitchinterval() == switch_interval  # given back once no transfer runs
    assert gc.get_freeze_count() > frozen // 2  # a transfer unfreezes nothing (frozen objects may still be freed)

    dest = tmp_path / "down"
    with StallProbe() as probe:
        started = time.perf_counter()
        h.window.jobs.download(transfer.slug, dest, h.window.service)
        h.wait_transfers(timeout=180000)
        elapsed = time.perf_counter() - started
    download = h.window.transfer_model.transfers()[-1]
    assert download.state == "done", download.error
    assert download.files_done == FILES
    assert sum(1 for p in dest.rglob("*") if p.is_file() and not p.name.startswith(".")) >= FILES
    report(capsys, f"{kind}: {FILES} files downloaded in {elapsed:.2f} s, {probe}")
    assert probe.longest < WALL_BOUND and probe.longest_cpu < CPU_BOUND
    assert probe.longest_ours < OURS_BOUND, str(probe)


def test_opening_a_10_mb_file_does_not_stall_the_window(
    make_window: Any, tmp_path: Path, qtbot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from projectdesk.storage.local import LocalRepository

    service = ProjectService(LocalRepository(tmp_path / "store"))
    line = "def handler_{:06d}(request):  # a line of a generated module, about eighty bytes long\n"
    text = "".join(line.format(i) for i in range(112_000))
    data = text.encode()[:9_990_000]
    data = data[: data.rfind(b"\n") + 1]
    plan = service.plan_push(make_tree(tmp_path / "p", {"small.py": b"x = 1\n", "big/generated.py": data}), name="Big")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    with StallProbe() as probe:
        started = time.perf_counter()
        task = h.window.editing.open_file("big/generated.py")
        assert task is not None
        qtbot.waitUntil(task.done, timeout=60000)
        elapsed = time.perf_counter() - started
        qtbot.wait(100)
    page = h.window.editor_area.current()
    assert page.loaded and page.highlighter is None and "highlighting is off" in page.note.text()
    assert page.editor.document().blockCount() == data.count(b"\n") + 1
    assert page.data_to_save() == data
    report(
        capsys,
        f"10 MB file ({len(data) / 1e6:.1f} MB, {page.editor.document().blockCount():,} lines) opened in "
        f"{elapsed:.2f} s, {probe}",
    )
    assert probe.longest < WALL_BOUND and probe.longest_cpu < CPU_BOUND_10MB


def test_opening_a_highlighted_500_kb_file_does_not_stall_the_window(
    make_window: Any, tmp_path: Path, qtbot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from projectdesk.storage.local import LocalRepository

    service = ProjectService(LocalRepository(tmp_path / "store"))
    module = Path(__file__).read_bytes()
    data = module * (500_000 // len(module) + 1)
    plan = service.plan_push(make_tree(tmp_path / "p", {"mod.py": data}), name="Mid")
    service.push(plan)
    h = make_window(service)
    h.open_project(plan.slug)
    with StallProbe() as probe:
        started = time.perf_counter()
        page = h.open_file("mod.py")
        opened = time.perf_counter() - started
        qtbot.waitUntil(lambda: page.highlighter.is_complete(), timeout=60000)
        highlighted = time.perf_counter() - started
    report(
        capsys,
        f"{len(data) / 1e3:.0f} KB Python file opened in {opened:.2f} s, fully highlighted in "
        f"{highlighted:.2f} s, {probe}",
    )
    assert probe.longest < WALL_BOUND and probe.longest_cpu < CPU_BOUND
