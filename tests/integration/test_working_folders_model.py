"""Working folders against a model (Hypothesis stateful testing): never a silent overwrite, and everything converges.

Actors, all on one project slug (a fresh slug, fresh folders and fresh state per example):

- two working folders A and B (plain directories), each with its own ProjectService and data directory: files
  written in place, created, deleted and renamed, as a person would; push (with and without --delete), pull and
  sync — also planned, then something changes (the other tool, the window, the folder's person), then run;
- the window: one CachedProjectService with its offline cache, as the window uses it: `open_file` for an editor
  page, then `write_file(slug, path, data, if_match=<the page's etag>)` (ui/editing.py `save_page`: the
  version the page was opened at or last saved as) on a file opened just now or on an editor page opened
  earlier, `create_file` for a new name, `delete_file` of a file opened or listed, a
  refresh of its file tree (`list_files`); it may work offline (changes wait in the outbox) and come back online
  (the outbox is sent, each change guarded by its base);
- another tool writing the store directly and blindly (boto3 `put_object`/`delete_object`, or files renamed into
  the local store's folder).

Every content an actor writes is unique (a counter). The model keeps every version ever produced — its name, its
bytes, who made it — and whether it was *explicitly* removed. A version is its name's family (the name without
conflicted-copy labels) and its bytes, as for the three-way rule: a rename that puts bytes back under a name where
they were before makes no new version (a folder that renames a file back to its base's bytes has not changed it).
A version may legitimately disappear only when someone who had it in front of them removed it:

- deleted, written over, or renamed away in a folder while it was that folder's file (the person saw it; the
  three-way rule then carries the change to the server and the other folder, replacing there the version that
  was the folder's base — the one the folder held when the person changed it);
- deleted or saved over by the window, when the server's version it replaced was one the window was shown
  (its editor page's, or its tree's at the last refresh, or what it last sent or got back from a conflict);
  the window's own unsent edit, replaced by its next save or dropped by a delete;
- overwritten or deleted by the other tool: it is blind, so whatever it overwrites counts as replaced.

Everything else must survive. The invariant, after every step: each version not explicitly removed exists as the
content of a file — in the bucket, in folder A or B, or in the window's cache as a local change (an unsent edit
or a conflicted copy; a stale clean copy does not count) — under its name or a conflicted-copy name of it
(`name (conflicted copy YYYY-MM-DD HHMM[ N]).ext`, copies of copies included).

Stricter, each step is checked against who may change what:
- the server's version of a file is replaced or deleted only by the other tool; by the window when it was shown
  that version; by a push or sync of folder X when it is X's base and X's file differs from it (a deletion only
  by sync or push --delete); never by a pull. The model derives each base on its own: after each run of X, a
  path where X and the server hold the same bytes (or neither has it) has that base;
- a folder's file changes only by that folder's person, or by its own run when the file was its base and the
  server's differs, or when it was moved to a conflicted copy;
- a run reports no failure, except, when something changed between its plan and its run, a file replaced or
  deleted on the server before it could be fetched ("run again");
- after each push or sync, and each window change that reached the server, the manifest lists exactly the
  server's files, with their sha256 and `file_etags` equal to the listing's ETags (not when the other tool wrote
  between the plan and the run: it never updates the manifest, so the next push or sync does).

Final phase (teardown, when every step passed): the window comes online and sends its outbox, then sync A, sync
B, sync A again (a folder never bound is pushed first), and the window's outbox is sent again (it must have
nothing left): A, B and the bucket hold the same files, byte for byte, and the manifest matches them.

Default run: 20 examples of up to 25 steps on the local store, 10 on moto, derandomized (the same examples every
run) and not shrunk (a failure is reported at once, with its steps); SeaweedFS: 4 examples of up to 15 steps. Each
run prints how many steps and conflicts it went through. Soak mode, random, shrinking, as long as asked (examples of
50 steps; PROJECTDESK_MODEL_HISTORY=1 prints every example's steps):

    PROJECTDESK_SOAK_STEPS=10000 .venv/bin/python -m pytest tests/integration/test_working_folders_model.py -k moto

The plain tests after the machine push and sync four folders at once to one slug, from threads (local store, moto,
SeaweedFS) and from `projectdesk-cli` processes (one local store): nothing any folder held is lost, and the
manifest names exactly the objects. The last tests are the model's findings, each as a plain reproduction.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from projectdesk.cache.index import CONFLICT, DIRTY
from projectdesk.cache.store import CacheStore
from projectdesk.core.errors import Conflict, InvalidInput, NotFound
from projectdesk.core.threeway import Direction
from projectdesk.services.folder_sync import FolderReport
from projectdesk.services.offline import CachedProjectService, ConflictedCopy, FlushReport, NotAvailableOffline
from projectdesk.services.projects import ProjectService
from projectdesk.storage.local import LocalRepository
from tests.conftest import Store
from tests.integration.workfolder_helpers import (
    RawStore,
    family,
    folder_files,
    is_copy,
    manifest_problems,
    missing_contents,
)

PATHS = ("a.txt", "b.txt", "d/c.txt", "d/e/f.txt")  # few names, so that changes meet often
FOLDERS = ("A", "B")
SOAK_ENV = "PROJECTDESK_SOAK_STEPS"
SOAK_STEP_COUNT = 50
RACERS = ("other tool puts", "other tool deletes", "window saves", "window deletes", "person writes", "person deletes")
_slugs = itertools.count(1)
STATS: collections.Counter[str] = collections.Counter()  # what the machines did, printed after each run

Files = dict[str, bytes]


def machine_settings(examples: int, steps: int) -> settings:
    soak = os.environ.get(SOAK_ENV)
    common: dict[str, Any] = {
        "deadline": None,
        "suppress_health_check": list(HealthCheck),
        "report_multiple_bugs": False,
    }
    if soak:
        total = int(soak)
        return settings(
            max_examples=max(1, total // SOAK_STEP_COUNT), stateful_step_count=SOAK_STEP_COUNT, print_blob=True,
            database=None, **common,
        )  # fmt: skip
    # No shrinking in the default run: a failure is reported at once, with its steps, within the time budget.
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    return settings(
        max_examples=examples, stateful_step_count=steps, derandomize=True, database=None, phases=phases, **common
    )


@dataclass
class Version:
    """One content an actor produced under a name; `gone` says why it may be gone (None: it must survive)."""

    path: str
    data: bytes
    writer: str
    step: int
    gone: str | None = None


@dataclass
class World:
    server: Files
    folders: dict[str, Files]
    cache: Files  # the window's local changes: unsent edits and conflicted copies

    def places(self) -> dict[str, Files]:
        return {"server": self.server, **{f"folder {x}": files for x, files in self.folders.items()},
                "cache": self.cache}  # fmt: skip


@dataclass
class Actor:
    kind: str  # "person" (a folder's own edit), "run", "window", "other"
    folder: str = ""
    direction: Direction | None = None
    delete: bool = False
    known: dict[str, set[bytes | None]] = field(default_factory=dict)  # the window's: path -> versions it knew

    def __str__(self) -> str:
        if self.kind == "run":
            extra = " --delete" if self.delete else ""
            return f"{self.direction} of {self.folder}{extra}"
        return f"{self.kind} {self.folder}".strip()


def build_machine(store: Store) -> type[RuleBasedStateMachine]:
    """The state machine over `store` (a closure: Hypothesis makes one machine per example)."""

    class WorkingFoldersModel(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.tmp = Path(tempfile.mkdtemp(prefix="pd-model-"))
            self.slug = f"model-{next(_slugs):05d}"
            self.raw = RawStore(store.kind, store.repo, self.slug, client=store.client, bucket=store.bucket)
            self.dirs = {x: self.tmp / x for x in FOLDERS}
            for folder in self.dirs.values():
                folder.mkdir()
            self.services = {x: ProjectService(store.repo, data_dir=self.tmp / f"state-{x}") for x in FOLDERS}
            self.window = CachedProjectService(
                store.repo, CacheStore(self.tmp / "cache", store.kind, "anonymous"), data_dir=self.tmp / "state-w"
            )
            self.versions: list[Version] = []
            self.counter = 0
            self.step = 0
            self.checked = 0
            self.bases: dict[str, dict[str, bytes]] = {x: {} for x in FOLDERS}  # the model's idea of each base
            self.bound = dict.fromkeys(FOLDERS, False)
            # What the window was shown, as bytes (None: shown absent). `opened`: its editor pages (a save
            # goes over the version its page was opened with); `listed`: its file tree at the last refresh (a
            # delete is of the version listed). Both follow what the window sent and the conflicts it met.
            self.opened: dict[str, bytes | None] = {}
            self.listed: dict[str, bytes | None] = {}
            self.page_etag: dict[str, str | None] = {}  # each editor page's entry etag, as main_window keeps it
            self.history: list[str] = []

        # ---- the world ---------------------------------------------------------------------------------

        def world(self) -> World:
            return World(self.raw.files(), {x: folder_files(d) for x, d in self.dirs.items()}, self.cache_kept())

        def cache_kept(self) -> Files:
            cache = self.window.cache
            kept: Files = {}
            for row in cache.files(self.slug):
                if row.state in (DIRTY, CONFLICT) and row.has_blob:
                    data = cache.blobs.read(cache.user_id, self.slug, row.path)
                    if data is not None:
                        kept[row.path] = data
            return kept

        def dirty(self, path: str) -> bytes | None:
            """The window's unsent edit of `path`, if it has one."""
            cache = self.window.cache
            row = cache.file(self.slug, path)
            if row is None or row.state != DIRTY:
                return None
            return cache.blobs.read(cache.user_id, self.slug, path)

        def new_content(self, writer: str, path: str, size: int) -> bytes:
            self.counter += 1
            data = f"{self.slug} v{self.counter:05d} by {writer} as {path}\n".encode() * (1 + size)
            self.versions.append(Version(path, data, writer, self.step))
            return data

        def produced(self, path: str, data: bytes, writer: str) -> None:
            """The same bytes again under a name (a rename): a version is its name's family and its bytes, as
            for the three-way rule, so bytes equal to a version already removed are that removed version (a
            folder that renames a file back to the bytes of its base has not changed it)."""
            if any(v.data == data and family(v.path) == family(path) for v in self.versions):
                return
            self.versions.append(Version(path, data, writer, self.step))

        def removed(self, path: str, data: bytes | None, why: str) -> None:
            """Every live version with these bytes under this name (or a copy of it) was removed on purpose."""
            if data is None:
                return
            for version in self.versions:
                if version.gone is None and version.data == data and family(version.path) == family(path):
                    version.gone = f"{why} (step {self.step})"

        def note(self, text: str) -> None:
            self.step += 1
            STATS["steps"] += 1
            self.history.append(f"{self.step:3d}. {text}")

        def fail(self, message: str) -> None:
            recent = "\n".join(self.history[-40:])
            raise AssertionError(f"{message}\n-- store {store.kind}, project {self.slug}; steps so far:\n{recent}")

        def choose(self, names: Iterable[str], pick: int) -> str | None:
            ordered = sorted(set(names))
            return ordered[pick % len(ordered)] if ordered else None

        # ---- checking one step -------------------------------------------------------------------------

        def check_step(self, before: World, after: World, actor: Actor) -> None:
            problems: list[str] = []
            for path, old in before.server.items():
                new = after.server.get(path)
                if new == old:
                    continue
                change = f"server {path}: {old[:50]!r} -> {new[:50] if new is not None else None!r} by {actor}"
                if actor.kind == "other":
                    continue
                if actor.kind == "window":
                    if old not in actor.known.get(path, set()):
                        seen = actor.known.get(path, "never opened nor listed")
                        problems.append(f"{change}, but the window was only shown {seen!r}")
                    continue
                if actor.kind == "run" and actor.direction != Direction.PULL:
                    base = self.bases[actor.folder].get(path)
                    mine = before.folders[actor.folder].get(path)
                    if base != old:
                        problems.append(f"{change}, but {actor.folder}'s base was {base!r}")
                    elif mine == old:
                        problems.append(f"{change}, but {actor.folder}'s file was that version, unchanged")
                    elif new is None and not (actor.delete or actor.direction == Direction.SYNC):
                        problems.append(f"{change}: deleted without --delete")
                    continue
                problems.append(f"{change}: this actor must not change the server's files")
            for folder in FOLDERS:
                for path, old in before.folders[folder].items():
                    new = after.folders[folder].get(path)
                    if new == old:
                        continue
                    change = f"folder {folder} {path}: {old[:50]!r} -> {new[:50] if new is not None else None!r}"
                    if actor.kind == "person" and actor.folder == folder:
                        continue
                    if actor.kind == "run" and actor.folder == folder:
                        kept_as_copy = any(
                            data == old and q != path and family(q) == family(path)
                            for q, data in after.folders[folder].items()
                        )
                        base = self.bases[folder].get(path)
                        if kept_as_copy or (base == old and before.server.get(path) != old):
                            continue
                        problems.append(f"{change} by {actor}: base {base!r}, server had {before.server.get(path)!r}")
                        continue
                    problems.append(f"{change} by {actor}: nobody may change this folder's files")
            if problems:
                self.fail("Silent change:\n" + "\n".join(problems))

        def check_manifest(self) -> None:
            problems = manifest_problems(store.repo, self.slug, self.raw.files())
            if problems:
                self.fail("Manifest does not match the server:\n" + "\n".join(problems))

        @invariant()
        def nothing_lost(self) -> None:
            world = self.world()
            live = [(v.path, v.data) for v in self.versions if v.gone is None]
            missing = missing_contents(live, world.places())
            if missing:
                self.fail("Lost without anyone deleting or replacing it:\n" + "\n".join(missing))
            written = {v.data for v in self.versions}
            made_up = [f"{where} {path}: {data[:80]!r}" for where, files in world.places().items()
                       for path, data in files.items() if data not in written]  # fmt: skip
            if made_up:
                self.fail("Contents nobody wrote (a torn or mixed-up transfer):\n" + "\n".join(made_up))
            self.checked = self.step

        @initialize(start=st.sampled_from(["empty", "project", "project and window"]))
        def begin(self, start: str) -> None:
            """Most examples begin with a project A pushed and B pulled (then folders disagree sooner)."""
            if start == "empty":
                return
            self.note("A: write every name")
            before = self.world()
            for path in PATHS:
                target = self.dirs["A"] / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self.new_content("A", path, 0))
            self.check_step(before, self.world(), Actor("person", "A"))
            self.note("push A")
            self.run("A", Direction.PUSH)
            self.note("pull B")
            self.run("B", Direction.PULL)
            if start == "project and window":
                self.note("window: refresh the file tree")
                self.window_change(lambda: self.window.list_files(self.slug), lists=True)

        # ---- a folder's person -------------------------------------------------------------------------

        @rule(who=st.sampled_from(FOLDERS), pick=st.integers(0, 99), size=st.integers(0, 3))
        def write_in_folder(self, who: str, pick: int, size: int) -> None:
            """Create or edit a file in place (one of the few names, or an existing file: a conflicted copy too)."""
            folder = self.dirs[who]
            files = folder_files(folder)
            path = self.choose([*PATHS, *files], pick)
            assert path is not None
            self.note(f"{who}: write {path}")
            before = self.world()
            self.removed(path, files.get(path), f"edited over in {who}")
            data = self.new_content(who, path, size)
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            self.check_step(before, self.world(), Actor("person", who))

        @rule(who=st.sampled_from(FOLDERS), pick=st.integers(0, 99))
        def delete_in_folder(self, who: str, pick: int) -> None:
            folder = self.dirs[who]
            files = folder_files(folder)
            path = self.choose(files, pick)
            if path is None:
                return
            self.note(f"{who}: delete {path}")
            before = self.world()
            self.removed(path, files[path], f"deleted in {who}")
            (folder / path).unlink()
            self.check_step(before, self.world(), Actor("person", who))

        @rule(who=st.sampled_from(FOLDERS), pick=st.integers(0, 99), to=st.sampled_from(PATHS))
        def rename_in_folder(self, who: str, pick: int, to: str) -> None:
            """Rename (move over the target if it exists): the old name is deleted, the new one holds the bytes."""
            folder = self.dirs[who]
            files = folder_files(folder)
            path = self.choose(files, pick)
            if path is None or path == to:
                return
            self.note(f"{who}: rename {path} -> {to}")
            before = self.world()
            self.removed(to, files.get(to), f"renamed over in {who}")
            if family(path) != family(to):  # else the same version, under another name of its family
                self.removed(path, files[path], f"renamed away in {who}")
                self.produced(to, files[path], who)
            (folder / to).parent.mkdir(parents=True, exist_ok=True)
            os.replace(folder / path, folder / to)
            self.check_step(before, self.world(), Actor("person", who))

        # ---- push, pull, sync --------------------------------------------------------------------------

        def run(
            self,
            who: str,
            direction: Direction,
            *,
            delete: bool = False,
            meanwhile: Callable[[], None] | None = None,
            blind: bool = False,
        ) -> FolderReport | None:
            """Push, pull or sync folder `who`; `meanwhile`: something that happens between the plan and the run
            (`blind`: a writer that does not keep the manifest — then the manifest may lack its change until the
            next push or sync, as it does whenever the other tool writes)."""
            service = self.services[who]
            folder = self.dirs[who]
            before = self.world()
            if direction == Direction.SYNC and not self.bound[who]:
                with pytest.raises(InvalidInput):
                    service.sync_folder(folder)
                return None
            if direction == Direction.PULL and not self.raw.exists():
                with pytest.raises(NotFound):
                    service.pull(self.slug, folder)
                return None
            report: FolderReport
            if meanwhile is None:
                if direction == Direction.PUSH:
                    report = service.push(service.plan_push(folder, slug=self.slug), delete=delete)
                elif direction == Direction.PULL:
                    report = service.pull(self.slug, folder)
                else:
                    report = service.sync_folder(folder)
            else:
                slug = None if direction == Direction.SYNC else self.slug
                plan = service.plan_folder(folder, direction, slug=slug)
                meanwhile()  # checked as its own step
                before = self.world()
                report = service.run_folder(plan, delete=delete)
            after = self.world()
            # Between the plan and the run, a file replaced or deleted on the server before it could be fetched
            # fails ("run again"), and so does (test_a_file_deleted_during_a_push_is_not_a_failure) one deleted in
            # the folder before it could be sent. Nothing else may fail.
            raced = (Conflict, NotFound) if meanwhile is not None else ()
            gone_here = set() if meanwhile is None else {p for p, _ in report.failed if p not in before.folders[who]}
            failed = [(p, e) for p, e in report.failed if type(e) not in raced and p not in gone_here]
            if failed:
                named = [(p, f"{type(e).__name__}: {e.message}") for p, e in failed]
                self.fail(f"{direction} of {who} failed: {named}")
            if report.failed:
                self.history.append(f"     -> not fetched: {[p for p, _ in report.failed]}")
            self.bound[who] = True
            self.check_step(before, after, Actor("run", who, direction, delete))
            self.history.append(f"     -> {report.summary()}; conflicts {[c.copy_path for c in report.conflicts]}")
            STATS["folder conflicts"] += len(report.conflicts)
            STATS["kept (deleted on one side, changed on the other)"] += len(report.kept)
            bases = self.bases[who]
            for path in set(after.folders[who]) | set(after.server) | set(bases):
                mine, theirs = after.folders[who].get(path), after.server.get(path)
                if mine == theirs:  # agreed: that is the base now (both absent: none)
                    if mine is None:
                        bases.pop(path, None)
                    else:
                        bases[path] = mine
            if direction != Direction.PULL and not blind:
                self.check_manifest()
            return report

        @rule(who=st.sampled_from(FOLDERS), delete=st.booleans())
        def push(self, who: str, delete: bool) -> None:
            self.note(f"push {who}{' --delete' if delete else ''}")
            self.run(who, Direction.PUSH, delete=delete)

        @rule(who=st.sampled_from(FOLDERS))
        def pull(self, who: str) -> None:
            self.note(f"pull {who}")
            self.run(who, Direction.PULL)

        @rule(who=st.sampled_from(FOLDERS))
        def sync(self, who: str) -> None:
            self.note(f"sync {who}")
            self.run(who, Direction.SYNC)

        @rule(
            who=st.sampled_from(FOLDERS),
            direction=st.sampled_from(list(Direction)),
            delete=st.booleans(),
            racer=st.sampled_from(RACERS),
            pick=st.integers(0, 99),
            size=st.integers(0, 3),
        )
        def run_while_something_changes(
            self, who: str, direction: Direction, delete: bool, racer: str, pick: int, size: int
        ) -> None:
            """A push, pull or sync planned, then something changes, then it runs: its writes are conditional, so
            the change made meanwhile is never overwritten (it meets a failed precondition and becomes a conflict)."""
            self.note(f"{direction} {who}{' --delete' if delete and direction == Direction.PUSH else ''}: planned")
            racers: dict[str, Callable[[], None]] = {
                "other tool puts": lambda: self.other_tool_puts(pick, size),
                "other tool deletes": lambda: self.other_tool_deletes(pick),
                "window saves": lambda: self.window_save(pick, size, True),
                "window deletes": lambda: self.window_delete(pick, True),
                "person writes": lambda: self.write_in_folder(who, pick, size),
                "person deletes": lambda: self.delete_in_folder(who, pick),
            }
            self.run(who, direction, delete=delete, meanwhile=racers[racer], blind=racer.startswith("other tool"))
            self.note(f"{direction} {who}: ran")

        # ---- the window --------------------------------------------------------------------------------

        def flushed(self) -> FlushReport | None:
            """The window's latest pass over its outbox (None: none since `last_flush` was cleared)."""
            return self.window.last_flush

        def window_names(self) -> set[str]:
            return set(PATHS) | set(self.raw.files()) | set(self.opened) | set(self.listed)

        def window_known(self) -> dict[str, set[bytes | None]]:
            known: dict[str, set[bytes | None]] = {}
            for shown in (self.opened, self.listed):
                for path, data in shown.items():
                    known.setdefault(path, set()).add(data)
            return known

        def open_in_window(self, path: str) -> tuple[bool, bytes | None]:
            """Open `path` in the window: (could open, the bytes shown — None when it does not exist)."""
            window = self.window
            unsent = self.dirty(path)
            try:
                shown, entry = window.open_file(self.slug, path)
            except NotFound:
                self.page_etag[path] = None
                if not window.is_offline:
                    self.opened[path] = None
                return True, None
            except NotAvailableOffline:
                return False, None
            self.page_etag[path] = entry.etag or None
            if not window.is_offline and unsent is None:
                self.opened[path] = shown  # the server's current version
            return True, shown

        def window_change(self, change: Callable[[], object], *, lists: bool = False) -> None:
            """Run one window call (which sends the outbox when online) and check what it did; `lists`: the
            call lists the project first (a new file's name is checked against the listing)."""
            before = self.world()
            actor = Actor("window", known=self.window_known())
            online = not self.window.is_offline
            self.window.last_flush = None
            try:
                change()
            except ConflictedCopy as exc:
                self.history.append(f"     -> conflicted copy {exc.record.copy_path}")
            except Conflict as exc:
                self.history.append(f"     -> conflict: {exc.message}")
            flush = self.flushed()
            if flush is not None:
                STATS["window conflicts"] += len(flush.conflicts)
            after = self.world()
            self.check_step(before, after, actor)
            for path, old in before.server.items():
                if after.server.get(path) != old:
                    self.removed(path, old, "replaced or deleted by the window")
            if lists and online:
                self.listed = {path: before.server.get(path) for path in set(self.listed) | set(before.server)}
            if flush is None or flush.offline:
                return
            prefix = f"{self.slug}/"
            touched = [p[len(prefix) :] for p in (*flush.uploaded, *flush.deleted) if p.startswith(prefix)]
            for record in flush.conflicts:
                if record.slug == self.slug:
                    touched += [record.path] + ([record.copy_path] if record.copy_path else [])
            for path in touched:  # what the cache bases its next change on, and the tree shows: the server's
                self.listed[path] = after.server.get(path)
                if path in self.opened:
                    self.opened[path] = after.server.get(path)
            if flush.failed:
                self.fail(f"the window's outbox failed: {[(p, e.message) for p, e in flush.failed]}")
            if before.server != after.server:
                self.check_manifest()

        @rule(pick=st.integers(0, 99), size=st.integers(0, 3), reopen=st.booleans())
        def window_save(self, pick: int, size: int, reopen: bool) -> None:
            """Save a file in the window: opened just now (`reopen`), or an editor page opened earlier."""
            names = self.window_names() if reopen else set(self.opened)
            path = self.choose(names, pick)
            if path is None:
                return
            state = "offline" if self.window.is_offline else "online"
            self.note(f"window ({state}): save {path}{' (opened now)' if reopen else ' (opened earlier)'}")
            if reopen:
                opened, shown = self.open_in_window(path)
                if not opened:
                    self.history.append("     -> not available offline")
                    return
                exists = shown is not None
            else:
                exists = self.opened[path] is not None or self.dirty(path) is not None
            self.removed(path, self.dirty(path), "saved over in the window")
            data = self.new_content("window", path, size)
            if exists:
                etag = self.page_etag.get(path)

                def save() -> None:
                    try:
                        entry = self.window.write_file(self.slug, path, data, if_match=etag)
                    except ConflictedCopy:
                        self.page_etag[path] = None  # main_window: page.mark_saved(None)
                        raise
                    self.page_etag[path] = entry.etag or None

                self.window_change(save)
                return
            project_exists = self.raw.exists()

            def create() -> None:
                try:
                    entry = self.window.create_file(self.slug, path, data)
                    self.page_etag[path] = entry.etag or None
                except InvalidInput as exc:  # it exists after all: nothing was written
                    self.history.append(f"     -> not created: {exc.message}")
                    self.versions[-1].gone = "never written"
                except NotFound:  # the window makes files only in a project that exists
                    if project_exists:
                        raise
                    self.history.append("     -> no such project yet")
                    self.versions[-1].gone = "never written"
                except NotAvailableOffline:  # offline, and the project's files were never listed here
                    self.history.append("     -> not available offline")
                    self.versions[-1].gone = "never written"

            self.window_change(create, lists=True)

        @rule(pick=st.integers(0, 99), reopen=st.booleans())
        def window_delete(self, pick: int, reopen: bool) -> None:
            """Delete a file in the window: opened just now (`reopen`), or as its tree listed it earlier."""
            names = self.window_names() if reopen else {p for p, d in self.listed.items() if d is not None}
            path = self.choose(names, pick)
            if path is None:
                return
            state = "offline" if self.window.is_offline else "online"
            self.note(f"window ({state}): delete {path}{' (opened now)' if reopen else ' (listed earlier)'}")
            if reopen:
                opened, shown = self.open_in_window(path)
                if not opened or shown is None:
                    return
            unsent = self.dirty(path)

            on_server = path in self.raw.files()

            def delete() -> None:
                if unsent is not None:  # dropped here whatever the server says
                    self.removed(path, unsent, "deleted in the window before it was sent")
                try:
                    self.window.delete_file(self.slug, path)
                except NotAvailableOffline:
                    self.history.append("     -> not known here offline")
                except NotFound:  # gone on the server already, and the cache had forgotten it
                    if on_server:
                        raise
                    self.history.append("     -> not found")

            self.window_change(delete)

        @rule()
        def window_refresh(self) -> None:
            """The window lists the project's files (its tree), online or from the cache."""
            self.note(f"window ({'offline' if self.window.is_offline else 'online'}): refresh the file tree")
            project_exists = self.raw.exists()

            def refresh() -> None:
                try:
                    self.window.list_files(self.slug)
                except NotFound:
                    if project_exists:
                        raise
                except NotAvailableOffline:
                    pass

            self.window_change(refresh, lists=True)

        @rule()
        def window_connection(self) -> None:
            """Work offline, or come back online (the outbox is sent, each change guarded by its base)."""
            if not self.window.is_offline:
                self.note("window: work offline")
                self.window.go_offline()
                return
            self.note(f"window: online again ({len(self.window.pending())} queued)")
            self.window_change(self.window.go_online)

        # ---- another tool, blind -----------------------------------------------------------------------

        @rule(pick=st.integers(0, 99), size=st.integers(0, 3))
        def other_tool_puts(self, pick: int, size: int) -> None:
            server = self.raw.files()
            path = self.choose([*PATHS, *server], pick)
            assert path is not None
            self.note(f"other tool: put {path}")
            before = self.world()
            self.removed(path, server.get(path), "overwritten by the other tool")
            self.raw.put(path, self.new_content("other", path, size))
            self.check_step(before, self.world(), Actor("other"))

        @rule(pick=st.integers(0, 99))
        def other_tool_deletes(self, pick: int) -> None:
            server = self.raw.files()
            path = self.choose(server, pick)
            if path is None:
                return
            self.note(f"other tool: delete {path}")
            before = self.world()
            self.removed(path, server[path], "deleted by the other tool")
            self.raw.delete(path)
            self.check_step(before, self.world(), Actor("other"))

        # ---- the end -----------------------------------------------------------------------------------

        def converge(self) -> None:
            self.note("final: window online, outbox sent")
            if self.window.is_offline:
                self.window_change(self.window.go_online)
            else:
                self.window_change(self.window.flush_outbox)
            self.nothing_lost()
            for who in ("A", "B", "A"):
                if not self.bound[who]:
                    self.note(f"final: push {who} (never bound)")
                    self.run(who, Direction.PUSH)
                self.note(f"final: sync {who}")
                self.run(who, Direction.SYNC)
                self.nothing_lost()
            self.note("final: outbox sent again")
            self.window_change(self.window.flush_outbox)
            flush = self.flushed()
            assert flush is not None
            if flush.uploaded or flush.deleted or flush.conflicts or self.window.pending():
                self.fail(f"the window still had changes to send after the final syncs: {flush.summary()}")
            world = self.world()
            a, b = world.folders["A"], world.folders["B"]
            if not (a == b == world.server):
                diff = sorted(
                    p for p in set(a) | set(b) | set(world.server) if not (a.get(p) == b.get(p) == world.server.get(p))
                )
                self.fail(f"not converged: A, B and the server differ on {diff}")
            if any(".pd-tmp-" in path for path in world.server):
                self.fail(f"temporary files left: {sorted(world.server)}")
            self.check_manifest()
            self.nothing_lost()

        def teardown(self) -> None:
            STATS["examples"] += 1
            if os.environ.get("PROJECTDESK_MODEL_HISTORY"):
                print("\n".join(self.history))
                print("=" * 40)
            try:
                if self.checked == self.step:  # every step passed: the final phase
                    self.converge()
            finally:
                self.window.close()
                for service in self.services.values():
                    service.folder_states.close()
                shutil.rmtree(self.tmp, ignore_errors=True)
                self.raw.remove_project()

    return WorkingFoldersModel


