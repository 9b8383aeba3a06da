"""CachedProjectService on moto (in-process S3) and the local store: caching, offline, outbox, conflicts."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from projectdesk.cache.store import CacheStore
from projectdesk.config.paths import Paths
from projectdesk.config.profiles import Profile, ProfileStore, local_profile
from projectdesk.core.errors import AccessDenied, Conflict, InvalidInput, InvalidKey, NotFound, Offline
from projectdesk.core.models import FileEntry
from projectdesk.services import sync as sync_module
from projectdesk.services.offline import (
    CachedProjectService,
    ConflictedCopy,
    NotAvailableOffline,
    open_cached_service,
)
from projectdesk.storage.local import LocalRepository
from projectdesk.storage.repository import Repository
from projectdesk.storage.s3 import S3Repository
from tests.conftest import tree_bytes

BUCKET = "cache-tests"
SLUG = "demo-00001"
BASE = f"projects/anonymous/{SLUG}/"


class SpyRepo(S3Repository):
    """S3 on moto that records calls, can pretend the network is down, or ignore preconditions."""

    def __init__(self, client: Any) -> None:
        super().__init__(client, BUCKET, endpoint="moto")
        self.calls: list[tuple[Any, ...]] = []
        self.down = False
        self.ignore_preconditions = False
        self.refuse_writes = False

    def _use(self, *call: Any) -> None:
        if self.down:
            raise Offline("Cannot reach moto: the server is down or the network is offline.")
        self.calls.append(call)

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]

    def list_slugs(self) -> list[str]:
        self._use("list_slugs")
        return super().list_slugs()

    def list_files(self, slug: str) -> list[FileEntry]:
        self._use("list_files", slug)
        return super().list_files(slug)

    def read_file(self, slug: str, path: str) -> bytes:
        self._use("read_file", path)
        return super().read_file(slug, path)

    def stat_file(self, slug: str, path: str) -> FileEntry:
        self._use("stat_file", path)
        return super().stat_file(slug, path)

    def write_file(
        self,
        slug: str,
        path: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
        project_name: str | None = None,
    ) -> FileEntry:
        self._use("write_file", path, if_match, if_none_match)
        if self.refuse_writes:
            raise AccessDenied(f"Access denied to bucket '{BUCKET}' ({slug}/{path}): the key lacks permission.")
        if self.ignore_preconditions:
            if_match, if_none_match = None, False
        return super().write_file(
            slug, path, data, if_match=if_match, if_none_match=if_none_match, project_name=project_name
        )

    def delete_file(self, slug: str, path: str, *, if_match: str | None = None) -> None:
        self._use("delete_file", path, if_match)
        super().delete_file(slug, path, if_match=if_match)

    def read_manifest_bytes(self, slug: str) -> bytes | None:
        self._use("read_manifest_bytes")
        return super().read_manifest_bytes(slug)

    def download_one(self, slug: str, entry: FileEntry, target: Path) -> None:
        self._use("download_one", entry.path)
        super().download_one(slug, entry, target)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def s3(moto_env: None) -> Any:
    import boto3

    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def plant(s3: Any) -> Callable[[str, bytes], str]:
    """Write a file of the project behind the services' backs; returns its etag."""

    def put(path: str, data: bytes) -> str:
        return str(s3.put_object(Bucket=BUCKET, Key=BASE + path, Body=data)["ETag"]).strip('"')

    return put


def _bucket(s3: Any, prefix: str = BASE) -> dict[str, bytes]:
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {
        o["Key"][len(prefix) :]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
        for o in listing
        if not o["Key"].endswith(".projectdesk.json")
    }


ServiceFactory = Callable[..., CachedProjectService]


@pytest.fixture
def make(tmp_path: Path, s3: Any) -> Iterator[ServiceFactory]:
    opened: list[CachedProjectService] = []

    def factory(name: str = "a", repo: Repository | None = None, **kwargs: Any) -> CachedProjectService:
        service = CachedProjectService(
            repo or SpyRepo(s3), CacheStore(tmp_path / f"cache-{name}", "moto", "anonymous"), **kwargs
        )
        opened.append(service)
        return service

    yield factory
    for service in opened:
        service.close()


