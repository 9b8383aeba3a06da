"""Bandwidth limits on the command line: a profile's (`profiles add/edit --bwlimit`) and one command's
(`projectdesk-cli --bwlimit`), with bad values said in one sentence before any work; on SeaweedFS."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from projectdesk.config.paths import Paths
from projectdesk.core.bandwidth import KIB, BandwidthLimits
from projectdesk.storage.throttle import BANDWIDTH, UP
from tests.integration.test_cli import Runner, _seaweed_profile
from tests.servers.seaweedfs import SeaweedServer

MIB = KIB * KIB


@pytest.fixture
def weed(
    seaweed: SeaweedServer, isolated_dirs: Paths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runner]:
    bucket = f"pd-bwcli-{os.urandom(4).hex()}"
    seaweed.create_bucket(bucket)
    runner = Runner(isolated_dirs, capsys, None)
    _seaweed_profile(runner, seaweed, monkeypatch, bucket)
    yield runner
    BANDWIDTH.set_limits(BandwidthLimits())


def _limits(run: Runner) -> tuple[int, int]:
    [profile] = [p for p in run.json("profiles", "list") if p["name"] == "weed"]
    return profile["max_upload_kbps"], profile["max_download_kbps"]


def test_profile_limits_are_set_by_add_and_edit(weed: Runner, seaweed: SeaweedServer) -> None:
    assert _limits(weed) == (0, 0)
    weed.profile = None
    weed("profiles", "add", "weed", "--endpoint-url", seaweed.endpoint_url, "--bucket", "pd-other", "--path-style",
         "--env", "--replace", "--bwlimit", "512k:4M")  # fmt: skip
    assert _limits(weed) == (512, 4096)
    out, _ = weed("profiles", "edit", "weed", "--bwlimit", "2M")
    assert "uploads limited to 2 MiB/s, downloads limited to 2 MiB/s" in out
    assert _limits(weed) == (2048, 2048)
    weed("profiles", "edit", "weed", "--bwlimit", "off")
    assert _limits(weed) == (0, 0)
    _, err = weed("profiles", "edit", "weed", "--bwlimit", "fast", expect=1)
    assert err.strip() == (
        "projectdesk-cli: error: 'fast' is not a bandwidth: use a number of KiB/s or one with a suffix "
        "(512k, 2M, 1G), or off."
    )
    _, err = weed("profiles", "edit", "weed", expect=1)
    assert "--bwlimit" in err and len(err.strip().splitlines()) == 1
    assert _limits(weed) == (0, 0)


def test_the_command_line_limit_wins_over_the_profiles(weed: Runner, tmp_path: Path) -> None:
    source = tmp_path / "site"
    source.mkdir()
    size = 2 * MIB
    (source / "video.bin").write_bytes(os.urandom(size))
    weed.profile = None
    weed("profiles", "edit", "weed", "--bwlimit", "64M")
    weed.profile = "weed"

    _, err = weed("--bwlimit", "1M:2x", "push", str(source), expect=1)
    assert err.strip() == (
        "projectdesk-cli: error: '2x' is not a bandwidth: use a number of KiB/s or one with a suffix "
        "(512k, 2M, 1G), or off."
    )
    assert weed.json("list") == []  # said before any work

    before = BANDWIDTH.moved[UP]
    started = time.monotonic()
    out, _ = weed("--bwlimit", "2M:off", "push", str(source), "--json")
    seconds = time.monotonic() - started
    assert json.loads(out)["uploaded"] == ["video.bin"]
    assert BANDWIDTH.limits == BandwidthLimits(2 * MIB, 0)
    assert BANDWIDTH.moved[UP] - before >= size
    assert seconds >= 0.9 * (size / (2 * MIB))  # the 2 MiB file alone takes 1 s at 2 MiB/s

    weed("list")
    assert BANDWIDTH.limits == BandwidthLimits(64 * MIB, 64 * MIB)  # the profile's, without --bwlimit
