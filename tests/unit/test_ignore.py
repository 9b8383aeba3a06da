"""Ignore rules: built-in defaults, user overrides and nested .gitignore files, with git's semantics."""

from __future__ import annotations

import pytest

from projectdesk.core.ignore import IgnoreRules


@pytest.mark.parametrize(
    ("path", "is_dir"),
    [
        (".git", True),
        ("sub/.git", True),
        (".git/config", False),
        ("node_modules", True),
        ("frontend/node_modules", True),
        ("a/b/c/node_modules", True),
        ("frontend/node_modules/react/index.js", False),
        ("__pycache__", True),
        ("pkg/sub/__pycache__", True),
        ("pkg/__pycache__/mod.cpython-311.pyc", False),
        (".DS_Store", False),
        ("assets/images/.DS_Store", False),
        (".venv", True),
        ("dist", True),
        ("frontend/build", True),
    ],
)
def test_defaults_ignore(path: str, is_dir: bool) -> None:
    assert IgnoreRules().is_ignored(path, is_dir=is_dir)


@pytest.mark.parametrize(
    ("path", "is_dir"),
    [
        ("builder.py", False),
        ("distance.txt", False),
        ("src/build.py", False),
        ("src/dist.js", False),
        ("my_node_modules_notes.md", False),
        ("gitlab.yml", False),
        (".github", True),
        (".github/workflows/ci.yml", False),
        ("builders", True),
        ("README.md", False),
        ("src", True),
    ],
)
def test_defaults_do_not_over_match(path: str, is_dir: bool) -> None:
    assert not IgnoreRules().is_ignored(path, is_dir=is_dir)


def test_dir_only_default_does_not_ignore_a_file_of_that_name() -> None:
    # `build/` names folders; a plain file called `build` (a script, say) stays.
    assert not IgnoreRules().is_ignored("build", is_dir=False)


def test_root_gitignore() -> None:
    rules = IgnoreRules()
    rules.add_gitignore("", "*.log\n/secret.env\ncoverage/\n")
    assert rules.is_ignored("debug.log")
    assert rules.is_ignored("deep/dir/debug.log")
    assert rules.is_ignored("secret.env")
    assert not rules.is_ignored("config/secret.env")  # anchored to the root
    assert rules.is_ignored("coverage", is_dir=True)
    assert not rules.is_ignored("debug.log.txt")


def test_nested_gitignore_applies_only_under_its_folder() -> None:
    rules = IgnoreRules()
    rules.add_gitignore("backend", "*.sqlite3\n/local/\n")
    assert rules.is_ignored("backend/db.sqlite3")
    assert rules.is_ignored("backend/data/db.sqlite3")
    assert rules.is_ignored("backend/local", is_dir=True)
    assert not rules.is_ignored("db.sqlite3")
    assert not rules.is_ignored("frontend/db.sqlite3")
    assert not rules.is_ignored("backend2/db.sqlite3")  # a sibling that merely shares the prefix
    assert not rules.is_ignored("backend/data/local", is_dir=True)  # anchored to backend/


def test_nested_gitignore_with_trailing_slash_in_directory_name() -> None:
    rules = IgnoreRules()
    rules.add_gitignore("sub/", "*.tmp\n")
    assert rules.is_ignored("sub/x.tmp")
    assert not rules.is_ignored("x.tmp")


def test_negation_in_same_file() -> None:
    rules = IgnoreRules()
    rules.add_gitignore("", "*.log\n!keep.log\n")
    assert rules.is_ignored("other.log")
    assert not rules.is_ignored("keep.log")
    assert not rules.is_ignored("logs/keep.log")


def test_negation_in_deeper_gitignore_overrides_parent() -> None:
    # git: "patterns in lower level files ... override those in higher level files".
    rules = IgnoreRules()
    rules.add_gitignore("", "*.log\n")
    rules.add_gitignore("sub", "!keep.log\n")
    assert rules.is_ignored("sub/other.log")
    assert not rules.is_ignored("sub/keep.log")
    assert rules.is_ignored("keep.log")


def test_custom_patterns_replace_defaults() -> None:
    rules = IgnoreRules(patterns=["*.bak", "tmp/"])
    assert rules.is_ignored("old.bak")
    assert rules.is_ignored("a/tmp", is_dir=True)
    assert not rules.is_ignored("node_modules", is_dir=True)
    assert not rules.is_ignored(".git", is_dir=True)
    assert not rules.is_ignored(".DS_Store")


def test_use_gitignore_false_ignores_gitignore_files() -> None:
    rules = IgnoreRules(use_gitignore=False)
    rules.add_gitignore("", "*.log\n")
    assert not rules.is_ignored("debug.log")
    assert rules.is_ignored("node_modules", is_dir=True)
