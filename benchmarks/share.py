"""Share benchmark (issue #17): the memory and time of `projectdesk-cli share` on a ~100 MB, 2,003-file project.

    .venv/bin/python -m benchmarks.share            # 2,000 files of 0.5–20 KB + 3 × 27 MB (~101 MB), 3 rounds
    .venv/bin/python -m benchmarks.share --quick    # the same 2,003 files, 3 × 1 MB large ones, 1 round

It starts its own SeaweedFS (`weed mini`, tests/servers/seaweedfs.py) on 127.0.0.1, adds a profile for it, pushes
the project (benchmarks/transfer.py's generator: random bytes, so deflate gains nothing and costs the most), then
per round:

- `projectdesk-cli share SLUG --json` as a process: the snapshot streamed from the server into a multipart upload.
  Its peak RSS is read twice: `ru_maxrss` from inside the command's own process (a wrapper in this module runs the
  CLI's `main` and prints `getrusage(RUSAGE_SELF).ru_maxrss` after it; the process is started by `sh`, which forks
  it, so the count starts from the shell's few pages rather than this benchmark's), and the peak RSS of the whole
  process tree sampled from /proc every 20 ms (benchmarks/transfer.py's `run`). Goal: < 150 MB.
- the peer, in the same round: `zip -r -q` of the same tree on local disk (deflate, as ours), then the zip uploaded
  with `s5cmd cp` (else `aws s3 cp`); their times summed. The zip is fetched through the share's link once and
  compared with the tree byte for byte.

The machine is often shared: the load averages are printed with the results.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.transfer import (
    BIN,
    BUCKET,
    FULL,
    MB,
    Env,
    Sample,
    _exe,
    add_profile,
    load,
    machine,
    make_dataset,
    run,
    seaweed,
    settle,
    tree_stats,
)

GOAL_RSS = 150 * MB
LARGE_FULL = 27 * MB
CHILD_MARK = "ru_maxrss_kib="


@dataclass
class ShareSample:
    sample: Sample
    maxrss: int  # bytes, from the command's own getrusage
    share: dict[str, object]


def child(argv: Sequence[str]) -> int:
    """Run projectdesk-cli's main in this process, then print this process's ru_maxrss (KiB on Linux)."""
    from projectdesk import cli

    code = cli.main(list(argv))
    sys.stdout.flush()
    print(f"{CHILD_MARK}{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", flush=True)
    return code


def cli_once(env: Env, *args: str) -> ShareSample:
    """`projectdesk-cli --profile bench ARGS --json` in a process of its own, with its ru_maxrss."""
    python = sys.executable
    command = ["/bin/sh", "-c", '"$@"; exit $?', "sh", python, "-m", "benchmarks.share", "--child", "--",
               "--profile", "bench", *args, "--json"]  # fmt: skip
    sample = run(command, env.base)
    text, _, tail = sample.stdout.rpartition(CHILD_MARK)
    return ShareSample(sample, int(tail.strip()) * 1024, json.loads(text))


def share_once(env: Env, slug: str) -> ShareSample:
    return cli_once(env, "share", slug, "--expires", "1h")


def peer_once(env: Env, source: Path, work: Path, n: int) -> tuple[Sample, Sample, str]:
    out = work / f"peer-{n}.zip"
    zipped = run(["zip", "-r", "-q", str(out), "."], env.base, cwd=source)
    s5 = _exe("s5cmd")
    if s5:
        upload = run([s5, "--endpoint-url", env.endpoint, "cp", str(out), f"s3://{BUCKET}/peer/{out.name}"], env.base)
        name = "zip -r + s5cmd cp"
    else:
        aws = _exe("aws")
        upload = run([aws, "--endpoint-url", env.endpoint, "s3", "cp", str(out), f"s3://{BUCKET}/peer/{out.name}",
                      "--only-show-errors"], env.base)  # fmt: skip
        name = "zip -r + aws s3 cp"
    out.unlink()
    return zipped, upload, name


def verify(url: str, source: Path) -> int:
    """Fetch the link as anyone would and compare every member with the tree; returns the file count."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=300) as answer:
        data = answer.read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
        for name in names:
            assert archive.read(name) == (source / name).read_bytes(), name
    count, _ = tree_stats(source)
    assert len(names) == count, (len(names), count)
    return count


