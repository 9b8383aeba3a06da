"""The history part of the store contract (S3 versioning): moto and SeaweedFS keep versions, the local folder
store says it keeps none."""

from __future__ import annotations

import pytest

from projectdesk.core.errors import Conflict, NoHistory, NotFound
from projectdesk.core.keys import MANIFEST_NAME
from projectdesk.storage.s3 import VERSION_PAGE
from tests.conftest import Store

SLUG = "history-12345"
# The S3 stores keep history once versioning is on; the local store keeps none (and says so).
S3_STORES = pytest.mark.parametrize("store", ["moto", "seaweedfs"], indirect=True)
LOCAL_STORE = pytest.mark.parametrize("store", ["local"], indirect=True)


@pytest.fixture
def versioned(store: Store) -> Store:
    """The S3 store with versioning on."""
    assert store.repo.versioning() == ""
    store.repo.enable_versioning()
    assert store.repo.versioning() == "Enabled"
    return store


@LOCAL_STORE
def test_the_local_store_keeps_no_history(store: Store) -> None:
    assert store.repo.versioning() == "unsupported"
    store.repo.write_file(SLUG, "a.txt", b"one")
    for call in (
        store.repo.enable_versioning,
        lambda: store.repo.list_versions(SLUG, "a.txt"),
        lambda: store.repo.read_version(SLUG, "a.txt", "v1"),
        lambda: store.repo.restore_version(SLUG, "a.txt", "v1"),
        lambda: store.repo.version_metadata(SLUG, "a.txt", "v1"),
    ):
        with pytest.raises(NoHistory, match="keeps no old versions"):
            call()


@S3_STORES
def test_a_bucket_without_versioning_says_how_to_turn_it_on(store: Store) -> None:
    assert store.repo.versioning() == ""
    error = store.repo.history_unavailable("", "work")
    assert "does not keep old versions" in error.message
    assert "projectdesk-cli profiles versioning work --enable" in error.message


@S3_STORES
def test_versions_of_one_file_newest_first_with_delete_markers(versioned: Store) -> None:
    repo = versioned.repo
    written = [repo.write_file(SLUG, "notes.txt", f"edit {i}".encode()) for i in range(5)]
    repo.write_file(SLUG, "notes.txt.bak", b"a neighbour whose key starts alike")
    repo.write_file(SLUG, "notes.txt/inside", b"so does this one")
    repo.delete_file(SLUG, "notes.txt")
    versions = repo.list_versions(SLUG, "notes.txt")
    assert [v.path for v in versions] == ["notes.txt"] * 6
    assert versions[0].is_delete_marker and versions[0].is_latest and versions[0].size == 0
    assert [v.etag for v in versions[1:]] == [w.etag for w in reversed(written)]
    assert not any(v.is_latest for v in versions[1:])
    assert len({v.version_id for v in versions}) == 6
    for i, version in enumerate(reversed(versions[1:])):
        assert repo.read_version(SLUG, "notes.txt", version.version_id) == f"edit {i}".encode()
        assert repo.version_metadata(SLUG, "notes.txt", version.version_id)["written-by"] == "projectdesk"
    assert repo.list_versions(SLUG, "notes.txt", limit=2) == versions[:2]
    with pytest.raises(NotFound):
        repo.read_version(SLUG, "notes.txt", versions[0].version_id)  # a delete marker has no content


@S3_STORES
def test_versions_of_a_project_cover_every_file_and_the_manifest(versioned: Store) -> None:
    repo = versioned.repo
    repo.write_file(SLUG, "a.txt", b"1")
    repo.write_file(SLUG, "a.txt", b"2")
    repo.write_file(SLUG, "src/b.py", b"print()")
    repo.write_file("other-99999", "a.txt", b"another project")
    repo.write_manifest_bytes(SLUG, b"{}", "History")
    listed = repo.list_versions(SLUG)
    assert sorted((v.path, v.is_latest) for v in listed) == [
        (MANIFEST_NAME, True), ("a.txt", False), ("a.txt", True), ("src/b.py", True),
    ]  # fmt: skip


