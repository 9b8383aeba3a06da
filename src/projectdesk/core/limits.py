"""Size limits checked before a byte is sent (the web backend's defaults: 10 MB a file, 100 MB a project)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from projectdesk.core.errors import LimitExceeded
from projectdesk.core.sizes import human_bytes

MB = 1000 * 1000
DEFAULT_MAX_FILE_BYTES = 10 * MB
DEFAULT_MAX_PROJECT_BYTES = 100 * MB


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_project_bytes: int = DEFAULT_MAX_PROJECT_BYTES

    def oversize(self, files: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
        return [(path, size) for path, size in files if size > self.max_file_bytes]

    def check(self, files: Iterable[tuple[str, int]]) -> None:
        """Raise LimitExceeded naming every offending file (largest first) and the total."""
        listed = list(files)
        problems: list[str] = []
        too_big = sorted(self.oversize(listed), key=lambda item: -item[1])
        if too_big:
            shown = ", ".join(f"{path} ({human_bytes(size)})" for path, size in too_big[:10])
            more = f" and {len(too_big) - 10} more" if len(too_big) > 10 else ""
            problems.append(
                f"{len(too_big)} file(s) exceed the {human_bytes(self.max_file_bytes)} per-file limit: {shown}{more}."
            )
        total = sum(size for _, size in listed)
        if total > self.max_project_bytes:
            problems.append(
                f"The project is {human_bytes(total)}, over the "
                f"{human_bytes(self.max_project_bytes)} per-project limit."
            )
        if problems:
            raise LimitExceeded(" ".join(problems) + " Nothing was uploaded.")
