"""Tech stack detection from a project's file names and its manifest files (package.json & co.).

Pure: the caller passes the paths and the contents of the few files named in `INTERESTING_FILES`.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

INTERESTING_FILES = frozenset({"package.json", "requirements.txt", "pyproject.toml"})
INTERESTING_MAX_DEPTH = 3  # e.g. frontend/package.json, apps/web/package.json
INTERESTING_MAX_BYTES = 512 * 1024

# The order technologies are listed in: frontend first, then backend, then languages and tools
# (the web backend lists "React, Vite, TailwindCSS, FastAPI, Python").
ORDER = [
    "React", "Next.js", "Vue", "Svelte", "Angular", "Vite", "TailwindCSS",
    "Express", "FastAPI", "Flask", "Django",
    "TypeScript", "Node.js", "Python", "Rust", "Go", "Java", "Docker",
]  # fmt: skip
FRONTEND = {"React", "Next.js", "Vue", "Svelte", "Angular", "Vite", "TailwindCSS"}
BACKEND = {"Express", "FastAPI", "Flask", "Django"}

_NPM: dict[str, str] = {
    "react": "React",
    "react-dom": "React",
    "next": "Next.js",
    "vue": "Vue",
    "nuxt": "Vue",
    "svelte": "Svelte",
    "@sveltejs/kit": "Svelte",
    "@angular/core": "Angular",
    "vite": "Vite",
    "tailwindcss": "TailwindCSS",
    "@tailwindcss/vite": "TailwindCSS",
    "express": "Express",
    "typescript": "TypeScript",
}
_PYTHON: dict[str, str] = {"fastapi": "FastAPI", "flask": "Flask", "django": "Django"}
_NAME_PREFIXES: dict[str, str] = {
    "vite.config.": "Vite",
    "tailwind.config.": "TailwindCSS",
    "next.config.": "Next.js",
    "svelte.config.": "Svelte",
    "nuxt.config.": "Vue",
}
_EXACT_NAMES: dict[str, str] = {
    "tsconfig.json": "TypeScript",
    "angular.json": "Angular",
    "package.json": "Node.js",
    "requirements.txt": "Python",
    "pyproject.toml": "Python",
    "setup.py": "Python",
    "manage.py": "Django",
    "Cargo.toml": "Rust",
    "go.mod": "Go",
    "pom.xml": "Java",
    "build.gradle": "Java",
    "build.gradle.kts": "Java",
    "Dockerfile": "Docker",
    "docker-compose.yml": "Docker",
    "docker-compose.yaml": "Docker",
    "compose.yaml": "Docker",
    "compose.yml": "Docker",
}
_SUFFIXES: dict[str, str] = {
    ".ts": "TypeScript",
    ".tsx": "TypeScript",
    ".jsx": "React",
    ".vue": "Vue",
    ".svelte": "Svelte",
    ".py": "Python",
    ".rs": "Rust",
    ".go": "Go",
    ".java": "Java",
}
_FRONTEND_DIRS = {"frontend", "client", "web"}
_BACKEND_DIRS = {"backend", "server", "api"}
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True, slots=True)
class TechStack:
    tech_stack: list[str]
    has_frontend: bool
    has_backend: bool


def is_interesting(path: str) -> bool:
    """Whether `detect` wants this file's content."""
    parts = PurePosixPath(path).parts  # () for hostile keys such as "." or ""
    return 0 < len(parts) <= INTERESTING_MAX_DEPTH and parts[-1] in INTERESTING_FILES


def detect(paths: Iterable[str], contents: Mapping[str, bytes] | None = None) -> TechStack:
    found: set[str] = set()
    has_index_html = False
    top_dirs: set[str] = set()
    for path in paths:
        pure = PurePosixPath(path)
        if pure.parts and "node_modules" in pure.parts:
            continue
        if len(pure.parts) > 1:
            top_dirs.add(pure.parts[0].lower())
        name = pure.name
        if name in _EXACT_NAMES:
            found.add(_EXACT_NAMES[name])
        found.update(tech for prefix, tech in _NAME_PREFIXES.items() if name.startswith(prefix))
        suffix = pure.suffix.lower()
        if suffix in _SUFFIXES and not name.endswith(".d.ts"):
            found.add(_SUFFIXES[suffix])
        if name == "index.html":
            has_index_html = True
    for path, data in (contents or {}).items():
        if "node_modules" in PurePosixPath(path).parts:
            continue
        name = PurePosixPath(path).name
        if name == "package.json":
            found.update(_from_package_json(data))
        elif name == "requirements.txt":
            found.update(_from_requirements(data.decode("utf-8", "replace").splitlines()))
        elif name == "pyproject.toml":
            found.update(_from_pyproject(data))
    stack = [tech for tech in ORDER if tech in found]
    has_frontend = bool(found & FRONTEND) or has_index_html or bool(top_dirs & _FRONTEND_DIRS)
    has_backend = bool(found & BACKEND) or bool(top_dirs & _BACKEND_DIRS)
    return TechStack(stack, has_frontend, has_backend)


def _from_package_json(data: bytes) -> set[str]:
    found = {"Node.js"}
    try:
        package = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return found
    if not isinstance(package, dict):
        return found
    for section in ("dependencies", "devDependencies", "peerDependencies"):
        deps = package.get(section)
        if isinstance(deps, dict):
            found.update(_NPM[name] for name in deps if name in _NPM)
    return found


def _from_requirements(lines: Iterable[str]) -> set[str]:
    found = {"Python"}
    for line in lines:
        match = _REQUIREMENT_NAME.match(line)
        if match and not line.lstrip().startswith(("#", "-")):
            name = match.group(1).lower().replace("_", "-")
            if name in _PYTHON:
                found.add(_PYTHON[name])
    return found


def _from_pyproject(data: bytes) -> set[str]:
    try:
        doc = tomllib.loads(data.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError:
        return {"Python"}
    requirements: list[str] = []
    project = doc.get("project", {})
    if isinstance(project, dict):
        deps = project.get("dependencies")
        if isinstance(deps, list):
            requirements += [str(d) for d in deps]
        extras = project.get("optional-dependencies")
        if isinstance(extras, dict):
            for extra in extras.values():
                if isinstance(extra, list):
                    requirements += [str(d) for d in extra]
    poetry = doc.get("tool", {}).get("poetry", {}) if isinstance(doc.get("tool"), dict) else {}
    if isinstance(poetry, dict) and isinstance(poetry.get("dependencies"), dict):
        requirements += [str(name) for name in poetry["dependencies"]]
    return _from_requirements(requirements)
