"""kill -9 during `projectdesk-cli push`, `pull` and `sync`, then the same command again, on the real SeaweedFS.

A handful of kills per command (the campaign with 30 each is `scripts/kill-campaign`, benchmarks/kill_campaign.py,
whose machinery this uses: the CLI as a whole process, talking to the server through a counting proxy). The
project is 300 files of 1–6 KB and one 20 MB file (a multipart upload, a ranged download).

Kill moments come from a seeded RNG: one early and one late in the bytes the command moves (the proxy kills
the process as it relays the chosen byte), one anywhere in the measured duration (often while the command
starts or plans). Whatever the moment:

- the second run converges: it exits 0; folder, bucket and manifest hold exactly the expected bytes; no
  `.pd-tmp-*` is left; no multipart upload stays open;
- no byte of a file whose landing the killed run had recorded (in the working folder's state) is moved again,
  either way; a file that landed in the instant before the kill, not yet recorded, may be compared (fetched);
- so most of the bytes that had landed before the kills are not moved again the same way (MAX_RESENT).

Then the moments around one large download of a version another tool wrote (its SHA-256 in no manifest), in
process, on the local store and SeaweedFS, through the plain and the cached service: a run "killed" (an exception
nothing catches) right after the file was renamed into place, before its record, is followed by a run that does
not fetch it again; one killed after the version was noted, before the rename, fetches it and converges; a file
saved here while its server version downloads is kept as a conflicted copy, never overwritten.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from benchmarks.kill_campaign import SMALL, Campaign, Moment, Trial, World, human

from projectdesk.cache.store import CacheStore
from projectdesk.core.limits import Limits
from projectdesk.core.threeway import Base
from projectdesk.services.offline import CachedProjectService
from projectdesk.services.projects import ProjectService
from projectdesk.services.workfolders import Binding, FolderStates
from tests.conftest import Store, make_tree, tree_bytes

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

SEED = 20240611
TRIALS = 3
# Of the bytes that had landed before the kills (summed over a command's trials), at most this share may be
# moved again the same way: only files not yet recorded when the kill came (downloads landed in its last
# instant, fetched again to be compared) can be, and they are a few small files at most.
MAX_RESENT = 0.5


def moment(campaign: Campaign, command: str, index: int) -> Moment:
    """Trials 1 and 3: early and late in the bytes; trial 2 (an even one: sync sends the large file, so a large
    download never lands in the instant before a kill) anywhere in the measured duration."""
    rng = campaign.rng(f"{command}-kill", index)
    if index == 2:
        return Moment(seconds=rng.uniform(0.0, campaign.durations[command]))
    return Moment(fraction=rng.uniform(0.05, 0.45) if index == 1 else rng.uniform(0.55, 0.95))


@pytest.fixture(scope="module")
def campaign(seaweed: SeaweedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    work: Path = tmp_path_factory.mktemp("kill-resume")
    world = World(seaweed, work, bucket=f"kill-{uuid.uuid4().hex[:12]}")
    try:
        yield Campaign(world, SMALL, SEED, unkilled_runs=1, moment=moment)
    finally:
        world.close()


@pytest.mark.seaweedfs
@pytest.mark.parametrize("command", ["push", "pull", "sync"])
def test_a_killed_run_resumes_and_converges(campaign: Campaign, command: str) -> None:
    trials = campaign.run_command(command, TRIALS)
    report = "\n".join(trial.line() for trial in trials)
    assert not [trial for trial in trials if trial.failures], report
    killed: list[Trial] = [trial for trial in trials if trial.kill is not None]
    assert len(killed) == TRIALS
    # The byte-triggered kills always come while the command runs, after its transfers began.
    assert all(t.killed and t.transfers_begun for t in killed if t.kill is not None and t.kill.fraction), report
    if any(trial.moved_recorded for trial in killed):
        pytest.fail(f"files recorded as landed before the kill were moved again by the second run:\n{report}")
    landed = sum(trial.landed for trial in killed)
    resent = sum(trial.resent for trial in killed)
    assert resent <= MAX_RESENT * landed, f"{human(resent)} of {human(landed)} landed were sent again\n{report}"


# ---- one large download, killed around its landing (in process) -------------------------------------------

SLUG = "landing-00001"
BIG = 3 * 1024 * 1024  # above the staging threshold (and the S3 store's in-memory downloads): written to disk


class Killed(BaseException):
    """A SIGKILL as a test can have one: nothing in the run catches it (here the staged batch holds one file, so
    nothing of it lands after the kill)."""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _service(kind: str, store: Store, tmp_path: Path) -> ProjectService:
    """A new process's service (same data folder and cache as the run before it)."""
    limits = Limits(10**9, 10**10)
    if kind == "cached":
        cache = CacheStore(tmp_path / "cache", store.kind, store.repo.user_id)
        return CachedProjectService(store.repo, cache, limits=limits, data_dir=tmp_path / "state")
    return ProjectService(store.repo, limits=limits, data_dir=tmp_path / "state")


