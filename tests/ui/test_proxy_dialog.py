"""The accounts dialog's proxy rows on a real SeaweedFS server behind the real test proxy
(tests/servers/httpproxy.py) that wants a login: the password is tested before it is saved, saved to the
keyring only, never shown back, and a wrong one is named in one sentence."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import ProfileStore
from projectdesk.config.secrets import SERVICE
from tests.integration.test_credentials import assert_plain_sentence
from tests.servers.httpproxy import HttpProxy
from tests.ui.test_accounts_dialog import (
    files_holding,
    fill_seaweed,
    open_accounts,
    open_editor,
    run_test,
    window_on_real_services,
)

if TYPE_CHECKING:
    from tests.conftest import MemoryKeyring
    from tests.servers.seaweedfs import SeaweedServer

pytestmark = pytest.mark.seaweedfs

USER = "alice"


@pytest.fixture
def password() -> str:
    return "pr0xy-" + uuid.uuid4().hex


@pytest.fixture
def login_proxy(password: str) -> Iterator[HttpProxy]:
    with HttpProxy(user=USER, password=password) as server:
        yield server


def test_a_store_behind_a_proxy_with_a_login(
    make_window: Any,
    isolated_dirs: Paths,
    seaweed: SeaweedServer,
    memory_keyring: MemoryKeyring,
    login_proxy: HttpProxy,
    password: str,
    tmp_path: Path,
) -> None:
    bucket = f"prx-{uuid.uuid4().hex[:12]}"
    seaweed.create_bucket(bucket)
    h = window_on_real_services(make_window, isolated_dirs)
    dialog = open_accounts(h)
    editor = open_editor(h, dialog, dialog.add_button)
    fill_seaweed(editor, seaweed, "behind", bucket, seaweed.secret_key)
    assert not editor.proxy_user_field.isVisibleTo(editor), "the login rows show only once a proxy is typed"
    editor.proxy_field.setText(login_proxy.url)
    assert editor.proxy_user_field.isVisibleTo(editor) and editor.proxy_password_field.isVisibleTo(editor)
    assert editor.proxy_password_field.echoMode() == QLineEdit.EchoMode.Password

    # No login: the proxy's 407 in one sentence.
    sentence = run_test(h, editor)
    assert sentence == f"The proxy at {login_proxy.address} needs a user name and password (Proxy-Authorization)."

    # A wrong password, typed and tested (not saved), refused by the proxy.
    wrong = "wrong-" + uuid.uuid4().hex
    editor.proxy_user_field.setText(USER)
    editor.proxy_password_field.setText(wrong)
    sentence = run_test(h, editor)
    assert sentence.startswith(f"The proxy at {login_proxy.address} did not accept")
    assert_plain_sentence(sentence, password, wrong)
    assert login_proxy.rejected_logins

    # The right one: the test goes through the proxy, then Save keeps the password in the keyring only.
    editor.proxy_password_field.setText(password)
    before = login_proxy.count()
    sentence = run_test(h, editor)
    assert editor.last_report is not None and editor.last_report.ok, sentence
    assert login_proxy.count() > before
    editor.save_button.click()
    h.qtbot.waitUntil(lambda: dialog.editor is None and "behind" in dialog.changed, timeout=20000)
    assert memory_keyring.entries[(SERVICE, "behind/proxy")] == password
    profile = ProfileStore(isolated_dirs).get("behind")
    assert (profile.proxy_url, profile.proxy_user) == (login_proxy.url, USER)
    assert files_holding(tmp_path / "xdg", password) == []

    # Editing shows the proxy and the login, never the password; Test Connection uses the keyring's.
    h.qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 2)
    dialog.tree.setCurrentItem(
        next(dialog.tree.topLevelItem(i) for i in range(2) if dialog.tree.topLevelItem(i).data(0, 256) == "behind")
    )
    editor = open_editor(h, dialog, dialog.edit_button)
    assert editor.proxy_field.text() == login_proxy.url and editor.proxy_user_field.text() == USER
    assert editor.proxy_password_field.text() == ""
    assert "keyring" in editor.proxy_password_field.placeholderText()
    texts = [w.text() for w in editor.findChildren(QLineEdit)] + [w.text() for w in editor.findChildren(QLabel)]
    assert not any(password in text for text in texts), "the proxy password is shown in the editor"
    sentence = run_test(h, editor)
    assert editor.last_report is not None and editor.last_report.ok, sentence

    # Dropping the proxy forgets the password.
    editor.proxy_field.setText("")
    editor.save_button.click()
    h.qtbot.waitUntil(lambda: dialog.editor is None, timeout=20000)
    assert (SERVICE, "behind/proxy") not in memory_keyring.entries
    assert ProfileStore(isolated_dirs).get("behind").proxy_url == ""
