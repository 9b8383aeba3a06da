"""The packaging tiers: fast checks of the desktop metadata (default run) and the slow bundle build (`bundle`).

Tests marked `bundle` build the PyInstaller bundle (about a minute on 2 cores) and are deselected unless the
`-m` expression names them: `./scripts/package` runs `pytest -m bundle tests/packaging`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
if str(PACKAGING) not in sys.path:
    sys.path.insert(0, str(PACKAGING))  # packaging/appinfo.py: the app's identity, read from pyproject.toml

import appinfo  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "bundle" in (config.getoption("markexpr") or ""):
        return
    slow = [item for item in items if item.get_closest_marker("bundle")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("bundle")]


@pytest.fixture(scope="session")
def info() -> Iterator[appinfo.AppInfo]:
    yield appinfo.load()
