"""`projectdesk-cli grep` (in-process, local store and SeaweedFS) and services/search.py on every store: the
same lines as `grep -rnI` on the same files, regex errors in one sentence, grep's exit codes, files another
tool put in ignored folders left out, offline and cached-only searches naming what they could not search."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from projectdesk.cache.store import CacheStore
from projectdesk.services.offline import CachedProjectService
from projectdesk.services.search import Match, SearchOptions, search_project, shown
from tests.conftest import Store, make_tree
from tests.integration.test_cli import Runner
from tests.integration.test_cli import run as run

SLUG = "shape-30001"
BIG = b"".join(b"line %6d filler\n" % i for i in range(400_000)) + b"needle at the very end\n"  # 6.4 MB (limit: 10)


def project_shape(root: Path) -> Path:
    return make_tree(root, {
        "README.md": b"# Needle\nA project with a needle in it.\n",
        "src/app/main.py": b"import os\n\ndef needle():\n\treturn 'needle'  # needle twice\n",
        "src/app/util.py": b"NEEDLE = 1\nneedles = [NEEDLE]\n",
        "src/deep/a/b/c/d.txt": b"no match here\nbut a needle here\n",
        "assets/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00needle\x00binary",
        "docs/latin1.txt": "café needle\nnaïve\n".encode("latin-1"),
        "data/big.log": BIG,
    })  # fmt: skip


def grep_rn(root: Path, *args: str) -> set[tuple[str, int]]:
    """(path, line) of `grep -rnI PATTERN .` in `root` — the reference (in the C locale: text that is not UTF-8
    is searched as bytes, as ripgrep does, not taken for binary)."""
    out = subprocess.run(["grep", "-rnI", *args, "."], cwd=root, capture_output=True, check=False,
                         env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"}).stdout  # fmt: skip  # bytes, as ripgrep
    found = set()
    for line in out.splitlines():
        path, number, _ = line.split(b":", 2)
        found.add((path.decode("latin-1")[2:], int(number)))
    return found


def ours(run: Runner, *args: str) -> set[tuple[str, int]]:
    out, _ = run("grep", SLUG, *args, "--json")
    return {(m["path"], m["line"]) for m in map(json.loads, out.splitlines())}


def test_grep_finds_the_lines_grep_finds(run: Runner, tmp_path: Path) -> None:
    source = project_shape(tmp_path / "shape")
    run("push", str(source), "--slug", SLUG)
    assert ours(run, "needle") == grep_rn(source, "-e", "needle")
    assert ours(run, "-i", "needle") == grep_rn(source, "-i", "-e", "needle")
    assert ours(run, "-w", "needle") == grep_rn(source, "-w", "-e", "needle")
    assert ours(run, "-F", "needle()") == grep_rn(source, "-F", "-e", "needle()")
    assert ours(run, "^def [a-z]+\\(") == grep_rn(source, "-E", "-e", "^def [a-z]+\\(")
    assert ("data/big.log", 400_001) in ours(run, "very end")
    assert all(path != "assets/logo.png" for path, _ in ours(run, "needle"))  # binary: skipped, as ripgrep does
    assert ours(run, "needle", "src/app") == {p for p in grep_rn(source, "-e", "needle") if p[0].startswith("src/app/")}
    assert ours(run, "needle", "--glob", "*.py") == {p for p in grep_rn(source, "-e", "needle") if p[0].endswith(".py")}
    assert run("grep", SLUG, "café", expect=1) == ("", "")  # the Latin-1 file's "caf\xe9" is not UTF-8 "café"
    out, _ = run("grep", SLUG, "needle", "docs")
    assert out == "docs/latin1.txt:1:caf\\xe9 needle\n"  # searched as bytes, shown escaped
    out, _ = run("grep", SLUG, "-l", "needle", "src")
    assert sorted(out.splitlines()) == ["src/app/main.py", "src/app/util.py", "src/deep/a/b/c/d.txt"]


def test_grep_exit_codes_and_errors(run: Runner, tmp_path: Path) -> None:
    run("push", str(make_tree(tmp_path / "p", {"a.txt": b"alpha\n"})), "--slug", SLUG)
    out, _ = run("grep", SLUG, "alpha")
    assert out == "a.txt:1:alpha\n"
    assert run("grep", SLUG, "omega", expect=1) == ("", "")
    _, err = run("grep", SLUG, "al(pha", expect=2)
    assert (
        err.startswith("projectdesk-cli: error: The pattern is not a valid regular expression") and err.count("\n") == 1
    )
    _, err = run("grep", "no-such-project", "alpha", expect=2)
    assert "no-such-project" in err


def test_offline_grep_searches_the_cached_files_and_names_the_others(run: Runner, tmp_path: Path) -> None:
    run("push", str(make_tree(tmp_path / "p", {"a.txt": b"find me\n", "b.txt": b"find me too\n"})), "--slug", SLUG)
    run("cat", SLUG, "a.txt")  # a.txt is in the cache now, b.txt is not
    out, err = run("--offline", "grep", SLUG, "find")
    assert out == "a.txt:1:find me\n"
    assert "1 file(s) not searched (not available offline): b.txt" in err
    out, err = run("grep", SLUG, "find", "--cached-only")
    assert out == "a.txt:1:find me\n" and "not in the offline cache" in err
    out, _ = run("grep", SLUG, "find")  # online: b.txt fetched first (the local store's folder is searched in place)
    assert sorted(out.splitlines()) == ["a.txt:1:find me", "b.txt:1:find me too"]
    if run.profile is None:  # the local store: nothing was copied into the cache for that search
        assert "not searched" in run("--offline", "grep", SLUG, "find")[1]
        run("cat", SLUG, "b.txt")
    out, err = run("--offline", "grep", SLUG, "find")
    assert len(out.splitlines()) == 2 and "not searched" not in err


@pytest.fixture
def service(store: Store, tmp_path: Path) -> CachedProjectService:
    return CachedProjectService(store.repo, CacheStore(tmp_path / "cache", store.kind, store.repo.user_id),
                                data_dir=tmp_path / "data")  # fmt: skip


def test_search_sees_the_current_version_and_unsent_edits_not_ignored_folders(
    service: CachedProjectService, store: Store, tmp_path: Path
) -> None:
    plan = service.plan_push(make_tree(tmp_path / "p", {"a.txt": b"old word\n", "b.txt": b"other\n"}), name="P")
    service.run_folder(plan)
    slug = plan.slug
    prefix = f"projects/{service.repo.user_id}/{slug}/"
    store.plant(prefix + "node_modules/x/index.js", b"word in an ignored folder\n")  # another tool wrote it

    def find(pattern: str) -> list[Match]:
        found: list[Match] = []
        search_project(service, slug, SearchOptions(pattern), found.append)
        return sorted(found, key=lambda m: (m.path, m.line_number))

    assert [(m.path, m.text, m.spans) for m in find("word")] == [("a.txt", "old word", ((4, 8),))]
    assert not (service.cache_folder(slug) / "node_modules").exists()  # ignored: never fetched to be searched
    service.repo.write_file(slug, "a.txt", b"new text\n")  # changed on the server since it was cached
    assert find("word") == [] and [m.path for m in find("new")] == ["a.txt"]
    service.write_file(slug, "b.txt", b"my unsent word\n")  # an edit of ours, queued or sent: searched
    assert [m.path for m in find("word")] == ["b.txt"]
    with_ignored: list[Match] = []
    search_project(service, slug, SearchOptions("word", ignore_patterns=()), with_ignored.append)
    assert sorted(m.path for m in with_ignored) == ["b.txt", "node_modules/x/index.js"]


def test_lines_are_shown_safely() -> None:
    assert shown(b"a\tb\x1b[31mred\r\n") == "a\tb\\x1b[31mred"
    assert shown("naïve".encode()) == "naïve" and shown(b"caf\xe9") == "caf\\xe9"


def test_a_file_changed_on_the_server_is_searched_again_in_the_same_run(
    service: CachedProjectService, tmp_path: Path
) -> None:
    plan = service.plan_push(make_tree(tmp_path / "p", {"a.txt": b"old word\n", "b.txt": b"other\n"}), name="P")
    service.run_folder(plan)
    found: list[Match] = []
    search_project(service, plan.slug, SearchOptions("word"), found.append)
    assert [m.text for m in found] == ["old word"]
    service.repo.write_file(plan.slug, "a.txt", b"new word\n")  # the cache's copy is old now
    found.clear()
    search_project(service, plan.slug, SearchOptions("word"), found.append)
    assert [m.text for m in found] == ["new word"]  # pass 1's result retracted, the new version searched


@pytest.mark.parametrize("run", ["local"], indirect=True)  # S3 stores are searched through the cache (above)
def test_the_local_store_is_searched_in_place_but_never_past_a_change_waiting_in_the_cache(
    run: Runner, tmp_path: Path
) -> None:
    """The local store's folder holds the project as it is: searched there (no copy, no listing), without the
    store's manifest or a writer's temporary file — unless the cache holds an edit not yet sent, which wins."""
    run("push", str(make_tree(tmp_path / "p", {"a.txt": b"old needle\n", "b.txt": b"needle\n"})), "--slug", SLUG)
    folder = run.paths.local_store / "projects" / "anonymous" / SLUG
    (folder / ".pd-tmp-half-written").write_bytes(b"needle in a temporary file\n")
    manifest = folder / ".projectdesk.json"
    manifest.write_bytes(manifest.read_bytes().replace(b"{", b'{"note": "needle",', 1))
    out, _ = run("grep", SLUG, "needle")
    assert sorted(out.splitlines()) == ["a.txt:1:old needle", "b.txt:1:needle"]
    assert not (run.paths.cache_root / "local" / "anonymous" / SLUG / "b.txt").exists()  # nothing copied

    # An edit the cache holds but could not send yet (it waits in the outbox) is what the user wrote: it counts.
    from projectdesk.config.profiles import ProfileStore
    from projectdesk.services.offline import open_cached_service

    profile = ProfileStore(run.paths).get("local")
    online = open_cached_service(profile, run.paths)
    try:
        _, opened = online.open_file(SLUG, "a.txt")
    finally:
        online.close()
    offline = open_cached_service(profile, run.paths, offline=True)
    try:
        offline.write_file(SLUG, "a.txt", b"new text\n", if_match=opened.etag)
    finally:
        offline.close()
    out, _ = run("grep", SLUG, "needle")  # the store's a.txt still says "old needle": not what the user wrote
    assert out.splitlines() == ["b.txt:1:needle"]
    out, _ = run("grep", SLUG, "text")
    assert out.splitlines() == ["a.txt:1:new text"]
    _, err = run("grep", "no-such-project", "needle", expect=2)
    assert "no-such-project" in err
