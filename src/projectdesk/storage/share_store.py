"""The store of shared project snapshots (core/shares.py) behind a repository: `share_store(repo)`.

Only S3 stores can share by link (a presigned URL): for any other store `share_store` raises the sentence the file
share gives. The S3 implementation (storage/s3_shares.py) is imported only for an S3 repository, so this module,
and the window that imports it, load without boto3.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

from projectdesk.core.errors import InvalidInput
from projectdesk.core.models import FileEntry
from projectdesk.core.shares import StoredShare
from projectdesk.storage.multipart import MultipartWriter
from projectdesk.storage.repository import Repository


class ShareStore(Protocol):
    """This user's snapshots `shares/{user_id}/{slug}/{share_id}.zip` in the repository's bucket; every call blocks
    and fails with a ProjectDeskError."""

    @property
    def bucket(self) -> str: ...

    def start_fetch(self, slug: str, entry: FileEntry) -> Future[bytes] | None:
        """Start reading a small file whole in the background (only the listed version); None where the store
        has no cheaper way than `stream_file` on a thread of the caller's."""

    def stream_file(self, slug: str, entry: FileEntry, write: Callable[[bytes], object]) -> None:
        """Hand a project file's bytes to `write` piece by piece: the version `entry` lists (a file replaced
        meanwhile fails with Conflict or NotFound rather than arriving as another version)."""

    def open_share_writer(
        self, slug: str, share_id: str, metadata: dict[str, str], *, project_name: str, part_size: int
    ) -> MultipartWriter:
        """A sink for the snapshot's bytes (a multipart upload): `finish()` makes the object, `abort()` leaves
        nothing."""

    def list_share_objects(self) -> list[StoredShare]:
        """The user's snapshots with their metadata (one HEAD each)."""

    def delete_share_object(self, slug: str, share_id: str, *, if_match: str) -> bool:
        """Delete the snapshot, only while it is version `if_match` (else Conflict); False when it was gone."""

    def presign_share(self, slug: str, share_id: str, expires_seconds: int) -> str:
        """A GET link of the snapshot valid `expires_seconds`, signed here; the download is named `{slug}.zip`."""

    def abort_stale_share_uploads(self, before: float) -> int:
        """Abort the user's unfinished snapshot uploads begun before `before` (a killed share's); how many."""

    def add_expiry_rule(self, prefix: str, rule_id: str, days: int) -> bool:
        """Add a lifecycle rule expiring objects under `prefix` after `days` to the bucket's rules, read first (a
        put replaces them all). False when a rule with `rule_id` is there already."""


def share_store(repo: Repository) -> ShareStore:
    """The snapshots of `repo`'s user; a store without presigned links raises InvalidInput saying so."""
    if not repo.supports_share_links:
        raise InvalidInput(f"Share links need an S3 store; this one is a {repo.description}.")
    from projectdesk.storage.s3 import S3Repository
    from projectdesk.storage.s3_shares import S3ShareStore

    if not isinstance(repo, S3Repository):
        raise InvalidInput(f"Share links need an S3 store; this one is a {repo.description}.")
    return S3ShareStore(repo)
