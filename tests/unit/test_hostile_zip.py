"""Hostile zip files: every bad archive ends in one plain sentence naming the member, with nothing uploaded.

The zips are built here with zipfile and then broken on purpose (a flipped data byte, header bits set in
both the local and the central header, a size that lies), and imported into the local store and S3 on moto.
"""

from __future__ import annotations

import contextlib
import io
import stat
import struct
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projectdesk.core.errors import InvalidInput, InvalidKey, LimitExceeded, ProjectDeskError
from projectdesk.services.archive import zip_member_is_symlink
from projectdesk.services.projects import ProjectService
from tests.conftest import Store

STORES = pytest.mark.parametrize("store", ["local", "moto"], indirect=True)
Member = tuple[str, bytes]
LOCAL_HEADER = 30  # bytes of a local file header before its name
CENTRAL_HEADER = 46


# ---- building and breaking zips -------------------------------------------------------------------


def build_zip(members: list[Member], compression: int = zipfile.ZIP_DEFLATED, links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of duplicate names, which some cases want
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in members:
                info = zipfile.ZipInfo(name)
                info.compress_type = compression
                info.external_attr = (0o100644 << 16) if name not in links else ((stat.S_IFLNK | 0o777) << 16)
                archive.writestr(info, data)
    return buffer.getvalue()


def _central_offsets(raw: bytes) -> list[int]:
    """Where each member's central directory header starts."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        offset = archive.start_dir
        count = len(archive.infolist())
    offsets = []
    for _ in range(count):
        offsets.append(offset)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", raw, offset + 28)
        offset += CENTRAL_HEADER + name_len + extra_len + comment_len
    return offsets


def patch_headers(
    raw: bytes, index: int, *, flags: int = 0, method: int | None = None, size: int | None = None
) -> bytes:
    """Set flag bits, the compression method or the uncompressed size of member `index` in both headers."""
    data = bytearray(raw)
    central = _central_offsets(raw)[index]
    (local,) = struct.unpack_from("<I", data, central + 42)
    for header, flag_at, method_at, size_at in ((local, 6, 8, 22), (central, 8, 10, 24)):
        struct.pack_into("<H", data, header + flag_at, struct.unpack_from("<H", data, header + flag_at)[0] | flags)
        if method is not None:
            struct.pack_into("<H", data, header + method_at, method)
        if size is not None:
            struct.pack_into("<I", data, header + size_at, size)
    return bytes(data)


def flip_data_byte(raw: bytes, index: int) -> bytes:
    """Invert one byte in the middle of member `index`'s compressed data."""
    data = bytearray(raw)
    central = _central_offsets(raw)[index]
    (compressed,) = struct.unpack_from("<I", data, central + 20)
    (local,) = struct.unpack_from("<I", data, central + 42)
    name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
    data[local + LOCAL_HEADER + name_len + extra_len + compressed // 2] ^= 0xFF
    return bytes(data)


BIG = bytes(range(256)) * 400  # 100 KB that deflate shrinks


def _corrupt_crc() -> bytes:
    return flip_data_byte(build_zip([("proj/ok.txt", b"fine"), ("proj/broken.txt", b"abc" * 3000)]), 1)


def _corrupt_stored() -> bytes:
    return flip_data_byte(build_zip([("proj/broken.bin", BIG)], zipfile.ZIP_STORED), 0)


def _encrypted() -> bytes:
    return patch_headers(build_zip([("proj/ok.txt", b"fine"), ("proj/secret.txt", b"psst")]), 1, flags=0x1)


def _deflate64() -> bytes:
    return patch_headers(build_zip([("proj/ok.txt", b"fine"), ("proj/big.dat", b"x" * 100)]), 1, method=9)


def _unknown_method() -> bytes:
    return patch_headers(build_zip([("proj/odd.dat", b"x" * 100)]), 0, method=99)


def _lying_size() -> bytes:
    return patch_headers(build_zip([("proj/small.txt", b"ok"), ("proj/bomb.bin", BIG)]), 1, size=10)


# (id, zip bytes, expected error, words the message must hold: the member's name first)
CASES: list[tuple[str, Callable[[], bytes], type[ProjectDeskError], tuple[str, ...]]] = [
    ("corrupt-deflate-crc", _corrupt_crc, InvalidInput, ("proj/broken.txt", "damaged")),
    ("corrupt-stored-crc", _corrupt_stored, InvalidInput, ("proj/broken.bin", "damaged", "CRC")),
    ("encrypted", _encrypted, InvalidInput, ("proj/secret.txt", "encrypted")),
    ("deflate64", _deflate64, InvalidInput, ("proj/big.dat", "Deflate64")),
    ("unknown-compression", _unknown_method, InvalidInput, ("proj/odd.dat", "method 99")),
    ("file-then-folder", lambda: build_zip([("p/a", b"1"), ("p/a/b.txt", b"2")]), InvalidInput, ("p/a", "p/a/b.txt")),
    ("folder-then-file", lambda: build_zip([("p/a/b.txt", b"2"), ("p/a", b"1")]), InvalidInput, ("p/a", "p/a/b.txt")),
    ("duplicates", lambda: build_zip([("x.txt", b"1"), ("y", b""), ("x.txt", b"2")]), InvalidInput, ("x.txt", "once")),
    (
        "manifest-name",
        lambda: build_zip([("site/.projectdesk.json", b"{}"), ("site/index.html", b"<h1>")]),
        InvalidInput,
        ("site/.projectdesk.json", "reserved"),
    ),
    ("temp-name", lambda: build_zip([("a/.pd-tmp-x", b"1"), ("b", b"")]), InvalidInput, ("a/.pd-tmp-x", "reserved")),
    (
        "symlink-target-not-utf8",
        lambda: build_zip([("p/target.txt", b"t"), ("p/link", b"\xff\xfe")], links=("p/link",)),
        InvalidInput,
        ("p/link", "link", "UTF-8"),
    ),
    ("parent-escape", lambda: build_zip([("../evil.txt", b"x")]), InvalidKey, ("../evil.txt",)),
    ("absolute-one", lambda: build_zip([("/abs/x", b"x")]), InvalidKey, ("/abs/x",)),
    ("absolute", lambda: build_zip([("/etc/evil", b"x"), ("ok", b"")]), InvalidKey, ("/etc/evil",)),
    ("backslash", lambda: build_zip([("a\\b.txt", b"x")]), InvalidKey, ("backslash",)),
    ("control-char", lambda: build_zip([("a\x01b", b"x")]), InvalidKey, ("control",)),
    ("size-lies", _lying_size, LimitExceeded, ("proj/bomb.bin", "larger than it claims")),
    ("size-too-big", lambda: build_zip([("huge.bin", bytes(11_000_000))]), LimitExceeded, ("huge.bin",)),
    ("empty", lambda: build_zip([]), InvalidInput, ("zipproj.zip", "no files")),
    ("only-folders", lambda: build_zip([("a/", b""), ("a/b/", b"")]), InvalidInput, ("no files",)),
    ("not-a-zip", lambda: b"PK\x03\x04 certainly not a zip", InvalidInput, ("zipproj.zip", "not a readable zip")),
]


@STORES
@pytest.mark.parametrize(("make", "error", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_zip_is_refused_by_name_and_nothing_is_uploaded(
    store: Store, tmp_path: Path, make: Callable[[], bytes], error: type[ProjectDeskError], words: tuple[str, ...]
) -> None:
    archive = tmp_path / "zipproj.zip"
    archive.write_bytes(make())
    service = ProjectService(store.repo)
    with pytest.raises(error) as caught:
        service.import_zip(archive)
    assert type(caught.value) is error
    message = str(caught.value)
    for word in words:
        assert word in message
    assert "\n" not in message and "Traceback" not in message
    assert store.repo.list_slugs() == []


@STORES
def test_a_good_zip_is_named_after_the_file_and_its_folder_is_stripped(store: Store, tmp_path: Path) -> None:
    archive = tmp_path / "zipproj.zip"
    members = [("inner/", b""), ("inner/index.html", b"<h1>"), ("inner/src/app.js", b"app()"), ("inner/e", b"")]
    archive.write_bytes(build_zip(members))
    service = ProjectService(store.repo)
    plan, result = service.import_zip(archive)
    assert plan.name == "zipproj" and plan.slug.startswith("zipproj")
    assert not result.failed
    assert {e.path: store.repo.read_file(plan.slug, e.path) for e in store.repo.list_files(plan.slug)} == {
        "index.html": b"<h1>",
        "src/app.js": b"app()",
        "e": b"",
    }
    [info] = store.repo.list_projects()
    assert info.name == "zipproj"


@STORES
def test_every_compression_zipfile_knows_is_imported(store: Store, tmp_path: Path) -> None:
    service = ProjectService(store.repo)
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        archive = tmp_path / f"m{method}.zip"
        archive.write_bytes(build_zip([("a.bin", BIG), ("b/c.txt", b"c")], method))
        plan, result = service.import_zip(archive, name=f"method {method}")
        assert not result.failed
        assert store.repo.read_file(plan.slug, "a.bin") == BIG


def test_symlink_detection() -> None:
    raw = build_zip([("plain", b"x"), ("link", b"plain")], links=("link",))
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        assert [zip_member_is_symlink(info) for info in archive.infolist()] == [False, True]
    assert not zip_member_is_symlink(zipfile.ZipInfo("made-on-windows"))


# ---- any zip at all -------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "a.txt", "dir/b.txt", "dir/", "a", "a/b", "../x", "/abs", "a\\b", "nul\x00byte", "x/../../y", "./c", "",
    ".projectdesk.json", "d/.projectdesk.json", ".pd-tmp-1", "C:evil", "é/ü.txt", "a//b", "t\x7f", "dir/sub/c.txt",
]  # fmt: skip
SAFE_NAMES = ["index.html", "src/app.js", "src/lib/util.py", "README.md", "img/logo.png", "e", "ü/日本.txt"]
METHODS = [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]


@st.composite
def hostile_zips(draw: st.DrawFn) -> bytes:
    hostile = st.sampled_from(HOSTILE_NAMES) | st.text(st.sampled_from("ab/.\\\x00é"), max_size=8)
    safe = st.sampled_from(SAFE_NAMES).map(lambda name: draw(st.sampled_from(["", "top/"])) + name)
    names = st.one_of(*[safe] * 6, hostile)  # mostly importable zips, so the success path is explored too
    members = draw(st.lists(st.tuples(names, st.binary(max_size=300)), max_size=6, unique_by=lambda m: m[0]))
    if members and draw(st.integers(0, 7)) == 0:
        members += [draw(st.sampled_from(members))]  # a duplicate
    links = (draw(st.sampled_from(members))[0],) if members and draw(st.integers(0, 7)) == 0 else ()
    try:
        raw = build_zip(members, draw(st.sampled_from(METHODS)), links)
    except (ValueError, OSError):  # a name zipfile itself cannot write
        raw = build_zip([])
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        kind = draw(st.sampled_from(["flags", "method", "size", "flip", "truncate"]))
        if kind == "truncate":
            raw = raw[: draw(st.integers(0, len(raw)))]
            continue
        try:
            count = len(_central_offsets(raw))
        except Exception:  # broken by an earlier change already
            count = 0
        if count == 0:
            continue
        index = draw(st.integers(0, count - 1))
        with contextlib.suppress(struct.error, IndexError):
            if kind == "flags":
                raw = patch_headers(raw, index, flags=draw(st.sampled_from([0x1, 0x20, 0x40, 0x8, 0x800])))
            elif kind == "method":
                raw = patch_headers(raw, index, method=draw(st.sampled_from([0, 8, 9, 12, 14, 98, 0xFFFF])))
            elif kind == "size":
                raw = patch_headers(raw, index, size=draw(st.integers(0, 2**32 - 1)))
            else:
                raw = flip_data_byte(raw, index)
    if draw(st.integers(0, 4)) == 0:  # a few random bytes anywhere
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 3))):
            if data:
                data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        raw = bytes(data)
    return raw


@STORES
@given(raw=hostile_zips())
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_zip_is_imported_or_refused_with_a_projectdesk_error(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: bytes
) -> None:
    jail = tmp_path / "jail"
    temp = jail / "tmp"
    temp.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # the unpacking folder lies in the jail
    archive = tmp_path / "in" / "hostile.zip"
    archive.parent.mkdir(exist_ok=True)
    archive.write_bytes(raw)
    before = set(store.repo.list_slugs())
    service = ProjectService(store.repo)
    try:
        plan, _ = service.import_zip(archive)
    except ProjectDeskError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert set(store.repo.list_slugs()) == before  # refused: nothing uploaded
    else:
        assert plan.slug in store.repo.list_slugs()
    leftovers: list[Any] = [p.relative_to(jail).as_posix() for p in jail.rglob("*")]
    assert leftovers == ["tmp"]  # nothing written beside the unpacking folder, which is gone
    assert sorted(p.name for p in archive.parent.iterdir()) == ["hostile.zip"]
