"""The Linux desktop files pass the freedesktop validators, and install.sh puts a valid set under XDG_DATA_HOME.

desktop-file-validate (Debian desktop-file-utils) and appstreamcli (Debian appstream) are installed by
./scripts/test; without them these tests fail rather than skip.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import PACKAGING, appinfo

INSTALL = PACKAGING / "linux" / "install.sh"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install the Debian package {package} (./scripts/test does)")
    return path


def run(*command: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=120, env=env)


def desktop_validate(path: Path) -> None:
    proc = run(tool("desktop-file-validate", "desktop-file-utils"), path)
    assert proc.returncode == 0 and not proc.stdout.strip() and not proc.stderr.strip(), proc.stdout + proc.stderr


def appstream_problems(output: str) -> list[str]:
    """Errors and warnings of appstreamcli (infos and pedantic hints, e.g. an uppercase id, are allowed)."""
    return [line for line in output.splitlines() if line.lstrip().startswith(("E:", "W:"))]


def test_desktop_file_validates(info: appinfo.AppInfo) -> None:
    desktop_validate(info.desktop_file)


def test_metainfo_validates_offline(info: appinfo.AppInfo) -> None:
    proc = run(tool("appstreamcli", "appstream"), "validate", "--no-net", "--pedantic", info.metainfo_file)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert appstream_problems(proc.stdout) == [], proc.stdout


def install(data_home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(data_home)}
    return run("bash", INSTALL, *args, env=env)


def fake_command(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    command = folder / "projectdesk"
    command.write_text("#!/bin/sh\nexit 0\n")
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    return command


def test_install_script_puts_a_valid_set_under_xdg_data_home(tmp_path: Path, info: appinfo.AppInfo) -> None:
    root = tmp_path / "root"
    data = root / "usr" / "share"  # so appstreamcli validate-tree sees it as an installed prefix
    command = fake_command(tmp_path / "bin")
    proc = install(data, "--exec", command)
    assert proc.returncode == 0, proc.stderr

    desktop = data / "applications" / f"{info.app_id}.desktop"
    desktop_validate(desktop)
    lines = desktop.read_text().splitlines()
    assert f"Exec={command} %F" in lines and f"TryExec={command}" in lines
    assert f"Icon={info.app_id}" in lines
    assert (data / "metainfo" / f"{info.app_id}.metainfo.xml").read_bytes() == info.metainfo_file.read_bytes()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{info.app_id}.svg").is_file()
    for size in ICON_SIZES:
        png = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{info.app_id}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png

    tree = run(tool("appstreamcli", "appstream"), "validate-tree", "--no-net", root)
    assert tree.returncode == 0, tree.stdout + tree.stderr
    assert appstream_problems(tree.stdout) == [], tree.stdout

    removed = install(data, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    left = sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file())
    assert [p for p in left if info.app_id in p] == []


def test_install_script_defaults_to_xdg_data_home_and_quotes_odd_paths(
    tmp_path: Path, info: appinfo.AppInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = Path(os.environ["XDG_DATA_HOME"])  # the test's own, from the isolated_dirs fixture
    command = fake_command(tmp_path / 'my "apps" $HOME')
    monkeypatch.setenv("PATH", f"{command.parent}{os.pathsep}{os.environ['PATH']}")
    proc = run("bash", INSTALL)  # finds `projectdesk` on PATH, installs into $XDG_DATA_HOME
    assert proc.returncode == 0, proc.stderr
    desktop = data / "applications" / f"{info.app_id}.desktop"
    desktop_validate(desktop)
    exec_line = next(line for line in desktop.read_text().splitlines() if line.startswith("Exec="))
    # Desktop Entry quoting: inside double quotes `"` and `$` get a backslash, which the file doubles.
    assert exec_line == 'Exec="' + str(command.parent.parent) + '/my \\\\"apps\\\\" \\\\$HOME/projectdesk" %F'


def test_install_script_says_what_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    proc = run("bash", INSTALL, env=env)
    assert proc.returncode == 1 and "pass --exec" in proc.stderr
    proc = run("bash", INSTALL, "--exec", tmp_path / "nothing-here", env=env)
    assert proc.returncode == 1 and "not an executable file" in proc.stderr
    assert not (tmp_path / "data" / "applications").exists()
