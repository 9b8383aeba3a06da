"""Everything below the UI imports without Qt, and the CLI does not pull in boto3 at start-up."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import importlib, importlib.abc, json, pkgutil, sys

    class BlockQt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PySide6", "shiboken6"):
                raise ImportError(f"blocked for this test: {name}")
            return None

    sys.meta_path.insert(0, BlockQt())
    try:
        import PySide6  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the Qt blocker does not work")

    import projectdesk.cli  # first, so sys.modules shows what the CLI alone loads

    cli_loaded_boto3 = "boto3" in sys.modules
    imported = ["projectdesk.cli"]
    for package_name in ("projectdesk.core", "projectdesk.storage", "projectdesk.services", "projectdesk.config"):
        package = importlib.import_module(package_name)
        imported.append(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            importlib.import_module(info.name)
            imported.append(info.name)
    qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "qasync"))
    print(json.dumps({"imported": imported, "cli_loaded_boto3": cli_loaded_boto3, "qt": qt}))
    """
)


def test_non_ui_modules_import_without_qt_and_cli_is_lazy() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    imported = set(outcome["imported"])
    # The walk really found the modules (guards against an empty, trivially passing walk).
    for module in (
        "projectdesk.core.keys",
        "projectdesk.core.techstack",
        "projectdesk.storage.s3",
        "projectdesk.storage.errors",
        "projectdesk.services.scan",
        "projectdesk.services.projects",
        "projectdesk.config.profiles",
    ):
        assert module in imported
    assert outcome["qt"] == []
    assert outcome["cli_loaded_boto3"] is False