def _close(service: ProjectService) -> None:
    if isinstance(service, CachedProjectService):
        service.close()
    else:
        service.folder_states.close()


def _fetched_paths(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file path whose bytes the repository is asked for from now on (downloads and whole reads)."""
    asked: list[str] = []
    download_tree, read_file = store.repo.download_tree, store.repo.read_file

    def counting_download_tree(slug: str, dest: Path, **kwargs: Any) -> Any:
        asked.extend(entry.path for entry in kwargs.get("entries") or [])
        return download_tree(slug, dest, **kwargs)

    def counting_read_file(slug: str, path: str) -> bytes:
        asked.append(path)
        return read_file(slug, path)

    monkeypatch.setattr(store.repo, "download_tree", counting_download_tree)
    monkeypatch.setattr(store.repo, "read_file", counting_read_file)
    return asked


def _bases(tmp_path: Path, folder: Path) -> dict[str, str]:
    """path -> SHA-256 of the base the working folder's state holds (as the campaign reads it)."""
    states = FolderStates(tmp_path / "state")
    try:
        [binding] = [b for b in states.bindings() if b.folder == folder.resolve()]
        return {path: row.base.sha256 for path, row in states.bases(binding).items()}
    finally:
        states.close()


def _changed_on_the_server(kind: str, store: Store, tmp_path: Path) -> tuple[Path, bytes]:
    """A pushed working folder, then a new version of its large file written by another tool (in no manifest)
    and a small change beside it. Returns the folder and the large file's new bytes."""
    folder = make_tree(tmp_path / "work", {"big.bin": os.urandom(BIG), "small.txt": b"small\n"})
    first = _service(kind, store, tmp_path)
    first.push(first.plan_push(folder, name="Landing", slug=SLUG))
    _close(first)
    theirs = os.urandom(BIG)
    store.repo.write_file(SLUG, "big.bin", theirs)
    store.repo.write_file(SLUG, "small.txt", b"small, changed there\n")
    return folder, theirs


def _kill_at(monkeypatch: pytest.MonkeyPatch, method: str, when: Callable[[str, str], bool], *, done: bool) -> None:
    """Once `when(path, sha256)` holds, the process is killed in FolderStates.`method` (record or note_fetched):
    before its commit, or (`done`) right after it. A run records bases in batches (`record_many`): "record" kills
    in the batch that holds the path."""
    if method == "record":
        original_many = FolderStates.record_many

        def killing_batch(self: FolderStates, binding: Binding, rows: Iterable[tuple[str, Base, Any]]) -> None:
            rows = list(rows)
            hit = any(when(path, base.sha256) for path, base, _sig in rows)
            if hit and not done:
                raise Killed
            original_many(self, binding, rows)
            if hit:
                raise Killed

        monkeypatch.setattr(FolderStates, "record_many", killing_batch)
        return
    original = getattr(FolderStates, method)

    def killing(self: FolderStates, binding: Binding, path: str, *args: Any) -> None:
        sha = args[0].sha256 if isinstance(args[0], Base) else args[1]
        if when(path, sha) and not done:
            raise Killed
        original(self, binding, path, *args)
        if when(path, sha):
            raise Killed

    monkeypatch.setattr(FolderStates, method, killing)


@pytest.mark.parametrize("kind", ["plain", "cached"])
@pytest.mark.parametrize("store", ["local", "seaweedfs"], indirect=True)
def test_a_download_killed_once_in_place_is_not_fetched_again(
    store: Store, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kill campaign's sync trials: the server's 40 MiB version landed in the folder, the kill came before
    its record (it was being hashed in place), and the next run saw "changed on both sides" and fetched it again
    to compare. The version is now hashed before the rename and noted: the next run adopts the file it finds."""
    folder, theirs = _changed_on_the_server(kind, store, tmp_path)
    with monkeypatch.context() as patch:
        # the state's record of the landed file fails as a kill would: after the rename, before the commit
        _kill_at(patch, "record", lambda path, sha: path == "big.bin" and sha == _sha(theirs), done=False)
        killed = _service(kind, store, tmp_path)
        with pytest.raises(Killed):
            killed.sync_folder(folder)
        _close(killed)
    assert (folder / "big.bin").read_bytes() == theirs  # landed ...
    assert _bases(tmp_path, folder)["big.bin"] != _sha(theirs)  # ... not recorded

    asked = _fetched_paths(store, monkeypatch)
    again = _service(kind, store, tmp_path)
    report = again.sync_folder(folder)
    _close(again)
    assert "big.bin" not in asked, f"the landed file was fetched again: {asked}"
    assert report.clean and "big.bin" not in report.uploaded, report.to_json()
    assert tree_bytes(folder) == {"big.bin": theirs, "small.txt": b"small, changed there\n"}
    assert _bases(tmp_path, folder)["big.bin"] == _sha(theirs)
    assert store.repo.read_file(SLUG, "big.bin") == theirs
    manifest = store.repo.get_manifest(SLUG)
    assert manifest is not None and manifest.files["big.bin"] == _sha(theirs)


@pytest.mark.parametrize("kind", ["plain", "cached"])
@pytest.mark.parametrize("store", ["local", "seaweedfs"], indirect=True)
def test_a_download_killed_before_its_rename_is_fetched_and_converges(
    store: Store, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed once the fetched version was hashed and noted, before it was put in place: the folder still holds
    its own file (unchanged here), so the next run downloads the server's, and the note spares it the hashing."""
    folder, theirs = _changed_on_the_server(kind, store, tmp_path)
    ours = (folder / "big.bin").read_bytes()
    with monkeypatch.context() as patch:
        _kill_at(patch, "note_fetched", lambda path, sha: path == "big.bin", done=True)
        killed = _service(kind, store, tmp_path)
        with pytest.raises(Killed):
            killed.sync_folder(folder)
        _close(killed)
    assert (folder / "big.bin").read_bytes() == ours
    again = _service(kind, store, tmp_path)
    report = again.sync_folder(folder)
    _close(again)
    assert report.clean and report.downloaded == ["big.bin"], report.to_json()
    assert tree_bytes(folder) == {"big.bin": theirs, "small.txt": b"small, changed there\n"}
    assert _bases(tmp_path, folder) == {"big.bin": _sha(theirs), "small.txt": _sha(b"small, changed there\n")}
    assert store.repo.read_file(SLUG, "big.bin") == theirs


@pytest.mark.parametrize("kind", ["plain", "cached"])
@pytest.mark.parametrize("store", ["local", "seaweedfs"], indirect=True)
def test_a_file_saved_here_while_its_server_version_downloads_is_kept(
    store: Store, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planned as a download (unchanged here), then saved here while the server's version was on its way: the
    save becomes a conflicted copy (sent too), the server's version takes the name; nothing is lost."""
    folder, theirs = _changed_on_the_server(kind, store, tmp_path)
    download_tree = store.repo.download_tree

    def saved_meanwhile(slug: str, dest: Path, **kwargs: Any) -> Any:
        if any(entry.path == "big.bin" for entry in kwargs.get("entries") or []):
            (folder / "big.bin").write_bytes(b"saved here during the download\n")
        return download_tree(slug, dest, **kwargs)

    monkeypatch.setattr(store.repo, "download_tree", saved_meanwhile)
    service = _service(kind, store, tmp_path)
    report = service.sync_folder(folder)
    _close(service)
    [conflict] = report.conflicts
    assert conflict.path == "big.bin"
    assert (folder / "big.bin").read_bytes() == theirs
    assert (folder / conflict.copy_path).read_bytes() == b"saved here during the download\n"
    assert store.repo.read_file(SLUG, conflict.copy_path) == b"saved here during the download\n"
    assert store.repo.read_file(SLUG, "big.bin") == theirs
    assert not [p for p in tree_bytes(folder) if p.startswith(".pd-tmp") or "/.pd-tmp" in p]
