"""Builds the PyInstaller bundle: dist/ProjectDesk/ (and dist/ProjectDesk.app on macOS), then the installer.

Usage, from the repository root, with the virtual environment that has ProjectDesk installed:
    .venv/bin/python packaging/build.py [--clean] [--installer]
    (Windows: .venv\\Scripts\\python packaging\\build.py --installer)

PyInstaller is installed into this Python's environment when it is missing (the `packaging` extra).
`--installer` also runs Inno Setup's ISCC on Windows (dist/ProjectDesk-<version>-setup.exe); on macOS the
.app is the artefact (signing and notarisation: packaging/README.md). Prints the build time and size and
writes them to build/pyinstaller/build-info.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import appinfo

ROOT = appinfo.ROOT
SPEC = ROOT / "packaging" / "pyinstaller" / "projectdesk.spec"
ISS = ROOT / "packaging" / "windows" / "projectdesk.iss"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
PYINSTALLER_REQUIREMENT = "pyinstaller>=6.10"


def ensure_pyinstaller() -> None:
    if importlib.util.find_spec("PyInstaller") is None:
        print(f"== installing {PYINSTALLER_REQUIREMENT} into {sys.prefix}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", PYINSTALLER_REQUIREMENT], check=True)


def tree_bytes(root: Path) -> int:
    """Bytes of every file under root, symlinks not followed (what `du --apparent-size` counts)."""
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def bundle_dir(info: appinfo.AppInfo) -> Path:
    return DIST / info.name


def build(*, clean: bool = False) -> dict[str, object]:
    info = appinfo.load()
    ensure_pyinstaller()
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    command += ["--distpath", str(DIST), "--workpath", str(WORK)]
    if clean:
        command.append("--clean")
    print(f"== building {info.name} {info.version} with PyInstaller: {' '.join(command[1:])} {SPEC.name}", flush=True)
    started = time.monotonic()
    subprocess.run([*command, str(SPEC)], check=True, cwd=ROOT)
    seconds = time.monotonic() - started
    bundle = bundle_dir(info)
    executable = bundle / (f"{info.executable}.exe" if sys.platform == "win32" else info.executable)
    if not executable.is_file():
        raise SystemExit(f"build.py: PyInstaller finished but {executable} is missing")
    result: dict[str, object] = {
        "name": info.name,
        "version": info.version,
        "bundle": str(bundle),
        "executable": str(executable),
        "seconds": round(seconds, 1),
        "bytes": tree_bytes(bundle),
        "files": sum(1 for p in bundle.rglob("*") if p.is_file()),
        "platform": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
    }
    app = DIST / f"{info.name}.app"
    if sys.platform == "darwin" and app.is_dir():
        result["app"] = str(app)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "build-info.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    megabytes = int(result["bytes"]) / 1e6  # type: ignore[call-overload]
    print(f"== built {bundle.relative_to(ROOT)} in {seconds:.1f} s: {megabytes:.0f} MB in {result['files']} files")
    return result


def windows_installer(info: appinfo.AppInfo) -> Path:
    """Compiles packaging/windows/projectdesk.iss with Inno Setup 6 (ISCC on PATH or in Program Files)."""
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):  # case-blind on Windows
        candidate = Path(base or "") / "Inno Setup 6" / "ISCC.exe"
        if not iscc and base and candidate.is_file():
            iscc = str(candidate)
    if not iscc:
        raise SystemExit(
            "build.py: Inno Setup 6 is not installed: https://jrsoftware.org/isdl.php "
            "or `winget install JRSoftware.InnoSetup`"
        )
    defines = [f"/D{key}={value}" for key, value in appinfo.inno_defines(info).items()]
    subprocess.run([iscc, *defines, f"/O{DIST}", str(ISS)], check=True)
    return DIST / f"{info.name}-{info.version}-setup.exe"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first (slower)")
    parser.add_argument("--installer", action="store_true", help="Windows: also build the Inno Setup installer")
    args = parser.parse_args(argv)
    build(clean=args.clean)
    if args.installer:
        if sys.platform == "win32":
            print(f"== installer: {windows_installer(appinfo.load())}")
        else:
            print("== --installer: only Windows has an installer step (macOS: the .app; Linux: the folder)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
