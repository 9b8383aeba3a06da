"""ProjectDesk's identity for packaging — app id, name, version — read from pyproject.toml, the single source.

Used at build time by pyinstaller/projectdesk.spec (the macOS Info.plist, the Windows version resource),
build.py (the Inno Setup defines) and tests/packaging (which checks the hand-written .desktop file and
AppStream metainfo agree). Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
MACOS_MINIMUM = "13.0"  # Qt 6.11 runs on macOS 13 Ventura or later (doc.qt.io/qt-6.11/macos.html)


@dataclass(frozen=True)
class AppInfo:
    """What every package says about the app.

    Attributes:
        app_id: reverse-DNS id: the .desktop/metainfo file names, the macOS bundle id, the Windows AppId.
        name: the display name (window title, menus, Start menu, the .app).
        executable: the window's command (the gui-script), also the bundle's executable name.
        version: the version, from [project] in pyproject.toml.
        summary: one line, from [project].description.
        homepage: [project.urls].Homepage.
        license: the SPDX license expression.
    """

    app_id: str
    name: str
    executable: str
    version: str
    summary: str
    homepage: str
    license: str

    @property
    def version_tuple(self) -> tuple[int, int, int, int]:
        """The version as four integers (Windows version resources): 0.1.0 -> (0, 1, 0, 0)."""
        numbers = [int("".join(c for c in part if c.isdigit()) or 0) for part in self.version.split(".")[:4]]
        return (*numbers, 0, 0, 0, 0)[:4]  # type: ignore[return-value]

    @property
    def desktop_file(self) -> Path:
        return PACKAGING / "linux" / f"{self.app_id}.desktop"

    @property
    def metainfo_file(self) -> Path:
        return PACKAGING / "linux" / f"{self.app_id}.metainfo.xml"


def load(pyproject: Path = ROOT / "pyproject.toml") -> AppInfo:
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = data["project"]
    ours = data["tool"]["projectdesk"]
    (executable,) = project["gui-scripts"]
    return AppInfo(
        app_id=ours["app-id"],
        name=ours["display-name"],
        executable=executable,
        version=project["version"],
        summary=project["description"],
        homepage=project["urls"]["Homepage"],
        license=project["license"],
    )


def macos_info_plist(info: AppInfo) -> dict[str, Any]:
    """The Info.plist keys of ProjectDesk.app (PyInstaller's BUNDLE writes the standard ones around them)."""
    return {
        "CFBundleIdentifier": info.app_id,
        "CFBundleName": info.name,
        "CFBundleDisplayName": info.name,
        "CFBundleExecutable": info.executable,
        "CFBundleShortVersionString": info.version,
        "CFBundleVersion": info.version,
        "CFBundlePackageType": "APPL",
        "LSApplicationCategoryType": "public.app-category.developer-tools",
        "LSMinimumSystemVersion": MACOS_MINIMUM,
        "NSHighResolutionCapable": True,
        "NSRequiresAquaSystemAppearance": False,  # follow the dark appearance (the window reads the palette)
        "NSHumanReadableCopyright": f"{info.name} developers, {info.license} license",
        # "Open With > ProjectDesk" on a folder in the Finder: Qt delivers it as a QFileOpenEvent (app.py).
        "CFBundleDocumentTypes": [
            {
                "CFBundleTypeName": "Folder",
                "CFBundleTypeRole": "Viewer",
                "LSHandlerRank": "Alternate",
                "LSItemContentTypes": ["public.folder"],
            },
        ],
    }


def inno_defines(info: AppInfo) -> dict[str, str]:
    """The /D defines packaging/windows/projectdesk.iss needs (it has no copy of any of these)."""
    return {
        "AppId": info.app_id,
        "AppName": info.name,
        "AppVersion": info.version,
        "AppExeName": f"{info.executable}.exe",
        "AppPublisher": f"{info.name} developers",
        "AppURL": info.homepage,
        "RepoRoot": str(ROOT),
    }


if __name__ == "__main__":
    import json
    from dataclasses import asdict

    print(json.dumps(asdict(load()), indent=2))