def run_machine(store: Store, examples: int, steps: int) -> None:
    STATS.clear()
    try:
        run_state_machine_as_test(build_machine(store), settings=machine_settings(examples, steps))
    finally:
        print(f"{store.kind}: " + ", ".join(f"{n} {what}" for what, n in STATS.items()))


@pytest.mark.parametrize("store", ["local", "moto"], indirect=True)
def test_working_folders_model(store: Store) -> None:
    run_machine(store, examples=20 if store.kind == "local" else 10, steps=25)


@pytest.mark.parametrize("store", ["seaweedfs"], indirect=True)
def test_working_folders_model_seaweedfs(store: Store) -> None:
    run_machine(store, examples=4, steps=15)


# ---- many writers at once --------------------------------------------------------------------------------

CROWD = 4


def crowd_round(slug: str, round_no: int, who: int, names: Iterable[str]) -> Files:
    """Unique contents for folder `who` in one round, under names the folders share (and one of its own)."""
    return {name: f"{slug} round {round_no} folder {who} {name}\n".encode() * (1 + who) for name in names}


def write_files(folder: Path, files: Mapping[str, bytes]) -> None:
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def check_crowd(
    raw: RawStore, repo: Any, slug: str, wanted: Iterable[tuple[str, bytes]], folders: Iterable[Path] = ()
) -> Files:
    """Every content in `wanted` is on the server — or, with `folders`, in one of them (a file whose upload met
    changes on the server round after round stays in its folder, "run again") — under its name or a conflicted
    copy of it; and the manifest names exactly the server's files."""
    server = raw.files()
    places = {"server": server, **{str(folder): folder_files(folder) for folder in folders}}
    missing = missing_contents(wanted, places)
    assert not missing, f"lost: {missing}; the server holds {sorted(server)}"
    problems = manifest_problems(repo, slug, server)
    assert not problems, problems
    return server


