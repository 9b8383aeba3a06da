"""Accounts: add, edit and remove stores (profiles) — endpoint, region, bucket, user, addressing, where the
keys come from (OS keyring, this session only, an ~/.aws profile, the environment) — with a connection test.

Secrets are typed into masked fields and go to the keyring (or, session-only, to memory); they are never
shown back, logged, or written anywhere else. Every keyring, file and network call runs off the GUI thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QPalette, QShortcut, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from projectdesk.config.profiles import KIND_LOCAL, KIND_S3, LOCAL, Profile, ProfileStore
from projectdesk.core.errors import InvalidInput, KeyringUnavailable, ProjectDeskError
from projectdesk.core.keys import DEFAULT_USER_ID
from projectdesk.storage.s3client import Credentials
from projectdesk.ui.dialogs import ask, run_dialog
from projectdesk.ui.dialogs.bandwidth import BandwidthField
from projectdesk.ui.dialogs.owned import OwnsTasks
from projectdesk.ui.dialogs.versioning import VersioningRow, turn_on_versioning
from projectdesk.ui.tasks import Tasks, handler

if TYPE_CHECKING:
    from projectdesk.config.paths import Paths
    from projectdesk.config.secrets import SecretStore
    from projectdesk.services.connect import AwsProfileInfo
    from projectdesk.services.connection_test import ConnectionReport

SOURCE_KEYRING, SOURCE_SESSION, SOURCE_AWS, SOURCE_ENV = "keyring", "session", "aws-profile", "env"
SOURCES = (
    (SOURCE_KEYRING, "Access key, kept in the OS keyring"),
    (SOURCE_SESSION, "Access key for this session only (not saved)"),
    (SOURCE_AWS, "An AWS profile (~/.aws, SSO included)"),
    (SOURCE_ENV, "Environment variables / AWS default chain"),
)
SERVICE_AWS, SERVICE_CUSTOM = "aws", "custom"
_BACKENDS = {
    "keyring.backends.SecretService.Keyring": "Secret Service (GNOME Keyring, KWallet, KeePassXC…)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Manager",
}
OK_COLOUR, BAD_COLOUR = ("#1b6e2a", "#7be08c"), ("#a1141c", "#ff8f8f")  # (light, dark)


@dataclass
class KeyringState:
    """What the OS keyring offers here: `problem` is the plain sentence when it cannot hold keys."""

    backend: str = "none"
    problem: str = ""

    @property
    def available(self) -> bool:
        return not self.problem

    @property
    def label(self) -> str:
        friendly = _BACKENDS.get(self.backend)
        return f"{friendly} ({self.backend})" if friendly else self.backend


@dataclass
class AccountsState:
    """Read off the GUI thread before the dialog fills in: keyring, profiles and where their keys are."""

    keyring: KeyringState
    profiles: list[Profile]
    default: str
    keys: dict[str, str] = field(default_factory=dict)  # profile -> "keyring" | "session" | "missing" | "unknown"


def probe_keyring(secrets: SecretStore) -> KeyringState:
    """Which keyring backend is in use and whether it can hold keys (blocking: may talk to D-Bus)."""
    try:
        secrets.check()
    except KeyringUnavailable as exc:
        return KeyringState(secrets.backend_name, exc.message)
    return KeyringState(secrets.backend_name)


def load_state(profiles: ProfileStore, secrets: SecretStore) -> AccountsState:
    """Blocking: the profiles file and, for keyring profiles, whether a key is stored (never the key)."""
    state = AccountsState(probe_keyring(secrets), profiles.list(), profiles.default_name())
    for profile in state.profiles:
        if profile.kind == KIND_LOCAL or profile.credential_source != "keyring":
            continue
        if secrets.is_session_only(profile.name):
            state.keys[profile.name] = "session"
            continue
        stored = secrets.has_secret(profile.name) if state.keyring.available else None
        state.keys[profile.name] = {True: "keyring", False: "missing", None: "unknown"}[stored]
    return state


def aws_profiles() -> list[AwsProfileInfo]:
    """Blocking: the profiles of ~/.aws (none when the files cannot be read)."""
    from projectdesk.services.connect import list_aws_profiles

    try:
        return list_aws_profiles()
    except ProjectDeskError:
        return []


def run_connection_test(
    profile: Profile,
    paths: Paths,
    credentials: Credentials | None,
    secrets: SecretStore,
    *,
    create_bucket: bool = False,
    proxy_password: str | None = None,
) -> ConnectionReport:
    """Blocking: services.connection_test (imported here: it loads botocore, which the window defers)."""
    from projectdesk.services.connection_test import test_connection

    return test_connection(
        profile, paths, credentials, secrets=secrets, write=True, create_bucket=create_bucket,
        proxy_password=proxy_password,
    )  # fmt: skip


def keys_text(profile: Profile, keys: str) -> str:
    if profile.kind == KIND_LOCAL:
        return "—"
    if profile.credential_source == "aws-profile":
        return f"AWS profile {profile.aws_profile}"
    if profile.credential_source == "env":
        return "environment / default chain"
    return {
        "keyring": "in the keyring",
        "session": "this session only",
        "missing": "missing: edit to enter them",
        "unknown": "keyring unavailable",
    }.get(keys, keys)


def _colour(pair: tuple[str, str], palette: QPalette) -> str:
    return pair[1] if palette.color(QPalette.ColorRole.Window).lightness() < 128 else pair[0]


class ProfileEditor(OwnsTasks, QDialog):
    """Add or edit one store.

    Args:
        profile: the profile to edit, or None to add one.
        keys: where its keys are now ("keyring", "session", "missing", "unknown" or "").
        is_default: it opens when ProjectDesk starts.

    Attributes:
        result_label: the connection test's sentence (or what stopped a save).
        saved_name: the profile's name once saved.

    Signals:
        saved(str): the profile was written (its name).
    """

    saved = Signal(str)

    def __init__(
        self,
        paths: Paths,
        store: ProfileStore,
        secrets: SecretStore,
        tasks: Tasks,
        keyring: KeyringState,
        *,
        profile: Profile | None = None,
        keys: str = "",
        is_default: bool = False,
        aws_names: list[AwsProfileInfo] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("profileEditor")
        self._paths = paths
        self._store = store
        self._secrets = secrets
        self._tasks = tasks
        self._keyring = keyring
        self._original = profile
        self._keys = keys
        self.saved_name = ""
        self.last_report: ConnectionReport | None = None
        self.setWindowTitle(f"Edit store “{profile.name}”" if profile else "Add a store")
        layout = QVBoxLayout(self)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addLayout(self.form)

        self.name_field = QLineEdit(self)
        self.name_field.setPlaceholderText("e.g. weed, work-aws")
        self.service_box = QComboBox(self)
        self.service_box.addItem("Amazon S3", SERVICE_AWS)
        self.service_box.addItem("S3-compatible server (SeaweedFS, MinIO, Ceph, R2…)", SERVICE_CUSTOM)
        self.endpoint_field = QLineEdit(self)
        self.endpoint_field.setPlaceholderText("http://127.0.0.1:8333")
        self.region_field = QLineEdit(self)
        self.region_field.setPlaceholderText("us-east-1")
        self.bucket_field = QLineEdit(self)
        self.bucket_field.setPlaceholderText("projects")
        self.user_field = QLineEdit(DEFAULT_USER_ID, self)
        self.user_field.setToolTip("Projects live under projects/{user id}/ in the bucket.")
        self.path_style_box = QCheckBox("Path-style addressing (most self-hosted servers need it)", self)
        self.source_box = QComboBox(self)
        for value, text in SOURCES:
            self.source_box.addItem(text, value)
        self.key_id_field = QLineEdit(self)
        self.key_id_field.setObjectName("accessKeyId")
        self.secret_field = QLineEdit(self)
        self.secret_field.setObjectName("secretAccessKey")
        self.token_field = QLineEdit(self)
        self.token_field.setObjectName("sessionToken")
        self.token_field.setPlaceholderText("optional (temporary keys only)")
        for secret in (self.key_id_field, self.secret_field, self.token_field):
            secret.setEchoMode(QLineEdit.EchoMode.Password)
            secret.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        self.key_id_field.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.aws_profile_box = QComboBox(self)
        self.aws_profile_box.setEditable(True)
        for info in aws_names or []:
            label = info.name + (f" ({info.region})" if info.region else "") + (" — SSO" if info.sso else "")
            self.aws_profile_box.addItem(label, info.name)
        self.keyring_label = QLabel(self)
        self.keyring_label.setObjectName("keyringLabel")
        self.keyring_label.setWordWrap(True)
        self.keyring_label.setTextFormat(Qt.TextFormat.PlainText)
        self.proxy_field = QLineEdit(self)
        self.proxy_field.setObjectName("proxyUrl")
        self.proxy_field.setPlaceholderText("none: HTTPS_PROXY / HTTP_PROXY apply (e.g. http://proxy.corp:3128)")
        self.proxy_user_field = QLineEdit(self)
        self.proxy_user_field.setObjectName("proxyUser")
        self.proxy_user_field.setPlaceholderText("optional: when the proxy asks for a login")
        self.proxy_password_field = QLineEdit(self)
        self.proxy_password_field.setObjectName("proxyPassword")
        self.proxy_password_field.setEchoMode(QLineEdit.EchoMode.Password)
        self.proxy_password_field.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        self.bandwidth_field = BandwidthField(self)
        self.default_box = QCheckBox("Open this store when ProjectDesk starts", self)
        self.default_box.setChecked(is_default)

        def row(text: str, widget: QWidget) -> None:
            label = QLabel(text, self)
            label.setBuddy(widget)
            self.form.addRow(label, widget)

        row("&Name:", self.name_field)
        row("S&ervice:", self.service_box)
        row("End&point URL:", self.endpoint_field)
        row("&Region:", self.region_field)
        row("&Bucket:", self.bucket_field)
        row("&User id:", self.user_field)
        self.form.addRow("", self.path_style_box)
        row("&Keys:", self.source_box)
        row("Access key &ID:", self.key_id_field)
        row("&Secret access key:", self.secret_field)
        row("Session &token:", self.token_field)
        row("A&WS profile:", self.aws_profile_box)
        row("Pro&xy:", self.proxy_field)
        row("Proxy &login:", self.proxy_user_field)
        row("Proxy passw&ord:", self.proxy_password_field)
        row("Band&width:", self.bandwidth_field)
        layout.addWidget(self.keyring_label)  # outside the form: QFormLayout mis-sizes wrapped labels
        layout.addWidget(self.default_box)

        test_row = QHBoxLayout()
        self.test_button = QPushButton("&Test Connection", self)
        self.test_button.setAutoDefault(False)
        self.create_bucket_button = QPushButton("&Create the Bucket", self)
        self.create_bucket_button.setAutoDefault(False)
        self.create_bucket_button.hide()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.create_bucket_button)
        test_row.addStretch(1)
        layout.addLayout(test_row)
        self.result_label = QLabel(self)
        self.result_label.setObjectName("connectionResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setMinimumHeight(self.fontMetrics().height() * 3)
        self.result_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.result_label)
        self.versioning_row = VersioningRow(self)
        layout.addWidget(self.versioning_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        save = buttons.button(QDialogButtonBox.StandardButton.Save)
        assert save is not None
        self.save_button = save
        buttons.accepted.connect(lambda: self.save())
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(620)

        self.service_box.currentIndexChanged.connect(lambda _i: self._update_rows())
        self.source_box.currentIndexChanged.connect(lambda _i: self._update_rows())
        self.test_button.clicked.connect(lambda: self.test_connection())
        self.create_bucket_button.clicked.connect(lambda: self.test_connection(create_bucket=True))
        self.versioning_row.enableRequested.connect(lambda: self.enable_versioning())
        self.proxy_field.textChanged.connect(lambda _t: self._update_proxy_rows())
        self._fill(profile)
        self._update_rows()
        self._fill_proxy(profile)
        self.bandwidth_field.fill(profile)

    # ---- fields ----------------------------------------------------------------------------------

    def _fill(self, profile: Profile | None) -> None:
        model = self.source_box.model()
        if not self._keyring.available and isinstance(model, QStandardItemModel):
            item = model.item(self.source_box.findData(SOURCE_KEYRING))
            item.setEnabled(False)
            item.setText(SOURCES[0][1] + " — no keyring here")
        if profile is None:
            self.service_box.setCurrentIndex(self.service_box.findData(SERVICE_CUSTOM))
            self.path_style_box.setChecked(True)
            source = SOURCE_KEYRING if self._keyring.available else SOURCE_SESSION
            self.source_box.setCurrentIndex(self.source_box.findData(source))
            return
        self.name_field.setText(profile.name)
        self.name_field.setReadOnly(True)
        self.name_field.setToolTip("A store keeps its name; add a new one to use another name.")
        self.service_box.setCurrentIndex(
            self.service_box.findData(SERVICE_CUSTOM if profile.endpoint_url else SERVICE_AWS)
        )
        self.endpoint_field.setText(profile.endpoint_url)
        self.region_field.setText(profile.region)
        self.bucket_field.setText(profile.bucket)
        self.user_field.setText(profile.user_id)
        self.path_style_box.setChecked(profile.path_style)
        source = profile.credential_source
        if source == "keyring" and (self._keys == "session" or not self._keyring.available):
            source = SOURCE_SESSION
        self.source_box.setCurrentIndex(self.source_box.findData(source))
        if profile.aws_profile:
            index = self.aws_profile_box.findData(profile.aws_profile)
            if index < 0:
                self.aws_profile_box.addItem(profile.aws_profile, profile.aws_profile)
                index = self.aws_profile_box.count() - 1
            self.aws_profile_box.setCurrentIndex(index)
        stored = {
            "keyring": "Stored in the keyring — type to replace",
            "session": "Kept for this session — type to replace",
        }
        hint = stored.get(self._keys, "")
        if hint:
            self.key_id_field.setPlaceholderText(hint)
            self.secret_field.setPlaceholderText(hint)

    def _update_rows(self) -> None:
        custom = self.service_box.currentData() == SERVICE_CUSTOM
        self.form.setRowVisible(self.endpoint_field, custom)
        source = self.source_box.currentData()
        keys = source in (SOURCE_KEYRING, SOURCE_SESSION)
        for widget in (self.key_id_field, self.secret_field, self.token_field):
            self.form.setRowVisible(widget, keys)
        self.form.setRowVisible(self.aws_profile_box, source == SOURCE_AWS)
        if not self._keyring.available:
            text = f"{self._keyring.problem}"
        elif source == SOURCE_KEYRING:
            text = f"Keys are stored in: {self._keyring.label}, under “projectdesk”."
        elif source == SOURCE_SESSION:
            text = f"Keys stay in memory until ProjectDesk quits (keyring in use: {self._keyring.label})."
        else:
            text = f"Keyring in use: {self._keyring.label} (not needed for this source)."
        self.keyring_label.setText(text)

    def _fill_proxy(self, profile: Profile | None) -> None:
        if profile is not None:
            self.proxy_field.setText(profile.proxy_url)
            self.proxy_user_field.setText(profile.proxy_user)
            if profile.proxy_user:
                self.proxy_password_field.setPlaceholderText("Stored in the keyring — type to replace")
        self._update_proxy_rows()

    def _update_proxy_rows(self) -> None:
        proxied = bool(self.proxy_field.text().strip())
        self.form.setRowVisible(self.proxy_user_field, proxied)
        self.form.setRowVisible(self.proxy_password_field, proxied)

    def typed_proxy_password(self, profile: Profile) -> str | None:
        """The proxy password typed in (None: keep the keyring's); raises InvalidInput when one is needed."""
        typed = self.proxy_password_field.text().strip()
        if not profile.proxy_user:
            return None
        if typed:
            return typed
        if self._original is not None and self._original.proxy_user == profile.proxy_user:
            return None
        raise InvalidInput("Type the proxy password for the proxy login, or leave the login empty.")

    def profile_from_fields(self, *, unnamed: str = "") -> Profile:
        """The profile the form describes (validated; raises InvalidInput with the field's problem).
        `unnamed`: the name to use while none is typed (a connection test before naming the store)."""
        source = str(self.source_box.currentData())
        custom = self.service_box.currentData() == SERVICE_CUSTOM
        name = self.name_field.text().strip() or unnamed
        if not name:
            raise InvalidInput("Give the store a name.")
        if name == LOCAL and self._original is None:
            raise InvalidInput("'local' is the built-in folder store; choose another name.")
        endpoint = self.endpoint_field.text().strip() if custom else ""
        if custom and not endpoint:
            raise InvalidInput("Type the server's endpoint URL, e.g. http://127.0.0.1:8333.")
        aws_profile = ""
        if source == SOURCE_AWS:
            text = self.aws_profile_box.currentText().strip()
            index = self.aws_profile_box.findText(text)
            data = self.aws_profile_box.itemData(index) if index >= 0 else None
            aws_profile = str(data) if data else text
        profile = dataclasses.replace(
            self._original or Profile(name=name),
            name=name,
            kind=KIND_S3,
            endpoint_url=endpoint,
            region=self.region_field.text().strip(),
            bucket=self.bucket_field.text().strip(),
            user_id=self.user_field.text().strip() or DEFAULT_USER_ID,
            path_style=self.path_style_box.isChecked(),
            credential_source="keyring" if source == SOURCE_SESSION else source,
            aws_profile=aws_profile,
        )
        profile.proxy_url = self.proxy_field.text().strip()
        profile.proxy_user = self.proxy_user_field.text().strip() if profile.proxy_url else ""
        self.bandwidth_field.apply(profile)
        return profile.validate()

    def typed_credentials(self) -> Credentials | None:
        """The keys typed in (None when both key fields are empty)."""
        key_id, secret = self.key_id_field.text().strip(), self.secret_field.text().strip()
        token = self.token_field.text().strip()
        if not key_id and not secret:
            return None
        if not key_id or not secret:
            raise InvalidInput("Type both the access key ID and the secret access key.")
        return Credentials(key_id, secret, token or None)

    # ---- results -----------------------------------------------------------------------------------

    def show_result(self, message: str, ok: bool) -> None:
        colour = _colour(OK_COLOUR if ok else BAD_COLOUR, self.palette())
        palette = self.result_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
        self.result_label.setPalette(palette)
        self.result_label.setText(message)

    def report_error(self, error: BaseException) -> None:
        if isinstance(error, ProjectDeskError):
            self.show_result(error.message, ok=False)
        else:
            self.show_result(f"Unexpected error ({type(error).__name__}).", ok=False)

    def _busy(self, busy: bool) -> None:
        enable = self.versioning_row.enable_button
        for button in (self.test_button, self.create_bucket_button, self.save_button, enable):
            button.setEnabled(not busy)

    def done(self, result: int) -> None:
        if getattr(self, "_saving", False) and result == QDialog.DialogCode.Rejected.value:
            return  # a save is writing the keyring and the profiles file: let it finish
        super().done(result)

    # ---- actions -----------------------------------------------------------------------------------

    @handler
    async def test_connection(self, *, create_bucket: bool = False) -> None:
        """Run the connection test with what the form says (typed keys are used, not stored)."""
        source = self.source_box.currentData()
        profile = self.profile_from_fields(unnamed="new-store")
        credentials = self.typed_credentials()
        proxy_password = self.typed_proxy_password(profile)
        if (
            source in (SOURCE_KEYRING, SOURCE_SESSION)
            and credentials is None
            and self._keys not in ("keyring", "session")
        ):
            raise InvalidInput("Type the access key ID and the secret access key first.")
        self.create_bucket_button.hide()
        self.versioning_row.show_status(None)
        self.show_result("Connecting…", ok=True)
        self._busy(True)
        try:
            report = await self._tasks.call(
                run_connection_test,
                profile,
                self._paths,
                credentials,
                self._secrets,
                create_bucket=create_bucket,
                proxy_password=proxy_password,
            )
        finally:
            self._busy(False)
        self.last_report = report
        self.show_result(report.message, ok=report.ok)
        self.create_bucket_button.setVisible(report.can_create_bucket)
        self.versioning_row.show_status(report.versioning if report.ok else None)

    @handler
    async def enable_versioning(self) -> None:
        """Turn versioning on for the bucket the form names (file history from then on)."""
        profile, credentials = self.profile_from_fields(unnamed="new-store"), self.typed_credentials()
        self._busy(True)
        try:
            status = await self._tasks.call(turn_on_versioning, profile, self._paths, credentials, self._secrets)
        finally:
            self._busy(False)
        self.versioning_row.show_done(status)

    @handler
    async def save(self) -> None:
        """Write the profile (and its keys to the keyring, or to memory for a session-only store)."""
        profile = self.profile_from_fields()
        credentials = self.typed_credentials()
        source = self.source_box.currentData()
        editing = self._original is not None
        name = profile.name
        await self._tasks.call(self._store.check_add, profile, replace=editing)
        proxy_password = self.typed_proxy_password(profile)
        had = self._keys in ("keyring", "session")
        if source in (SOURCE_KEYRING, SOURCE_SESSION) and credentials is None and not had:
            raise InvalidInput("Type the access key ID and the secret access key.")
        self._busy(True)
        self._saving = True
        try:
            if source == SOURCE_KEYRING:
                if credentials is None and self._keys == "session":  # move this session's keys to the keyring
                    credentials = await self._tasks.call(self._secrets.load, name)
                if credentials is not None:
                    await self._tasks.call(self._secrets.save, name, credentials)
            elif source == SOURCE_SESSION:
                if credentials is not None:
                    self._secrets.remember_for_session(name, credentials)
                if self._keyring.available:  # session-only means: not in the keyring
                    await self._tasks.call(_forget_stored, self._secrets, name, keep_session=True)
            else:
                await self._tasks.call(_forget_stored, self._secrets, name, keep_session=False)
            await self._tasks.call(_store_proxy_password, self._secrets, profile, proxy_password)
            await self._tasks.call(self._store.add, profile, replace=editing)
            if self.default_box.isChecked():
                await self._tasks.call(self._store.set_default, name)
        except KeyringUnavailable as exc:
            self.show_result(f"{exc.message} Nothing was saved.", ok=False)
            return
        finally:
            self._busy(False)
            self._saving = False
        for secret in (self.key_id_field, self.secret_field, self.token_field, self.proxy_password_field):
            secret.clear()
        self.saved_name = name
        self.saved.emit(name)
        self.accept()


def _store_proxy_password(secrets: SecretStore, profile: Profile, password: str | None) -> None:
    """The proxy password typed for the store to the keyring; none kept once the store has no proxy login."""
    if password is not None:
        secrets.save_proxy_password(profile.name, password)
    elif not profile.proxy_user:
        with contextlib.suppress(KeyringUnavailable):
            secrets.delete_proxy_password(profile.name)


def _forget_stored(secrets: SecretStore, name: str, *, keep_session: bool) -> None:
    """Drop the keyring entry of a store whose keys now come from elsewhere (best effort)."""
    session = secrets.load(name) if keep_session and secrets.is_session_only(name) else None
    with contextlib.suppress(KeyringUnavailable):
        secrets.delete(name)
    if session is not None:
        secrets.remember_for_session(name, session)


class AccountsDialog(OwnsTasks, QDialog):
    """The stores: list, add, edit, remove, the default one, and the keyring in use.

    Attributes:
        tree: one row per store (name, where, keys).
        changed: names of stores saved or removed while the dialog was open.
        added: names of stores added.

    Signals:
        profilesChanged(): a store was saved or removed.
    """

    profilesChanged = Signal()

    def __init__(
        self, paths: Paths, store: ProfileStore, secrets: SecretStore, tasks: Tasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("accountsDialog")
        self.setWindowTitle("Stores and accounts")
        self._paths = paths
        self._store = store
        self._secrets = secrets
        self._tasks = tasks
        self._state: AccountsState | None = None
        self._aws: list[AwsProfileInfo] | None = None
        self.changed: list[str] = []
        self.added: list[str] = []
        self.editor: ProfileEditor | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Each store is a bucket (on Amazon S3 or an S3-compatible server) or the built-in local folder. "
            "Keys go to the OS keyring, never to a file.",
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("accountsList")
        self.tree.setHeaderLabels(["Store", "Where", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setColumnWidth(0, 150)
        self.tree.setColumnWidth(1, 380)
        layout.addWidget(self.tree, 1)
        self.keyring_label = QLabel("Looking for the keyring…", self)
        self.keyring_label.setObjectName("keyringLabel")
        self.keyring_label.setWordWrap(True)
        self.keyring_label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.keyring_label)
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.status_label)
        row = QHBoxLayout()
        self.add_button = QPushButton("&Add…", self)
        self.edit_button = QPushButton("&Edit…", self)
        self.remove_button = QPushButton("&Remove…", self)
        self.default_button = QPushButton("Open at &Start", self)
        self.default_button.setToolTip("Open this store when ProjectDesk starts")
        for button in (self.add_button, self.edit_button, self.remove_button, self.default_button):
            button.setAutoDefault(False)
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(760, 440)

        self.add_button.clicked.connect(lambda: self.add_profile())
        self.edit_button.clicked.connect(lambda: self.edit_selected())
        self.remove_button.clicked.connect(lambda: self.remove_selected())
        self.default_button.clicked.connect(lambda: self.make_default())
        self.tree.itemActivated.connect(lambda _item, _col: self.edit_selected())
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        delete = QShortcut(
            QKeySequence(QKeySequence.StandardKey.Delete), self.tree, context=Qt.ShortcutContext.WidgetShortcut
        )
        delete.activated.connect(lambda: self.remove_selected())
        self._update_buttons()
        self.reload()

    def report_error(self, error: BaseException) -> None:
        text = error.message if isinstance(error, ProjectDeskError) else f"Unexpected error ({type(error).__name__})."
        self.status_label.setText(text)

    # ---- list ------------------------------------------------------------------------------------

    @handler
    async def reload(self, select: str = "") -> None:
        """Read the profiles, the keyring and (once) the AWS profiles off the GUI thread, then show them."""
        state = await self._tasks.call(load_state, self._store, self._secrets)
        if self._aws is None:
            self._aws = await self._tasks.call(aws_profiles)
        self._state = state
        current = select or self.selected_name()
        self.tree.clear()
        for profile in state.profiles:
            where = (
                f"{self._paths.local_store} (this computer)"
                if profile.kind == KIND_LOCAL
                else f"{profile.bucket} @ {profile.endpoint_label}" + (f" ({profile.region})" if profile.region else "")
            )
            name = profile.name + (" ★" if profile.name == state.default else "")
            item = QTreeWidgetItem([name, where, keys_text(profile, state.keys.get(profile.name, ""))])
            item.setData(0, Qt.ItemDataRole.UserRole, profile.name)
            if profile.name == state.default:
                item.setToolTip(0, "Opens when ProjectDesk starts")
            self.tree.addTopLevelItem(item)
            if profile.name == current:
                self.tree.setCurrentItem(item)
        first = self.tree.topLevelItem(0)
        if self.tree.currentItem() is None and first is not None:
            self.tree.setCurrentItem(first)
        keyring = state.keyring
        self.keyring_label.setText(
            f"Keyring in use: {keyring.label}."
            if keyring.available
            else f"{keyring.problem} (Stores can still use keys for this session only.)"
        )
        self._update_buttons()

    def selected_name(self) -> str:
        item = self.tree.currentItem()
        return str(item.data(0, Qt.ItemDataRole.UserRole)) if item is not None else ""

    def _profile(self, name: str) -> Profile | None:
        if self._state is None:
            return None
        return next((p for p in self._state.profiles if p.name == name), None)

    def _update_buttons(self) -> None:
        profile = self._profile(self.selected_name())
        editable = profile is not None and profile.kind != KIND_LOCAL
        self.edit_button.setEnabled(editable)
        self.remove_button.setEnabled(editable)
        self.default_button.setEnabled(
            profile is not None and self._state is not None and profile.name != self._state.default
        )
        self.add_button.setEnabled(self._state is not None)

    # ---- actions -----------------------------------------------------------------------------------

    def _editor(self, profile: Profile | None) -> ProfileEditor:
        assert self._state is not None
        keys = self._state.keys.get(profile.name, "") if profile is not None else ""
        editor = ProfileEditor(
            self._paths,
            self._store,
            self._secrets,
            self._tasks,
            self._state.keyring,
            profile=profile,
            keys=keys,
            is_default=profile is not None and profile.name == self._state.default,
            aws_names=self._aws,
            parent=self,
        )
        self.editor = editor
        return editor

    @handler
    async def add_profile(self) -> None:
        if self._state is None:
            return
        editor = self._editor(None)
        await run_dialog(editor)
        self.editor = None
        if editor.saved_name:
            self.added.append(editor.saved_name)
            self._changed(editor.saved_name)
            self.status_label.setText(f"Added the store “{editor.saved_name}”.")
            await self.reload(editor.saved_name)
        editor.deleteLater()

    @handler
    async def edit_selected(self) -> None:
        profile = self._profile(self.selected_name())
        if profile is None or profile.kind == KIND_LOCAL:
            return
        editor = self._editor(profile)
        await run_dialog(editor)
        self.editor = None
        if editor.saved_name:
            self._changed(editor.saved_name)
            self.status_label.setText(f"Saved the store “{editor.saved_name}”.")
            await self.reload(editor.saved_name)
        editor.deleteLater()

    @handler
    async def remove_selected(self) -> None:
        profile = self._profile(self.selected_name())
        if profile is None or profile.kind == KIND_LOCAL:
            return
        answer = await ask(
            self,
            "Remove store",
            f"Remove the store “{profile.name}”?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
            informative="Its settings and its key in the keyring are deleted. The projects in the bucket "
            "are not touched, and its offline cache stays on this computer.",
            icon=QMessageBox.Icon.Warning,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        await self._tasks.call(_remove, self._store, self._secrets, profile.name)
        self._changed(profile.name)
        self.status_label.setText(f"Removed the store “{profile.name}”.")
        await self.reload()

    @handler
    async def make_default(self) -> None:
        name = self.selected_name()
        if not name:
            return
        await self._tasks.call(self._store.set_default, name)
        self.status_label.setText(f"“{name}” opens when ProjectDesk starts.")
        await self.reload(name)

    def _changed(self, name: str) -> None:
        if name not in self.changed:
            self.changed.append(name)
        self.profilesChanged.emit()


def _remove(store: ProfileStore, secrets: SecretStore, name: str) -> None:
    store.remove(name)
    secrets.forget_session(name)
    with contextlib.suppress(KeyringUnavailable):
        secrets.delete(name)
    with contextlib.suppress(KeyringUnavailable):
        secrets.delete_proxy_password(name)
