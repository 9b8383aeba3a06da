"""Project snapshots shared by link: where they live in the bucket, what their metadata says, and the
sentence that tells a person what a link gives.

A snapshot is one zip object `shares/{user_id}/{slug}/{share_id}.zip`, beside `projects/` and outside every
project's prefix, so listing a project (ours or the web backend's) never sees it. Its user metadata says which
project it is and until when its link may work (`share-expires`, epoch seconds); the zip's own size is the
object's. Nothing here does I/O.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from projectdesk.core.errors import InvalidInput, InvalidKey
from projectdesk.core.keys import safe_segment
from projectdesk.core.sizes import human_bytes

SHARES_ROOT = "shares/"
ZIP_SUFFIX = ".zip"
MAX_SHARE_SECONDS = 7 * 24 * 3600  # a SigV4 presigned URL lives at most 7 days
MIN_SHARE_SECONDS = 60
LIFECYCLE_RULE_ID = "projectdesk-expired-shares"
LIFECYCLE_DAYS = 7  # no link lives longer; S3 rounds an expiry up to the next midnight UTC, never down
_SHARE_ID = re.compile(r"^[0-9a-f]{12}$")

# User metadata of a snapshot (S3 lower-cases the names; values are ASCII, a name percent-encoded).
META_SLUG = "project-slug"
META_NAME = "project-name"
META_CREATED = "share-created"
META_EXPIRES = "share-expires"
META_FILES = "files-count"
META_BYTES = "total-bytes"


def new_share_id() -> str:
    return secrets.token_hex(6)


def is_share_id(text: str) -> bool:
    return bool(_SHARE_ID.match(text))


def user_shares_prefix(user_id: str) -> str:
    return f"{SHARES_ROOT}{safe_segment(user_id, 'user id')}/"


def share_key(user_id: str, slug: str, share_id: str) -> str:
    if not is_share_id(share_id):
        raise InvalidInput(f"'{share_id}' is not a share ID (12 hexadecimal digits).")
    return f"{user_shares_prefix(user_id)}{safe_segment(slug, 'project slug')}/{share_id}{ZIP_SUFFIX}"


def parse_share_key(user_id: str, key: str) -> tuple[str, str] | None:
    """(slug, share_id) of a snapshot's key, or None for any other key under the user's shares."""
    prefix = user_shares_prefix(user_id)
    if not key.startswith(prefix) or not key.endswith(ZIP_SUFFIX):
        return None
    parts = key[len(prefix) : -len(ZIP_SUFFIX)].split("/")
    if len(parts) != 2 or not is_share_id(parts[1]):
        return None
    try:
        safe_segment(parts[0], "project slug")
    except InvalidKey:
        return None
    return parts[0], parts[1]


def zip_name(slug: str) -> str:
    """The file name a download gets (`{slug}.zip`); a slug is one safe segment, quotes removed to be sure."""
    return f"{slug.replace(chr(34), '')}.zip"


@dataclass(frozen=True)
class StoredShare:
    """One snapshot object as the store lists it: the key's parts, the object's size and ETag, its metadata."""

    slug: str
    share_id: str
    size: int
    etag: str
    last_modified: float
    metadata: dict[str, str]


@dataclass(frozen=True)
class ProjectShare:
    """A shared snapshot of a project: anyone holding `url` can download it until `expires_at`."""

    share_id: str
    slug: str
    name: str
    created_at: float  # epoch seconds
    expires_at: float
    files_count: int
    total_bytes: int  # the project's files, uncompressed
    size: int  # the zip's bytes
    etag: str = ""
    url: str = ""
    skipped: tuple[str, ...] = ()  # paths left out of the zip (unsafe names)

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at <= (time.time() if now is None else now)

    def remaining_seconds(self, now: float | None = None) -> int:
        return max(0, int(self.expires_at - (time.time() if now is None else now)))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["skipped"] = list(self.skipped)
        data["filename"] = zip_name(self.slug)
        return data

    @classmethod
    def from_stored(cls, stored: StoredShare) -> ProjectShare | None:
        """From a listed object's metadata; None when it is not one of our snapshots (no expiry recorded)."""
        meta = stored.metadata
        try:
            expires = float(meta[META_EXPIRES])
            created = float(meta.get(META_CREATED) or stored.last_modified)
            files = int(meta.get(META_FILES) or 0)
            total = int(meta.get(META_BYTES) or 0)
        except (KeyError, ValueError):
            return None
        return cls(
            share_id=stored.share_id,
            slug=stored.slug,
            name=unquote(meta.get(META_NAME) or stored.slug),
            created_at=created,
            expires_at=expires,
            files_count=files,
            total_bytes=total,
            size=stored.size,
            etag=stored.etag,
        )


def share_metadata(slug: str, created: float, expires: float, files_count: int, total_bytes: int) -> dict[str, str]:
    """What a snapshot records of itself (the store adds the project's name, user and writer)."""
    return {
        META_SLUG: slug,
        META_CREATED: str(int(created)),
        META_EXPIRES: str(int(expires)),
        META_FILES: str(files_count),
        META_BYTES: str(total_bytes),
    }


def until_text(epoch: float, now: float | None = None) -> str:
    """'Fri 12 Dec 14:05' in local time (the year added when it is not this year's)."""
    when = datetime.fromtimestamp(epoch)
    current = datetime.fromtimestamp(time.time() if now is None else now)
    text = f"{when:%a} {when.day} {when:%b %H:%M}"
    return text if when.year == current.year else f"{text} {when.year}"


def files_text(count: int) -> str:
    return f"{count:,} file{'' if count == 1 else 's'}"


def share_sentence(share: ProjectShare, now: float | None = None) -> str:
    """'Anyone with this link can download portfolio-site (13 files, 58.9 KB) as a zip until Fri 12 Dec 14:05.'"""
    return (
        f"Anyone with this link can download {share.slug} ({files_text(share.files_count)}, "
        f"{human_bytes(share.size)}) as a zip until {until_text(share.expires_at, now)}."
    )


def parse_duration(text: str) -> int:
    """'90m', '1h', '36h', '7d' (or plain seconds) -> seconds, between one minute and 7 days."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw]?)\s*", text.lower())
    if not match:
        raise InvalidInput(f"'{text}' is not a duration: write e.g. 1h, 3d or 7d.")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[match.group(2)]
    seconds = int(match.group(1)) * unit
    if not MIN_SHARE_SECONDS <= seconds <= MAX_SHARE_SECONDS:
        raise InvalidInput("A share link can last from one minute to 7 days (S3's limit for a presigned link).")
    return seconds