def run_again_only(failed: Iterable[tuple[str, str]]) -> None:
    """Among writers racing for the same names, a file may lose every round of a run: it is left for the next
    run, said as such. Nothing else may fail."""
    other = [(path, why) for path, why in failed if "run again" not in why]
    assert not other, other


def run_at_once(jobs: list[Callable[[], None]]) -> None:
    """Run the jobs in threads released together; re-raise the first error."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def start(job: Callable[[], None]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a push or sync did not finish"
    if errors:
        raise errors[0]


# Not on moto: its in-process server is not safe for threads that write and read one key at once. Replacing an
# object closes the buffer a concurrent GET (or the PUT's own ETag) is still reading (ValueError: I/O operation on
# closed file, once in a fresh-machine run; 7 in 800 GETs racing 800 PUTs of one key in a standalone script), and
# it checks a PUT's If-Match and stores the object in two steps with no lock between (test_catalog.py). A real
# server (SeaweedFS) and the local store carry the interleavings.
@pytest.mark.parametrize("store", ["local", "seaweedfs"], indirect=True)
def test_concurrent_pushes_and_syncs_from_threads_lose_nothing(store: Store, tmp_path: Path) -> None:
    """Four folders with overlapping names push to one new slug at once, then sync twice each, at once; then each
    edits the shared files on top of what it has and all sync at once again. Nothing any folder held is lost
    (it is on the server under its name or as a conflicted copy) and the manifest names exactly the objects."""
    slug = "crowd-threads"
    raw = RawStore(store.kind, store.repo, slug, client=store.client, bucket=store.bucket)
    folders = [tmp_path / f"folder-{i}" for i in range(CROWD)]
    services = [ProjectService(store.repo, data_dir=tmp_path / f"state-{i}") for i in range(CROWD)]
    first = {i: crowd_round(slug, 1, i, ["shared.txt", "common/x.txt", f"own-{i}.txt"]) for i in range(CROWD)}
    for i, folder in enumerate(folders):
        write_files(folder, first[i])

    def check_report(report: FolderReport, *, racing: bool = True) -> None:
        failed = [(path, error.message) for path, error in report.failed]
        if racing:
            run_again_only(failed)
        else:
            assert not failed

    def push_then_sync(i: int) -> None:
        check_report(services[i].push(services[i].plan_push(folders[i], slug=slug)))
        for _ in range(2):
            check_report(services[i].sync_folder(folders[i]))

    def sync_racing(i: int) -> None:
        check_report(services[i].sync_folder(folders[i]))

    def one_after_the_other() -> None:  # everyone ends with the server's files
        for i in [*range(CROWD), 0]:
            check_report(services[i].sync_folder(folders[i]), racing=False)

    run_at_once([functools.partial(push_then_sync, i) for i in range(CROWD)])
    wanted = [item for files in first.values() for item in files.items()]
    check_crowd(raw, store.repo, slug, wanted, folders)
    one_after_the_other()
    check_crowd(raw, store.repo, slug, wanted)

    second = {i: crowd_round(slug, 2, i, ["shared.txt", "common/x.txt"]) for i in range(CROWD)}
    for i, folder in enumerate(folders):
        write_files(folder, second[i])
    run_at_once([functools.partial(sync_racing, i) for i in range(CROWD)])
    wanted = [item for files in second.values() for item in files.items()]
    check_crowd(raw, store.repo, slug, wanted, folders)
    one_after_the_other()
    server = check_crowd(raw, store.repo, slug, wanted)
    for folder in folders:
        assert folder_files(folder) == server
    for service in services:
        service.folder_states.close()


def cli_env(home: Path, store_root: Path) -> dict[str, str]:
    """A process of its own (config, data, state, cache), whose `local` profile's store is the shared one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "AWS_"))}
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[var] = str(home / var.lower())
    data_dir = home / "xdg_data_home" / "projectdesk"  # config/paths.py: the local store is data_dir/local-store
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "local-store").symlink_to(store_root, target_is_directory=True)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    return env


