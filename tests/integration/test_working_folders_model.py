"""Working folders against a model (Hypothesis stateful testing): never a silent overwrite, and everything converges.

Actors, all on one project slug (a fresh slug, fresh folders and fresh state per example):

- two working folders A and B (plain directories), each with its own ProjectService and data directory:
  files written, created, deleted and renamed in place, as a person would; push (with and without --delete),
  pull and sync;
- the window: one CachedProjectService with its offline cache, saving files with `write_file` (after opening
  them, or saving again an editor page opened earlier) and deleting with `delete_file`; it may go offline, so
  its changes wait in the outbox, and come back online (the outbox is sent, each change with If-Match);
- another tool writing the store directly and blindly (boto3 `put_object`/`delete_object`, or files renamed
  into the local store's folder).

Every content any actor writes is unique (a counter), and the model keeps every version ever produced: its
name, its bytes, who made it, and whether it was *explicitly* removed. A version may legitimately disappear
only when it was removed by someone who had it in front of them:

- deleted, edited over, or renamed away in a folder while it was that folder's file (the person saw it; the
  three-way rule then carries the deletion or the edit to the server and the other folder, replacing the
  version the folder's base was — which is the one the folder had when the person changed it);
- deleted or saved over by the window, where the server's version replaced was the one the window had
  opened (or last sent, or was shown as the server's side of a conflict); the window's own unsent edit
  replaced by its next save;
- overwritten or deleted by the other tool: it is blind, so whatever it overwrites counts as replaced.

Everything else must survive. The invariant, after every step: each version not explicitly removed exists as
the content of a file — in the bucket, in folder A or B, or in the window's cache as a local change (dirty or
conflicted copy; a stale clean copy does not count) — under its own name or a conflicted-copy name of it
(`name (conflicted copy YYYY-MM-DD HHMM[ N]).ext`, copies of copies included).

Stricter, per step, each change is checked against who may make it:
- the server's version of a file is replaced or deleted only by the other tool; by the window when that
  version is the one the window's change was based on; by a push or sync of folder X when it is X's base
  (the version X and the server last agreed on — the model derives it: after each run of X, a path where X and
  the server hold the same bytes has that base) and X's file differs from it (and a deletion only by sync or
  push --delete); never by a pull;
- a folder's file changes only by that folder's person, or by that folder's own run when the file was
  unchanged since its base and the server's differs, or when it was moved to a conflicted copy;
- after each push or sync (and each window change that reached the server) the manifest lists exactly the
  server's files, with correct sha256 and `file_etags` equal to the listing's ETags.

Final phase (teardown, when every step passed): the window comes online and sends its outbox, then sync A,
sync B, sync A again (a folder never bound is pushed first), and the window's outbox is sent once more (it must
be empty): A, B and the bucket hold the same files, byte for byte, and the manifest matches them.

Default run: local store and moto, 10 examples x 25 steps each (500 steps), derandomized so the outcome is the
same every run; SeaweedFS: 2 x 12 steps. Soak mode, random and as long as asked (steps = examples x 50):

    PROJECTDESK_SOAK_STEPS=10000 .venv/bin/python -m pytest tests/integration/test_working_folders_model.py -k moto

The plain tests at the end run pushes and syncs of four folders at once to one slug, from threads (local store
and S3) and from `projectdesk-cli` processes (the local store): nothing any folder held is lost, and the
manifest names exactly the objects.
"""

from __future__ import annotations

import itertools
import json
import os
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
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from projectdesk.cache.index import CONFLICT, DIRTY
from projectdesk.cache.store import CacheStore
from projectdesk.core.errors import Conflict, InvalidInput, NotFound
from projectdesk.core.threeway import Direction
from projectdesk.services.folder_sync import FolderReport
from projectdesk.services.offline import CachedProjectService, ConflictedCopy, NotAvailableOffline
from projectdesk.services.projects import ProjectService
from projectdesk.storage.local import LocalRepository
from tests.conftest import Store
from tests.integration.workfolder_helpers import (
    RawStore,
    family,
    folder_files,
    manifest_problems,
    missing_contents,
)

