"""ProjectDesk: software projects kept in S3 or any S3-compatible store."""

from __future__ import annotations

from typing import TYPE_CHECKING

APP_NAME = "projectdesk"

if TYPE_CHECKING:
    __version__: str


def __getattr__(name: str) -> str:
    """`projectdesk.__version__`, read from the installed metadata on first use: importing importlib.metadata
    costs ≈35 ms, which `projectdesk-cli --help` and the commands without a store would pay for nothing."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("projectdesk")
    except PackageNotFoundError:  # running from a source tree that was never installed
        value = "0.0.0"
    globals()["__version__"] = value  # later reads are plain attribute reads
    return value
