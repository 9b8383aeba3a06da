"""The window offers Sign in with AWS SSO… when a store's SSO sign-in is missing, and the dialog signs in against
the fake sso-oidc / portal server (tests/servers/fake_sso.py); the store is then opened again (SeaweedFS)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication

from projectdesk.config.profiles import Profile, ProfileStore
from projectdesk.services.connect import open_service
from projectdesk.services.projects import ProjectService
from tests.integration.sso_world import SsoWorld, sso_world_fixture  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.seaweedfs, pytest.mark.gui]


def test_a_missing_sign_in_is_offered_and_the_dialog_signs_in_and_reopens_the_store(
    sso_world: SsoWorld, make_window: Any, qtbot: Any
) -> None:
    profile = sso_world.profile("dev")
    ProfileStore(sso_world.paths).set_default(profile.name)

    def factory(chosen: Profile) -> ProjectService:
        return open_service(chosen, sso_world.paths)

    h = make_window(open_service(profile, sso_world.paths), wait=False, factory=factory)
    window = h.window
    banner = window.banner
    qtbot.waitUntil(lambda: banner.isVisible() and banner.action_button.isVisible(), timeout=20000)
    assert "The AWS SSO sign-in of this store is missing or expired: sign in again to open the store." in banner.text()
    assert banner.action_button.text() == "Sign in with AWS SSO…"
    commands = window.commands.sign_in
    opened: list[str] = []
    commands.open_url = lambda url: opened.append(QUrl(url).toString())

    # first attempt: Cancel while it waits; nothing is written, the wait in the pool ends
    banner.action_button.click()
    qtbot.waitUntil(lambda: commands.dialog is not None and commands.dialog.user_code != "", timeout=20000)
    dialog = commands.dialog
    assert dialog is not None
    sso_world.fake.wait_for_poll(dialog.user_code)
    dialog.reject()
    qtbot.waitUntil(lambda: commands.dialog is None and window.tasks.busy() == 0, timeout=10000)
    assert not sso_world.token_file("corp").exists()

    # second attempt, from the Store menu: the code shown, the page opened, Copy Code, Allow
    commands.sign_in_action.trigger()
    qtbot.waitUntil(lambda: commands.dialog is not None and commands.dialog.user_code != "", timeout=20000)
    dialog = commands.dialog
    assert dialog is not None
    code = dialog.user_code
    assert dialog.code_label.text() == code and dialog.url_field.text().endswith(f"user_code={code}")
    assert opened[-1] == dialog.url_field.text()  # the browser opened at the page with the code filled in
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == code
    sso_world.fake.wait_for_poll(code)
    sso_world.fake.approve(code)

    qtbot.waitUntil(lambda: window.project_model.project("demo") is not None, timeout=30000)
    assert commands.dialog is None
    assert "Signed in as role Developer in account 111122223333" in banner.text()
    assert sso_world.token_file("corp").exists()