def _spy(service: CachedProjectService) -> SpyRepo:
    assert isinstance(service.repo, SpyRepo)
    return service.repo


# ---- reading -----------------------------------------------------------------------------------


def test_reads_are_cached_until_the_remote_version_changes(make: ServiceFactory, plant: Callable[..., str]) -> None:
    plant("a.txt", b"v1")
    service = make()
    spy = _spy(service)
    assert service.read_file(SLUG, "a.txt") == b"v1"
    assert spy.names().count("read_file") == 1
    assert service.read_file(SLUG, "a.txt") == b"v1"
    assert spy.names().count("read_file") == 1  # a HEAD said the copy is current
    plant("a.txt", b"v2")
    assert service.read_file(SLUG, "a.txt") == b"v2"
    assert spy.names().count("read_file") == 2
    assert service.file_states(SLUG) == {"a.txt": "clean"}


def test_offline_lists_and_reads_the_cache_and_names_what_is_missing(
    make: ServiceFactory, plant: Callable[..., str]
) -> None:
    plant("a.txt", b"cached")
    plant("b.txt", b"never read")
    service = make()
    assert [p.slug for p in service.list_projects()] == [SLUG]
    assert [e.path for e in service.list_files(SLUG)] == ["a.txt", "b.txt"]
    service.read_file(SLUG, "a.txt")
    _spy(service).down = True
    assert [p.slug for p in service.list_projects()] == [SLUG]
    assert service.is_offline
    assert [e.path for e in service.list_files(SLUG)] == ["a.txt", "b.txt"]
    assert service.read_file(SLUG, "a.txt") == b"cached"
    with pytest.raises(NotAvailableOffline) as info:
        service.read_file(SLUG, "b.txt")
    assert "not available offline" in info.value.message and "b.txt" in info.value.message
    assert service.info(SLUG).slug == SLUG
    assert service.file_states(SLUG) == {"a.txt": "clean", "b.txt": "remote"}


def test_forced_offline_never_touches_the_network(make: ServiceFactory, plant: Callable[..., str]) -> None:
    plant("a.txt", b"x")
    online = make()
    online.list_projects()
    online.read_file(SLUG, "a.txt")
    online.close()
    offline = make(offline=True)
    assert [p.slug for p in offline.cached_projects()] == [SLUG]
    assert [p.slug for p in offline.list_projects()] == [SLUG]
    assert offline.read_file(SLUG, "a.txt") == b"x"
    offline.write_file(SLUG, "b.txt", b"queued")
    assert offline.flush_outbox().remaining == 1
    assert _spy(offline).calls == []
    assert offline.check_online() is False


def test_a_never_listed_store_reports_the_connection_error(make: ServiceFactory) -> None:
    service = make()
    _spy(service).down = True
    with pytest.raises(Offline, match="Cannot reach moto"):
        service.list_projects()
    with pytest.raises(NotAvailableOffline):
        service.list_files(SLUG)


def test_offline_retries_with_backoff_and_flushes_when_back(make: ServiceFactory, plant: Callable[..., str]) -> None:
    plant("a.txt", b"v1")
    clock = FakeClock()
    service = make(clock=clock)
    spy = _spy(service)
    changes: list[bool] = []
    service.on_offline_changed = changes.append
    service.list_files(SLUG)
    service.read_file(SLUG, "a.txt")
    spy.down = True
    service.write_file(SLUG, "a.txt", b"v2")  # the flush attempt finds the server down
    assert service.is_offline and changes == [True]
    attempts = len(spy.calls)

    def attempted() -> bool:
        spy.down = False  # let one call through to see whether the service tries
        try:
            service.list_files(SLUG)
        finally:
            spy.down = True
        return len(spy.calls) > attempts

    spy.down = True
    clock.now += 0.5
    service.list_files(SLUG)  # within the first second: the cache answers, no attempt
    assert len(spy.calls) == attempts
    assert service.retry_in() == pytest.approx(0.5)
    clock.now += 0.6
    with pytest.raises(Offline):
        service.remote(spy.list_slugs)  # due: tried, failed again -> next wait is 2 s
    assert service.retry_in() == pytest.approx(2.0)
    clock.now += 1.9
    assert not attempted()
    clock.now += 0.2
    assert attempted() and not service.is_offline  # the server answered
    assert changes == [True, False]
    assert service.pending() != []  # reads do not send the outbox ...
    spy.down = False
    assert service.check_online() is True  # ... the retry does
    assert service.pending() == [] and service.last_flush is not None and service.last_flush.uploaded


