"""projectdesk-cli starts light: building its parser (all `--help`, `--version` and profile commands need)
loads neither the services nor the S3 stack nor importlib.metadata; a command that opens an S3 store loads
botocore then, and not boto3 (its client is botocore's own, see storage/s3client.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import version

import pytest

import projectdesk
from projectdesk import cli
from projectdesk.config.paths import Paths

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from projectdesk import cli
    from projectdesk.config.paths import Paths
    from projectdesk.config.profiles import Profile, ProfileStore

    def heavy():
        return sorted(
            m for m in sys.modules
            if m.split(".")[0] in ("boto3", "botocore", "s3transfer", "awscrt", "urllib3", "keyring", "pathspec")
            or m.startswith(("projectdesk.services", "projectdesk.cache"))
            or m in ("projectdesk.storage.s3", "projectdesk.storage.crt", "importlib.metadata")
        )

    cli.build_parser()
    report = {"at_start": heavy()}
    ProfileStore(Paths.default()).add(Profile(name="s3", endpoint_url="http://127.0.0.1:9", region="us-east-1",
                                              bucket="some-bucket", path_style=True))
    report["code"] = cli.main(["--profile", "s3", "--offline", "status"])
    report["after_status"] = heavy()
    print(json.dumps(report))
    """
)


def test_the_parser_loads_no_services_and_a_store_command_loads_botocore(isolated_dirs: Paths) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_EC2_METADATA_DISABLED": "true"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["at_start"] == []
    assert report["code"] == 0
    loaded = set(report["after_status"])
    assert {"botocore", "projectdesk.services.offline", "projectdesk.storage.s3"} <= loaded
    assert "boto3" not in loaded and "s3transfer" not in loaded


def test_version_is_read_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert projectdesk.__version__ == version("projectdesk")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"projectdesk {version('projectdesk')}\n"
    with pytest.raises(AttributeError):
        _ = projectdesk.no_such_attribute
