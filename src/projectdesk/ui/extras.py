"""What the window reads from an offline-capable service, when it has it (duck typing, no Qt).

A plain ProjectService has none of these; the cache's CachedProjectService adds `cached_projects()`,
`is_offline`, `file_states(slug)`, `pending()`, `conflicts()`, `cache_usage()` and `check_online()`.
The window works with either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from projectdesk.core.models import ProjectInfo

# file_states values from the cache, mapped to the icons the tree shows
_FILE_STATES = {
    "dirty": "modified",
    "modified": "modified",
    "pending": "pending",
    "conflict": "conflict",
    "clean": "cached",
    "cached": "cached",
}


@dataclass
class SyncSnapshot:
    offline: bool | None = None  # None: the service does not say
    pending: list[tuple[str, str]] = field(default_factory=list)  # (slug, path)
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    cached: set[str] = field(default_factory=set)  # projects with at least one file in the cache
    kept_offline: set[str] = field(default_factory=set)


def _call(service: object, name: str) -> Any:
    value = getattr(service, name, None)
    return value() if callable(value) else value


def has_extras(service: object) -> bool:
    return callable(getattr(service, "pending", None))


def is_offline(service: object) -> bool | None:
    value = _call(service, "is_offline")
    return None if value is None else bool(value)


def cached_projects(service: object) -> list[ProjectInfo] | None:
    """The cached project list (blocking), or None when the service keeps no cache."""
    method = getattr(service, "cached_projects", None)
    if not callable(method):
        return None
    return [p for p in method() if isinstance(p, ProjectInfo)]


def _slug_path(item: object) -> tuple[str, str]:
    if isinstance(item, Mapping):
        return str(item.get("slug", "")), str(item.get("path", ""))
    if isinstance(item, tuple) and len(item) >= 2:
        return str(item[0]), str(item[1])
    return str(getattr(item, "slug", "")), str(getattr(item, "path", ""))


def _pairs(items: Iterable[object] | None) -> list[tuple[str, str]]:
    return [pair for pair in (_slug_path(i) for i in items or []) if pair[0]]


def snapshot(service: object) -> SyncSnapshot:
    """Offline flag, pending uploads and conflicts, when the service reports them (blocking)."""
    snap = SyncSnapshot(offline=is_offline(service))
    if callable(getattr(service, "pending", None)):
        snap.pending = _pairs(_call(service, "pending"))
    if callable(getattr(service, "conflicts", None)):
        snap.conflicts = _pairs(_call(service, "conflicts"))
    usage = getattr(service, "cache_usage", None)
    if callable(usage):  # per project: files with a copy here, keep-offline flag
        for item in usage():
            slug = str(getattr(item, "slug", ""))
            if slug and int(getattr(item, "files", 0) or 0) > 0:
                snap.cached.add(slug)
            if slug and getattr(item, "keep_offline", False):
                snap.kept_offline.add(slug)
    return snap


def check_online(service: object) -> bool | None:
    """Ask an offline service to retry the network now (blocking); None when it cannot."""
    method = getattr(service, "check_online", None)
    return bool(method()) if callable(method) else None


def close(service: object) -> None:
    """Release what a service holds (the cache's database), when it has a `close` (blocking)."""
    method = getattr(service, "close", None)
    if callable(method):
        method()


def project_states(snap: SyncSnapshot) -> dict[str, str]:
    """Per-slug state for the project list: conflict > pending > keep-offline > cached."""
    states: dict[str, str] = {}
    for slug in snap.cached:
        states[slug] = "cached"
    for slug in snap.kept_offline:
        states[slug] = "keep-offline"
    for slug, _ in snap.pending:
        states[slug] = "pending"
    for slug, _ in snap.conflicts:
        states[slug] = "conflict"
    return states


def file_states(service: object, slug: str, snap: SyncSnapshot | None = None) -> dict[str, str]:
    """Per-path state for the tree (blocking): the service's file_states(slug), pending and conflicts."""
    states: dict[str, str] = {}
    method = getattr(service, "file_states", None)
    if callable(method):
        raw = method(slug)
        if isinstance(raw, Mapping):
            for path, state in raw.items():
                mapped = _FILE_STATES.get(str(getattr(state, "value", state)).lower())
                if mapped:
                    states[str(path)] = mapped
    if snap is not None:
        for pending_slug, path in snap.pending:
            if pending_slug == slug and path and states.get(path) != "conflict":
                states[path] = "pending"
        for conflict_slug, path in snap.conflicts:
            if conflict_slug == slug and path:
                states[path] = "conflict"
    return states