def test_offline_edits_are_sent_in_order_with_preconditions(
    make: ServiceFactory, plant: Callable[..., str], s3: Any
) -> None:
    etag_a = plant("a.txt", b"a1")
    etag_b = plant("b.txt", b"b1")
    service = make()
    service.list_files(SLUG)
    service.read_file(SLUG, "a.txt")
    service.go_offline()
    service.write_file(SLUG, "a.txt", b"a2")
    service.write_file(SLUG, "c.txt", b"c1")
    service.delete_file(SLUG, "b.txt")
    service.write_file(SLUG, "a.txt", b"a3")  # joins the queued item, keeps its place and base
    assert [(i.op, i.path, i.base_etag) for i in service.pending()] == [
        ("put", "a.txt", etag_a),
        ("put", "c.txt", None),
        ("delete", "b.txt", etag_b),
    ]
    assert service.file_states(SLUG) == {"a.txt": "dirty", "c.txt": "dirty"}
    assert [e.path for e in service.list_files(SLUG)] == ["a.txt", "c.txt"]
    assert _bucket(s3) == {"a.txt": b"a1", "b.txt": b"b1"}
    spy = _spy(service)
    spy.calls.clear()
    assert service.go_online()
    sent = [c for c in spy.calls if c[0] in ("write_file", "delete_file")]
    assert sent == [
        ("write_file", "a.txt", etag_a, False),
        ("write_file", "c.txt", None, True),
        ("delete_file", "b.txt", etag_b),
    ]
    assert _bucket(s3) == {"a.txt": b"a3", "c.txt": b"c1"}
    assert service.pending() == [] and service.file_states(SLUG) == {"a.txt": "clean", "c.txt": "clean"}
    manifest = service.repo.get_manifest(SLUG)
    assert manifest is not None and sorted(manifest.files) == ["a.txt", "c.txt"]
    assert manifest.files["a.txt"] == hashlib.sha256(b"a3").hexdigest()


def test_the_outbox_survives_a_restart(make: ServiceFactory, plant: Callable[..., str], s3: Any) -> None:
    plant("a.txt", b"v1")
    first = make("same")
    first.read_file(SLUG, "a.txt")
    first.go_offline()
    first.write_file(SLUG, "a.txt", b"edited offline")
    first.close()
    second = make("same")
    assert [i.path for i in second.pending()] == ["a.txt"]
    assert second.read_file(SLUG, "a.txt") == b"edited offline"
    report = second.flush_outbox()
    assert report.uploaded == [f"{SLUG}/a.txt"] and report.clean
    assert _bucket(s3)["a.txt"] == b"edited offline"


def test_an_online_save_is_uploaded_before_it_returns(make: ServiceFactory, s3: Any) -> None:
    service = make()
    entry = service.write_file(SLUG, "new/file.py", b"print(1)\n")
    assert _bucket(s3) == {"new/file.py": b"print(1)\n"}
    assert entry.etag == hashlib.md5(b"print(1)\n").hexdigest()
    assert service.pending() == [] and service.file_states(SLUG) == {"new/file.py": "clean"}


# ---- conflicts ---------------------------------------------------------------------------------


