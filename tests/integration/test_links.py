"""Symbolic links as git keeps them: stored as links (never followed), restored as links only inside the project.

The folder has the shapes of links found in real repositories (fastapi/full-stack-fastapi-template's skills
links into an ignored .venv, a link to a file and to a folder inside, an absolute link outside, a link to a
device) and is compared with what `git clone` restores of the same folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from projectdesk.core.links import restorable
from tests.conftest import make_tree
from tests.integration.test_cli import Runner, _slug_from
from tests.integration.test_cli import run as run

FILES = {
    "README.md": b"# Template\n",
    "lib/util.py": b"def util():\n    return 1\n",
    ".gitignore": b".venv/\n",
    ".venv/lib/tool/SKILL.md": b"secret-ish content that must never be uploaded\n",
}
LINKS = {
    "docs/readme": "../README.md",  # a file inside
    "src/alias": "../lib",  # a folder inside
    ".agents/skills/tool": "../../.venv/lib/tool",  # into an ignored folder (dangles after a clone, as in git)
    "passwd": "/etc/passwd",  # absolute, outside
    "null": "/dev/null",  # a device
}


def _make_folder(root: Path) -> Path:
    make_tree(root, FILES)
    for path, target in LINKS.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).symlink_to(target)
    return root


def _git_clone(source: Path, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """What git keeps of the folder: path -> ("link", target) or ("file", content)."""
    git = shutil.which("git")
    if git is None:
        pytest.fail("git is needed for this comparison (Debian package git)")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    subprocess.run([git, "init", "-q", str(source)], check=True, env=env)
    subprocess.run([git, "-C", str(source), "add", "-A"], check=True, env=env)
    subprocess.run([git, "-C", str(source), "commit", "-qm", "x"], check=True, env=env)
    staged = subprocess.run([git, "-C", str(source), "ls-files", "-s"], check=True, env=env, capture_output=True)
    kept: dict[str, tuple[str, str]] = {}
    for line in staged.stdout.decode().splitlines():
        mode, _, rest = line.partition(" ")
        path = rest.split("\t", 1)[1]
        local = source / path
        kept[path] = ("link", os.readlink(local)) if mode == "120000" else ("file", local.read_text())
    shutil.rmtree(source / ".git")
    return kept


def _as_found(root: Path) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            full = Path(folder, name)
            rel = full.relative_to(root).as_posix()
            if full.is_symlink():
                found[rel] = ("link", os.readlink(full))
            elif full.is_file():
                found[rel] = ("file", full.read_text())
    return found


def test_links_round_trip_as_git_keeps_them(run: Runner, tmp_path: Path) -> None:
    source = _make_folder(tmp_path / "template")
    git_kept = _git_clone(source, tmp_path)
    assert {p for p, (kind, _) in git_kept.items() if kind == "link"} == set(LINKS)

    out, err = run("push", str(source), "--name", "Template")  # exit 0: links are no problem
    slug = _slug_from(out)
    assert "SKILL.md" not in out + err
    stored = {e["path"] for e in run.json("ls", slug)}
    assert stored == set(git_kept)  # the links are objects of their own; nothing behind them was sent
    assert run("cat", slug, "passwd")[0] == "/etc/passwd"  # the link's target text, not /etc/passwd itself
    assert run("cat", slug, "null")[0] == "/dev/null"

    dest = tmp_path / "pulled"
    _, err = run("pull", slug, str(dest))
    expected: dict[str, tuple[str, str]] = {}
    for path, (kind, value) in git_kept.items():
        if kind == "link" and not restorable(path, value):
            expected[path] = ("file", value)  # never a link pointing outside the folder
        else:
            expected[path] = (kind, value)
    found = {p: v for p, v in _as_found(dest).items() if p in git_kept}
    assert found == expected
    assert "passwd" in err and "outside the project" in err
    assert not (dest / ".venv").exists()
    # Pulled links are unchanged for the next sync: nothing moves
    out, _ = run("sync", str(dest))
    assert "0 sent, 0 fetched" in out

    # export keeps the links as zip links; import makes them links again
    archive = tmp_path / "t.zip"
    run("export", slug, str(archive))
    with zipfile.ZipFile(archive) as zf:
        zipped_links = {i.filename for i in zf.infolist() if (i.external_attr >> 16) & 0o170000 == 0o120000}
    assert zipped_links == set(LINKS)
    out, err = run("import", str(archive), "--name", "Again")
    again = _slug_from(out)
    dest2 = tmp_path / "again"
    run("pull", again, str(dest2))
    found2 = {p: v for p, v in _as_found(dest2).items() if p in git_kept}
    assert found2 == expected


def test_follow_links_sends_what_links_inside_point_at_never_outside(run: Runner, tmp_path: Path) -> None:
    source = _make_folder(tmp_path / "template")
    out, _ = run("push", str(source), "--name", "Followed", "--follow-links")
    slug = _slug_from(out)
    assert run("cat", slug, "docs/readme")[0] == "# Template\n"  # followed: inside
    assert run("cat", slug, "src/alias/util.py")[0] == "def util():\n    return 1\n"
    assert run("cat", slug, "passwd")[0] == "/etc/passwd"  # outside: still only the link
    stored = {e["path"] for e in run.json("ls", slug)}
    assert stored == {"README.md", ".gitignore", "lib/util.py", "docs/readme", "src/alias/util.py",
                      ".agents/skills/tool", "passwd", "null"}  # fmt: skip
    assert run("cat", slug, ".agents/skills/tool")[0] == "../../.venv/lib/tool"  # into an ignored folder: a link
