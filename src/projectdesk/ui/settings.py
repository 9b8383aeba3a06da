"""Window state between runs (geometry, splitters, last profile and project, the editor command, the folders
worked in) in an INI file in our config dir.

Only layout and names live here: never a secret, never a path to a secret.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

FILE_NAME = "window.ini"


class WindowSettings:
    """Typed access to the few values the window remembers."""

    def __init__(self, config_dir: Path) -> None:
        config_dir.mkdir(parents=True, exist_ok=True)
        self._settings = QSettings(str(config_dir / FILE_NAME), QSettings.Format.IniFormat)

    @property
    def path(self) -> Path:
        return Path(self._settings.fileName())

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._settings.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def splitter(self) -> QByteArray | None:
        return self._bytes("window/splitter")

    def save_layout(self, geometry: QByteArray, state: QByteArray, splitter: QByteArray) -> None:
        self._settings.setValue("window/geometry", geometry)
        self._settings.setValue("window/state", state)
        self._settings.setValue("window/splitter", splitter)

    def profile(self) -> str:
        return str(self._settings.value("session/profile", "") or "")

    def set_profile(self, name: str) -> None:
        self._settings.setValue("session/profile", name)

    def project(self, profile: str) -> str:
        return str(self._settings.value(f"projects/{_key(profile)}", "") or "")

    def set_project(self, profile: str, slug: str) -> None:
        self._settings.setValue(f"projects/{_key(profile)}", slug)

    def editor_command(self) -> str:
        """The command Open in Editor runs ("code {folder}"); "" opens the folder with the desktop's default."""
        return str(self._settings.value("tools/editor_command", "") or "")

    def set_editor_command(self, command: str) -> None:
        self._settings.setValue("tools/editor_command", command.strip())

    def working_folders(self, store: str) -> list[tuple[str, str]]:
        """The (slug, folder) pairs of `store` the window keeps in sync (chosen with Work in Folder)."""
        try:
            pairs = json.loads(str(self._settings.value(f"working-folders/{_key(store)}", "[]") or "[]"))
        except ValueError:
            return []
        return [(str(p[0]), str(p[1])) for p in pairs if isinstance(p, list) and len(p) == 2]

    def set_working_folders(self, store: str, pairs: list[tuple[str, str]]) -> None:
        self._settings.setValue(f"working-folders/{_key(store)}", json.dumps(sorted(set(pairs))))

    def sync(self) -> None:
        self._settings.sync()


def _key(name: str) -> str:
    """Profile names may hold '.', which INI keys keep, but not '/' (a group separator): escape it."""
    return name.replace("%", "%25").replace("/", "%2F")
