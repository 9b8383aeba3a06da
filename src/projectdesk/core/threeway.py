"""The three-way rule of working folders: what to do with each file, from the folder, the server and the base.

The base of a path is the server version (ETag, and the SHA-256 of its content) that the folder last agreed
with. Against it, each side either changed or did not:

- changed on one side only: the change goes to the other side;
- changed on both sides to the same bytes: nothing to do but remember the new agreement;
- changed on both sides to different content: a conflict — nothing is overwritten; the server's version
  keeps the name and the folder's becomes a conflicted copy (sent to the server too by push and sync);
- deleted on one side and unchanged on the other: deleted; deleted on one side and changed on the
  other: the changed file is kept.

A folder never bound before has no base: a file present on both sides with different content counts as
changed on both sides. Pure logic, no I/O: `services/folder_sync.py` carries the actions out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    UPLOAD = "upload"  # the folder's file goes to the server
    DOWNLOAD = "download"  # the server's file comes into the folder
    DELETE_REMOTE = "delete-remote"  # deleted in the folder, unchanged on the server
    DELETE_LOCAL = "delete-local"  # deleted on the server, unchanged in the folder
    ADOPT = "adopt"  # the same bytes on both sides: only the base changes
    COMPARE = "compare"  # both changed; whether to the same bytes is known only after fetching the server's
    CONFLICT = "conflict"  # both changed, to different content
    FORGET = "forget"  # gone on both sides: drop the base


class Direction(StrEnum):
    PUSH = "push"
    PULL = "pull"
    SYNC = "sync"


# What each command carries out; the rest is reported (e.g. "3 changed on the server: pull or sync").
_DOES: dict[Direction, frozenset[Action]] = {
    Direction.PUSH: frozenset(
        {Action.UPLOAD, Action.DELETE_REMOTE, Action.ADOPT, Action.COMPARE, Action.CONFLICT, Action.FORGET}
    ),
    Direction.PULL: frozenset(
        {Action.DOWNLOAD, Action.DELETE_LOCAL, Action.ADOPT, Action.COMPARE, Action.CONFLICT, Action.FORGET}
    ),
    Direction.SYNC: frozenset(Action),
}


@dataclass(frozen=True, slots=True)
class Base:
    etag: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Step:
    """One path's decision. `why` says it for people."""

    path: str
    action: Action
    why: str
    remote_etag: str | None = None  # the server's version the action is guarded by (None: absent there)


def does(direction: Direction, action: Action) -> bool:
    return action in _DOES[direction]


def decide(
    path: str,
    local_sha: str | None,
    base: Base | None,
    remote_etag: str | None,
    remote_sha: Callable[[str, str], str | None],
) -> Step | None:
    """The step for one path (None: nothing to do). `local_sha` None: not in the folder; `remote_etag`
    None: not on the server; `remote_sha(path, etag)` is the SHA-256 of that server version when known."""
    if local_sha is None and remote_etag is None:
        return Step(path, Action.FORGET, "gone on both sides") if base is not None else None
    local_changed = local_sha != base.sha256 if base is not None else local_sha is not None
    remote_changed = remote_etag != base.etag if base is not None else remote_etag is not None
    if not local_changed and not remote_changed:
        return None
    if local_changed and not remote_changed:
        if local_sha is None:
            return Step(path, Action.DELETE_REMOTE, "deleted here", remote_etag)
        why = "new here" if base is None else "changed here"
        return Step(path, Action.UPLOAD, why, remote_etag)
    if remote_changed and not local_changed:
        if remote_etag is None:
            return Step(path, Action.DELETE_LOCAL, "deleted on the server", None)
        why = "new on the server" if base is None else "changed on the server"
        return Step(path, Action.DOWNLOAD, why, remote_etag)
    # changed on both sides
    if local_sha is None:
        return Step(path, Action.DOWNLOAD, "deleted here but changed on the server: the server's file is kept",
                    remote_etag)  # fmt: skip
    if remote_etag is None:
        return Step(path, Action.UPLOAD, "deleted on the server but changed here: this file is kept", None)
    known = remote_sha(path, remote_etag)
    if known == local_sha:
        return Step(path, Action.ADOPT, "the same change on both sides", remote_etag)
    if known is None:
        return Step(path, Action.COMPARE, "changed on both sides", remote_etag)
    return Step(path, Action.CONFLICT, "changed on both sides", remote_etag)


def plan(
    local: Mapping[str, str],
    bases: Mapping[str, Base],
    remote: Mapping[str, str],
    remote_sha: Callable[[str, str], str | None],
    paths: Iterable[str] | None = None,
) -> list[Step]:
    """Steps for every path of the folder (`local`: path -> SHA-256), the base and the server (`remote`:
    path -> ETag), sorted by path."""
    every = sorted(set(local) | set(bases) | set(remote)) if paths is None else sorted(set(paths))
    steps = []
    for path in every:
        step = decide(path, local.get(path), bases.get(path), remote.get(path), remote_sha)
        if step is not None:
            steps.append(step)
    return steps
