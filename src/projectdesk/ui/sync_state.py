"""What the window shows of the cache's state: the connection, pending uploads, conflicts, cached and
kept-offline projects, and each file's state in the tree. Blocking reads of the CachedProjectService (call
them in a worker); no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from projectdesk.services.offline import CachedProjectService, FileState

Pair = tuple[str, str]  # (slug, path)


class Connection(Enum):
    """The status bar's connection indicator."""

    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    FAILED = "failed"  # the store answered but refused us (sign-in, bucket): not a network matter

    @property
    def icon(self) -> str:
        return "offline" if self is Connection.FAILED else self.value

    @property
    def text(self) -> str:
        return {"connecting": "Connecting…", "online": "Online", "offline": "Offline", "failed": "Not connected"}[
            self.value
        ]

    @property
    def tip(self) -> str:
        return {
            "online": "Connected to the store",
            "offline": "The store cannot be reached; cached projects stay available",
            "connecting": "Opening the store…",
            "failed": "The store refused the connection; the message above says why",
        }[self.value]


class TreeState(Enum):
    """A file's badge in the tree (the value names the icon)."""

    MODIFIED = "modified"  # a local change is queued
    PENDING = "pending"  # in the outbox, waiting to be sent
    CONFLICT = "conflict"
    CACHED = "cached"  # the copy here is the server's current version


class ProjectState(Enum):
    """A project's badge in the list, strongest first: conflict > pending > keep-offline > cached."""

    CONFLICT = "conflict"
    PENDING = "pending"
    KEEP_OFFLINE = "keep-offline"
    CACHED = "cached"


_TREE_STATE: dict[FileState, TreeState] = {"dirty": TreeState.MODIFIED, "conflict": TreeState.CONFLICT,
                                           "clean": TreeState.CACHED}  # fmt: skip


@dataclass
class SyncSnapshot:
    offline: bool = False
    forced_offline: bool = False  # the person chose Work Offline
    pending: list[Pair] = field(default_factory=list)
    conflicts: list[Pair] = field(default_factory=list)
    cached: set[str] = field(default_factory=set)  # projects with at least one file in the cache
    kept_offline: set[str] = field(default_factory=set)


def snapshot(service: CachedProjectService) -> SyncSnapshot:
    """The connection, pending uploads, conflicts and cache use (blocking; no network)."""
    snap = SyncSnapshot(offline=service.is_offline, forced_offline=service.forced_offline)
    snap.pending = [(item.slug, item.path) for item in service.pending()]
    snap.conflicts = [(record.slug, record.path) for record in service.conflicts()]
    for usage in service.cache_usage():
        if usage.files > 0:
            snap.cached.add(usage.slug)
        if usage.keep_offline:
            snap.kept_offline.add(usage.slug)
    return snap


def pending_and_conflicts(service: CachedProjectService) -> tuple[list[Pair], set[Pair]]:
    """The queued changes and the conflicts, as (slug, path) (blocking; no network)."""
    return (
        [(item.slug, item.path) for item in service.pending()],
        {(record.slug, record.path) for record in service.conflicts()},
    )


def project_states(snap: SyncSnapshot) -> dict[str, ProjectState]:
    """Per slug, the strongest state that applies."""
    states: dict[str, ProjectState] = {}
    for slug in snap.cached:
        states[slug] = ProjectState.CACHED
    for slug in snap.kept_offline:
        states[slug] = ProjectState.KEEP_OFFLINE
    for slug, _ in snap.pending:
        states[slug] = ProjectState.PENDING
    for slug, _ in snap.conflicts:
        states[slug] = ProjectState.CONFLICT
    return states


def file_states(service: CachedProjectService, slug: str, snap: SyncSnapshot | None = None) -> dict[str, TreeState]:
    """Per path, the tree's badge: the cache's state of the file, then the outbox and conflicts (blocking)."""
    states: dict[str, TreeState] = {}
    for path, state in service.file_states(slug).items():
        mapped = _TREE_STATE.get(state)
        if mapped is not None:
            states[path] = mapped
    if snap is not None:
        for pending_slug, path in snap.pending:
            if pending_slug == slug and states.get(path) != TreeState.CONFLICT:
                states[path] = TreeState.PENDING
        for conflict_slug, path in snap.conflicts:
            if conflict_slug == slug:
                states[path] = TreeState.CONFLICT
    return states
