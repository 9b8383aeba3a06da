"""Store ▸ Sign in with AWS SSO…: the device sign-in of services/sso_login.py for the open store's AWS profile,
offered by the banner whenever a store fails with SignInRequired; on success the store is opened again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from projectdesk.config.profiles import KIND_S3
from projectdesk.core.errors import Cancelled, InvalidInput, ProjectDeskError
from projectdesk.ui.commands.base import CommandContext, CommandGroup
from projectdesk.ui.feedback import INFO
from projectdesk.ui.tasks import handler

if TYPE_CHECKING:
    from projectdesk.ui.dialogs.sso_sign_in import SsoSignInDialog

SIGN_IN_TEXT = "Sign in with AWS SSO…"


def sign_in_sentence(aws_profile: str) -> str:
    """The banner's sentence for a missing or expired sign-in (the button beside it signs in)."""
    whose = f"AWS profile '{aws_profile}'" if aws_profile else "this store"
    return f"The AWS SSO sign-in of {whose} is missing or expired: sign in again to open the store."


class SignInCommands(CommandGroup):
    """Attributes:
    open_url: opens a page in the browser (QDesktopServices.openUrl; tests replace it).
    dialog: the sign-in dialog while it is open (tests drive it), else None.
    """

    def __init__(self, context: CommandContext) -> None:
        super().__init__(context)
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        self.dialog: SsoSignInDialog | None = None
        self.sign_in_action = self.action(
            "Sign in with AWS &SSO…", lambda: self.sign_in(), tip="Sign in to IAM Identity Center for this store"
        )

    def update(self) -> None:
        profile = self.session.profile
        self.sign_in_action.setEnabled(
            profile is not None and profile.kind == KIND_S3 and profile.credential_source != "keyring"
        )

    def _open(self, url: str) -> None:
        self.open_url(QUrl(url))

    @handler
    async def sign_in(self) -> None:
        """The sign-in dialog for the open store's AWS profile; once signed in, the store is opened again."""
        from projectdesk.services.sso_login import DeviceSignIn, aws_profile_for, read_sso_config
        from projectdesk.ui.dialogs.sso_sign_in import SsoSignInDialog

        profile = self.session.profile
        if profile is None:
            raise InvalidInput("Choose a store first.")
        tasks = self.session.tasks
        config = await tasks.call(read_sso_config, aws_profile_for(profile))
        dialog = SsoSignInDialog(config.aws_profile, config.start_url, open_url=self._open, parent=self.context.parent)
        self.dialog = dialog
        dialog.finished.connect(lambda _result: self._forget(dialog))
        dialog.open()
        try:
            flow = DeviceSignIn(config)
            code = await tasks.call(flow.start)
            if dialog.cancel.is_set():
                return
            dialog.show_code(code.user_code, code.verification_uri_complete)
            dialog.open_page()
            signed = await tasks.call(flow.finish, dialog.cancel)
        except Cancelled:
            return
        except ProjectDeskError as exc:
            if not dialog.cancel.is_set():
                dialog.show_error(exc.message)  # stays open until closed, the sentence in it
            return
        dialog.accept()
        self.feedback.announce("Signed in", signed.sentence(), INFO, timeout_ms=10000)
        if self.session.profile is not None and self.session.profile.name == profile.name:
            await self.browser.switch_profile(profile.name, initial=True)

    def _forget(self, dialog: SsoSignInDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()
