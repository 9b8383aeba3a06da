"""scan_folder on real trees: ignore rules, symlinks, unsafe names, size and permission problems."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from projectdesk.core.errors import InvalidInput
from projectdesk.core.limits import Limits
from projectdesk.services.scan import ScanResult, scan_folder

NOBODY = 65534


def _write(root: Path, rel: str, data: bytes | str = b"x") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def _paths(result: ScanResult) -> list[str]:
    return [item.path for item in result.files]


def _problem_paths(result: ScanResult) -> dict[str, str]:
    return dict(result.problems)


def test_lists_files_sorted_with_sizes(tmp_path: Path) -> None:
    _write(tmp_path, "src/main.py", b"print(1)\n")
    _write(tmp_path, "README.md", b"# hi\n")
    _write(tmp_path, "src/lib/util.py", b"")
    _write(tmp_path, "naïve dir/ünï côdé.txt", b"abc")
    result = scan_folder(tmp_path)
    assert _paths(result) == sorted(["README.md", "naïve dir/ünï côdé.txt", "src/lib/util.py", "src/main.py"])
    sizes = {item.path: item.size for item in result.files}
    assert sizes == {"README.md": 5, "naïve dir/ünï côdé.txt": 3, "src/lib/util.py": 0, "src/main.py": 9}
    assert all(item.local_path == tmp_path / item.path for item in result.files)
    assert result.total_bytes == 17
    assert result.problems == []


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        scan_folder(tmp_path / "missing")
    with pytest.raises(InvalidInput):
        scan_folder(_write(tmp_path, "file.txt"))


def test_ignored_dirs_listed_with_slash_and_not_walked(tmp_path: Path) -> None:
    _write(tmp_path, "index.js")
    _write(tmp_path, "node_modules/react/index.js", b"x" * 100)
    _write(tmp_path, "frontend/node_modules/vite/bin.js")
    _write(tmp_path, ".git/HEAD", b"ref: refs/heads/main\n")
    _write(tmp_path, "pkg/__pycache__/m.cpython-311.pyc")
    _write(tmp_path, "pkg/m.py")
    _write(tmp_path, "assets/.DS_Store", b"12345")
    result = scan_folder(tmp_path)
    assert _paths(result) == ["index.js", "pkg/m.py"]
    assert sorted(result.ignored) == sorted(
        [".git/", "assets/.DS_Store", "frontend/node_modules/", "node_modules/", "pkg/__pycache__/"]
    )
    assert not any("react" in p or "HEAD" in p for p in result.ignored)  # contents of ignored dirs not walked
    assert result.ignored_bytes == 5  # only the ignored file counts; folders are not walked


def test_gitignore_is_honoured(tmp_path: Path) -> None:
    _write(tmp_path, ".gitignore", "*.log\n.env\n")
    _write(tmp_path, "app.py")
    _write(tmp_path, "debug.log")
    _write(tmp_path, ".env", "API_KEY=1")
    _write(tmp_path, "backend/.gitignore", "/media/\n")
    _write(tmp_path, "backend/media/upload.png")
    _write(tmp_path, "backend/server.log")
    _write(tmp_path, "frontend/media/logo.png")
    result = scan_folder(tmp_path)
    assert _paths(result) == [".gitignore", "app.py", "backend/.gitignore", "frontend/media/logo.png"]
    assert set(result.ignored) == {".env", "backend/media/", "backend/server.log", "debug.log"}


def test_custom_patterns_replace_defaults(tmp_path: Path) -> None:
    _write(tmp_path, "node_modules/x.js")
    _write(tmp_path, "a.bak")
    _write(tmp_path, "a.txt")
    result = scan_folder(tmp_path, ignore_patterns=["*.bak"])
    assert _paths(result) == ["a.txt", "node_modules/x.js"]
    assert result.ignored == ["a.bak"]


def test_links_are_kept_as_links_never_followed(tmp_path: Path) -> None:
    _write(tmp_path, "a/file.txt")
    (tmp_path / "a" / "loop").symlink_to("..", target_is_directory=True)  # a/loop -> root
    (tmp_path / "a" / "self").symlink_to(".", target_is_directory=True)  # a/self -> a
    (tmp_path / "dangling").symlink_to(tmp_path / "does-not-exist")
    (tmp_path / "secret").symlink_to("/etc/passwd")
    result = scan_folder(tmp_path)
    assert {i.path: i.link_target for i in result.files} == {
        "a/file.txt": None, "a/loop": "..", "a/self": ".", "dangling": str(tmp_path / "does-not-exist"),
        "secret": "/etc/passwd",
    }  # fmt: skip
    assert result.problems == []
    assert next(i for i in result.files if i.path == "secret").size == len("/etc/passwd")


def test_follow_links_follows_only_inside_and_reports_loops(tmp_path: Path) -> None:
    _write(tmp_path, "real/data.txt", b"1234")
    outside = tmp_path / "outside"
    _write(outside, "shared.txt", b"12")
    root = tmp_path / "real"
    (root / "link.txt").symlink_to(root / "data.txt")
    (root / "ext").symlink_to(outside, target_is_directory=True)
    (root / "sub").mkdir()
    (root / "sub" / "self").symlink_to(".", target_is_directory=True)
    result = scan_folder(root, follow_links=True)
    assert {item.path: (item.size, item.link_target) for item in result.files} == {
        "data.txt": (4, None), "link.txt": (4, None), "ext": (len(str(outside)), str(outside)),
    }  # fmt: skip
    assert "loop" in _problem_paths(result).get("sub/self", "")


def test_unsafe_names_are_reported(tmp_path: Path) -> None:
    _write(tmp_path, "back\\slash.txt")
    _write(tmp_path, "dir\\name/inner.txt")
    _write(tmp_path, "ctrl\x01char.txt")
    _write(tmp_path, "fine.txt")
    result = scan_folder(tmp_path)
    assert _paths(result) == ["fine.txt"]
    problems = _problem_paths(result)
    assert set(problems) == {"back\\slash.txt", "dir\\name", "ctrl\x01char.txt"}
    assert all("safely" in what for what in problems.values())


def test_oversize_files_listed(tmp_path: Path) -> None:
    _write(tmp_path, "small.txt", b"x" * 10)
    _write(tmp_path, "big.bin", b"x" * 11)
    _write(tmp_path, "sub/huge.bin", b"x" * 500)
    result = scan_folder(tmp_path, limits=Limits(max_file_bytes=10, max_project_bytes=10_000))
    assert sorted(result.oversize) == [("big.bin", 11), ("sub/huge.bin", 500)]
    assert "big.bin" in _paths(result)  # still listed: the caller decides
    assert scan_folder(tmp_path).oversize == []


def test_fifo_is_reported(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    _write(tmp_path, "ok.txt")
    result = scan_folder(tmp_path)
    assert _paths(result) == ["ok.txt"]
    assert "not a regular file" in _problem_paths(result).get("pipe", "")


_SCAN_AS_NOBODY = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from projectdesk.services.scan import scan_folder
    import pathspec  # the ignore rules load it on first use: now, while the venv (under /root in CI) is readable

    root = Path(sys.argv[1])
    os.chdir(root)  # as root, so non-traversable ancestors of the tree do not matter
    os.setgroups([])
    os.setgid({uid})
    os.setuid({uid})
    assert os.geteuid() == {uid}
    if os.access("unreadable.txt", os.R_OK):
        raise SystemExit("privileges were not dropped: the file is still readable")
    result = scan_folder(Path("."))
    print(json.dumps({{"files": [i.path for i in result.files], "problems": result.problems}}))
    """
).format(uid=NOBODY)


def _chown_tree(root: Path, uid: int) -> None:
    os.chown(root, uid, uid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    _write(root, "readable.txt", b"ok")
    _write(root, "sub/also.txt", b"ok")
    secret = _write(root, "unreadable.txt", b"top secret")
    if os.geteuid() == 0:
        # root reads through chmod 000, so scan in a child that drops to an unprivileged uid.
        _chown_tree(root, NOBODY)
        secret.chmod(0)
        proc = subprocess.run(
            [sys.executable, "-c", _SCAN_AS_NOBODY, str(root)], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        outcome = json.loads(proc.stdout)
        files, problems = outcome["files"], {path: what for path, what in outcome["problems"]}
    else:
        secret.chmod(0)
        try:
            result = scan_folder(root)
        finally:
            secret.chmod(0o644)
        files, problems = _paths(result), _problem_paths(result)
    assert files == ["readable.txt", "sub/also.txt"]
    assert set(problems) == {"unreadable.txt"}
    assert "permission denied" in problems["unreadable.txt"]
