"""Profiles: a TOML file with no secrets; `local` is built in."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import KIND_LOCAL, LOCAL, Profile, ProfileStore
from projectdesk.core.errors import InvalidInput, InvalidKey, NotFound


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(config_dir=tmp_path / "config", data_dir=tmp_path / "data", log_dir=tmp_path / "log")


@pytest.fixture
def store(paths: Paths) -> ProfileStore:
    return ProfileStore(paths)


def _s3(name: str = "minio", **overrides: Any) -> Profile:
    values: dict[str, Any] = {
        "endpoint_url": "http://127.0.0.1:9000",
        "region": "us-east-1",
        "bucket": "my-projects",
        "user_id": "alice",
        "path_style": True,
    }
    values.update(overrides)
    return Profile(name=name, **values)


def test_fresh_store_has_only_local(store: ProfileStore, paths: Paths) -> None:
    assert [p.name for p in store.list()] == [LOCAL]
    assert store.default_name() == LOCAL
    assert store.get(None).kind == KIND_LOCAL
    assert not paths.profiles_file.exists()


def test_round_trip(store: ProfileStore, paths: Paths) -> None:
    profile = _s3(ignore_patterns=["*.log", "tmp/"], max_file_bytes=5_000_000, credential_source="keyring")
    store.add(profile)
    assert paths.profiles_file.is_file()
    again = ProfileStore(paths).get("minio")
    assert again == profile
    assert again.limits.max_file_bytes == 5_000_000
    assert [p.name for p in store.list()] == [LOCAL, "minio"]


def test_add_existing_needs_replace(store: ProfileStore) -> None:
    store.add(_s3())
    with pytest.raises(InvalidInput):
        store.add(_s3(bucket="other-bucket"))
    assert store.get("minio").bucket == "my-projects"
    store.add(_s3(bucket="other-bucket"), replace=True)
    assert store.get("minio").bucket == "other-bucket"


def test_local_cannot_be_removed_or_redefined(store: ProfileStore) -> None:
    with pytest.raises(InvalidInput):
        store.remove(LOCAL)
    with pytest.raises(InvalidInput):
        store.add(Profile(name=LOCAL, kind=KIND_LOCAL), replace=True)
    with pytest.raises(InvalidInput):
        store.add(_s3(name=LOCAL), replace=True)
    assert store.get(LOCAL).kind == KIND_LOCAL


def test_local_in_file_is_ignored(store: ProfileStore, paths: Paths) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.profiles_file.write_text('[profiles.local]\nkind = "s3"\nbucket = "hijack"\n', encoding="utf-8")
    local = store.get(LOCAL)
    assert local.kind == KIND_LOCAL
    assert local.bucket == ""


def test_remove(store: ProfileStore) -> None:
    store.add(_s3())
    store.remove("minio")
    assert [p.name for p in store.list()] == [LOCAL]
    with pytest.raises(NotFound):
        store.remove("minio")
    with pytest.raises(NotFound):
        store.get("minio")


def test_default_switching(store: ProfileStore, paths: Paths) -> None:
    store.add(_s3("one"))
    store.add(_s3("two"))
    assert store.default_name() == LOCAL
    store.set_default("two")
    assert ProfileStore(paths).default_name() == "two"
    assert store.get(None).name == "two"
    store.set_default("one")
    assert store.get(None).name == "one"
    with pytest.raises(NotFound):
        store.set_default("nope")
    assert store.default_name() == "one"
    store.remove("one")  # removing the default falls back to local
    assert store.default_name() == LOCAL


def test_default_naming_a_missing_profile_falls_back(store: ProfileStore, paths: Paths) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.profiles_file.write_text('default = "ghost"\n', encoding="utf-8")
    assert store.default_name() == LOCAL


@pytest.mark.parametrize(
    "bucket",
    ["", "ab", "My-Bucket", "under_score", "-leading", "trailing-", "a..b", "x" * 64, "has space", "a/b"],
)
def test_bad_bucket(store: ProfileStore, bucket: str) -> None:
    with pytest.raises(InvalidInput, match="bucket"):
        store.add(_s3(bucket=bucket))


@pytest.mark.parametrize(
    "endpoint", ["ftp://example.com", "s3://bucket", "example.com:9000", "file:///tmp/x", "http://", "javascript:x"]
)
def test_non_http_endpoint(store: ProfileStore, endpoint: str) -> None:
    with pytest.raises(InvalidInput, match="endpoint"):
        store.add(_s3(endpoint_url=endpoint))


@pytest.mark.parametrize(
    "endpoint", ["https://AKIAFAKE:wJalrSecretFake@s3.example.com", "http://user@localhost:9000", "http://:pw@h"]
)
def test_credentials_in_endpoint_url(store: ProfileStore, endpoint: str) -> None:
    with pytest.raises(InvalidInput) as info:
        store.add(_s3(endpoint_url=endpoint))
    assert "wJalrSecretFake" not in info.value.message


@pytest.mark.parametrize("name", ["", "has space", "-lead", ".lead", "a/b", "x" * 65, 'quo"te', "café"])
def test_bad_profile_name(store: ProfileStore, name: str) -> None:
    with pytest.raises(InvalidInput, match="name"):
        store.add(_s3(name=name))


@pytest.mark.parametrize("user_id", ["a/b", "..", "", "a\\b"])
def test_bad_user_id(store: ProfileStore, user_id: str) -> None:
    with pytest.raises(InvalidKey):
        store.add(_s3(user_id=user_id))


def test_other_validation(store: ProfileStore) -> None:
    with pytest.raises(InvalidInput):
        store.add(_s3(kind="ftp"))
    with pytest.raises(InvalidInput):
        store.add(_s3(credential_source="plaintext"))
    with pytest.raises(InvalidInput):
        store.add(_s3(credential_source="aws-profile", aws_profile=""))
    with pytest.raises(InvalidInput):
        store.add(_s3(max_file_bytes=0))
    assert [p.name for p in store.list()] == [LOCAL]


def test_amazon_s3_needs_no_endpoint(store: ProfileStore) -> None:
    store.add(_s3("aws", endpoint_url="", region="eu-central-1", path_style=False))
    assert store.get("aws").endpoint_label == "Amazon S3"


def _all_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for key, sub in value.items() for k in [key, *_all_keys(sub)]]
    if isinstance(value, list):
        return [k for item in value for k in _all_keys(item)]
    return []


def test_written_file_has_no_secret_keys(store: ProfileStore, paths: Paths) -> None:
    store.add(_s3(credential_source="keyring"))
    store.add(_s3("aws", endpoint_url="", credential_source="aws-profile", aws_profile="work"))
    doc = tomllib.loads(paths.profiles_file.read_text(encoding="utf-8"))
    keys = _all_keys(doc)
    assert "bucket" in keys  # the walk does see the profile tables
    suspicious = re.compile(r"secret|password|passwd|token|access_key|credential_value|private", re.IGNORECASE)
    assert [k for k in keys if suspicious.search(k)] == []


def test_unicode_and_quotes_survive_round_trip(store: ProfileStore, paths: Paths) -> None:
    user_id = 'José "Pepe" O\'Brien ✓ 😀'
    profile = _s3(
        "dev.minio_2-eu",  # needs quoting as a TOML key
        user_id=user_id,
        credential_source="aws-profile",
        aws_profile='team "alpha" ünïcødé',
        region="eu-west-1",
        ignore_patterns=['"quoted".txt', "tab\there", "back\\slash", "# not a comment", "ß/*.tmp"],
    )
    store.add(profile)
    again = ProfileStore(paths).get("dev.minio_2-eu")
    assert again.user_id == user_id
    assert again == profile


@pytest.mark.parametrize("text", ["line\nbreak", "del\x7fchar", "bell\x07", "nul\x00"])
def test_control_characters_in_free_text_survive_round_trip(store: ProfileStore, paths: Paths, text: str) -> None:
    profile = _s3(credential_source="aws-profile", aws_profile=text)
    store.add(profile)
    assert ProfileStore(paths).get("minio").aws_profile == text


def test_saving_keeps_a_hand_written_non_ascii_profile_readable(store: ProfileStore, paths: Paths) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.profiles_file.write_text('[profiles."café-😀"]\nkind = "s3"\nbucket = "hand-made"\n', encoding="utf-8")
    assert store.get("café-😀").bucket == "hand-made"
    store.add(_s3())  # rewrites the file, including the hand-written profile
    names = [p.name for p in ProfileStore(paths).list()]
    assert names == [LOCAL, "café-😀", "minio"]


@pytest.mark.parametrize(
    "content",
    [
        b"this is = = not toml [",
        b'[profiles.x]\nbucket = "unterminated\n',
        b"\xff\xfe\x00\x00binary",
        b"profiles = [1, 2]\n",
        b'profiles = "oops"\n',
    ],
)
def test_corrupt_file_gives_invalid_input_naming_the_file(store: ProfileStore, paths: Paths, content: bytes) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.profiles_file.write_bytes(content)
    with pytest.raises(InvalidInput) as info:
        store.list()
    assert str(paths.profiles_file) in info.value.message


def test_unknown_keys_in_file_are_dropped(store: ProfileStore, paths: Paths) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.profiles_file.write_text(
        '[profiles.old]\nkind = "s3"\nbucket = "b-b-b"\nsecret_access_key = "leak"\nname = "other"\n',
        encoding="utf-8",
    )
    assert store.get("old").name == "old"
    store.add(_s3())
    assert "leak" not in paths.profiles_file.read_text(encoding="utf-8")
