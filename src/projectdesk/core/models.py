"""Plain data passed between layers: projects, file entries, transfer progress."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a project as the store reports it (path is relative to the project)."""

    path: str
    size: int
    etag: str = ""
    last_modified: float = 0.0  # epoch seconds

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Manifest:
    """The project's `.projectdesk.json`: the seed's metadata fields plus a SHA-256 per file."""

    name: str
    slug: str
    user_id: str
    created_date: float
    updated_date: float
    files_count: int = 0
    total_bytes: int = 0
    tech_stack: list[str] = field(default_factory=list)
    has_frontend: bool = False
    has_backend: bool = False
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256 hex

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        files = data.get("files") or {}
        return cls(
            name=str(data.get("name") or data.get("slug") or ""),
            slug=str(data.get("slug") or ""),
            user_id=str(data.get("user_id") or "anonymous"),
            created_date=float(data.get("created_date") or 0.0),
            updated_date=float(data.get("updated_date") or data.get("created_date") or 0.0),
            files_count=int(data.get("files_count") or 0),
            total_bytes=int(data.get("total_bytes") or 0),
            tech_stack=[str(t) for t in data.get("tech_stack") or []],
            has_frontend=bool(data.get("has_frontend")),
            has_backend=bool(data.get("has_backend")),
            files={str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {},
        )


@dataclass(slots=True)
class ProjectInfo:
    """A project as listed: the seed's field names, from the manifest or derived from the key listing."""

    name: str
    slug: str
    user_id: str
    created_date: float
    updated_date: float
    files_count: int
    total_bytes: int
    tech_stack: list[str]
    has_frontend: bool
    has_backend: bool
    has_manifest: bool = True

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("has_manifest")
        return data

    @classmethod
    def from_manifest(cls, manifest: Manifest, user_id: str) -> ProjectInfo:
        return cls(
            name=manifest.name or manifest.slug,
            slug=manifest.slug,
            user_id=user_id,
            created_date=manifest.created_date,
            updated_date=manifest.updated_date,
            files_count=manifest.files_count,
            total_bytes=manifest.total_bytes,
            tech_stack=list(manifest.tech_stack),
            has_frontend=manifest.has_frontend,
            has_backend=manifest.has_backend,
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of one transfer, reported to progress callbacks."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    current: str = ""
