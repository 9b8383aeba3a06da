"""The slow tier: build the PyInstaller bundle and run the bundled executable as a user's desktop would.

Run with `./scripts/package` (builds, then runs these), or `pytest -m bundle tests/packaging` (builds itself
unless PROJECTDESK_BUNDLE_DIR names a bundle already built by packaging/build.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from projectdesk.config.paths import Paths
from tests.packaging.conftest import PACKAGING, ROOT, appinfo
from tests.packaging.test_app_entry import push_project, smoke_report

pytestmark = pytest.mark.bundle

BUILD_INFO = ROOT / "build" / "pyinstaller" / "build-info.json"
SIZE_BUDGET = 180_000_000  # bytes; 147 MB when this was written (253 MB before trimming)
BOTOCORE_SERVICES = {"s3", "sts", "sso", "sso-oidc", "signin"}
QT_PLUGINS_ALLOWED = {
    "platforms",
    "platformthemes",
    "platforminputcontexts",
    "imageformats",
    "iconengines",
    "styles",
    "xcbglintegrations",
    "wayland-shell-integration",
    "wayland-decoration-client",
    "wayland-graphics-integration-client",
}


@dataclass
class Bundle:
    folder: Path
    executable: Path
    build: dict[str, object]


@pytest.fixture(scope="session")
def bundle() -> Iterator[Bundle]:
    info = appinfo.load()
    given = os.environ.get("PROJECTDESK_BUNDLE_DIR")
    if given:
        folder = Path(given).resolve()
    else:
        subprocess.run([sys.executable, PACKAGING / "build.py"], check=True, timeout=1800, cwd=ROOT)
        folder = ROOT / "dist" / info.name
    executable = folder / info.executable
    assert executable.is_file(), f"no bundle at {folder}: run .venv/bin/python packaging/build.py"
    build = json.loads(BUILD_INFO.read_text()) if BUILD_INFO.is_file() else {}
    yield Bundle(folder, executable, build)


def run_smoke(bundle: Bundle, env: dict[str, str], *wrapper: str) -> dict[str, object]:
    proc = subprocess.run(
        [*wrapper, str(bundle.executable), "--smoke-test"], capture_output=True, text=True, timeout=180, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = smoke_report(proc)
    assert report["ok"] is True and report["frozen"] is True
    return report


def test_bundled_app_opens_the_local_store_offscreen(bundle: Bundle, isolated_dirs: Paths, tmp_path: Path) -> None:
    slug = push_project(tmp_path)  # with the pip-installed CLI, into the same (test) data directory
    report = run_smoke(bundle, {**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert report["version"] == appinfo.load().version
    assert report["profile"] == "local" and report["kind"] == "local"
    assert report["projects"] == [slug], "the bundle read the store the pip-installed CLI wrote"
    # the trimmed Qt plugins still give every format the editor previews, and the SVG state icons
    assert {"svg", "png", "jpeg", "gif", "webp", "ico", "bmp"} <= set(report["image_formats"])  # type: ignore[arg-type]
    assert report["svg_icon"] is True
    assert report["lexers"] == ["Python", "TSX", "TOML"]  # Pygments imports its lexers by name
    # botocore's trimmed data still makes S3 and STS clients; keyring found its backends
    assert report["endpoints"] == {"s3": "https://s3.amazonaws.com", "sts": "https://sts.us-east-1.amazonaws.com"}
    assert isinstance(report["awscrt"], str)  # the native library that carries bulk transfers loads
    keyrings = report["keyring"]
    assert isinstance(keyrings, list) and keyrings
    if os.environ.get("PROJECTDESK_TEST_SECRET_SERVICE") == "1":  # ./scripts/package runs a private one
        assert "keyring.backends.SecretService.Keyring" in keyrings, keyrings


def test_bundled_app_opens_on_an_x_display(bundle: Bundle, isolated_dirs: Paths) -> None:
    xvfb_run = shutil.which("xvfb-run")
    assert xvfb_run, "xvfb-run is missing: install the Debian package xvfb (./scripts/test does)"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    report = run_smoke(bundle, env, xvfb_run, "-a")
    assert report["qt_platform"] == "xcb"


def test_bundled_app_prints_its_version(bundle: Bundle) -> None:
    proc = subprocess.run([bundle.executable, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"projectdesk {appinfo.load().version}"


def test_bundle_carries_what_the_app_needs_and_not_more(bundle: Bundle) -> None:
    internal = bundle.folder / "_internal"
    names = {p.name for p in internal.rglob("*")}
    size = sum(p.lstat().st_size for p in bundle.folder.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"\nbundle: {size / 1e6:.0f} MB, built in {bundle.build.get('seconds', '?')} s ({bundle.folder})")
    assert size < SIZE_BUDGET, f"{size / 1e6:.0f} MB: something big came in (see packaging/README.md)"

    assert (internal / "resources" / "icons" / "projectdesk.svg").is_file()
    assert (internal / "resources" / "icons" / "states" / "cached.svg").is_file()
    assert any(n.startswith("projectdesk-") and n.endswith(".dist-info") for n in names)  # --version
    assert any(n.startswith("keyring-") and n.endswith(".dist-info") for n in names)  # backends' entry points
    assert {p.name for p in (internal / "botocore" / "data").iterdir() if p.is_dir()} == BOTOCORE_SERVICES
    assert (internal / "boto3" / "data" / "s3").is_dir()

    plugins = internal / "PySide6" / "Qt" / "plugins"
    assert {p.name for p in plugins.iterdir()} <= QT_PLUGINS_ALLOWED
    assert (plugins / "platforms" / "libqxcb.so").is_file() and (plugins / "platforms" / "libqwayland.so").is_file()
    unwanted = [
        n
        for n in names
        if n.startswith(("libgtk-3", "libgdk-3", "libQt6Network", "libQt6Qml", "libQt6Quick", "libQt6WebEngine"))
        or n in ("PIL", "tkinter", "_tkinter", "gi", "libqgtk3.so", "libqpdf.so", "libqvnc.so")
    ]
    assert unwanted == []
    assert not [p for p in bundle.folder.rglob("*") if p.is_symlink() and not p.exists()], "dangling links"


def test_desktop_entry_for_the_bundle_validates(bundle: Bundle, tmp_path: Path) -> None:
    info = appinfo.load()
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    proc = subprocess.run(
        ["bash", PACKAGING / "linux" / "install.sh", "--exec", bundle.executable],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    desktop = tmp_path / "data" / "applications" / f"{info.app_id}.desktop"
    assert f"Exec={bundle.executable} %F" in desktop.read_text().splitlines()
    validate = subprocess.run(["desktop-file-validate", desktop], capture_output=True, text=True, timeout=60)
    assert validate.returncode == 0 and not validate.stdout.strip(), validate.stdout
