"""Content types: the web backend's table for the seed extensions, a safe fallback otherwise."""

from __future__ import annotations

import pytest

from projectdesk.core.mime import FALLBACK, content_type, is_text_type

SEED = {
    ".js": "application/javascript",
    ".jsx": "application/javascript",
    ".ts": "application/typescript",
    ".tsx": "application/typescript",
    ".py": "text/x-python",
    ".json": "application/json",
    ".html": "text/html",
    ".css": "text/css",
    ".md": "text/markdown",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".txt": "text/plain",
    ".yml": "application/x-yaml",
    ".yaml": "application/x-yaml",
    ".toml": "application/toml",
}
TEXTUAL = {
    ".js",
    ".jsx",
    ".ts",
    ".tsx",
    ".py",
    ".json",
    ".html",
    ".css",
    ".md",
    ".svg",
    ".txt",
    ".yml",
    ".yaml",
    ".toml",
}


@pytest.mark.parametrize(("suffix", "expected"), sorted(SEED.items()))
def test_seed_extensions(suffix: str, expected: str) -> None:
    assert content_type(f"src/deep/file{suffix}") == expected


@pytest.mark.parametrize("suffix", sorted(SEED))
def test_suffix_is_case_insensitive(suffix: str) -> None:
    assert content_type(f"FILE{suffix.upper()}") == SEED[suffix]
    assert content_type(f"File{suffix.title()}") == SEED[suffix]


@pytest.mark.parametrize("suffix", sorted(SEED))
def test_textual_types_are_text(suffix: str) -> None:
    assert is_text_type(SEED[suffix]) == (suffix in TEXTUAL)


@pytest.mark.parametrize("path", ["data.unknownext", "blob.qqq", "noextension", "dir.d/noext", "weird.", ".bashrc_x"])
def test_unknown_is_octet_stream(path: str) -> None:
    assert content_type(path) == FALLBACK == "application/octet-stream"


def test_directory_dots_do_not_count() -> None:
    assert content_type("site.v1/index.html") == "text/html"
    assert content_type("site.html/LICENSE") == FALLBACK


def test_well_known_names() -> None:
    assert content_type("Dockerfile") == "text/plain"
    assert content_type("app/Makefile") == "text/plain"