PATHS = ("a.txt", "b.txt", "d/c.txt", "d/e/f.txt")  # few names, so that changes meet often
FOLDERS = ("A", "B")
SOAK_ENV = "PROJECTDESK_SOAK_STEPS"
SOAK_STEP_COUNT = 50
_slugs = itertools.count(1)

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
    return settings(max_examples=examples, stateful_step_count=steps, derandomize=True, database=None, **common)


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
    window_bases: dict[str, bytes | None] = field(default_factory=dict)

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
            # What the window's next change to a path is based on, as the window was shown it: bytes, or None
            # when it saw the path absent. A path missing here was never opened in the window.
            self.window_seen: dict[str, bytes | None] = {}
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
                    if path not in actor.window_bases or actor.window_bases[path] != old:
                        seen = actor.window_bases.get(path, "never opened")
                        problems.append(f"{change}, but the window's change was based on {seen!r}")
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
            self.checked = self.step

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
            self.removed(path, files[path], f"renamed away in {who}")
            self.removed(to, files.get(to), f"renamed over in {who}")
            self.produced(to, files[path], who)
            (folder / to).parent.mkdir(parents=True, exist_ok=True)
            os.replace(folder / path, folder / to)
            self.check_step(before, self.world(), Actor("person", who))

        # ---- push, pull, sync --------------------------------------------------------------------------

        def run(self, who: str, direction: Direction, *, delete: bool = False) -> FolderReport | None:
            service = self.services[who]
            folder = self.dirs[who]
            before = self.world()
            report: FolderReport | None
            if direction == Direction.PUSH:
                plan = service.plan_push(folder, slug=self.slug)
                report = service.push(plan, delete=delete)
            elif direction == Direction.PULL:
                exists = self.raw.exists()
                try:
                    report = service.pull(self.slug, folder)
                except NotFound:
                    if exists:
                        raise
                    report = None
            else:
                if not self.bound[who]:
                    with pytest.raises(InvalidInput):
                        service.sync_folder(folder)
                    return None
                report = service.sync_folder(folder)
            after = self.world()
            if report is not None:
                if report.failed:
                    self.fail(f"{direction} of {who} failed: {[(p, e.message) for p, e in report.failed]}")
                self.bound[who] = True
            self.check_step(before, after, Actor("run", who, direction, delete))
            if report is not None:
                self.history.append(f"     -> {report.summary()}; conflicts {[c.copy_path for c in report.conflicts]}")
                bases = self.bases[who]
                for path in set(after.folders[who]) | set(after.server) | set(bases):
                    mine, theirs = after.folders[who].get(path), after.server.get(path)
                    if mine == theirs:
                        if mine is None:
                            bases.pop(path, None)
                        else:
                            bases[path] = mine
                if direction != Direction.PULL:
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

        # ---- the window --------------------------------------------------------------------------------

        def window_names(self) -> set[str]:
            return set(PATHS) | set(self.raw.files()) | set(self.window_seen)

        def open_in_window(self, path: str) -> tuple[bool, bytes | None]:
            """Open `path` in the window: (could open, the bytes shown — None when it does not exist)."""
            window = self.window
            unsent = self.dirty(path)
            try:
                shown = window.read_file(self.slug, path)
            except NotFound:
                if not window.is_offline:
                    self.window_seen[path] = None
                return True, None
            except NotAvailableOffline:
                return False, None
            if not window.is_offline and unsent is None:
                self.window_seen[path] = shown  # the server's current version
            return True, shown

        def window_change(self, text: str, change: Callable[[], None]) -> None:
            """Run one window call (which sends the outbox when online) and check what it did."""
            before = self.world()
            actor = Actor("window", window_bases=dict(self.window_seen))
            self.window.last_flush = None
            try:
                change()
            except ConflictedCopy as exc:
                self.history.append(f"     -> conflicted copy {exc.record.copy_path}")
            except Conflict as exc:
                self.history.append(f"     -> conflict: {exc.message}")
            after = self.world()
            self.after_flush(before, after, actor)

        def after_flush(self, before: World, after: World, actor: Actor) -> None:
            self.check_step(before, after, actor)
            for path, old in before.server.items():
                if after.server.get(path) != old:
                    self.removed(path, old, "replaced or deleted by the window")
            flush = self.window.last_flush
            if flush is None or flush.offline:
                return
            prefix = f"{self.slug}/"
            touched = [p[len(prefix) :] for p in (*flush.uploaded, *flush.deleted) if p.startswith(prefix)]
            for record in flush.conflicts:
                if record.slug == self.slug:
                    touched += [record.path] + ([record.copy_path] if record.copy_path else [])
            for path in touched:  # what the cache now bases its next change on: the server's version now
                self.window_seen[path] = after.server.get(path)
            if flush.failed:
                self.fail(f"the window's outbox failed: {[(p, e.message) for p, e in flush.failed]}")
            if before.server != after.server:
                self.check_manifest()

        @rule(pick=st.integers(0, 99), size=st.integers(0, 3), reopen=st.booleans())
        def window_save(self, pick: int, size: int, reopen: bool) -> None:
            """Save a file in the window: opened just now (`reopen`), or an editor page opened earlier."""
            names = self.window_names() if reopen else set(self.window_seen)
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
                exists = self.window_seen[path] is not None or self.dirty(path) is not None
            self.removed(path, self.dirty(path), "saved over in the window")
            data = self.new_content("window", path, size)
            if exists:
                self.window_change("save", lambda: self.window.write_file(self.slug, path, data))
                return

            project_exists = self.raw.exists()

            def create() -> None:
                try:
                    self.window.create_file(self.slug, path, data)
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

            self.window_change("create", create)

        @rule(pick=st.integers(0, 99), reopen=st.booleans())
        def window_delete(self, pick: int, reopen: bool) -> None:
            names = self.window_names() if reopen else {p for p, d in self.window_seen.items() if d is not None}
            path = self.choose(names, pick)
            if path is None:
                return
            state = "offline" if self.window.is_offline else "online"
            self.note(f"window ({state}): delete {path}{' (listed now)' if reopen else ' (listed earlier)'}")
            if reopen:
                opened, shown = self.open_in_window(path)
                if not opened or shown is None:
                    return
            unsent = self.dirty(path)

            def delete() -> None:
                if unsent is not None:  # dropped here whatever the server says
                    self.removed(path, unsent, "deleted in the window before it was sent")
                try:
                    self.window.delete_file(self.slug, path)
                except NotAvailableOffline:
                    self.history.append("     -> not known here offline")

            self.window_change("delete", delete)

        @precondition(lambda self: not self.window.is_offline)
        @rule()
        def window_goes_offline(self) -> None:
            self.note("window: work offline")
            self.window.go_offline()

        @precondition(lambda self: self.window.is_offline)
        @rule()
        def window_comes_online(self) -> None:
            self.note(f"window: online again ({len(self.window.pending())} queued)")
            self.window_change("online", self.window.go_online)

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
                self.window_change("online", self.window.go_online)
            else:
                self.window_change("flush", self.window.flush_outbox)
            self.nothing_lost()
            for who in ("A", "B", "A"):
                if not self.bound[who]:
                    self.note(f"final: push {who} (never bound)")
                    self.run(who, Direction.PUSH)
                self.note(f"final: sync {who}")
                self.run(who, Direction.SYNC)
                self.nothing_lost()
            self.note("final: outbox sent again")
            self.window_change("flush", self.window.flush_outbox)
            flush = self.window.last_flush
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
            try:
                if self.checked == self.step:  # every step passed: the final phase
                    self.converge()
            finally:
                self.window.close()
                for service in self.services.values():
                    service.folder_states.close()
                shutil.rmtree(self.tmp, ignore_errors=True)

    return WorkingFoldersModel


