"""The key <-> path gate: hostile keys never become paths outside the project folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from projectdesk.core.errors import InvalidKey
from projectdesk.core.keys import (
    MANIFEST_NAME,
    PathGate,
    is_safe_relative_path,
    join_inside,
    manifest_key,
    object_key,
    project_prefix,
    safe_relative_path,
    safe_segment,
    user_prefix,
)


@pytest.mark.parametrize(
    "path",
    [
        "README.md",
        "src/app/main.py",
        "a/b/c/d/e/f.txt",
        "docs/My Notes.md",
        "naïve/café/日本語.txt",
        "emoji/😀.png",
        ".gitignore",
        "a/.hidden/b",
        "..foo",  # a name that merely starts with dots
        "foo..bar/x",
        "a" * 255,  # exactly the longest allowed segment
    ],
)
def test_accepts_normal_relative_paths(path: str) -> None:
    assert safe_relative_path(path) == path
    assert is_safe_relative_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "..",
        ".",
        "../etc/passwd",
        "a/../b",
        "a/..",
        "./a",
        "a/./b",
        "/etc/passwd",
        "/",
        "C:foo",
        "c:/windows/system32",
        "a\\b",
        "..\\..\\evil",
        "a\x00b",
        "a\nb",
        "a\tb",
        "a\rb",
        "a\x1fb",
        "a\x7fb",
        "a//b",
        "a/",
        "a/b/",
        "a" * 256,
        "dir/" + "b" * 256 + "/x",
        "é" * 128,  # 256 bytes in UTF-8 though only 128 characters
    ],
)
def test_rejects_unsafe_paths(path: str) -> None:
    with pytest.raises(InvalidKey):
        safe_relative_path(path)
    assert not is_safe_relative_path(path)


def test_rejection_message_does_not_echo_raw_control_characters() -> None:
    with pytest.raises(InvalidKey) as info:
        safe_relative_path("bad\x00name")
    assert "\x00" not in info.value.message


def test_layout_of_keys() -> None:
    assert user_prefix("alice") == "projects/alice/"
    assert project_prefix("alice", "portfolio-site-12345") == "projects/alice/portfolio-site-12345/"
    assert (
        object_key("alice", "portfolio-site-12345", "src/App.jsx") == "projects/alice/portfolio-site-12345/src/App.jsx"
    )
    assert manifest_key("bob", "x-10000") == f"projects/bob/x-10000/{MANIFEST_NAME}"


@pytest.mark.parametrize("user_id", ["a/b", "..", "", "a\\b", "a\x00"])
def test_layout_rejects_unsafe_user_id(user_id: str) -> None:
    with pytest.raises(InvalidKey):
        project_prefix(user_id, "slug-12345")


@pytest.mark.parametrize("slug", ["a/b", "..", ".", "", "x\ny"])
def test_layout_rejects_unsafe_slug(slug: str) -> None:
    with pytest.raises(InvalidKey):
        object_key("alice", slug, "file.txt")


def test_object_key_rejects_unsafe_path() -> None:
    with pytest.raises(InvalidKey):
        object_key("alice", "site-12345", "../other-project/secret.txt")


def test_safe_segment_names_what_it_checks() -> None:
    with pytest.raises(InvalidKey) as info:
        safe_segment("a/b", "user id")
    assert "user id" in info.value.message


Joiner = Callable[[Path, str], Path]
# join_inside and the bulk PathGate must refuse and allow exactly the same paths.
JOINERS = pytest.mark.parametrize(
    "join", [join_inside, lambda root, relative: PathGate(root).join(relative)], ids=["join_inside", "PathGate"]
)


@JOINERS
def test_join_inside_joins_nested_paths(tmp_path: Path, join: Joiner) -> None:
    root = tmp_path / "root"
    root.mkdir()
    joined = join(root, "a/b/c.txt")
    assert joined == Path(os.path.realpath(root)) / "a" / "b" / "c.txt"


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "/etc/passwd", "a\\..\\x", ""])
@JOINERS
def test_join_inside_rejects_escapes(tmp_path: Path, relative: str, join: Joiner) -> None:
    with pytest.raises(InvalidKey):
        join(tmp_path, relative)


@JOINERS
def test_join_inside_rejects_escape_through_symlink(tmp_path: Path, join: Joiner) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidKey):
        join(root, "link/stolen.txt")
    # A file symlink pointing outside is caught too.
    (root / "file-link").symlink_to(outside / "target.txt")
    with pytest.raises(InvalidKey):
        join(root, "file-link")


@JOINERS
def test_join_inside_rejects_symlink_to_root_itself(tmp_path: Path, join: Joiner) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "self").symlink_to(root, target_is_directory=True)
    with pytest.raises(InvalidKey):
        join(root, "self")


@JOINERS
def test_join_inside_allows_symlink_that_stays_inside(tmp_path: Path, join: Joiner) -> None:
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    assert join(root, "alias/f.txt") == Path(os.path.realpath(root)) / "real" / "f.txt"


def test_a_path_gate_resolves_each_folder_once_and_still_catches_a_file_symlink(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a" / "b").mkdir(parents=True)
    outside.mkdir()
    gate = PathGate(root)
    real = Path(os.path.realpath(root))
    assert [gate.join(f"a/b/{n}.txt") for n in range(3)] == [real / "a" / "b" / f"{n}.txt" for n in range(3)]
    (root / "a" / "b" / "leak.txt").symlink_to(outside / "leak.txt")
    with pytest.raises(InvalidKey):
        gate.join("a/b/leak.txt")
    with pytest.raises(InvalidKey):
        gate.join("a/../../x")


def test_join_inside_works_when_root_itself_is_a_symlink(tmp_path: Path) -> None:
    real_root = tmp_path / "real-root"
    real_root.mkdir()
    link_root = tmp_path / "link-root"
    link_root.symlink_to(real_root, target_is_directory=True)
    assert join_inside(link_root, "x.txt") == Path(os.path.realpath(real_root)) / "x.txt"
