"""`projectdesk-cli grep`: find text in a project's files, printed as grep and ripgrep print it.

Exit codes follow grep, not the other commands: 0 something matched, 1 nothing did, 2 an error — so it
composes with other tools (`grep -q`-style scripts, `|| echo none`).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

from projectdesk.cli.common import Context, print_json, warn
from projectdesk.core.display import printable
from projectdesk.core.errors import ProjectDeskError

EXIT_MATCHED, EXIT_NO_MATCH, EXIT_ERROR = 0, 1, 2


def grep(ctx: Context) -> int:
    """Search the text of a project's files (fetched into the offline cache first, unless --cached-only)."""
    from projectdesk.cli.progress import TerminalProgress
    from projectdesk.services.search import Match, SearchOptions, search_folder, search_project, store_folder_in_place

    a = ctx.args
    options = SearchOptions(
        pattern=a.pattern,
        fixed=a.fixed_strings,
        ignore_case=a.ignore_case,
        whole_word=a.word_regexp,
        globs=tuple(a.glob or ()),
        paths=tuple(a.paths or ()),
    )
    out = sys.stdout

    def show(match: Match) -> None:
        if a.json:
            print_json(match.to_json(), one_line=True)
        elif a.files_with_matches:
            if match.path not in printed:
                printed.add(match.path)
                out.write(f"{printable(match.path)}\n")
        else:
            out.write(f"{printable(match.path)}:{match.line_number}:{match.text}\n")

    printed: set[str] = set()
    bar = TerminalProgress("fetch")
    try:
        profile = ctx.profiles.get(a.profile)
        options = replace(options, ignore_patterns=tuple(profile.ignore_patterns) or None)
        # The local store's files are on this machine: searched where they are, before the cache is even opened.
        folder = None if a.offline or a.cached_only else store_folder_in_place(profile, ctx.paths, a.slug)
        if folder is not None:
            report = search_folder(folder, options, show)
        else:
            service = ctx.service()
            report = search_project(service, a.slug, options, show, cached_only=a.cached_only, progress=bar)
    except ProjectDeskError as exc:
        bar.close()
        print(f"projectdesk-cli: error: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        bar.close()
    out.flush()
    if report.not_searched:
        shown = ", ".join(printable(p) for p, _ in report.not_searched[:5])
        more = f" and {len(report.not_searched) - 5} more" if len(report.not_searched) > 5 else ""
        why = report.not_searched[0][1]
        warn(f"{len(report.not_searched)} file(s) not searched ({why}): {shown}{more}")
    return EXIT_MATCHED if report.matches else EXIT_NO_MATCH


def register(sub: Any) -> None:
    p = sub.add_parser("grep", help="find text in a project's files (path:line:text; exit 0 found, 1 none, 2 error)",
                       description=grep.__doc__)  # fmt: skip
    p.add_argument("slug")
    p.add_argument("pattern", help="a regular expression (Rust regex syntax, as ripgrep), or text with -F")
    p.add_argument("paths", nargs="*", metavar="PATH", help="only in these files or folders of the project")
    p.add_argument("-i", "--ignore-case", action="store_true")
    p.add_argument("-w", "--word-regexp", action="store_true", help="whole words only")
    p.add_argument("-F", "--fixed-strings", action="store_true", help="PATTERN is plain text")
    p.add_argument("-l", "--files-with-matches", action="store_true", help="print only the names of files")
    p.add_argument("--glob", "-g", action="append", metavar="GLOB",
                   help="only files matching GLOB; !GLOB leaves them out (repeatable)")  # fmt: skip
    p.add_argument("--cached-only", action="store_true", help="search only the copies already in the offline cache")
    p.add_argument("--json", action="store_true", help="one JSON object per match")
    p.set_defaults(handler=grep)