@pytest.mark.parametrize("store", ["local", "moto"], indirect=True)
def test_working_folders_model(store: Store) -> None:
    run_state_machine_as_test(build_machine(store), settings=machine_settings(examples=10, steps=25))


@pytest.mark.parametrize("store", ["seaweedfs"], indirect=True)
def test_working_folders_model_seaweedfs(store: Store) -> None:
    run_state_machine_as_test(build_machine(store), settings=machine_settings(examples=2, steps=12))


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


def check_crowd(raw: RawStore, repo: Any, slug: str, wanted: Iterable[tuple[str, bytes]]) -> Files:
    """Every content in `wanted` is on the server (under its name or a conflicted copy of it), and the manifest
    names exactly the server's files."""
    server = raw.files()
    missing = missing_contents(wanted, {"server": server})
    assert not missing, f"lost: {missing}; the server holds {sorted(server)}"
    problems = manifest_problems(repo, slug, server)
    assert not problems, problems
    return server


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


@pytest.mark.parametrize("store", ["local", "moto", "seaweedfs"], indirect=True)
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

    def check_report(report: FolderReport) -> None:
        assert not report.failed, [(p, e.message) for p, e in report.failed]

    def push_then_sync(i: int) -> None:
        check_report(services[i].push(services[i].plan_push(folders[i], slug=slug)))
        for _ in range(2):
            check_report(services[i].sync_folder(folders[i]))

    run_at_once([lambda i=i: push_then_sync(i) for i in range(CROWD)])
    check_crowd(raw, store.repo, slug, [item for files in first.values() for item in files.items()])

    second = {i: crowd_round(slug, 2, i, ["shared.txt", "common/x.txt"]) for i in range(CROWD)}
    for i, folder in enumerate(folders):
        write_files(folder, second[i])
    run_at_once([lambda i=i: check_report(services[i].sync_folder(folders[i])) for i in range(CROWD)])
    check_crowd(raw, store.repo, slug, [item for files in second.values() for item in files.items()])

    for i in [*range(CROWD), 0]:  # one after the other: everyone ends with the server's files
        check_report(services[i].sync_folder(folders[i]))
    server = check_crowd(raw, store.repo, slug, [item for files in second.values() for item in files.items()])
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
        assert not report["failed"], f"{command}: {report['failed']}\n{err}"
        if proc.returncode == 1:
            assert report["conflicts"], f"{command} failed without a conflict:\n{err}"
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

    run_cli_at_once([["push", str(f), "--slug", slug, "--json"] for f in folders], envs)
    check_crowd(raw, repo, slug, [item for files in first.values() for item in files.items()])
    run_cli_at_once([["sync", str(f), "--json"] for f in folders], envs)
    check_crowd(raw, repo, slug, [item for files in first.values() for item in files.items()])

    second = {i: crowd_round(slug, 2, i, ["shared.txt", "common/x.txt"]) for i in range(CROWD)}
    for i, folder in enumerate(folders):
        write_files(folder, second[i])
    run_cli_at_once([["sync", str(f), "--json"] for f in folders], envs)
    check_crowd(raw, repo, slug, [item for files in second.values() for item in files.items()])

    for i in [*range(CROWD), 0]:
        run_cli_at_once([["sync", str(folders[i]), "--json"]], [envs[i]])
    server = check_crowd(raw, repo, slug, [item for files in second.values() for item in files.items()])
    for folder in folders:
        assert folder_files(folder) == server
