"""One app id, name, version and icon everywhere: pyproject.toml is the source; the files that cannot read it
(.desktop, metainfo, the app's own constant, install.sh) must agree with it, and those built from it
(PyInstaller spec, Info.plist, Inno Setup script) must not hold a copy."""

from __future__ import annotations

import configparser
import plistlib
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import projectdesk
from projectdesk import app as app_module
from tests.packaging.conftest import PACKAGING, ROOT, appinfo

SPEC = PACKAGING / "pyinstaller" / "projectdesk.spec"
ISS = PACKAGING / "windows" / "projectdesk.iss"
ICO = PACKAGING / "windows" / "projectdesk.ico"
ICNS = PACKAGING / "macos" / "projectdesk.icns"
PNG = b"\x89PNG\r\n\x1a\n"


def desktop_entry(info: appinfo.AppInfo) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(info.desktop_file, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def test_pyproject_gives_the_identity(info: appinfo.AppInfo) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9]*(\.[A-Za-z][A-Za-z0-9_]*){2,}", info.app_id), "a reverse-DNS id"
    assert info.app_id.startswith("io.github.") and info.homepage.lower().startswith(
        "https://github.com/" + info.app_id.split(".")[2].lower() + "/"
    ), "io.github.<owner>.* ids belong to github.com/<owner>"
    assert info.name == "ProjectDesk" and info.executable == "projectdesk"
    assert re.fullmatch(r"\d+\.\d+\.\d+", info.version)


def test_desktop_file_matches(info: appinfo.AppInfo) -> None:
    entry = desktop_entry(info)
    assert info.desktop_file.name == f"{info.app_id}.desktop"
    assert entry["Name"] == info.name
    assert entry["Icon"] == info.app_id
    assert entry["Exec"] == f"{info.executable} %F" and entry["TryExec"] == info.executable
    assert "inode/directory" in entry["MimeType"].split(";")
    assert "Development" in entry["Categories"].split(";")
    # X11 docks match windows by WM_CLASS, whose class Qt takes from the application name
    assert entry["StartupWMClass"] == info.name


def test_metainfo_matches(info: appinfo.AppInfo) -> None:
    component = ET.parse(info.metainfo_file).getroot()
    assert info.metainfo_file.name == f"{info.app_id}.metainfo.xml"
    assert component.findtext("id") == info.app_id
    assert component.findtext("name") == info.name
    assert component.findtext("project_license") == info.license
    launchable = component.find("launchable")
    assert launchable is not None and launchable.text == info.desktop_file.name
    assert info.executable in [b.text for b in component.iterfind("provides/binary")]
    assert component.findtext("url[@type='homepage']") == info.homepage
    releases = [r.get("version") for r in component.iterfind("releases/release")]
    assert releases and releases[0] == info.version, "the newest <release> must be pyproject's version"
    assert component.find("content_rating") is not None


def test_metainfo_screenshots_are_the_repositorys(info: appinfo.AppInfo) -> None:
    component = ET.parse(info.metainfo_file).getroot()
    images = [i.text or "" for i in component.iterfind("screenshots/screenshot/image")]
    assert images
    base = f"https://raw.githubusercontent.com/{info.homepage.removeprefix('https://github.com/')}/main/"
    for url in images:
        assert url.startswith(base), url
        assert (ROOT / url.removeprefix(base)).is_file(), f"{url} is not in docs/screenshots"


def test_the_app_uses_the_same_id_and_version(info: appinfo.AppInfo) -> None:
    assert info.app_id == app_module.APP_ID  # QGuiApplication.desktopFileName: Wayland's app id, the menu entry
    source = Path(app_module.__file__).read_text()
    assert f'setApplicationName("{info.name}")' in source and "setDesktopFileName(APP_ID)" in source
    assert projectdesk.__version__ == info.version, "reinstall (pip install -e .) after changing the version"
    command = Path(sys.executable).parent / info.executable
    proc = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"projectdesk {info.version}"


def test_install_script_uses_the_id(info: appinfo.AppInfo) -> None:
    assert f'app_id="{info.app_id}"' in (PACKAGING / "linux" / "install.sh").read_text()


def test_build_files_read_the_identity_instead_of_copying_it(info: appinfo.AppInfo) -> None:
    spec = SPEC.read_text()
    iss = ISS.read_text()
    for text in (spec, iss):
        assert info.app_id not in text and f'"{info.version}"' not in text and f"={info.version}" not in text
    assert "appinfo.load()" in spec and "bundle_identifier=INFO.app_id" in spec
    assert "info_plist=appinfo.macos_info_plist(INFO)" in spec and "version=INFO.version" in spec
    used = set(re.findall(r"\{#(?:StringChange\()?(\w+)", iss))
    assert used == set(appinfo.inno_defines(info)), "every {#Define} in the .iss comes from build.py"
    assert "AppId={#AppId}" in iss and "AppVersion={#AppVersion}" in iss and "AppName={#AppName}" in iss


def test_macos_info_plist(info: appinfo.AppInfo) -> None:
    plist = appinfo.macos_info_plist(info)
    assert plist["CFBundleIdentifier"] == info.app_id
    assert plist["CFBundleName"] == plist["CFBundleDisplayName"] == info.name
    assert plist["CFBundleShortVersionString"] == plist["CFBundleVersion"] == info.version
    assert plist["NSHighResolutionCapable"] is True
    assert plist["LSMinimumSystemVersion"] == "13.0"
    (folders,) = plist["CFBundleDocumentTypes"]
    assert folders["LSItemContentTypes"] == ["public.folder"] and folders["CFBundleTypeRole"] == "Viewer"
    assert plistlib.loads(plistlib.dumps(plist)) == plist  # writable as an Info.plist
    entitlements = plistlib.loads((PACKAGING / "macos" / "entitlements.plist").read_bytes())
    assert entitlements and all(key.startswith("com.apple.security.cs.") for key in entitlements)


def test_windows_version_numbers(info: appinfo.AppInfo) -> None:
    assert info.version_tuple == (*map(int, info.version.split(".")), 0)
    defines = appinfo.inno_defines(info)
    assert defines["AppExeName"] == f"{info.executable}.exe" and defines["AppId"] == info.app_id


def test_ico_has_every_windows_size() -> None:
    data = ICO.read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1)
    sizes = []
    for index in range(count):
        entry = struct.unpack_from("<BBBBHHII", data, 6 + 16 * index)
        width, height, length, offset = entry[0], entry[1], entry[6], entry[7]
        sizes.append((width or 256, height or 256))
        assert offset + length <= len(data)
    assert sorted(sizes) == [(s, s) for s in (16, 24, 32, 48, 64, 128, 256)]


def test_icns_has_the_retina_sizes() -> None:
    data = ICNS.read_bytes()
    assert data[:4] == b"icns" and struct.unpack_from(">I", data, 4)[0] == len(data)
    chunks, offset = {}, 8
    while offset < len(data):
        kind, length = struct.unpack_from(">4sI", data, offset)
        chunks[kind.decode()] = data[offset + 8 : offset + length]
        offset += length
    # 128, 256, 512 px and their @2x (ic10 is 512@2x = 1024 px), each a PNG
    for kind in ("ic07", "ic08", "ic09", "ic10", "ic13", "ic14"):
        assert chunks[kind][:8] == PNG, kind
