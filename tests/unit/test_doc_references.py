"""Every file or folder of this repository that README.md and docs/*.md name exists, and README's layout map
names every package and test folder there is.

A name counts as a path only inside `backticks` (or, for the layout map, in its fenced block) and only when it
starts at a folder of the repository (`src/…`, `tests/…`, `scripts/…`, `docs/…`, `benchmarks/…`, `packaging/…`,
`resources/…`, `.ci/…`) or of the package (`services/folder_sync.py` means src/projectdesk/services/folder_sync.py).
A bare `keys.py` counts in a table row whose first cell is a package (`core/`), and a bare `ARCHITECTURE.md` or
`screenshots/` in docs/*.md is resolved beside that file. Anything else in backticks (`~/.aws`, `window.ini`,
`projects/{user_id}/…`, commands) is prose to this test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "projectdesk"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

REPO_FOLDERS = ("src", "tests", "scripts", "docs", "benchmarks", "packaging", "resources", ".ci")
PACKAGES = tuple(sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()))

_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_SPAN = re.compile(r"`([^`\n]+)`")
_PATHLIKE = re.compile(r"^[\w.-]+(/[\w.-]+)*/?$")  # no spaces, globs, braces, ~ or $
_FIRST_CELL = re.compile(r"^\|\s*`(\w+)/`\s*\|")


def _token_paths(token: str, doc: Path, row_package: str | None) -> list[Path] | None:
    """Where `token` may point (any one existing is enough), or None when it is not a path of ours."""
    token = token.removeprefix("./").rstrip(".,;:")
    if not _PATHLIKE.match(token) or token.startswith("/"):
        return None
    first, _, rest = token.partition("/")
    if rest or token.endswith("/"):
        if first in REPO_FOLDERS:
            return [ROOT / token]
        if first in PACKAGES:
            return [PACKAGE / token]
        if doc.parent != ROOT and token.count("/") == 1 and token.endswith("/"):
            return [doc.parent / token]  # `screenshots/` in docs/README.md
        return None
    if row_package is not None and token.endswith(".py"):
        return [PACKAGE / row_package / token]
    if doc.parent != ROOT and token.endswith(".md"):
        return [doc.parent / token]
    return None


def referenced_paths(doc: Path) -> list[tuple[int, str, list[Path]]]:
    """(line number, name as written, where it may point) of each path `doc` names in backticks."""
    text = doc.read_text(encoding="utf-8")
    found: list[tuple[int, str, list[Path]]] = []
    for number, line in enumerate(_FENCE.sub(lambda m: "\n" * m.group().count("\n"), text).splitlines(), 1):
        row = _FIRST_CELL.match(line)
        for span in _SPAN.findall(line):
            for token in span.split():
                candidates = _token_paths(token, doc, row.group(1) if row else None)
                if candidates is not None:
                    found.append((number, token, candidates))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_document_names_exists(doc: Path) -> None:
    missing = [
        f"{doc.relative_to(ROOT)}:{number}: `{token}`"
        for number, token, candidates in referenced_paths(doc)
        if not any(path.exists() for path in candidates)
    ]
    assert missing == [], "named but not in the repository:\n" + "\n".join(missing)


def test_the_extraction_finds_the_references_it_should_and_no_prose(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "NOTE.md"
    doc.parent.mkdir()
    doc.write_text(
        "See `services/folder_sync.py`, `src/projectdesk/cache/` and `./scripts/test -k contract`.\n"
        "| `core/` | the gate (`keys.py`) |\n"
        "Prose: `~/.aws`, `window.ini`, `projects/{user_id}/{slug}/x`, `name (conflicted copy).ext`, `.pd-tmp-*`,\n"
        "`keys.py` outside a table, `If-Match`, `--json`, `ARCHITECTURE.md`.\n"
        "```\nsrc/not-checked-in-fences.py\n```\n",
        encoding="utf-8",
    )
    names = {token: candidates for _, token, candidates in referenced_paths(doc)}
    assert names == {
        "services/folder_sync.py": [PACKAGE / "services" / "folder_sync.py"],
        "src/projectdesk/cache/": [ROOT / "src/projectdesk/cache/"],
        "./scripts/test": [ROOT / "scripts" / "test"],
        "core/": [PACKAGE / "core/"],
        "keys.py": [PACKAGE / "core" / "keys.py"],
        "ARCHITECTURE.md": [doc.parent / "ARCHITECTURE.md"],
    }


def _layout_map() -> list[tuple[str, list[str]]]:
    """README's layout map as (top-level folder, the names listed on its lines), parentheses left out."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout of this repository", 1)[1]
    block = section.split("```", 2)[1].split("\n", 1)[1]
    entries: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        plain = re.sub(r"\([^)]*\)", " ", line)
        names = [word for word in plain.split() if word.endswith("/") or re.fullmatch(r"[\w.-]+\.(py|md)", word)]
        if not line.startswith(" ") and names:
            entries.append((names[0], names[1:]))
        elif entries:
            entries[-1][1].extend(names)
    return entries


def test_readme_layout_map_names_folders_and_files_that_exist() -> None:
    entries = _layout_map()
    assert entries, "README.md has no layout map under '## Layout of this repository'"
    missing = []
    for top, names in entries:
        if not (ROOT / top).exists():
            missing.append(top)
        # a name is inside its line's folder, or a folder of its own that shares the line (`resources/`)
        missing += [f"{top}{name}" for name in names if not ((ROOT / top / name).exists() or (ROOT / name).is_dir())]
    assert missing == []


def test_readme_layout_map_lists_every_package_and_test_folder() -> None:
    listed = {top + name for top, names in _layout_map() for name in names} | {top for top, _ in _layout_map()}
    packages = {f"src/projectdesk/{name}/" for name in PACKAGES}
    test_folders = {f"tests/{p.name}/" for p in (ROOT / "tests").iterdir() if (p / "__init__.py").is_file()}
    assert sorted((packages | test_folders) - listed) == []