def test_two_caches_editing_one_file_keep_both_versions(
    make: ServiceFactory, plant: Callable[..., str], s3: Any
) -> None:
    plant("notes.md", b"base")
    alice, bob = make("alice"), make("bob")
    assert alice.read_file(SLUG, "notes.md") == bob.read_file(SLUG, "notes.md") == b"base"
    alice.write_file(SLUG, "notes.md", b"alice's edit")
    with pytest.raises(ConflictedCopy) as info:
        bob.write_file(SLUG, "notes.md", b"bob's edit")
    copy = info.value.record.copy_path
    assert copy is not None and copy.startswith("notes (conflicted copy ") and copy.endswith(").md")
    assert "yours was saved as" in info.value.message
    assert _bucket(s3) == {"notes.md": b"alice's edit", copy: b"bob's edit"}
    assert bob.read_file(SLUG, "notes.md") == b"alice's edit"  # the cache took the remote version
    assert bob.file_states(SLUG) == {"notes.md": "conflict", copy: "conflict"}
    [record] = bob.conflicts()
    bob.dismiss_conflict(record.id)
    assert bob.conflicts() == [] and bob.file_states(SLUG) == {"notes.md": "clean", copy: "clean"}


def test_conflicted_copy_names_get_a_counter_when_taken(
    make: ServiceFactory, plant: Callable[..., str], s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FixedNow(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> FixedNow:
            return cls(2025, 1, 31, 14, 32)

    monkeypatch.setattr(sync_module, "datetime", FixedNow)
    plant("a.txt", b"base")
    plant("a (conflicted copy 2025-01-31 1432).txt", b"someone else's copy")
    service = make()
    service.read_file(SLUG, "a.txt")
    service.go_offline()
    service.write_file(SLUG, "a.txt", b"ours")
    plant("a.txt", b"theirs")
    service.go_online()
    assert [c.copy_path for c in service.conflicts()] == ["a (conflicted copy 2025-01-31 1432 2).txt"]
    assert _bucket(s3) == {
        "a.txt": b"theirs",
        "a (conflicted copy 2025-01-31 1432).txt": b"someone else's copy",
        "a (conflicted copy 2025-01-31 1432 2).txt": b"ours",
    }


def test_the_same_change_on_both_sides_is_not_a_conflict(
    make: ServiceFactory, plant: Callable[..., str], s3: Any
) -> None:
    plant("a.txt", b"base")
    service = make()
    service.read_file(SLUG, "a.txt")
    service.go_offline()
    service.write_file(SLUG, "a.txt", b"same fix")
    plant("a.txt", b"same fix")
    assert service.go_online()
    assert service.conflicts() == [] and _bucket(s3) == {"a.txt": b"same fix"}
    assert service.file_states(SLUG) == {"a.txt": "clean"}


def test_an_edit_of_a_file_deleted_remotely_is_put_back(
    make: ServiceFactory, plant: Callable[..., str], s3: Any
) -> None:
    plant("a.txt", b"base")
    service = make()
    service.read_file(SLUG, "a.txt")
    service.go_offline()
    service.write_file(SLUG, "a.txt", b"still wanted")
    s3.delete_object(Bucket=BUCKET, Key=BASE + "a.txt")
    service.go_online()
    assert _bucket(s3) == {"a.txt": b"still wanted"}
    [record] = service.conflicts()
    assert record.kind == "deleted-remotely" and "deleted on the server" in record.message


def test_a_queued_delete_never_deletes_a_changed_file(make: ServiceFactory, plant: Callable[..., str], s3: Any) -> None:
    plant("a.txt", b"base")
    service = make()
    service.read_file(SLUG, "a.txt")
    service.go_offline()
    service.delete_file(SLUG, "a.txt")
    plant("a.txt", b"changed elsewhere")
    service.go_online()
    assert _bucket(s3) == {"a.txt": b"changed elsewhere"}
    [record] = service.conflicts()
    assert record.kind == "delete" and "was not deleted" in record.message
    assert service.read_file(SLUG, "a.txt") == b"changed elsewhere"
    assert service.pending() == []


def test_an_online_delete_of_a_changed_file_raises_conflict(
    make: ServiceFactory, plant: Callable[..., str], s3: Any
) -> None:
    plant("a.txt", b"base")
    service = make()
    service.read_file(SLUG, "a.txt")
    plant("a.txt", b"changed elsewhere")
    with pytest.raises(Conflict, match="was not deleted"):
        service.delete_file(SLUG, "a.txt")
    assert _bucket(s3) == {"a.txt": b"changed elsewhere"}


def test_explicit_if_match_is_honoured(make: ServiceFactory, plant: Callable[..., str], s3: Any) -> None:
    plant("a.txt", b"base")
    service = make()
    with pytest.raises(ConflictedCopy):
        service.write_file(SLUG, "a.txt", b"ours", if_match="0" * 32)
    assert _bucket(s3)["a.txt"] == b"base"


def test_head_before_put_guards_servers_that_ignore_preconditions(
    make: ServiceFactory, plant: Callable[..., str], s3: Any
) -> None:
    plant("a.txt", b"base")
    trusting = make("trusting")
    _spy(trusting).ignore_preconditions = True
    guarded = make("guarded", conditional_writes=False)
    _spy(guarded).ignore_preconditions = True
    for service in (trusting, guarded):
        service.read_file(SLUG, "a.txt")
        service.go_offline()
        service.write_file(SLUG, "a.txt", f"from {service.cache.blobs.cache_root.name}".encode())
    plant("a.txt", b"remote change")
    guarded.go_online()
    assert [c.kind for c in guarded.conflicts()] == ["edit"]
    assert _bucket(s3)["a.txt"] == b"remote change"
    trusting.go_online()  # what the fallback prevents: the server ignores If-Match and overwrites
    assert _bucket(s3)["a.txt"] == b"from cache-trusting"


# ---- pull, keep offline, eviction --------------------------------------------------------------


def test_pull_fills_the_cache_so_the_project_works_offline(
    make: ServiceFactory, plant: Callable[..., str], tmp_path: Path
) -> None:
    files = {"index.html": b"<h1>hi</h1>", "src/app.js": b"app()", "img/logo.png": bytes(range(256))}
    for path, data in files.items():
        plant(path, data)
    service = make()
    report = service.pull(SLUG, tmp_path / "first")
    assert len(report.downloaded) == 3 and not report.failed
    service.go_offline()
    service.write_file(SLUG, "src/app.js", b"edited()")
    report = service.pull(SLUG, tmp_path / "offline")
    assert not report.failed
    assert tree_bytes(tmp_path / "offline") == {**files, "src/app.js": b"edited()"}
    service.export_zip(SLUG, tmp_path / "out.zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.read("img/logo.png") == files["img/logo.png"]


def test_a_pull_downloads_once_links_the_copy_and_an_edit_in_place_never_passes_for_the_servers(
    make: ServiceFactory, plant: Callable[..., str], tmp_path: Path
) -> None:
    plant("a.txt", b"server v1")
    plant("b.txt", b"other")
    service = make()
    assert len(service.pull(SLUG, tmp_path / "work").downloaded) == 2
    blob = service.cache.blobs.path("anonymous", SLUG, "a.txt")
    pulled = tmp_path / "work" / "a.txt"
    assert os.path.samefile(blob, pulled)  # one download, one copy on disk
    gets = _spy(service).names().count("download_one")
    assert len(service.pull(SLUG, tmp_path / "second").downloaded) == 2
    assert _spy(service).names().count("download_one") == gets  # from the cache, nothing fetched again
    second = tmp_path / "second" / "a.txt"
    assert second.read_bytes() == b"server v1" and not os.path.samefile(second, pulled)  # folders never share
    time.sleep(0.05)  # file times tick every few ms: the edit must land on a later tick
    with open(pulled, "r+b") as handle:  # as vim writes a linked file: in place, same inode
        handle.write(b"SERVER")
    service.go_offline()
    with pytest.raises(NotAvailableOffline):
        service.read_file(SLUG, "a.txt")  # the changed copy is dropped, never served as the server's
    service.go_online()
    assert service.read_file(SLUG, "a.txt") == b"server v1"
    assert pulled.read_bytes() == b"SERVER v1" and second.read_bytes() == b"server v1"  # the user's files
    assert len(service.pull(SLUG, tmp_path / "third").downloaded) == 2
    third = tmp_path / "third" / "a.txt"
    assert os.path.samefile(third, service.cache.blobs.path("anonymous", SLUG, "a.txt"))
    time.sleep(0.05)
    with open(third, "r+b") as handle:
        handle.write(b"EDITED")
    report = service.pull(SLUG, tmp_path / "fourth")  # the changed copy is fetched again, not refused
    assert report.failed == [] and (tmp_path / "fourth" / "a.txt").read_bytes() == b"server v1"


def test_a_pull_keeps_each_batch_in_the_cache_while_the_rest_still_arrives(
    make: ServiceFactory, plant: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from projectdesk.services import offline

    monkeypatch.setattr(offline, "ADOPT_BATCH", 2)
    files = {f"f{i}.txt": f"file {i}".encode() for i in range(5)}
    for path, data in files.items():
        plant(path, data)
    service = make()
    cached_when_landed: list[int] = []

    def landed(entry: FileEntry, where: Path) -> None:
        cached_when_landed.append(sum(1 for row in service.cache.files(SLUG) if row.has_blob))

    entries = service.list_files(SLUG)
    report = service.deliver(SLUG, tmp_path / "work", entries, on_done=landed)
    assert not report.failed and not report.skipped and len(report.downloaded) == 5
    assert cached_when_landed == [0, 0, 2, 2, 4]  # two at a time, linked while the others were still coming
    rows = {row.path: row for row in service.cache.files(SLUG)}
    assert sorted(p for p, row in rows.items() if row.has_blob) == sorted(files)  # the last one after the transfer
    for path, data in files.items():
        assert os.path.samefile(service.cache.blobs.path("anonymous", SLUG, path), tmp_path / "work" / path)
        assert service.cache.blobs.path("anonymous", SLUG, path).read_bytes() == data
        assert rows[path].blob_sha256 == hashlib.sha256(data).hexdigest()


def test_a_pull_copies_where_links_fail_and_always_copies_local_edits(
    make: ServiceFactory, plant: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant("a.txt", b"server")
    plant("b.txt", b"theirs")
    service = make()
    service.list_files(SLUG)
    service.read_file(SLUG, "b.txt")  # keeps b.txt
    service.go_offline()
    service.write_file(SLUG, "b.txt", b"my edit")  # queued
    report = service.pull(SLUG, tmp_path / "offline")
    assert report.downloaded == ["b.txt"] and [p for p, _ in report.failed] == ["a.txt"]
    edited = tmp_path / "offline" / "b.txt"
    assert edited.read_bytes() == b"my edit" and edited.stat().st_nlink == 1  # a local edit: copied

    def no_links(*_: Any) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    service.go_online()  # sends the edit
    monkeypatch.setattr(os, "link", no_links)  # the destination on another file system
    report = service.pull(SLUG, tmp_path / "elsewhere")
    assert not report.failed
    assert tree_bytes(tmp_path / "elsewhere") == {"a.txt": b"server", "b.txt": b"my edit"}
    assert {p.stat().st_nlink for p in (tmp_path / "elsewhere").iterdir()} == {1}
    assert service.cache.read_blob(SLUG, "a.txt") == b"server"  # the copy is kept all the same


def test_a_download_is_pinned_to_the_listed_version(
    make: ServiceFactory, plant: Callable[..., str], tmp_path: Path
) -> None:
    etag = plant("a.txt", b"listed version")
    service = make()
    plant("a.txt", b"replaced after the listing")
    report = service.repo.download_tree(SLUG, tmp_path / "out", entries=[FileEntry("a.txt", 14, etag, 0.0)])
    [(path, error)] = report.failed
    assert path == "a.txt" and isinstance(error, Conflict) and "changed on the server" in error.message
    assert not (tmp_path / "out" / "a.txt").exists()  # never the other version under its name


def test_a_project_cleared_and_fetched_again_in_one_session_is_cached_again(
    make: ServiceFactory, plant: Callable[..., str]
) -> None:
    plant("deep/er/a.txt", b"a")
    plant("deep/er/b.txt", b"b")
    service = make()
    service.set_keep_offline(SLUG, True)  # fills the cache through the staging area (folders made)
    assert service.clear_cache(SLUG) == (2, 0)  # removes the copies and their now-empty folders
    report = service.sync()  # refreshes the keep-offline project in the same session
    assert not report.offline
    assert service.file_states(SLUG) == {"deep/er/a.txt": "clean", "deep/er/b.txt": "clean"}


def test_keep_offline_downloads_everything_and_keeps_it(make: ServiceFactory, plant: Callable[..., str]) -> None:
    for n in range(5):
        plant(f"f{n}.txt", b"x" * 300)
    plant_other = [f"other/{n}.txt" for n in range(3)]
    service = make(cache_max_bytes=1000)
    report = service.set_keep_offline(SLUG, True)
    assert report is not None and len(report.downloaded) == 5
    assert set(service.file_states(SLUG).values()) == {"clean"}
    for path in plant_other:
        plant(path, b"y" * 300)
    service.sync()  # refreshes keep-offline projects: the new files come down too
    assert set(service.file_states(SLUG).values()) == {"clean"}
    assert len(service.file_states(SLUG)) == 8
    [usage] = service.cache_usage()
    assert usage.keep_offline and usage.bytes == 2400  # over the cap, yet nothing evicted


def test_eviction_never_touches_dirty_files(make: ServiceFactory, plant: Callable[..., str], s3: Any) -> None:
    for n in range(6):
        plant(f"f{n}.txt", bytes([65 + n]) * 400)
    service = make(cache_max_bytes=1000)
    spy = _spy(service)
    service.read_file(SLUG, "f0.txt")
    spy.refuse_writes = True  # the upload fails, so the edit stays dirty while reads go on online
    with pytest.raises(AccessDenied):
        service.write_file(SLUG, "f0.txt", b"E" * 900)
    [item] = service.pending()
    assert item.attempts == 1 and item.last_error and "Access denied" in item.last_error
    for n in range(1, 6):
        assert service.read_file(SLUG, f"f{n}.txt") == bytes([65 + n]) * 400
        assert service.cache.total_bytes() <= 900 + 400  # the dirty file plus the one just read
    states = service.file_states(SLUG)
    assert states["f0.txt"] == "dirty" and states["f5.txt"] == "clean"
    assert [name for name, state in states.items() if state == "clean"] == ["f5.txt"]
    assert service.cache.read_blob(SLUG, "f0.txt") == b"E" * 900
    spy.refuse_writes = False
    assert service.flush_outbox().uploaded == [f"{SLUG}/f0.txt"]
    assert _bucket(s3)["f0.txt"] == b"E" * 900


def test_hostile_keys_planted_in_the_bucket_never_land_outside_the_cache(
    make: ServiceFactory, plant: Callable[..., str], tmp_path: Path
) -> None:
    hostile = ["../../outside.txt", "/abs.txt", "a\\..\\..\\b.txt", "sub/../../x.txt", "C:/drive.txt"]
    plant("ok.txt", b"fine")
    for key in hostile:
        plant(key, b"evil")
    before = {p for p in tmp_path.rglob("*")}
    service = make()
    listed = [e.path for e in service.list_files(SLUG)]
    assert "ok.txt" in listed
    report = service.pull(SLUG, tmp_path / "box" / "dest")
    assert sorted(path for path, _ in report.skipped) == sorted(hostile)
    service.set_keep_offline(SLUG, True)
    for key in hostile:
        with pytest.raises(InvalidKey):
            service.read_file(SLUG, key)
        with pytest.raises(InvalidKey):
            service.write_file(SLUG, key, b"x")
    cache_root = service.cache.blobs.root
    created = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    state = service.folder_states.file.parent  # the working folders' state (bindings and bases)
    allowed = (cache_root, tmp_path / "box" / "dest", state)
    assert all(any(root in p.parents for root in allowed) for p in created), created
    assert {p.name for p in created if cache_root / "anonymous" in p.parents} == {"ok.txt"}
    assert [p.name for p in (tmp_path / "box").rglob("*") if p.is_file()] == ["ok.txt"]


def test_many_threads_save_and_read_at_once(make: ServiceFactory, s3: Any) -> None:
    service = make()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(6):
                path = f"t{n}/f{i}.txt"
                service.write_file(SLUG, path, f"{n}-{i}".encode())
                assert service.read_file(SLUG, path) == f"{n}-{i}".encode()
                service.file_states(SLUG)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert service.pending() == []
    assert _bucket(s3) == {f"t{n}/f{i}.txt": f"{n}-{i}".encode() for n in range(6) for i in range(6)}
    for row in service.cache.files(SLUG):
        assert row.state == "clean"
        assert hashlib.sha256(service.cache.read_blob(SLUG, row.path) or b"").hexdigest() == row.blob_sha256


def _local_service(tmp_path: Path, name: str) -> CachedProjectService:
    return CachedProjectService(
        LocalRepository(tmp_path / "store"), CacheStore(tmp_path / f"cache-{name}", "local", "anonymous")
    )


def test_the_local_store_goes_through_the_same_cache(tmp_path: Path) -> None:
    alice, bob = _local_service(tmp_path, "alice"), _local_service(tmp_path, "bob")
    alice.write_file(SLUG, "a.txt", b"v1")
    assert bob.read_file(SLUG, "a.txt") == b"v1"
    alice.write_file(SLUG, "a.txt", b"alice")
    with pytest.raises(ConflictedCopy):
        bob.write_file(SLUG, "a.txt", b"bob")
    names = [e.path for e in alice.list_files(SLUG)]
    assert len(names) == 2 and names[0].startswith("a (conflicted copy ") and names[1] == "a.txt"
    assert [bob.read_file(SLUG, name) for name in names] == [b"bob", b"alice"]
    assert alice.read_file(SLUG, "a.txt") == b"alice"
    bob.delete_file(SLUG, "a.txt")
    with pytest.raises(NotFound):
        alice.read_file(SLUG, "a.txt")
    alice.close()
    bob.close()


def test_pending_changes_can_be_discarded(make: ServiceFactory, plant: Callable[..., str]) -> None:
    plant("a.txt", b"server")
    service = make()
    service.read_file(SLUG, "a.txt")
    service.go_offline()
    service.write_file(SLUG, "a.txt", b"unwanted")
    [item] = service.pending()
    assert service.discard_pending(item.id)
    assert service.pending() == [] and service.file_states(SLUG) == {"a.txt": "remote"}
    service.go_online()
    assert service.read_file(SLUG, "a.txt") == b"server"


def test_the_profile_sets_the_cache_folder_cap_and_precondition_mode(isolated_dirs: Paths, moto_env: None) -> None:
    service = open_cached_service(local_profile(), isolated_dirs)
    assert service.cache.blobs.root == isolated_dirs.cache_root / "local"
    assert service.cache_max_bytes == 2_000_000_000 and service.conditional_writes
    service.write_file(SLUG, "a.txt", b"x")
    assert (isolated_dirs.cache_root / "local" / "anonymous" / SLUG / "a.txt").read_bytes() == b"x"
    service.close()
    profiles = ProfileStore(isolated_dirs)
    profiles.add(Profile(name="tight", bucket="b-b-b", user_id="me", cache_max_bytes=5_000, conditional_writes=False))
    again = ProfileStore(isolated_dirs).get("tight")  # through the TOML file
    assert (again.cache_max_bytes, again.conditional_writes) == (5_000, False)
    tight = open_cached_service(again, isolated_dirs, offline=True)
    assert (tight.cache_max_bytes, tight.conditional_writes, tight.is_offline) == (5_000, False, True)
    assert tight.cache.blobs.project_dir("me", SLUG) == isolated_dirs.cache_root / "tight" / "me" / SLUG
    tight.close()
    with pytest.raises(InvalidInput):
        profiles.add(Profile(name="zero", bucket="b-b-b", cache_max_bytes=0))
