"""The accounts dialog on a real SeaweedFS server, with keyring's in-memory backend (the real Secret Service
tier is tests/secret_service/test_accounts_dialog.py): add a store, test it, save it, edit and remove it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keyring
import keyring.core
import pytest
from keyring.backends import fail
from PySide6.QtWidgets import QMessageBox

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import ProfileStore
from projectdesk.services.offline import open_cached_service
from projectdesk.ui.dialogs.accounts import (
    SERVICE_AWS,
    SERVICE_CUSTOM,
    SOURCE_AWS,
    SOURCE_KEYRING,
    SOURCE_SESSION,
    AccountsDialog,
    ProfileEditor,
)
from projectdesk.ui.main_window import MainWindow
from tests.integration.test_credentials import assert_plain_sentence
from tests.ui.conftest import WindowHarness, answer_box

if TYPE_CHECKING:
    from tests.conftest import MemoryKeyring
    from tests.servers.seaweedfs import SeaweedServer

pytestmark = pytest.mark.seaweedfs


def window_on_real_services(make_window: Any, paths: Paths) -> WindowHarness:
    """The window as the app builds it: every profile opened through the offline cache, with the window's
    SecretStore (so session-only keys typed in the dialog are used)."""
    holder: list[MainWindow] = []

    def factory(profile: Any) -> Any:
        return open_cached_service(profile, paths, secrets=holder[0].session.secrets)

    first = open_cached_service(ProfileStore(paths).get("local"), paths)
    first.close()
    h: WindowHarness = make_window(first, factory=factory, wait=False)
    holder.append(h.window)
    h.wait_ready()
    return h


def open_accounts(h: WindowHarness) -> AccountsDialog:
    actions = h.window.commands
    actions.store.accounts_action.trigger()
    h.qtbot.waitUntil(lambda: actions.store.accounts_dialog is not None and actions.store.accounts_dialog.isVisible())
    dialog = actions.store.accounts_dialog
    assert dialog is not None
    h.qtbot.waitUntil(lambda: dialog.add_button.isEnabled() and dialog.tree.topLevelItemCount() >= 1, timeout=20000)
    return dialog


def open_editor(h: WindowHarness, dialog: AccountsDialog, button: Any) -> ProfileEditor:
    button.click()
    h.qtbot.waitUntil(lambda: dialog.editor is not None and dialog.editor.isVisible())
    assert dialog.editor is not None
    return dialog.editor


def fill_seaweed(editor: ProfileEditor, server: SeaweedServer, name: str, bucket: str, secret: str) -> None:
    """Type a SeaweedFS store into the form as a person would (the endpoint, bucket and keys)."""
    editor.name_field.setText(name)
    editor.service_box.setCurrentIndex(editor.service_box.findData(SERVICE_CUSTOM))
    editor.endpoint_field.setText(server.endpoint_url)
    editor.region_field.setText(server.region)
    editor.bucket_field.setText(bucket)
    editor.path_style_box.setChecked(True)
    editor.key_id_field.setText(server.access_key)
    editor.secret_field.setText(secret)


def run_test(h: WindowHarness, editor: ProfileEditor, *, button: Any = None) -> str:
    editor.last_report = None
    (button or editor.test_button).click()
    h.qtbot.waitUntil(lambda: editor.last_report is not None and editor.test_button.isEnabled(), timeout=30000)
    return str(editor.result_label.text())


def add_seaweed_store(
    h: WindowHarness, server: SeaweedServer, bucket: str, *, name: str = "weed"
) -> tuple[AccountsDialog, str]:
    """Open Store ▸ Manage Stores, add a SeaweedFS store: a wrong secret first (its sentence is returned),
    then the right one, tested and saved."""
    dialog = open_accounts(h)
    editor = open_editor(h, dialog, dialog.add_button)
    assert editor.secret_field.echoMode() == editor.secret_field.EchoMode.Password
    wrong = "wrong-" + uuid.uuid4().hex
    fill_seaweed(editor, server, name, bucket, wrong)
    wrong_sentence = run_test(h, editor)
    assert_plain_sentence(wrong_sentence, server.secret_key, wrong)
    assert editor.last_report is not None and not editor.last_report.ok
    editor.secret_field.setText(server.secret_key)
    ok_sentence = run_test(h, editor)
    assert editor.last_report is not None and editor.last_report.ok, ok_sentence
    assert_plain_sentence(ok_sentence, server.secret_key)
    editor.save_button.click()
    h.qtbot.waitUntil(lambda: dialog.editor is None and name in dialog.changed, timeout=20000)
    return dialog, wrong_sentence


def files_holding(root: Path, needle: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_add_a_seaweedfs_store_its_secret_goes_to_the_keyring_only(
    make_window: Any, isolated_dirs: Paths, seaweed: SeaweedServer, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    bucket = f"acc-{uuid.uuid4().hex[:12]}"
    seaweed.create_bucket(bucket)
    h = window_on_real_services(make_window, isolated_dirs)
    dialog, wrong_sentence = add_seaweed_store(h, seaweed, bucket)
    assert wrong_sentence == "The secret access key is wrong: the server rejected the request signature."
    # the list shows the store, with its key in the keyring
    h.qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 2)
    rows = {dialog.tree.topLevelItem(i).data(0, 256): dialog.tree.topLevelItem(i) for i in range(2)}
    assert rows["weed"].text(2) == "in the keyring"
    assert "MemoryKeyring" in dialog.keyring_label.text()
    dialog.reject()
    # the secret is in the keyring, and in no file ProjectDesk wrote
    [(service, user)] = list(memory_keyring.entries)
    assert (service, user) == ("projectdesk", "weed") and seaweed.secret_key in memory_keyring.entries[(service, user)]
    profile = ProfileStore(isolated_dirs).get("weed")
    assert profile.endpoint_url == seaweed.endpoint_url and profile.bucket == bucket and profile.path_style
    assert profile.credential_source == "keyring"
    # the window opens the new store (the dialog said so by adding it) and works through it
    h.qtbot.waitUntil(
        lambda: h.window.session.profile is not None and h.window.session.profile.name == "weed", timeout=20000
    )
    h.wait_ready()
    assert h.window.connection_label.text() == "Online"
    assert bucket in h.window.profile_label.text()
    h.window.save_layout()
    for root in (isolated_dirs.config_dir, isolated_dirs.data_dir, tmp_path / "xdg"):
        assert files_holding(root, seaweed.secret_key) == []


def test_a_missing_bucket_can_be_created_from_the_dialog(
    make_window: Any, isolated_dirs: Paths, seaweed: SeaweedServer
) -> None:
    bucket = f"new-{uuid.uuid4().hex[:12]}"
    h = window_on_real_services(make_window, isolated_dirs)
    dialog = open_accounts(h)
    editor = open_editor(h, dialog, dialog.add_button)
    fill_seaweed(editor, seaweed, "fresh", bucket, seaweed.secret_key)
    sentence = run_test(h, editor)
    assert sentence == f"The bucket '{bucket}' does not exist at {seaweed.endpoint_url}."
    assert editor.create_bucket_button.isVisible()
    sentence = run_test(h, editor, button=editor.create_bucket_button)
    assert sentence.startswith(f"Created the bucket '{bucket}'"), sentence
    assert not editor.create_bucket_button.isVisible()
    assert bucket in [b["Name"] for b in seaweed.client().list_buckets()["Buckets"]]
    editor.reject()
    dialog.reject()


def test_without_a_keyring_the_keys_are_kept_for_the_session_only(
    make_window: Any, isolated_dirs: Paths, seaweed: SeaweedServer, memory_keyring: MemoryKeyring
) -> None:
    bucket = f"sess-{uuid.uuid4().hex[:12]}"
    seaweed.create_bucket(bucket)
    keyring.set_keyring(fail.Keyring())  # a headless box: keyring finds no backend
    h = window_on_real_services(make_window, isolated_dirs)
    dialog = open_accounts(h)
    assert "No keyring backend is available" in dialog.keyring_label.text()
    editor = open_editor(h, dialog, dialog.add_button)
    assert editor.source_box.currentData() == SOURCE_SESSION
    model = editor.source_box.model()
    assert not model.item(editor.source_box.findData(SOURCE_KEYRING)).isEnabled()  # type: ignore[attr-defined]
    assert "session-only" in editor.keyring_label.text()
    fill_seaweed(editor, seaweed, "temp", bucket, seaweed.secret_key)
    assert editor.last_report is None
    assert editor.result_label.text() == ""
    editor.save_button.click()
    h.qtbot.waitUntil(lambda: "temp" in dialog.changed, timeout=20000)
    assert h.window.session.secrets.is_session_only("temp")
    assert memory_keyring.entries == {}
    assert ProfileStore(isolated_dirs).get("temp").credential_source == "keyring"
    h.qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 2)
    rows = {dialog.tree.topLevelItem(i).data(0, 256): dialog.tree.topLevelItem(i) for i in range(2)}
    assert rows["temp"].text(2) == "this session only"
    dialog.reject()
    h.qtbot.waitUntil(
        lambda: h.window.session.profile is not None and h.window.session.profile.name == "temp", timeout=20000
    )
    h.wait_ready()
    assert h.window.connection_label.text() == "Online"  # the session's keys opened the store


def test_edit_never_shows_the_secret_and_remove_deletes_it(
    make_window: Any, isolated_dirs: Paths, seaweed: SeaweedServer, memory_keyring: MemoryKeyring
) -> None:
    bucket = f"edit-{uuid.uuid4().hex[:12]}"
    seaweed.create_bucket(bucket)
    h = window_on_real_services(make_window, isolated_dirs)
    dialog, _ = add_seaweed_store(h, seaweed, bucket, name="weed2")
    h.qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 2)
    dialog.tree.setCurrentItem(
        next(dialog.tree.topLevelItem(i) for i in range(2) if dialog.tree.topLevelItem(i).data(0, 256) == "weed2")
    )
    editor = open_editor(h, dialog, dialog.edit_button)
    assert editor.name_field.isReadOnly() and editor.name_field.text() == "weed2"
    assert editor.secret_field.text() == "" and editor.key_id_field.text() == ""
    assert "Stored in the keyring" in editor.secret_field.placeholderText()
    sentence = run_test(h, editor)  # the stored key is used
    assert editor.last_report is not None and editor.last_report.ok, sentence
    editor.user_field.setText("alice")
    editor.save_button.click()
    h.qtbot.waitUntil(lambda: dialog.editor is None, timeout=20000)
    assert ProfileStore(isolated_dirs).get("weed2").user_id == "alice"
    assert ("projectdesk", "weed2") in memory_keyring.entries  # kept, not re-typed
    dialog.remove_button.click()
    text = answer_box(h.qtbot, dialog, QMessageBox.StandardButton.Yes)
    assert "weed2" in text
    h.qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 1, timeout=20000)
    assert ("projectdesk", "weed2") not in memory_keyring.entries
    assert [p.name for p in ProfileStore(isolated_dirs).list()] == ["local"]
    dialog.reject()


def test_an_aws_profile_from_the_list_needs_no_key(
    make_window: Any, isolated_dirs: Paths, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    (tmp_path / "xdg").mkdir(exist_ok=True)
    (tmp_path / "xdg" / "aws-config").write_text(
        "[profile work]\nregion = eu-west-1\n\n[profile sso-dev]\nsso_session = corp\nregion = us-east-2\n",
        encoding="utf-8",
    )
    h = window_on_real_services(make_window, isolated_dirs)
    dialog = open_accounts(h)
    editor = open_editor(h, dialog, dialog.add_button)
    editor.source_box.setCurrentIndex(editor.source_box.findData(SOURCE_AWS))
    assert not editor.secret_field.isVisible() and editor.aws_profile_box.isVisible()
    listed = [editor.aws_profile_box.itemText(i) for i in range(editor.aws_profile_box.count())]
    assert listed == ["sso-dev (us-east-2) — SSO", "work (eu-west-1)"]
    editor.name_field.setText("work-aws")
    editor.service_box.setCurrentIndex(editor.service_box.findData(SERVICE_AWS))
    assert not editor.endpoint_field.isVisible()
    editor.region_field.setText("eu-west-1")
    editor.bucket_field.setText("my-projects")
    editor.aws_profile_box.setCurrentIndex(1)
    editor.default_box.setChecked(False)
    profile = editor.profile_from_fields()
    assert (profile.credential_source, profile.aws_profile, profile.endpoint_url) == ("aws-profile", "work", "")
    editor.save_button.click()
    h.qtbot.waitUntil(lambda: "work-aws" in dialog.changed, timeout=20000)
    saved = ProfileStore(isolated_dirs).get("work-aws")
    assert saved.aws_profile == "work" and saved.region == "eu-west-1" and memory_keyring.entries == {}
    dialog.reject()
