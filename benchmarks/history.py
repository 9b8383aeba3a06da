"""File history benchmark (issue #16): opening a long history, and restoring a whole project as of a moment.

    .venv/bin/python -m benchmarks.history            # 1,000-version file, 2,003-file project (3 × 20 MB), 3 rounds
    .venv/bin/python -m benchmarks.history --quick    # the same counts, 1 MB large files, 1 round

It starts its own SeaweedFS (`weed mini`, tests/servers/seaweedfs.py) on 127.0.0.1, adds a profile for it and
turns versioning on with `projectdesk-cli profiles versioning bench --enable`. Measured, commands as whole
processes (wall time from spawn to exit, peak RSS of the process tree, CPU seconds; benchmarks/transfer.py's
`run`):

- the history of one file with 1,000 versions (written by boto3 beforehand): `projectdesk-cli history SLUG PATH`
  as a process, and `services.history.file_history` in-process (what the window's history view waits for,
  without the CLI's start-up). Goal < 1 s. Peer: `projectdesk-cli --version` (the start-up alone).
- restoring the transfer benchmark's project (2,000 files of 0.5–20 KB in folders up to 6 deep plus three large
  files: 2,003 files) as of a moment: the project is pushed (A), every file is rewritten and pushed again (B),
  then `projectdesk-cli restore SLUG --as-of <A's manifest version> --yes` makes every file A's again (2,003
  server-side copies), and the printed undo (`--as-of` just before it) makes them B's again; each round does
  both. Peers in the same run: the pushes themselves (`projectdesk-cli push`, new project and every file
  changed) and the restore's preview alone (`--dry-run`: one listing of the project's versions). Goal: a restore
  ≤ 3 × a push of the same project.

The machine is often shared: the load averages are printed with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks.transfer import (
    BIN,
    BUCKET,
    FULL,
    MB,
    Env,
    Sample,
    add_profile,
    load,
    machine,
    make_dataset,
    run,
    seaweed,
)

VERSIONS = 1000


def _next_second() -> None:
    now = time.time()
    time.sleep(max(0.0, int(now) + 1 - now) + 0.02)


def _rewrite(files: Sequence[Path], seed: int) -> None:
    """New bytes in every file, same sizes: a push sends them all, a restore copies them all."""
    rng = random.Random(seed)
    for path in files:
        path.write_bytes(rng.randbytes(path.stat().st_size))


def _row(name: str, samples: Sequence[Sample]) -> str:
    seconds = [s.seconds for s in samples]
    rss = max(s.peak_rss for s in samples) / MB
    cpu = statistics.median(s.cpu for s in samples)
    spread = f" ({min(seconds):.2f}–{max(seconds):.2f})" if len(seconds) > 1 else ""
    return f"| {name:52s} | {statistics.median(seconds):7.2f}{spread:14s} | {cpu:6.2f} | {rss:7.0f} |"


def bench_history(env: Env, cli: list[str], server_client: object, rounds: int) -> list[str]:
    """1,000 versions of one file, then its history opened by the CLI and by the service."""
    client = server_client
    key = "projects/anonymous/long-history/src/app.py"
    for i in range(VERSIONS):
        client.put_object(Bucket=BUCKET, Key=key, Body=f"version {i}\n".encode())  # type: ignore[attr-defined]
    startup = [run([*cli, "--version"], env.base) for _ in range(rounds)]
    process = [run([*cli, "history", "long-history", "src/app.py", "--json"], env.base) for _ in range(rounds)]
    assert process[0].stdout.count('"version_id"') == VERSIONS, process[0].stdout[:200]
    inproc = _history_in_process(env, rounds)
    lines = [
        f"History of a file with {VERSIONS:,} versions:",
        "| operation                                            | seconds (range)        | CPU s  | RSS MB  |",
        "|------------------------------------------------------|------------------------|--------|---------|",
        _row("projectdesk-cli --version (start-up, peer)", startup),
        _row("projectdesk-cli history (1,000 versions)", process),
        f"| {'services.history.file_history, in-process':52s} | {statistics.median(inproc):7.3f}{'':14s} | {'-':>6s} | "
        f"{'-':>7s} |",
        f"goal < 1 s: the window's call {statistics.median(inproc):.3f} s; the whole command "
        f"{statistics.median(s.seconds for s in process):.2f} s.",
    ]
    return lines


def _history_in_process(env: Env, rounds: int) -> list[float]:
    from projectdesk.services import history
    from projectdesk.services.projects import ProjectService
    from projectdesk.storage.s3 import S3Repository
    from projectdesk.storage.s3client import Credentials, make_client

    client = make_client(endpoint_url=env.endpoint, region="us-east-1",
                         credentials=Credentials(env.access_key, env.secret_key), path_style=True)  # fmt: skip
    service = ProjectService(S3Repository(client, BUCKET, endpoint=env.endpoint), data_dir=env.work / "inproc")
    times = []
    for _ in range(rounds + 1):  # the first call pays for botocore's model loading: left out
        started = time.perf_counter()
        versions = history.file_history(service, "long-history", "src/app.py")
        times.append(time.perf_counter() - started)
        assert len(versions) == VERSIONS
    return times[1:]


def bench_restore(env: Env, cli: list[str], work: Path, large: int, rounds: int) -> list[str]:
    source = work / "project"
    files = make_dataset(source, replace(FULL, large_size=large))
    count = len(files)
    push_new = run([*cli, "push", str(source)], env.base)
    slug = push_new.stdout.strip().splitlines()[-1]
    moment = _moment_text(max(m["at"] for m in _moments(env, cli, slug)))  # A: the first push
    pushes, restores, previews = [push_new], [], []
    for r in range(rounds):
        _next_second()
        _rewrite(files, seed=1000 + r)
        pushes.append(run([*cli, "push", str(source)], env.base))
        previews.append(run([*cli, "restore", slug, "--as-of", moment, "--dry-run"], env.base))
        assert f"{count} changed since" in previews[-1].stdout, previews[-1].stdout[:300]
        restored = run([*cli, "restore", slug, "--as-of", moment, "--yes"], env.base)
        assert f"{count} file(s) restored" in restored.stdout, restored.stdout[-500:]
        restores.append(restored)
        undo = re.search(r'--as-of "([^"]+)"', restored.stdout)
        assert undo is not None
        undone = run([*cli, "restore", slug, "--as-of", undo.group(1), "--yes"], env.base)
        assert f"{count} file(s) restored" in undone.stdout, undone.stdout[-500:]
        restores.append(undone)
    push_median = statistics.median(s.seconds for s in pushes[1:])
    restore_median = statistics.median(s.seconds for s in restores)
    return [
        f"Restore of a {count:,}-file project as of a moment (every file differs), {rounds} round(s):",
        "| operation                                            | seconds (range)        | CPU s  | RSS MB  |",
        "|------------------------------------------------------|------------------------|--------|---------|",
        _row("projectdesk-cli push, new project (peer)", pushes[:1]),
        _row(f"projectdesk-cli push, all {count:,} files changed (peer)", pushes[1:]),
        _row("projectdesk-cli restore --as-of --dry-run (preview)", previews),
        _row(f"projectdesk-cli restore --as-of --yes ({count:,} copies)", restores),
        f"goal ≤ 3× push: restore {restore_median:.2f} s = {restore_median / push_median:.2f}× the push of the "
        f"changed project ({push_median:.2f} s), {restore_median / pushes[0].seconds:.2f}× the first push "
        f"({pushes[0].seconds:.2f} s).",
    ]


def _moments(env: Env, cli: list[str], slug: str) -> list[dict[str, float]]:
    return list(json.loads(run([*cli, "history", slug, "--json"], env.base).stdout))


def _moment_text(epoch: float) -> str:
    from projectdesk.cli.history import moment_text

    return moment_text(epoch)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 MB large files, one round")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--work", type=Path, help="where to put the data (default: a temporary folder)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    large = 1 * MB if args.quick else FULL.large_size
    print(machine())
    print(f"load before: {load()}")
    with tempfile.TemporaryDirectory(prefix="pd-history-bench-", dir=args.work) as tmp:
        work = Path(tmp)
        with seaweed(work) as server:
            env = Env(server.endpoint_url, server.access_key, server.secret_key, work)
            add_profile(env)
            cli = [str(BIN / "projectdesk-cli"), "--profile", "bench"]
            print(run([*cli, "profiles", "versioning", "bench", "--enable"], env.base).stdout.strip())
            os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
            for line in bench_history(env, cli, server.client(), max(rounds, 3)):
                print(line, flush=True)
            for line in bench_restore(env, cli, work, large, rounds):
                print(line, flush=True)
    print(f"load after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