@S3_STORES
def test_version_listing_pages_with_key_and_version_markers(versioned: Store) -> None:
    repo = versioned.repo
    count = VERSION_PAGE + 5
    client = versioned.client
    key = f"projects/anonymous/{SLUG}/busy.txt"
    for i in range(count):
        client.put_object(Bucket=versioned.bucket, Key=key, Body=str(i).encode())
    versions = repo.list_versions(SLUG, "busy.txt")
    assert len(versions) == count and len({v.version_id for v in versions}) == count
    assert repo.read_version(SLUG, "busy.txt", versions[0].version_id) == str(count - 1).encode()
    assert repo.read_version(SLUG, "busy.txt", versions[-1].version_id) == b"0"


@S3_STORES
def test_restore_copies_a_version_over_the_current_one_only_if_unchanged(versioned: Store) -> None:
    repo = versioned.repo
    first = repo.write_file(SLUG, "app.py", b"v1", project_name="History App")
    second = repo.write_file(SLUG, "app.py", b"v2")
    old = repo.list_versions(SLUG, "app.py")[1]
    assert old.etag == first.etag
    with pytest.raises(Conflict):
        repo.restore_version(SLUG, "app.py", old.version_id, if_match=first.etag)  # not the current version
    with pytest.raises(Conflict):
        repo.restore_version(SLUG, "app.py", old.version_id, if_none_match=True)  # the file exists
    assert repo.read_file(SLUG, "app.py") == b"v2"
    restored = repo.restore_version(SLUG, "app.py", old.version_id, if_match=second.etag, size=old.size)
    assert restored.etag == first.etag and restored.size == 2
    assert repo.read_file(SLUG, "app.py") == b"v1"
    versions = repo.list_versions(SLUG, "app.py")
    assert len(versions) == 3 and versions[0].is_latest  # a new version: the one it replaced is still there
    assert repo.read_version(SLUG, "app.py", versions[1].version_id) == b"v2"
    if versioned.client is not None:  # Content-Type and the project's metadata come with the copy
        head = versioned.client.head_object(Bucket=versioned.bucket, Key=f"projects/anonymous/{SLUG}/app.py")
        assert head["ContentType"].startswith("text/x-python")
        assert head["Metadata"]["project-name"] == "History App"
        assert head["Metadata"]["written-by"] == "projectdesk"
    undone = repo.restore_version(SLUG, "app.py", versions[1].version_id, if_match=restored.etag)  # undo
    assert undone.etag == second.etag and repo.read_file(SLUG, "app.py") == b"v2"


@S3_STORES
def test_restore_brings_a_deleted_file_back_only_while_it_is_deleted(versioned: Store) -> None:
    repo = versioned.repo
    repo.write_file(SLUG, "gone.txt", b"keep me")
    repo.delete_file(SLUG, "gone.txt")
    marker, kept = repo.list_versions(SLUG, "gone.txt")
    assert marker.is_delete_marker
    repo.restore_version(SLUG, "gone.txt", kept.version_id, if_none_match=True)
    assert repo.read_file(SLUG, "gone.txt") == b"keep me"
    with pytest.raises(Conflict):  # back already: a second undelete would replace it
        repo.restore_version(SLUG, "gone.txt", kept.version_id, if_none_match=True)


@S3_STORES
def test_copy_preconditions_are_probed_once_and_the_probe_leaves_nothing(versioned: Store) -> None:
    from projectdesk.storage.s3 import S3Repository

    repo = versioned.repo
    assert isinstance(repo, S3Repository)
    honoured = repo.copy_conditions_honoured()
    assert honoured is (versioned.kind == "seaweedfs")  # moto ignores If-Match on CopyObject: a HEAD stands in
    assert repo.copy_conditions_honoured() is honoured  # asked once
    listed = versioned.client.list_object_versions(
        Bucket=versioned.bucket, Prefix="projects/anonymous/.projectdesk-probe"
    )
    assert not listed.get("Versions") and not listed.get("DeleteMarkers")
