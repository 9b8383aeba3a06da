"""The contract every store passes: local folder, S3 on moto, and S3 on a real SeaweedFS server."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from projectdesk.core.errors import Cancelled, Conflict, InvalidKey, NotFound
from projectdesk.core.keys import is_safe_relative_path
from projectdesk.core.models import Manifest, Progress
from projectdesk.storage.repository import UploadItem
from tests.conftest import Store, make_tree, tree_bytes

SLUG = "demo-12345"

ROUND_TRIP_FILES: dict[str, bytes] = {
    "README.md": b"# Demo\n",
    "empty.txt": b"",
    "latin1.txt": "café déjà vu".encode("latin-1"),  # not UTF-8
    "binary.bin": bytes(range(256)) * 40,
    "names with spaces/file name.txt": b"spaces",
    "unicode/日本語/naïve-файл.py": "print('ü')\n".encode(),
    "a/b/c/d/e/f/g/deep.json": b'{"deep": true}',
}


def _upload(store: Store, root: Path, slug: str = SLUG) -> dict[str, bytes]:
    files = tree_bytes(root)
    items = [UploadItem(p, root / p, len(d)) for p, d in files.items()]
    report = store.repo.upload_tree(slug, items, project_name="Demo")
    assert report.failed == []
    assert set(report.uploaded) == set(files)
    return files


def test_write_read_round_trip_is_byte_identical(store: Store) -> None:
    for path, data in ROUND_TRIP_FILES.items():
        entry = store.repo.write_file(SLUG, path, data)
        assert entry.size == len(data) and entry.etag
    for path, data in ROUND_TRIP_FILES.items():
        assert store.repo.read_file(SLUG, path) == data
    listed = {e.path: e.size for e in store.repo.list_files(SLUG)}
    assert listed == {p: len(d) for p, d in ROUND_TRIP_FILES.items()}


def test_tree_upload_and_download_are_byte_identical(store: Store, tmp_path: Path) -> None:
    source = make_tree(tmp_path / "src", ROUND_TRIP_FILES)
    files = _upload(store, source)
    dest = tmp_path / "dest"
    report = store.repo.download_tree(SLUG, dest)
    assert report.failed == [] and report.skipped == []
    assert tree_bytes(dest) == files


def test_a_download_writes_the_listed_version_or_fails(store: Store, tmp_path: Path) -> None:
    # One file per way a download goes: in memory (S3), one GET to a file, ranged GETs above 16 MB.
    sizes = {"small.txt": 100, "medium.bin": 300 * 1024, "large.bin": 17 * 1024 * 1024}
    for path, size in sizes.items():
        store.repo.write_file(SLUG, path, b"v1" * (size // 2))
    listed = store.repo.list_files(SLUG)
    for path, size in sizes.items():
        store.repo.write_file(SLUG, path, b"v2" * (size // 2))  # replaced after the listing
    report = store.repo.download_tree(SLUG, tmp_path / "dest", entries=listed)
    assert report.downloaded == []
    assert sorted(path for path, _ in report.failed) == sorted(sizes)
    assert all(isinstance(error, Conflict) for _, error in report.failed), report.failed
    assert not [p for p in (tmp_path / "dest").rglob("*") if p.is_file()]  # nothing, not even a temp file
    fresh = store.repo.download_tree(SLUG, tmp_path / "fresh")
    assert tree_bytes(tmp_path / "fresh") == {p: b"v2" * (n // 2) for p, n in sizes.items()}
    assert not fresh.failed


def test_large_file_goes_multipart_and_round_trips(store: Store, tmp_path: Path) -> None:
    size = 17 * 1024 * 1024 + 123  # above the multipart threshold, not a multiple of the part size
    big = tmp_path / "src" / "assets" / "big.bin"
    big.parent.mkdir(parents=True)
    with open(big, "wb") as handle:
        handle.write(os.urandom(size))
    report = store.repo.upload_tree(SLUG, [UploadItem("assets/big.bin", big, size)], project_name="Demo")
    assert report.failed == []
    assert report.uploaded["assets/big.bin"].size == size
    if store.client is not None:  # a multipart upload has an ETag of the form md5-partcount
        head = store.client.head_object(Bucket=store.bucket, Key=f"projects/anonymous/{SLUG}/assets/big.bin")
        assert "-" in head["ETag"]
    dest = tmp_path / "dest"
    store.repo.download_tree(SLUG, dest)
    assert (dest / "assets" / "big.bin").read_bytes() == big.read_bytes()


def test_listing_paginates_past_1000_files(store: Store, tmp_path: Path) -> None:
    files = {f"src/module{i // 100}/file{i:04d}.txt": f"{i}".encode() for i in range(1105)}
    source = make_tree(tmp_path / "src", files)
    _upload(store, source)
    listed = store.repo.list_files(SLUG)
    assert len(listed) == 1105
    assert {e.path for e in listed} == set(files)
    assert store.repo.delete_project(SLUG) == 1105
    assert store.repo.list_files(SLUG) == []
    # SeaweedFS may keep the emptied folder as a common prefix; the project must still be gone.
    assert SLUG not in [p.slug for p in store.repo.list_projects()]
    assert not store.repo.project_exists(SLUG)


def test_conditional_writes_never_overwrite_a_newer_version(store: Store) -> None:
    first = store.repo.write_file(SLUG, "app.py", b"v1")
    second = store.repo.write_file(SLUG, "app.py", b"v2", if_match=first.etag)
    with pytest.raises(Conflict):
        store.repo.write_file(SLUG, "app.py", b"stale edit", if_match=first.etag)
    assert store.repo.read_file(SLUG, "app.py") == b"v2"
    with pytest.raises(Conflict):
        store.repo.write_file(SLUG, "app.py", b"new file?", if_none_match=True)
    store.repo.write_file(SLUG, "fresh.py", b"ok", if_none_match=True)
    assert store.repo.stat_file(SLUG, "app.py").etag == second.etag
    with pytest.raises(Conflict):
        store.repo.delete_file(SLUG, "app.py", if_match=first.etag)
    store.repo.delete_file(SLUG, "app.py", if_match=second.etag)
    with pytest.raises(NotFound):
        store.repo.read_file(SLUG, "app.py")


@pytest.mark.parametrize("size", [5, 17 * 1024 * 1024], ids=["small", "multipart"])
def test_bulk_uploads_carry_their_preconditions(store: Store, tmp_path: Path, size: int) -> None:
    """upload_tree sends If-None-Match / If-Match with each file (the CRT path too): a newer file is never
    replaced, whatever the transfer engine."""
    body = os.urandom(size)
    existing = store.repo.write_file(SLUG, "taken.bin", b"someone else's")
    local = tmp_path / "mine.bin"
    local.write_bytes(body)
    items = [
        UploadItem("taken.bin", local, size, if_none_match=True),  # exists: refused
        UploadItem("free.bin", local, size, if_none_match=True),  # new: sent
    ]
    report = store.repo.upload_tree(SLUG, items, project_name="p")
    assert list(report.uploaded) == ["free.bin"] and [p for p, e in report.failed if isinstance(e, Conflict)] == [
        "taken.bin"
    ]
    report = store.repo.upload_tree(
        SLUG, [UploadItem("taken.bin", local, size, if_match=existing.etag + "0")], project_name="p"
    )
    assert not report.uploaded and isinstance(report.failed[0][1], Conflict)
    assert store.repo.read_file(SLUG, "taken.bin") == b"someone else's"
    report = store.repo.upload_tree(
        SLUG, [UploadItem("taken.bin", local, size, if_match=existing.etag)], project_name="p"
    )
    assert list(report.uploaded) == ["taken.bin"]
    assert store.repo.read_file(SLUG, "taken.bin") == body


def test_missing_things_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.repo.read_file(SLUG, "nope.txt")
    with pytest.raises(NotFound):
        store.repo.stat_file(SLUG, "nope.txt")
    assert store.repo.get_manifest("no-such-project") is None
    assert store.repo.list_files("no-such-project") == []


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../b", "/abs.txt", "C:evil", "a\\b.txt", "nul\x00.txt", ""])
def test_writes_to_unsafe_paths_are_refused(store: Store, path: str) -> None:
    with pytest.raises(InvalidKey):
        store.repo.write_file(SLUG, path, b"x")


def test_manifest_round_trip_and_listing(store: Store) -> None:
    store.repo.write_file(SLUG, "index.html", b"<html></html>")
    manifest = Manifest(
        name="Portfolio Site ✨",
        slug=SLUG,
        user_id="anonymous",
        created_date=1703001234.5,
        updated_date=1703001299.0,
        files_count=1,
        total_bytes=13,
        tech_stack=["React", "Vite"],
        has_frontend=True,
        files={"index.html": "ab" * 32},
    )
    store.repo.put_manifest(manifest)
    assert store.repo.get_manifest(SLUG) == manifest
    assert [e.path for e in store.repo.list_files(SLUG)] == ["index.html"]  # the manifest is hidden
    [info] = store.repo.list_projects()
    assert (info.name, info.slug, info.tech_stack, info.has_frontend) == (
        "Portfolio Site ✨",
        SLUG,
        ["React", "Vite"],
        True,
    )
    assert info.created_date == 1703001234.5


def test_projects_written_by_another_tool_are_listed_with_their_stack(store: Store) -> None:
    base = "projects/anonymous/legacy-app-67890/"
    store.plant(base + "frontend/package.json", b'{"dependencies": {"react": "^18", "vite": "^5"}}')
    store.plant(base + "frontend/src/App.jsx", b"export default () => null")
    store.plant(base + "backend/requirements.txt", b"fastapi==0.110\nuvicorn\n")
    store.plant(base + "backend/main.py", b"app = None")
    store.plant("projects/someone-else/other-11111/x.txt", b"not ours")
    [info] = store.repo.list_projects()
    assert info.slug == "legacy-app-67890" and info.name == "legacy-app-67890"
    assert info.tech_stack == ["React", "Vite", "FastAPI", "Node.js", "Python"]
    assert info.has_frontend and info.has_backend
    assert info.files_count == 4
    assert info.created_date > 0


def test_hostile_keys_are_skipped_and_never_escape(store: Store, tmp_path: Path) -> None:
    base = f"projects/anonymous/{SLUG}/"
    store.plant(base + "good/ok.txt", b"fine")
    planted = []
    for suffix in ["../../../escape.txt", "..\\..\\win-escape.txt", "/rooted.txt", "dir/../../up.txt", "nul\x00.txt"]:
        try:
            store.plant(base + suffix, b"evil")
            planted.append(suffix)
        except Exception:  # SeaweedFS refuses some of these itself, and a folder store cannot hold them
            continue
    if store.kind == "moto":  # moto, like AWS, stores any key: every hostile form must reach download_tree
        assert len(planted) == 5
    if store.kind != "local":
        assert planted, "at least one hostile key must be planted"
    dest = tmp_path / "sandbox" / "dest"
    listed = {e.path for e in store.repo.list_files(SLUG)}
    safe = {p for p in listed if is_safe_relative_path(p)}
    report = store.repo.download_tree(SLUG, dest)
    assert {e.path for e in report.downloaded} == safe
    assert {path for path, _ in report.skipped} == listed - safe
    if store.kind == "moto":
        assert len(report.skipped) == 5
    # Whatever the server did with the names, nothing was written anywhere but under dest.
    written = tree_bytes(tmp_path / "sandbox")
    assert all(p.startswith("dest/") for p in written)
    assert written["dest/good/ok.txt"] == b"fine"
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "sandbox" / "escape.txt").exists()
    assert not Path("/rooted.txt").exists()


def test_progress_reaches_the_total_and_cancel_stops(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"f{i:03d}.txt": b"x" * i for i in range(60)}
    source = make_tree(tmp_path / "src", files)
    items = [UploadItem(p, source / p, len(d)) for p, d in files.items()]
    seen: list[Progress] = []
    store.repo.upload_tree(SLUG, items, project_name="Demo", progress=seen.append)
    assert seen[-1].files_done == 60 and seen[-1].bytes_done == sum(len(d) for d in files.values())
    cancel = threading.Event()
    real_download = store.repo.download_one
    calls = 0

    def download_then_cancel(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 5:
            cancel.set()  # as the Cancel button would, from another thread
        real_download(*args)

    monkeypatch.setattr(store.repo, "download_one", download_then_cancel)
    with pytest.raises(Cancelled):
        store.repo.download_tree(SLUG, tmp_path / "dest", cancel=cancel)
    written = len(tree_bytes(tmp_path / "dest"))
    assert 5 <= written < 60
