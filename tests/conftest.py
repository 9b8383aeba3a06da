"""Fixtures shared by every tier: isolated directories, and one repository per kind of store.

`store` is parametrised over the local folder store, S3 on moto (in-process, fast) and S3 on a real
SeaweedFS server (started once per session on 127.0.0.1), so the contract suite runs on all three.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from projectdesk.config.paths import Paths
from projectdesk.storage.local import LocalRepository
from projectdesk.storage.repository import Repository
from projectdesk.storage.s3 import S3Repository
from projectdesk.storage.s3client import Credentials, make_client

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

STORE_KINDS = ["local", "moto", "seaweedfs"]


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """No test touches the real config, data or keyring of the person running it."""
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                     ("XDG_STATE_HOME", "state")):  # fmt: skip
        monkeypatch.setenv(var, str(tmp_path / "xdg" / sub))
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "xdg" / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "xdg" / "aws-credentials"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return Paths.default()


class MemoryKeyring(KeyringBackend):  # type: ignore[misc]
    """keyring backend holding secrets in a dict, so no test reaches the OS keyring."""

    priority = -1  # below the `fail` backend, so keyring's own detection never picks it

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


@pytest.fixture(autouse=True)
def memory_keyring(request: pytest.FixtureRequest) -> Iterator[MemoryKeyring]:
    """Every test gets an empty in-memory keyring, except the real Secret Service tier (tests/secret_service)."""
    backend = MemoryKeyring()
    if request.node.get_closest_marker("secret_service"):
        yield backend
        return
    previous = keyring.core._keyring_backend
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.core._keyring_backend = previous


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    from tests.servers.seaweedfs import SeaweedServer

    server = SeaweedServer(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def weed_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """A SeaweedFS server of the test module's own, which its tests may kill (the shared `seaweed` must live)."""
    from tests.servers.seaweedfs import SeaweedServer

    name = request.module.__name__.rsplit(".", 1)[-1]
    server = SeaweedServer(tmp_path_factory.mktemp(f"{name}-seaweedfs"), readonly_identity=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(weed_server: SeaweedServer) -> SeaweedServer:
    """The module's killable server, running again if a previous test ended with it killed."""
    if not weed_server.is_running():
        weed_server.restart()
    return weed_server


@dataclass
class Store:
    """A repository under test plus a way to plant raw objects behind its back."""

    kind: str
    repo: Repository
    plant: Callable[[str, bytes], None]  # (key relative to the bucket root, data)
    client: Any = None  # the raw boto3 client for S3 stores
    bucket: str = ""


def _bucket_name() -> str:
    return f"pd-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def moto_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


def seaweed_repo(server: SeaweedServer, bucket: str, **kwargs: Any) -> S3Repository:
    client = make_client(
        endpoint_url=server.endpoint_url,
        region=server.region,
        credentials=Credentials(server.access_key, server.secret_key),
        path_style=True,
        max_attempts=kwargs.pop("max_attempts", 5),
    )
    return S3Repository(client, bucket, endpoint=server.endpoint_url, **kwargs)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    kind = request.param
    if kind == "local":
        root = tmp_path / "store"
        repo = LocalRepository(root)

        def plant_local(key: str, data: bytes) -> None:
            if ".." in key.split("/") or "//" in key or "\x00" in key:
                raise ValueError("a folder cannot hold this name")  # as SeaweedFS refuses some keys
            target = root / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

        yield Store(kind, repo, plant_local)
        return
    bucket = _bucket_name()
    if kind == "moto":
        request.getfixturevalue("moto_env")
        client = make_client(endpoint_url=None, region="us-east-1", credentials=Credentials("testing", "testing"))
        client.create_bucket(Bucket=bucket)
        repo = S3Repository(client, bucket, endpoint="moto")
    else:
        server: SeaweedServer = request.getfixturevalue("seaweed")
        server.create_bucket(bucket)
        repo = seaweed_repo(server, bucket)
        client = server.client()

    def plant_s3(key: str, data: bytes) -> None:
        client.put_object(Bucket=bucket, Key=key, Body=data)

    yield Store(kind, repo, plant_s3, client, bucket)


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under root, by relative POSIX path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("store") == "seaweedfs":
            item.add_marker(pytest.mark.seaweedfs)
        if "seaweed" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.seaweedfs)


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
