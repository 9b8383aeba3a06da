"""Push and pull behind an HTTP proxy, against the same without one, in the same run.

    .venv/bin/python -m benchmarks.proxy                        # 1,000 files of 0.5–20 KB, 3 rounds
    .venv/bin/python -m benchmarks.proxy --files 200 --rounds 1

One SeaweedFS on 127.0.0.1 and the tests' stdlib forward proxy (tests/servers/httpproxy.py: a thread and
an upstream connection per request, so slower than a real proxy such as squid). Three ways, each round in
a rotated order, in-process through ProjectService (no offline cache), each with a client of its own:

- `direct, CRT`: no proxy; bulk transfers on the AWS CRT (the default);
- `direct, boto3`: no proxy, PROJECTDESK_TRANSFER_ENGINE=boto3: the engine used whenever a proxy applies;
- `profile proxy`: the profile's proxy, so boto3 threads and every request through the proxy.

Printed: each way's median seconds, and its median ratio to `direct, CRT` in the same round.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WAYS = ("direct, CRT", "direct, boto3", "profile proxy")


def make_project(root: Path, files: int, seed: int = 17) -> int:
    rng = random.Random(seed)
    total = 0
    for index in range(files):
        depth = rng.randint(0, 4)
        folder = root.joinpath(*(f"d{rng.randint(0, 5)}" for _ in range(depth)))
        folder.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(rng.randint(500, 20_000))
        (folder / f"f{index}.txt").write_bytes(data)
        total += len(data)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="projectdesk-proxy-bench-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(work / var.lower())
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(var, None)

    from tests.servers.httpproxy import HttpProxy
    from tests.servers.seaweedfs import SeaweedServer

    from projectdesk.config.paths import Paths
    from projectdesk.config.profiles import Profile
    from projectdesk.services.connect import open_service
    from projectdesk.storage.crt import ENGINE_ENV

    source = work / "project"
    size = make_project(source, args.files)
    print(f"{args.files} files, {size / 1e6:.1f} MB; {os.cpu_count()} CPUs; {args.rounds} round(s)")
    times: dict[str, dict[str, list[float]]] = {way: {"push": [], "pull": []} for way in WAYS}
    ratios: dict[str, dict[str, list[float]]] = {way: {"push": [], "pull": []} for way in WAYS}
    with SeaweedServer(work / "weed") as server, HttpProxy() as proxy:
        server.create_bucket("bench")
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = server.access_key, server.secret_key
        base = Profile(name="bench", endpoint_url=server.endpoint_url, region="us-east-1", bucket="bench",
                       path_style=True, credential_source="env")  # fmt: skip
        paths = Paths.default()
        for rnd in range(args.rounds):
            order = WAYS[rnd % len(WAYS) :] + WAYS[: rnd % len(WAYS)]
            this: dict[str, dict[str, float]] = {}
            for way in order:
                os.environ.pop(ENGINE_ENV, None)
                profile = Profile(**{**base.__dict__})
                if way == "direct, boto3":
                    os.environ[ENGINE_ENV] = "boto3"
                if way == "profile proxy":
                    profile.proxy_url = proxy.url
                service = open_service(profile, paths)
                slug = f"bench-{rnd}-{WAYS.index(way)}"
                started = time.perf_counter()
                result = service.push(service.plan_push(source, name="bench", slug=slug))
                pushed = time.perf_counter() - started
                assert not result.failed, result.failed
                started = time.perf_counter()
                report = service.pull(slug, work / "pulled" / slug)
                pulled = time.perf_counter() - started
                assert not report.failed and len(report.downloaded) == args.files
                this[way] = {"push": pushed, "pull": pulled}
                print(f"  round {rnd + 1}: {way:14} push {pushed:6.2f}s  pull {pulled:6.2f}s")
            for way in WAYS:
                for op in ("push", "pull"):
                    times[way][op].append(this[way][op])
                    ratios[way][op].append(this[way][op] / this["direct, CRT"][op])
        through = proxy.count()
    os.environ.pop(ENGINE_ENV, None)
    print(f"\nrequests through the proxy: {through}")
    print(f"{'way':16} {'push s':>8} {'× CRT':>7} {'pull s':>8} {'× CRT':>7}")
    for way in WAYS:
        push, pull = times[way]["push"], times[way]["pull"]
        print(f"{way:16} {statistics.median(push):8.2f} {statistics.median(ratios[way]['push']):7.2f} "
              f"{statistics.median(pull):8.2f} {statistics.median(ratios[way]['pull']):7.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