def _seconds(samples: Sequence[float]) -> str:
    spread = f" ({min(samples):.2f}–{max(samples):.2f})" if len(samples) > 1 else ""
    return f"{statistics.median(samples):7.2f}{spread:14s}"


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["--child"]:
        rest = args_list[1:]
        return child(rest[1:] if rest[:1] == ["--"] else rest)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 MB large files, one round")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--work", type=Path, help="where to put the data (default: a temporary folder)")
    args = parser.parse_args(args_list)
    rounds = args.rounds or (1 if args.quick else 3)
    large = 1 * MB if args.quick else LARGE_FULL
    print(machine())
    print(f"load before: {load()}")
    with tempfile.TemporaryDirectory(prefix="pd-share-bench-", dir=args.work) as tmp:
        work = Path(tmp)
        source = work / "project"
        from dataclasses import replace

        make_dataset(source, replace(FULL, large_size=large))
        files, nbytes = tree_stats(source)
        with seaweed(work) as server:
            env = Env(server.endpoint_url, server.access_key, server.secret_key, work)
            env.base["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[1]),
                                                                 env.base.get("PYTHONPATH", "")) if p)  # fmt: skip
            add_profile(env)
            cli = [str(BIN / "projectdesk-cli"), "--profile", "bench"]
            pushed = run([*cli, "push", str(source)], env.base)
            slug = pushed.stdout.strip().splitlines()[-1]
            print(f"project: {files:,} files, {nbytes / MB:.1f} MB; pushed in {pushed.seconds:.2f} s", flush=True)
            ours: list[ShareSample] = []
            listed: list[ShareSample] = []  # `shares`: the same process without a zip (the baseline)
            peers: list[tuple[Sample, Sample]] = []
            peer_name = ""
            for n in range(rounds):
                settle()
                for first in ("ours", "peer") if n % 2 == 0 else ("peer", "ours"):
                    if first == "ours":
                        made = share_once(env, slug)
                        if not ours:
                            print(f"verified: the link gives all {verify(str(made.share['url']), source):,} files "
                                  "byte for byte", flush=True)  # fmt: skip
                        listed.append(cli_once(env, "shares"))
                        run([*cli, "shares", "revoke", str(made.share["share_id"])], env.base)
                        ours.append(made)
                    else:
                        zipped, upload, peer_name = peer_once(env, source, work, n)
                        peers.append((zipped, upload))
                    settle()
    share_s = [s.sample.seconds for s in ours]
    peer_s = [z.seconds + u.seconds for z, u in peers]
    ratios = [a / b for a, b in zip(share_s, peer_s, strict=True)]
    worst_rss = max(s.maxrss for s in ours)
    worst_tree = max(s.sample.peak_rss for s in ours)
    zip_mb = statistics.median(float(str(s.share["size"])) for s in ours) / MB
    lines = [
        f"Share of a {files:,}-file, {nbytes / MB:.1f} MB project (zip {zip_mb:.1f} MB), {rounds} round(s):",
        "| operation                                  | seconds (range)        | CPU s  | ru_maxrss MB | tree RSS MB |",
        "|--------------------------------------------|------------------------|--------|--------------|-------------|",
        f"| {'projectdesk-cli share (stream → multipart)':42s} | {_seconds(share_s)} | "
        f"{statistics.median(s.sample.cpu for s in ours):6.2f} | {worst_rss / MB:12.0f} | {worst_tree / MB:11.0f} |",
        f"| {'projectdesk-cli shares (the same, no zip)':42s} | {_seconds([s.sample.seconds for s in listed])} | "
        f"{statistics.median(s.sample.cpu for s in listed):6.2f} | {max(s.maxrss for s in listed) / MB:12.0f} | "
        f"{max(s.sample.peak_rss for s in listed) / MB:11.0f} |",
        f"| {'zip -r (local disk), peer':42s} | {_seconds([z.seconds for z, _ in peers])} | "
        f"{statistics.median(z.cpu for z, _ in peers):6.2f} | {'-':>12s} | "
        f"{max(z.peak_rss for z, _ in peers) / MB:11.0f} |",
        f"| {peer_name.split(' + ')[-1] + ' of that zip, peer':42s} | {_seconds([u.seconds for _, u in peers])} | "
        f"{statistics.median(u.cpu for _, u in peers):6.2f} | {'-':>12s} | "
        f"{max(u.peak_rss for _, u in peers) / MB:11.0f} |",
        f"share / ({peer_name}) = {statistics.median(ratios):.2f}× (range {min(ratios):.2f}–{max(ratios):.2f}); "
        f"peak RSS {worst_rss / MB:.0f} MB (ru_maxrss), {worst_tree / MB:.0f} MB (process tree): goal < "
        f"{GOAL_RSS / MB:.0f} MB {'met' if max(worst_rss, worst_tree) < GOAL_RSS else 'NOT met'}.",
    ]
    for line in lines:
        print(line)
    print(f"load after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
