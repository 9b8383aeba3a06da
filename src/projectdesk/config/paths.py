"""Every folder ProjectDesk reads or writes, in one place (moved by XDG_* variables, as tests do)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

from projectdesk import APP_NAME


@dataclass(frozen=True, slots=True)
class Paths:
    config_dir: Path  # profiles.toml: non-secret settings
    data_dir: Path  # the local store and the offline cache
    log_dir: Path

    @classmethod
    def default(cls) -> Paths:
        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    @property
    def profiles_file(self) -> Path:
        return self.config_dir / "profiles.toml"

    @property
    def local_store(self) -> Path:
        return self.data_dir / "local-store"

    @property
    def cache_root(self) -> Path:
        return self.data_dir / "cache"
