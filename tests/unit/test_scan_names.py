"""scan_folder names what is wrong with each file it cannot send, and still lists the rest."""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from projectdesk.core.display import printable
from projectdesk.services.scan import scan_folder

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names and special files")


def _non_utf8(root: Path) -> str:
    with open(os.path.join(os.fsencode(str(root)), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"x")
    return os.fsdecode(b"caf\xe9.txt")


def _fifo(root: Path) -> str:
    os.mkfifo(root / "pipe")
    return "pipe"


def _socket(root: Path) -> str:
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(root / "sock"))
    except OSError as exc:  # a path too long for sun_path
        pytest.skip(f"no UNIX socket here: {exc.strerror}")
    finally:
        sock.close()
    return "sock"


def _link_to(target: str) -> Callable[[Path], str]:
    def make(root: Path) -> str:
        if not os.path.exists(target):
            pytest.skip(f"{target} does not exist here")
        (root / "device-link").symlink_to(target)
        return "device-link"

    return make


def _broken_link(root: Path) -> str:
    (root / "dangling").symlink_to(root / "missing")
    return "dangling"


def _long_name(root: Path) -> str:
    name = "n" * 300 + ".txt"
    try:
        (root / name).write_bytes(b"x")
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        pytest.skip("this file system refuses names over 255 bytes, so no such file can be made")
    return name


def _long_path(root: Path) -> str:
    folder = root.joinpath(*["d" * 250] * 4)
    folder.mkdir(parents=True)
    (folder / "f.txt").write_bytes(b"x")
    return "/".join(["d" * 250] * 4)  # reported at the folder that makes the path too long


CASES = [
    pytest.param(_non_utf8, "the name is not valid UTF-8 (shown as caf\\xe9.txt); rename it", id="non-utf8"),
    pytest.param(_fifo, "not a regular file: a named pipe (FIFO); skipped", id="fifo"),
    pytest.param(_socket, "not a regular file: a socket; skipped", id="socket"),
    pytest.param(_long_name, "the name is too long to store (304 bytes; at most 255 per part)", id="long-name"),
    pytest.param(
        _long_path, "the name is too long to store (1003 bytes; at most 824 for the whole path)", id="long-path"
    ),
]


@pytest.mark.parametrize(("make", "reason"), CASES)
def test_each_problem_says_what_it_is_and_the_rest_is_still_sent(
    tmp_path: Path, make: Callable[[Path], str], reason: str
) -> None:
    (tmp_path / "ok.txt").write_bytes(b"fine")
    bad = make(tmp_path)
    result = scan_folder(tmp_path)
    assert [item.path for item in result.files] == ["ok.txt"]
    assert result.problems == [(bad, reason)]


def test_a_non_utf8_name_never_reaches_the_upload_list(tmp_path: Path) -> None:
    """Every path handed to a transfer encodes to UTF-8 (a lone surrogate made the CRT upload crash)."""
    name = _non_utf8(tmp_path)
    sub = tmp_path / "sub"
    sub.mkdir()
    _non_utf8(sub)
    os.mkdir(os.path.join(os.fsencode(str(tmp_path)), b"dir\xff"))
    (tmp_path / "good.txt").write_bytes(b"ok")
    result = scan_folder(tmp_path)
    for item in result.files:
        item.path.encode("utf-8")
    assert [item.path for item in result.files] == ["good.txt"]
    assert {path for path, _ in result.problems} == {name, f"sub/{name}", os.fsdecode(b"dir\xff")}
    assert all("not valid UTF-8" in why and printable(why) == why for _, why in result.problems)


def test_a_part_over_255_bytes_is_named_where_no_file_system_could_hold_it() -> None:
    from projectdesk.services.scan import _name_problem

    name = "é" * 130  # 260 bytes in UTF-8
    assert _name_problem(name, f"sub/{name}") == "the name is too long to store (260 bytes; at most 255 per part)"


@pytest.mark.parametrize("target", ["/dev/null", "/dev/zero", "does-not-exist"])
def test_links_to_devices_and_nowhere_are_stored_as_links(tmp_path: Path, target: str) -> None:
    """Links are never followed, so what they point at (a device, nothing) is never read: the link is kept."""
    (tmp_path / "ok.txt").write_bytes(b"fine")
    (tmp_path / "link").symlink_to(target)
    result = scan_folder(tmp_path)
    assert {i.path: i.link_target for i in result.files} == {"link": target, "ok.txt": None}
    assert result.problems == []
