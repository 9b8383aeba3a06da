"""services/watch.py in-process, on every store: saves go up, server changes come down, our own writes and
reads start no round, ignored folders are not watched, a batch of many saves is one round, offline changes
wait and go when the server is back, stop ends the loop. (The CLI as a process on SeaweedFS, editors' ways of
saving and a killed server: tests/integration/test_watch.py.)"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from projectdesk.cache.store import CacheStore
from projectdesk.core.threeway import Direction
from projectdesk.services.offline import CachedProjectService
from projectdesk.services.watch import (
    FolderWatch,
    LocalChanges,
    WatchEvent,
    WatchState,
    WatchTiming,
    batch_line,
    local_changes,
)
from tests.conftest import Store, make_tree, tree_bytes

FAST = WatchTiming(quiet=0.15, longest_batch=2.0, poll_first=0.2, poll_longest=0.5, retry_first=0.1, retry_longest=0.3)
DEADLINE = 30.0


def wait_for(condition: Callable[[], object], what: str, timeout: float = DEADLINE) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Watching:
    """A FolderWatch running in a thread, with the events it reported."""

    def __init__(self, service: CachedProjectService, folder: Path, slug: str, timing: WatchTiming = FAST) -> None:
        self.events: list[WatchEvent] = []
        self._lock = threading.Lock()
        self.watch = FolderWatch(service, folder, slug, on_event=self._on_event, timing=timing)
        self.thread = threading.Thread(target=self.watch.run, name="watch", daemon=True)

    def _on_event(self, event: WatchEvent) -> None:
        with self._lock:
            self.events.append(event)

    def states(self) -> list[WatchState]:
        with self._lock:
            return [e.state for e in self.events]

    def ended(self, state: WatchState) -> int:
        return self.states().count(state)

    def __enter__(self) -> Watching:
        self.thread.start()
        wait_for(lambda: self.ended(WatchState.IN_SYNC), "the first round")
        return self

    def __exit__(self, *exc: object) -> None:
        self.watch.stop()
        self.thread.join(timeout=DEADLINE)
        assert not self.thread.is_alive()


@pytest.fixture
def service(store: Store, tmp_path: Path) -> Iterator[CachedProjectService]:
    svc = CachedProjectService(store.repo, CacheStore(tmp_path / "cache", store.kind, store.repo.user_id),
                               data_dir=tmp_path / "data")  # fmt: skip
    try:
        yield svc
    finally:
        svc.close()


def bound_folder(service: CachedProjectService, tmp_path: Path, files: dict[str, bytes]) -> tuple[Path, str]:
    source = make_tree(tmp_path / "source", files)
    plan = service.plan_push(source, name="Watched")
    service.run_folder(plan)
    folder = tmp_path / "work"
    service.run_folder(service.plan_folder(folder, Direction.PULL, slug=plan.slug))
    assert tree_bytes(folder) == files
    return folder, plan.slug


def server_bytes(service: CachedProjectService, slug: str, path: str) -> bytes | None:
    try:
        return service.repo.read_file(slug, path)
    except Exception:
        return None


def test_saves_go_up_and_server_changes_come_down(service: CachedProjectService, tmp_path: Path) -> None:
    folder, slug = bound_folder(service, tmp_path, {"a.txt": b"one\n", "src/b.py": b"print(1)\n"})
    with Watching(service, folder, slug) as w:
        (folder / "a.txt").write_bytes(b"saved here\n")
        wait_for(lambda: server_bytes(service, slug, "a.txt") == b"saved here\n", "the save on the server")
        temp = folder / "src" / ".b.py.swp"  # an editor's atomic save: write a temporary file, rename it over
        temp.write_bytes(b"print(2)\n")
        os.replace(temp, folder / "src" / "b.py")
        wait_for(lambda: server_bytes(service, slug, "src/b.py") == b"print(2)\n", "the atomic save")
        assert server_bytes(service, slug, "src/.b.py.swp") is None
        service.repo.write_file(slug, "from-colleague.txt", b"hello\n")
        wait_for(lambda: (folder / "from-colleague.txt").exists(), "the server's new file in the folder")
        assert (folder / "from-colleague.txt").read_bytes() == b"hello\n"
        (folder / "a.txt").unlink()
        wait_for(lambda: server_bytes(service, slug, "a.txt") is None, "the deletion on the server")

        def lines() -> list[str]:
            return [batch_line(e.report) for e in list(w.events) if e.report is not None]

        # The round's event follows its last write: wait for it too.
        wait_for(lambda: "deleted on the server: 1 file" in lines(), "the round that deleted to say so")
    assert "↑ 1 file" in lines() and "↓ 1 file" in lines(), lines()
    assert w.states()[-1] == WatchState.STOPPED


def test_a_change_on_both_sides_keeps_both_versions(service: CachedProjectService, tmp_path: Path) -> None:
    folder, slug = bound_folder(service, tmp_path, {"a.txt": b"base\n"})
    watch = FolderWatch(service, folder, slug, timing=FAST)
    watch._round("start")
    (folder / "a.txt").write_bytes(b"mine\n")
    service.repo.write_file(slug, "a.txt", b"theirs\n")
    with Watching(service, folder, slug) as w:  # its first round meets both changes
        wait_for(lambda: len([p for p in folder.iterdir() if "conflicted copy" in p.name]) == 1, "the copy")
        copy = next(p for p in folder.iterdir() if "conflicted copy" in p.name)
        wait_for(lambda: server_bytes(service, slug, copy.name) == b"mine\n", "the copy on the server")
    assert (folder / "a.txt").read_bytes() == b"theirs\n" and copy.read_bytes() == b"mine\n"
    assert server_bytes(service, slug, "a.txt") == b"theirs\n"
    assert WatchState.CONFLICTS in w.states()


def test_only_real_changes_start_a_round(service: CachedProjectService, tmp_path: Path) -> None:
    """Our own downloads, a touch, reads and ignored folders are no change; an edit, a new file and a deletion are."""
    folder, slug = bound_folder(service, tmp_path, {"a.txt": b"one\n", "b.txt": b"two\n"})
    watch = FolderWatch(service, folder, slug, timing=FAST)
    watch._round("start")
    assert not watch._real({"a.txt", "b.txt"})  # as pulled
    stat = (folder / "a.txt").stat()
    os.utime(folder / "a.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched, same bytes
    assert not watch._real({"a.txt"})
    (folder / ".git").mkdir()
    (folder / ".git" / "index").write_bytes(b"git's own")
    (folder / "node_modules" / "x").mkdir(parents=True)
    (folder / "node_modules" / "x" / "i.js").write_bytes(b"1")
    assert not watch._real({".git/index", "node_modules/x/i.js"})
    (folder / "b.txt").write_bytes(b"edited\n")
    assert watch._real({"b.txt"})
    assert not watch._real({"gone-before-we-looked.txt"})  # made and removed between event and check
    assert not watch._folder_changed({".git/objects/ab", "node_modules/left-pad", "node_modules"})
    assert watch._folder_changed({"src/new"}) and watch._folder_changed({""})
    (folder / "a.txt").unlink()
    assert watch._real({"a.txt"})
    (folder / "new.txt").write_bytes(b"")
    assert watch._real({"new.txt"})


def test_a_burst_of_saves_is_one_round(service: CachedProjectService, tmp_path: Path) -> None:
    """200 files written at once (a git checkout, a formatter) are sent together, not file by file."""
    folder, slug = bound_folder(service, tmp_path, {"keep.txt": b"k"})
    timing = WatchTiming(quiet=1.0, longest_batch=10.0, poll_first=30, poll_longest=30)  # no polls in between
    with Watching(service, folder, slug, timing=timing) as w:
        before = w.watch.rounds
        for i in range(200):
            (folder / "gen" / f"{i // 20}").mkdir(parents=True, exist_ok=True)
            (folder / "gen" / f"{i // 20}" / f"f{i}.txt").write_bytes(b"%d\n" % i)
        wait_for(lambda: len(service.repo.list_files(slug)) == 201, "all 200 files on the server")
        rounds = w.watch.rounds - before
    assert rounds <= 2, f"{rounds} rounds for one burst"  # one; two if the writer was paused for a second


def test_offline_changes_wait_and_go_when_the_server_is_back(service: CachedProjectService, tmp_path: Path) -> None:
    folder, slug = bound_folder(service, tmp_path, {"a.txt": b"one\n"})
    with Watching(service, folder, slug) as w:
        service.go_offline()
        (folder / "a.txt").write_bytes(b"written offline\n")
        (folder / "new.txt").write_bytes(b"new offline\n")
        wait_for(lambda: any(e.state == WatchState.WAITING and e.waiting == 2 for e in list(w.events)),
                 "the watch saying two changes wait")  # fmt: skip
        waiting = next(e for e in w.events if e.state == WatchState.WAITING and e.waiting == 2)
        assert "2 local changes waiting" in waiting.line()
        assert server_bytes(service, slug, "a.txt") == b"one\n"
        service.go_online()
        wait_for(lambda: server_bytes(service, slug, "a.txt") == b"written offline\n", "the change sent")
        wait_for(lambda: server_bytes(service, slug, "new.txt") == b"new offline\n", "the new file sent")
    assert w.states()[-1] == WatchState.STOPPED and w.events[-1].waiting == 0


def test_stop_ends_the_watch_and_the_state_is_kept(service: CachedProjectService, tmp_path: Path) -> None:
    folder, slug = bound_folder(service, tmp_path, {"a.txt": b"one\n"})
    with Watching(service, folder, slug):
        pass
    [record] = [r for r in service.folders.records() if r.binding.folder == folder.resolve()]
    assert record.last_state == "in sync" and record.last_sync is not None
    (folder / "a.txt").write_bytes(b"changed\n")
    (folder / "b.txt").write_bytes(b"new\n")
    bases = service.folders.bases_of(record.binding)
    assert local_changes(folder, bases) == ["a.txt", "b.txt"]
    (folder / "a.txt").unlink()
    assert local_changes(folder, bases) == ["a.txt", "b.txt"]  # deleted counts too


class _Event:
    def __init__(self, kind: str, src: str, dest: str = "", is_directory: bool = False) -> None:
        self.event_type, self.src_path, self.dest_path, self.is_directory = kind, src, dest, is_directory


def test_notifications_are_collected_by_path(tmp_path: Path) -> None:
    wake = threading.Event()
    changes = LocalChanges(tmp_path, wake)
    changes.dispatch(_Event("opened", str(tmp_path / "a.txt")))
    changes.dispatch(_Event("closed_no_write", str(tmp_path / "a.txt")))
    changes.dispatch(_Event("modified", str(tmp_path / "src"), is_directory=True))
    changes.dispatch(_Event("created", str(tmp_path / ".pd-tmp-fetch-1" / "x")))
    changes.dispatch(_Event("modified", "/elsewhere/x"))
    assert not changes.pending and not wake.is_set()
    changes.dispatch(_Event("moved", str(tmp_path / "a.txt.tmp"), str(tmp_path / "a.txt")))
    assert wake.is_set() and changes.pending
    assert changes.take() == ({"a.txt.tmp", "a.txt"}, set())
    changes.dispatch(_Event("deleted", str(tmp_path / "old"), is_directory=True))
    assert changes.take() == (set(), {"old"})  # a folder's files were not each reported: a full round
    changes.dispatch(_Event("lost", str(tmp_path)))
    assert changes.take() == (set(), {""})  # the kernel's queue overflowed: anything may have changed
    assert not changes.pending


def test_back_online_the_waiting_changes_go_at_once(service: CachedProjectService, tmp_path: Path) -> None:
    """retry_now (the window calls it when the store answers again) does not wait for the retry backoff."""
    folder, slug = bound_folder(service, tmp_path, {"a.txt": b"one\n"})
    slow_retry = WatchTiming(quiet=0.1, poll_first=0.2, poll_longest=0.5, retry_first=600, retry_longest=600)
    with Watching(service, folder, slug, timing=slow_retry) as w:
        service.go_offline()
        (folder / "a.txt").write_bytes(b"written offline\n")
        wait_for(lambda: WatchState.WAITING in w.states(), "the watch waiting")
        service.go_online()
        w.watch.retry_now()
        wait_for(lambda: server_bytes(service, slug, "a.txt") == b"written offline\n", "the change sent", 60)


def test_an_unexpected_error_in_a_round_is_retried_not_fatal(
    service: CachedProjectService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, slug = bound_folder(service, tmp_path, {"a.txt": b"one\n"})
    real_plan = service.plan_folder
    failures = iter([OSError(5, "Input/output error")])

    def flaky_plan(*args: object, **kwargs: object) -> object:
        for error in failures:
            raise error
        return real_plan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "plan_folder", flaky_plan)
    events: list[WatchEvent] = []
    watch = FolderWatch(service, folder, slug, on_event=events.append, timing=FAST)
    thread = threading.Thread(target=watch.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: any(e.state == WatchState.IN_SYNC for e in list(events)), "a round after the failure")
        failed = next(e for e in events if e.state == WatchState.FAILED)
        assert "unexpected OSError" in failed.line() and "Input/output" not in failed.line()
        (folder / "a.txt").write_bytes(b"after\n")
        wait_for(lambda: server_bytes(service, slug, "a.txt") == b"after\n", "the watch still working")
    finally:
        watch.stop()
        thread.join(DEADLINE)
    assert not thread.is_alive()
