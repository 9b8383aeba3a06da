"""The accounts dialog against the real Secret Service (gnome-keyring-daemon on a private D-Bus): a SeaweedFS
store added in the dialog keeps its secret in the keyring — and nowhere else — and a wrong secret is named
in one plain sentence."""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import secretstorage

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import ProfileStore
from projectdesk.config.secrets import SERVICE, SecretStore
from tests.ui.conftest import aloop, make_window, qloop  # noqa: F401  (the window fixtures, for this folder)
from tests.ui.test_accounts_dialog import add_seaweed_store, files_holding, window_on_real_services

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

pytestmark = [pytest.mark.secret_service, pytest.mark.seaweedfs, pytest.mark.usefixtures("real_keyring")]


def _items(profile: str) -> list[tuple[dict[str, str], bytes]]:
    """What the Secret Service holds for (projectdesk, profile), read without our code."""
    with contextlib.closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        return [
            (item.get_attributes(), item.get_secret())
            for item in collection.search_items({"service": SERVICE, "username": profile})
        ]


def test_the_dialog_stores_the_secret_in_the_secret_service(
    make_window: Any,  # noqa: F811
    isolated_dirs: Paths,
    seaweed: SeaweedServer,
    tmp_path: Path,
) -> None:
    bucket = f"ss-{uuid.uuid4().hex[:12]}"
    seaweed.create_bucket(bucket)
    name = f"weed-{uuid.uuid4().hex[:6]}"
    h = window_on_real_services(make_window, isolated_dirs)
    dialog, wrong_sentence = add_seaweed_store(h, seaweed, bucket, name=name)
    try:
        assert wrong_sentence == "The secret access key is wrong: the server rejected the request signature."
        assert "SecretService" in dialog.keyring_label.text()
        dialog.reject()
        [(attributes, raw)] = _items(name)
        assert attributes["service"] == SERVICE and attributes["username"] == name
        stored = json.loads(raw)
        assert stored["access_key_id"] == seaweed.access_key and stored["secret_access_key"] == seaweed.secret_key
        assert SecretStore().load(name) is not None  # a fresh instance, as the next run
        assert ProfileStore(isolated_dirs).get(name).credential_source == "keyring"
        h.qtbot.waitUntil(
            lambda: h.window.session.profile is not None and h.window.session.profile.name == name, timeout=20000
        )
        h.wait_ready()
        assert h.window.connection_label.text() == "Online"
        h.window.save_layout()
        for root in (isolated_dirs.config_dir, isolated_dirs.data_dir, tmp_path / "xdg"):
            assert files_holding(root, seaweed.secret_key) == []
    finally:
        SecretStore().delete(name)
    assert _items(name) == []
