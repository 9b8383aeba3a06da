"""What the window needs to speak about conflicts without loading the cache: the choices of Resolve
Conflict and the error a save raises when it met a remote change (its record names both versions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from projectdesk.core.errors import Conflict

if TYPE_CHECKING:
    from projectdesk.cache.index import ConflictRecord

Choice = Literal["mine", "theirs", "both"]
KEEP_MINE: Choice = "mine"
KEEP_THEIRS: Choice = "theirs"
KEEP_BOTH: Choice = "both"


class ConflictedCopy(Conflict):
    """A save met a remote change: the remote version kept the name and ours became a conflicted copy."""

    def __init__(self, record: ConflictRecord) -> None:
        super().__init__(record.message)
        self.record = record
