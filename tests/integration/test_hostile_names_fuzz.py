"""Property-based fuzzing of names on both sides: any key in a bucket, any file name in a folder.

Invariants, whatever the names: no traceback (exit 0, 1 or 2 with our sentence), nothing written outside
the destination folder or the cache, `--json` output parses, and no control character reaches the terminal.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projectdesk.config.paths import Paths
from tests.integration.test_cli import Runner
from tests.integration.test_hostile_cli import RAW

SEGMENTS = st.one_of(
    st.sampled_from(["..", ".", "", "a", "b.txt", ".projectdesk.json", ".pd-tmp-x", "C:", "\\..\\x", "con"]),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12),  # S3 keys are UTF-8
)
KEYS = st.lists(st.lists(SEGMENTS, min_size=1, max_size=4).map("/".join), min_size=1, max_size=6, unique=True)
FOLDER_NAMES = st.lists(
    st.binary(min_size=1, max_size=20).filter(lambda b: b"/" not in b and b"\x00" not in b and b not in (b".", b"..")),
    min_size=1,
    max_size=6,
    unique=True,
)
COUNTER = itertools.count()
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _clean(*texts: str) -> None:
    for text in texts:
        assert RAW.search(text) is None, f"raw control character in {text!r}"


def _files_under(root: Path) -> set[Path]:
    return {Path(folder, name) for folder, _, names in os.walk(root) for name in names}


@pytest.fixture
def moto_runner(moto_env: None, isolated_dirs: Paths, capsys: pytest.CaptureFixture[str]) -> Runner:
    import boto3

    run = Runner(isolated_dirs, capsys, None)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="fuzz-names")
    run("profiles", "add", "aws", "--region", "us-east-1", "--bucket", "fuzz-names", "--default")
    return run


@SETTINGS
@given(keys=KEYS)
def test_any_bucket_key_is_listed_pulled_and_exported_safely(
    moto_runner: Runner, isolated_dirs: Paths, tmp_path: Path, keys: list[str]
) -> None:
    import boto3

    client = boto3.client("s3", region_name="us-east-1")
    slug = f"fuzz-{next(COUNTER):05d}"
    for key in keys:
        client.put_object(Bucket="fuzz-names", Key=f"projects/anonymous/{slug}/{key}", Body=key.encode())
    box = Path(tempfile.mkdtemp(dir=tmp_path))
    dest = box / "inside" / "dest"
    before = _files_under(tmp_path) | _files_under(isolated_dirs.data_dir)
    for argv in (("ls", slug), ("ls", slug, "--json"), ("info", slug), ("list",), ("pull", slug, str(dest))):
        code, out, err = _run(moto_runner, *argv)
        assert code in (0, 1, 2), (argv, code, err)
        _clean(out, err)
        if "--json" in argv and code == 0:
            import json

            json.loads(out)
    created = (_files_under(tmp_path) | _files_under(isolated_dirs.data_dir)) - before
    cache = isolated_dirs.data_dir
    assert all(dest in p.parents or cache in p.parents for p in created), created
    shutil.rmtree(box)


@SETTINGS
@given(names=FOLDER_NAMES)
def test_any_local_file_name_is_pushed_or_named_as_skipped(
    moto_runner: Runner, tmp_path: Path, names: list[bytes]
) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    made = []
    for name in names:
        try:
            with open(os.path.join(os.fsencode(folder), name), "wb") as handle:
                handle.write(name)
            made.append(name)
        except OSError:
            continue  # a name this file system refuses (too long, …)
    code, out, err = _run(moto_runner, "push", str(folder))
    assert code in (0, 2), (code, out, err)
    _clean(out, err)
    if code == 2:
        assert "skipped" in err
    shutil.rmtree(folder)


def _run(run: Runner, *argv: str) -> tuple[int, str, str]:
    from projectdesk import cli

    code = cli.main(list(argv), paths=run.paths)
    out, err = run.capsys.readouterr()
    return code, out, err
