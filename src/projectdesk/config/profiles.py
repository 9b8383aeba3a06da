"""Profiles: named stores (the built-in `local` folder, or an S3 bucket) kept in a TOML file with no secrets."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import urlparse

from projectdesk.config.paths import Paths
from projectdesk.core.bandwidth import BandwidthLimits
from projectdesk.core.errors import InvalidInput, NotFound
from projectdesk.core.keys import DEFAULT_USER_ID, safe_segment
from projectdesk.core.limits import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PROJECT_BYTES, Limits
from projectdesk.storage.atomic import write_atomic
from projectdesk.storage.proxy import check_proxy_url

LOCAL = "local"
KIND_LOCAL = "local"
KIND_S3 = "s3"
# Where an S3 profile's keys come from: the default chain / environment, an ~/.aws profile, or the OS keyring.
CREDENTIAL_SOURCES = ("env", "aws-profile", "keyring")
DEFAULT_CACHE_MAX_BYTES = 2_000_000_000  # 2 GB
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass
class Profile:
    name: str
    kind: str = KIND_S3
    endpoint_url: str = ""  # empty: Amazon S3
    region: str = ""
    bucket: str = ""
    user_id: str = DEFAULT_USER_ID
    path_style: bool = False
    credential_source: str = "env"
    aws_profile: str = ""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_project_bytes: int = DEFAULT_MAX_PROJECT_BYTES
    ignore_patterns: list[str] = field(default_factory=list)  # empty: the built-in defaults
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES  # the offline cache's cap: clean copies are evicted beyond it
    conditional_writes: bool = True  # the server honours If-Match on PUT; False: a HEAD just before each PUT
    proxy_url: str = ""  # every request through this HTTP(S) proxy; empty: HTTPS_PROXY / HTTP_PROXY / NO_PROXY
    proxy_user: str = ""  # the proxy's user name; its password is in the OS keyring (config/secrets.py)
    # Bandwidth limits in KiB/s (1,024 bytes a second: rclone's --bwlimit unit); 0: unlimited (core/bandwidth.py)
    max_upload_kbps: int = 0
    max_download_kbps: int = 0

    @property
    def limits(self) -> Limits:
        return Limits(self.max_file_bytes, self.max_project_bytes)

    @property
    def bandwidth(self) -> BandwidthLimits:
        return BandwidthLimits.from_kibps(self.max_upload_kbps, self.max_download_kbps)

    @property
    def endpoint_label(self) -> str:
        return self.endpoint_url or "Amazon S3"

    def validate(self) -> Profile:
        if not _NAME.match(self.name):
            raise InvalidInput(
                f"The profile name '{self.name}' is not usable: use letters, digits, '.', '_' or '-' (at most 64)."
            )
        safe_segment(self.user_id, "user id")
        for limit in (self.max_upload_kbps, self.max_download_kbps):
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise InvalidInput("Bandwidth limits are whole KiB/s, 0 for none.")
        if self.kind == KIND_LOCAL:
            return self
        if self.kind != KIND_S3:
            raise InvalidInput(f"Unknown profile kind '{self.kind}'.")
        if not _BUCKET.match(self.bucket) or ".." in self.bucket:
            raise InvalidInput(
                f"'{self.bucket}' is not a valid bucket name (3–63 lowercase letters, digits, '.', '-')."
            )
        if self.endpoint_url:
            url = urlparse(self.endpoint_url)
            if url.scheme not in ("http", "https") or not url.netloc:
                raise InvalidInput(f"The endpoint '{self.endpoint_url}' is not an http(s) URL.")
            if url.username or url.password:
                raise InvalidInput("Put credentials in the keyring, not in the endpoint URL.")
        if self.proxy_url:
            self.proxy_url = check_proxy_url(self.proxy_url)
        if self.proxy_user and (not self.proxy_url or not self.proxy_user.isprintable() or ":" in self.proxy_user):
            raise InvalidInput("A proxy user needs a proxy URL, and may not contain ':' or control characters.")
        if self.credential_source not in CREDENTIAL_SOURCES:
            raise InvalidInput(f"Unknown credential source '{self.credential_source}'.")
        if self.credential_source == "aws-profile" and not self.aws_profile:
            raise InvalidInput("Name the AWS profile to use (--aws-profile).")
        if self.max_file_bytes <= 0 or self.max_project_bytes <= 0:
            raise InvalidInput("Limits must be positive.")
        if self.cache_max_bytes <= 0:
            raise InvalidInput("The offline cache's size cap must be positive.")
        return self

    def to_public_json(self) -> dict[str, Any]:
        return asdict(self)


def local_profile() -> Profile:
    return Profile(name=LOCAL, kind=KIND_LOCAL)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # A JSON string is a valid TOML basic string, once DEL (allowed raw in JSON, not in TOML) is escaped.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


class ProfileStore:
    """Reads and writes `profiles.toml`; the `local` profile always exists and cannot be removed."""

    def __init__(self, paths: Paths) -> None:
        self._file = paths.profiles_file

    def _load(self) -> tuple[dict[str, Profile], str]:
        try:
            doc = tomllib.loads(self._file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            doc = {}
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{self._file} is not valid TOML ({exc}); fix or remove it.") from None
        known = {f.name for f in fields(Profile)}
        profiles = {LOCAL: local_profile()}
        tables = doc.get("profiles") or {}
        if not isinstance(tables, dict):
            raise InvalidInput(f"{self._file}: 'profiles' must be a table of profiles; fix or remove the file.")
        for name, table in tables.items():
            if name == LOCAL or not isinstance(table, dict):
                continue
            values = {k: v for k, v in table.items() if k in known and k != "name"}
            profiles[name] = Profile(name=name, **values)
        default = str(doc.get("default") or LOCAL)
        return profiles, default if default in profiles else LOCAL

    def _save(self, profiles: dict[str, Profile], default: str) -> None:
        lines = ["# ProjectDesk profiles. No secrets here: keys live in the OS keyring.", ""]
        lines.append(f"default = {_toml_value(default)}")
        for profile in profiles.values():
            if profile.name == LOCAL:
                continue
            lines += ["", f"[profiles.{_toml_value(profile.name)}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in asdict(profile).items() if k != "name"]
        write_atomic(self._file, ("\n".join(lines) + "\n").encode("utf-8"))

    def list(self) -> list[Profile]:
        return list(self._load()[0].values())

    def default_name(self) -> str:
        return self._load()[1]

    def get(self, name: str | None) -> Profile:
        profiles, default = self._load()
        wanted = name or default
        if wanted not in profiles:
            raise NotFound(f"There is no profile '{wanted}'. Known: {', '.join(profiles)}.")
        return profiles[wanted]

    def check_add(self, profile: Profile, *, replace: bool = False) -> Profile | None:
        """Raise what `add` would raise, without writing; returns the profile `add` would replace."""
        profile.validate()
        if profile.name == LOCAL:
            raise InvalidInput("'local' is the built-in folder store and cannot be redefined.")
        existing = self._load()[0].get(profile.name)
        if existing is not None and not replace:
            raise InvalidInput(f"A profile '{profile.name}' exists already (add --replace to overwrite it).")
        return existing

    def add(self, profile: Profile, *, replace: bool = False) -> None:
        self.check_add(profile, replace=replace)
        profiles, default = self._load()
        profiles[profile.name] = profile
        self._save(profiles, default)

    def remove(self, name: str) -> None:
        profiles, default = self._load()
        if name == LOCAL:
            raise InvalidInput("The built-in 'local' profile cannot be removed.")
        if name not in profiles:
            raise NotFound(f"There is no profile '{name}'.")
        del profiles[name]
        self._save(profiles, LOCAL if default == name else default)

    def set_default(self, name: str) -> None:
        profiles, _ = self._load()
        if name not in profiles:
            raise NotFound(f"There is no profile '{name}'.")
        self._save(profiles, name)
