"""Content types for project files: the web backend's table first, then Python's built-in table."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

FALLBACK = "application/octet-stream"

# The types the web backend's get_content_type sets, plus the common extras of software projects.
_TABLE: dict[str, str] = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "application/javascript",
    ".mjs": "application/javascript",
    ".cjs": "application/javascript",
    ".jsx": "application/javascript",
    ".ts": "application/typescript",
    ".tsx": "application/typescript",
    ".py": "text/x-python",
    ".json": "application/json",
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".yml": "application/x-yaml",
    ".yaml": "application/x-yaml",
    ".toml": "application/toml",
    ".xml": "application/xml",
    ".sh": "application/x-sh",
    ".rs": "text/x-rust",
    ".go": "text/x-go",
    ".java": "text/x-java",
    ".c": "text/x-c",
    ".h": "text/x-c",
    ".cpp": "text/x-c++",
    ".sql": "application/sql",
    ".csv": "text/csv",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".wasm": "application/wasm",
}
_NAMES: dict[str, str] = {
    "Dockerfile": "text/plain",
    "Makefile": "text/plain",
    ".gitignore": "text/plain",
    ".env.example": "text/plain",
}
# Python's own table only (no /etc/mime.types), so the answer is the same on every machine.
_BUILTIN = mimetypes.MimeTypes(filenames=())


def content_type(path: str) -> str:
    name = PurePosixPath(path).name
    if name in _NAMES:
        return _NAMES[name]
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in _TABLE:
        return _TABLE[suffix]
    guessed, _ = _BUILTIN.guess_type(name, strict=False)
    return guessed or FALLBACK


def is_text_type(ctype: str) -> bool:
    return ctype.startswith("text/") or ctype in {
        "application/javascript",
        "application/typescript",
        "application/json",
        "application/x-yaml",
        "application/toml",
        "application/xml",
        "application/x-sh",
        "application/sql",
        "image/svg+xml",
    }
