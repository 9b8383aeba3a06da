"""ProjectDesk: software projects kept in S3 or any S3-compatible store."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("projectdesk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

APP_NAME = "projectdesk"