def run_cli_at_once(commands: list[list[str]], envs: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Start the commands together; each must end with a report (exit 0, or 1 for conflicts) and no failure."""
    cli = Path(sys.executable).parent / "projectdesk-cli"
    procs = [
        subprocess.Popen([str(cli), *command], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command, env in zip(commands, envs, strict=True)
    ]
    reports: list[dict[str, Any]] = []
    for command, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, 1), f"{command}: exit {proc.returncode}\n{out}\n{err}"
        report = json.loads(out)
        run_again_only((f["path"], f["error"]) for f in report["failed"])
        if proc.returncode == 1:
            assert report["conflicts"] or report["failed"], f"{command} failed without a conflict:\n{err}"
        reports.append(report)
    return reports


def test_concurrent_cli_processes_on_one_local_store_lose_nothing(tmp_path: Path) -> None:
    """The same with `projectdesk-cli` processes, each with its own XDG folders (so its own working-folder state
    and cache) and the built-in `local` profile pointing at one shared store."""
    slug = "crowd-processes"
    store_root = tmp_path / "shared-store"
    store_root.mkdir()
    repo = LocalRepository(store_root)
    raw = RawStore("local", repo, slug)
    folders = [tmp_path / f"folder-{i}" for i in range(CROWD)]
    envs = [cli_env(tmp_path / f"home-{i}", store_root) for i in range(CROWD)]
    first = {i: crowd_round(slug, 1, i, ["shared.txt", "common/x.txt", f"own-{i}.txt"]) for i in range(CROWD)}
    for i, folder in enumerate(folders):
        write_files(folder, first[i])

    def one_after_the_other() -> None:
        for i in [*range(CROWD), 0]:
            report = run_cli_at_once([["sync", str(folders[i]), "--json"]], [envs[i]])[0]
            assert not report["failed"], report["failed"]

    run_cli_at_once([["push", str(f), "--slug", slug, "--json"] for f in folders], envs)
    run_cli_at_once([["sync", str(f), "--json"] for f in folders], envs)
    wanted = [item for files in first.values() for item in files.items()]
    check_crowd(raw, repo, slug, wanted, folders)
    one_after_the_other()
    check_crowd(raw, repo, slug, wanted)

    second = {i: crowd_round(slug, 2, i, ["shared.txt", "common/x.txt"]) for i in range(CROWD)}
    for i, folder in enumerate(folders):
        write_files(folder, second[i])
    run_cli_at_once([["sync", str(f), "--json"] for f in folders], envs)
    wanted = [item for files in second.values() for item in files.items()]
    check_crowd(raw, repo, slug, wanted, folders)
    one_after_the_other()
    server = check_crowd(raw, repo, slug, wanted)
    for folder in folders:
        assert folder_files(folder) == server


# ---- what the model found, as plain tests ----------------------------------------------------------------


@pytest.mark.parametrize("store", ["local", "moto", "seaweedfs"], indirect=True)
def test_a_new_file_never_replaces_one_made_on_the_server_after_the_plan(store: Store, tmp_path: Path) -> None:
    """A file new in the folder is sent with If-None-Match: *; when another writer made that name between the plan
    and the upload, theirs keeps the name and ours becomes a conflicted copy. (Found by the crowd test on SeaweedFS,
    where uploads go through the CRT: its precondition header was sent as `If-NoneMatch`, which no server knows.)"""
    slug = "made-meanwhile"
    raw = RawStore(store.kind, store.repo, slug, client=store.client, bucket=store.bucket)
    folder = tmp_path / "folder"
    write_files(folder, {"a.txt": b"ours, new in the folder\n"})
    service = ProjectService(store.repo, data_dir=tmp_path / "state")
    plan = service.plan_push(folder, slug=slug)
    assert [step.path for step in plan.uploads] == ["a.txt"]
    raw.put("a.txt", b"theirs, made meanwhile\n")

    report = service.push(plan)

    server = raw.files()
    assert server["a.txt"] == b"theirs, made meanwhile\n", "the file made meanwhile was overwritten"
    assert [c.path for c in report.conflicts] == ["a.txt"]
    assert server[report.conflicts[0].copy_path] == b"ours, new in the folder\n"
    service.folder_states.close()


def test_a_window_save_never_replaces_a_version_the_window_was_not_shown(tmp_path: Path) -> None:
    """The window opens a.txt; someone deletes it; the window's tree is refreshed (the cache forgets the file);
    someone makes a new a.txt; the window saves its page. The new a.txt was never shown to the window: it must
    keep its name (the window's text becomes a conflicted copy), not be replaced without a word. (Found by the
    model: the window saved with no `if_match`, leaving the ETags to the cache, and a cache with no row for the
    path took the server's current version as the base. Now the page keeps the version it was opened at.)"""
    slug = "window-base"
    repo = LocalRepository(tmp_path / "store")
    other = ProjectService(repo, data_dir=tmp_path / "other")
    other.write_file(slug, "keep.txt", b"keep\n")
    other.write_file(slug, "a.txt", b"v1\n")
    window = CachedProjectService(repo, CacheStore(tmp_path / "cache", "local", "anonymous"), data_dir=tmp_path / "w")
    try:
        shown, page = window.open_file(slug, "a.txt")  # an editor page on v1
        assert shown == b"v1\n"
        other.delete_file(slug, "a.txt")
        assert [e.path for e in window.list_files(slug)] == ["keep.txt"]  # the tree, refreshed
        other.write_file(slug, "a.txt", b"v2, never shown to the window\n")

        with contextlib.suppress(ConflictedCopy):
            window.write_file(slug, "a.txt", b"the window's edit of v1\n", if_match=page.etag)

        files = RawStore("local", repo, slug).files()
        assert files["a.txt"] == b"v2, never shown to the window\n", "the window replaced a version it never saw"
        assert b"the window's edit of v1\n" in files.values()
    finally:
        window.close()
        other.folder_states.close()


@pytest.mark.parametrize("store", ["local", "moto"], indirect=True)
def test_a_file_saved_during_a_push_is_recorded_as_what_was_sent(store: Store, tmp_path: Path) -> None:
    """The person saves a.txt again between the plan and the upload: the upload sends the file as it is then, so
    the base and the manifest must say that content — not the one hashed at plan time. Else the manifest's sha256
    is wrong, and when the person then goes back to the planned text (an undo), the folder counts as unchanged:
    sync does nothing and the folder and the server differ for good. (Found by the model.)"""
    slug = "saved-meanwhile"
    raw = RawStore(store.kind, store.repo, slug, client=store.client, bucket=store.bucket)
    folder = tmp_path / "folder"
    planned, saved = b"planned text\n", b"saved again while the push ran\n"
    write_files(folder, {"a.txt": planned})
    service = ProjectService(store.repo, data_dir=tmp_path / "state")
    plan = service.plan_push(folder, slug=slug)
    write_files(folder, {"a.txt": saved})
    service.push(plan)
    assert raw.files() == {"a.txt": saved}  # what was on disk when it was sent
    assert not manifest_problems(store.repo, slug, raw.files())

    write_files(folder, {"a.txt": planned})  # undo
    service.sync_folder(folder)
    assert raw.files() == folder_files(folder) == {"a.txt": planned}
    service.folder_states.close()


@pytest.mark.parametrize("store", ["local", "moto"], indirect=True)
def test_a_file_deleted_during_a_push_is_not_a_failure(store: Store, tmp_path: Path) -> None:
    """The person deletes b.txt between the plan and the upload: there is nothing left to send, and the deletion is
    the next run's business — not a failed push (exit 1) saying "Unexpected storage failure …: FileNotFoundError"
    on S3, or "Not found (b.txt)" on the local store. (Found by the model.)"""
    slug = "deleted-meanwhile"
    raw = RawStore(store.kind, store.repo, slug, client=store.client, bucket=store.bucket)
    folder = tmp_path / "folder"
    write_files(folder, {"a.txt": b"a\n", "b.txt": b"b\n"})
    service = ProjectService(store.repo, data_dir=tmp_path / "state")
    plan = service.plan_push(folder, slug=slug)
    (folder / "b.txt").unlink()

    report = service.push(plan)

    assert not report.failed, [(p, e.message) for p, e in report.failed]
    assert raw.files() == {"a.txt": b"a\n"}
    service.folder_states.close()


@pytest.mark.parametrize("store", ["local", "moto", "seaweedfs"], indirect=True)
def test_a_file_that_grew_during_a_push_is_never_stored_cut_short(store: Store, tmp_path: Path) -> None:
    """The person saves a longer a.txt between the plan and the upload: the server must get a whole version (the
    planned one or the new one), never the first bytes of the new one. (Found by the model on SeaweedFS: uploads
    through the CRT send `Content-Length` from the plan's scan, so the object is the new text cut to the old size.)"""
    slug = "grew-meanwhile"
    raw = RawStore(store.kind, store.repo, slug, client=store.client, bucket=store.bucket)
    folder = tmp_path / "folder"
    planned, saved = b"short\n", b"saved again, much longer than before\n" * 4
    write_files(folder, {"a.txt": planned})
    service = ProjectService(store.repo, data_dir=tmp_path / "state")
    plan = service.plan_push(folder, slug=slug)
    write_files(folder, {"a.txt": saved})

    service.push(plan)

    assert raw.files()["a.txt"] in (planned, saved), f"stored cut short: {raw.files()['a.txt']!r}"
    service.folder_states.close()


def test_a_conflicted_copy_whose_name_was_taken_meanwhile_gets_the_next_counter(tmp_path: Path) -> None:
    """When the name chosen for a conflicted copy is taken on the server just before the copy is sent, the copy
    takes the next free name of the same file (`a (conflicted copy … 2).txt`), not a conflicted copy of the copy
    (`a (conflicted copy …) (conflicted copy …).txt`, which is what writers racing for the same names then make,
    round after round, until their runs give up with "run again"). (Found by the concurrent-push test.)"""
    slug = "copy-name-taken"

    class TakesCopyNames(LocalRepository):
        """Someone else sends a file under the first conflicted-copy name just before we do."""

        def __init__(self, root: Path) -> None:
            super().__init__(root)
            self.taken: list[str] = []

        def upload_tree(self, slug: str, items: Any, **kwargs: Any) -> Any:
            for item in items:
                if is_copy(item.path) and not self.taken:
                    self.write_file(slug, item.path, b"someone else's file\n")
                    self.taken.append(item.path)
            return super().upload_tree(slug, items, **kwargs)

    repo = TakesCopyNames(tmp_path / "store")
    folder = tmp_path / "folder"
    write_files(folder, {"a.txt": b"v1\n"})
    service = ProjectService(repo, data_dir=tmp_path / "state")
    service.push(service.plan_push(folder, slug=slug))
    RawStore("local", repo, slug).put("a.txt", b"v2 from elsewhere\n")
    write_files(folder, {"a.txt": b"v3, ours\n"})

    report = service.push(service.plan_push(folder, slug=slug))

    assert [c.path for c in report.conflicts] == ["a.txt"] and repo.taken
    said = report.conflicts[0].copy_path
    assert folder_files(folder).get(said) == b"v3, ours\n", f"the report says ours is kept as {said}: it is not"
    server = RawStore("local", repo, slug).files()
    ours = [name for name, data in server.items() if data == b"v3, ours\n"]
    one_label = re.compile(r"a \(conflicted copy \d{4}-\d{2}-\d{2} \d{4}(?: \d+)?\)\.txt")
    assert len(ours) == 1 and one_label.fullmatch(ours[0]), (
        f"our copy is named {ours}; the server holds {sorted(server)}"
    )
    service.folder_states.close()


def test_a_page_saved_offline_then_sent_saves_again_without_a_false_conflict(tmp_path: Path) -> None:
    """A page saved offline keeps the version its edit replaces; once the outbox has sent that edit (in the
    background, while the page stays open), the page's next save builds on what our own upload made — no
    conflicted copy of our own work. But a version someone else wrote after our upload is still never replaced."""
    slug = "own-upload"
    repo = LocalRepository(tmp_path / "store")
    other = ProjectService(repo, data_dir=tmp_path / "other")
    other.write_file(slug, "a.txt", b"v1\n")
    window = CachedProjectService(repo, CacheStore(tmp_path / "cache", "local", "anonymous"), data_dir=tmp_path / "w")
    try:
        _, page = window.open_file(slug, "a.txt")
        window.go_offline()
        page = window.write_file(slug, "a.txt", b"edit 1\n", if_match=page.etag)  # queued
        window.go_online()
        assert not window.flush_outbox().conflicts  # sent in the background; the page still holds v1's etag
        page = window.write_file(slug, "a.txt", b"edit 2\n", if_match=page.etag)
        assert RawStore("local", repo, slug).files() == {"a.txt": b"edit 2\n"}, "our own upload made a conflict"

        window.go_offline()
        window.write_file(slug, "a.txt", b"edit 3\n", if_match=page.etag)
        window.go_online()
        assert not window.flush_outbox().conflicts
        other.write_file(slug, "a.txt", b"someone else's, after our upload\n")
        with contextlib.suppress(ConflictedCopy):
            window.write_file(slug, "a.txt", b"edit 4 of edit 3\n", if_match=page.etag)
        files = RawStore("local", repo, slug).files()
        assert files["a.txt"] == b"someone else's, after our upload\n"
        assert b"edit 4 of edit 3\n" in files.values()
    finally:
        window.close()


def test_a_page_behind_the_cache_never_replaces_the_version_the_cache_learnt_since(tmp_path: Path) -> None:
    """The page shows v1; the tree refresh teaches the cache v2 (someone else's); the page's save must not
    replace v2 (it did when the cache's own knowledge was the base)."""
    slug = "page-behind"
    repo = LocalRepository(tmp_path / "store")
    other = ProjectService(repo, data_dir=tmp_path / "other")
    other.write_file(slug, "a.txt", b"v1\n")
    window = CachedProjectService(repo, CacheStore(tmp_path / "cache", "local", "anonymous"), data_dir=tmp_path / "w")
    try:
        _, page = window.open_file(slug, "a.txt")
        other.write_file(slug, "a.txt", b"v2, someone else's\n")
        window.list_files(slug)
        with pytest.raises(ConflictedCopy):
            window.write_file(slug, "a.txt", b"edit of v1\n", if_match=page.etag)
        files = RawStore("local", repo, slug).files()
        assert files["a.txt"] == b"v2, someone else's\n"
        assert b"edit of v1\n" in files.values()
    finally:
        window.close()
