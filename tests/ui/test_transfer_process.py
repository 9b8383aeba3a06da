"""The window's uploads and downloads run in a worker process (ui/transfer_process.py, services/transfer_worker.py):
on SeaweedFS, through a store opened as the app opens it (`open_cached_service`), so the worker can open it too.
Progress, DONE, Cancel, a bandwidth limit set in the window, a worker killed mid-transfer and Retry, and the
fallback to threads for a service built by hand."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from projectdesk.cache.store import CacheStore
from projectdesk.config.paths import Paths
from projectdesk.config.profiles import Profile
from projectdesk.core.bandwidth import BandwidthLimits
from projectdesk.core.models import Progress
from projectdesk.services.offline import CachedProjectService, open_cached_service
from projectdesk.services.projects import ProjectService
from projectdesk.storage.local import LocalRepository
from projectdesk.storage.s3client import Credentials
from projectdesk.storage.throttle import BANDWIDTH
from projectdesk.ui.transfers import CANCELLED, DONE, FAILED, Transfer
from tests.conftest import make_tree, tree_bytes
from tests.servers.seaweedfs import SeaweedServer
from tests.ui.conftest import WindowHarness

SLOW = BandwidthLimits(up=256 * 1024, down=256 * 1024)  # 2 MB take ~8 s: time to cancel or kill in the middle


@pytest.fixture
def profile(seaweed: SeaweedServer) -> Profile:
    bucket = f"tp-{os.urandom(6).hex()}"
    seaweed.create_bucket(bucket)
    return Profile(name="weed", endpoint_url=seaweed.endpoint_url, region=seaweed.region, bucket=bucket,
                   path_style=True, credential_source="keyring")  # fmt: skip


@pytest.fixture
def opened(profile: Profile, seaweed: SeaweedServer, isolated_dirs: Paths) -> CachedProjectService:
    """The store as the app opens it (keys given, as from the keyring); the window closes it."""
    return open_cached_service(profile, isolated_dirs, credentials=Credentials(seaweed.access_key, seaweed.secret_key))


@pytest.fixture
def limits_restored() -> Iterator[None]:
    yield
    BANDWIDTH.set_limits(BandwidthLimits())
    BANDWIDTH.resume()


def project(root: Path, files: int, size: int) -> Path:
    return make_tree(root, {f"d{i % 3}/f{i:03d}.bin": os.urandom(size) for i in range(files)})


def spy_progress(h: WindowHarness) -> list[Progress]:
    seen: list[Progress] = []
    model = h.window.transfer_model
    original = model.update_progress

    def update(transfer: Transfer, progress: Progress) -> None:
        seen.append(progress)
        original(transfer, progress)

    model.update_progress = update  # type: ignore[method-assign]
    return seen


def push(h: WindowHarness, source: Path, name: str) -> Transfer:
    service = h.window.service
    assert service is not None
    task = h.window.session.track(_plan(h, source, name))
    h.qtbot.waitUntil(task.done, timeout=30000)
    return h.window.transfer_model.transfers()[-1]


async def _plan(h: WindowHarness, source: Path, name: str) -> None:
    service = h.window.service
    assert service is not None
    plan = await h.window.tasks.call(service.plan_push, source, name=name)
    h.window.jobs.push(plan, source, service)


def landed(dest: Path) -> dict[str, bytes]:
    return {path: data for path, data in tree_bytes(dest).items() if not path.split("/")[-1].startswith(".pd")}


def test_push_and_download_run_in_the_worker_process_and_land_byte_identical(
    make_window: Any, opened: CachedProjectService, tmp_path: Path, limits_restored: None
) -> None:
    h = make_window(opened)
    seen = spy_progress(h)
    source = project(tmp_path / "src", 60, 20_000)
    upload = push(h, source, "Worker App")
    h.wait_transfers()
    assert upload.state == DONE, upload.error
    assert upload.files_done == 60
    process = h.window.tasks.transfer_process()
    assert process is not None and process.pid is not None
    assert process.last_pid == process.pid != os.getpid()  # the push ran in the worker
    worker = process.pid
    # the window's view is not stale: the project the worker made is listed (the `uploaded` path)
    h.qtbot.waitUntil(lambda: h.window.browser.project_model.project(upload.slug) is not None, timeout=20000)

    dest = tmp_path / "down"
    seen.clear()
    # 1.2 MB at 1 MiB/s: the download lasts about a second, so the worker reports progress on the way (unlimited,
    # a busy machine's download could end inside one 50 ms progress interval and report none)
    BANDWIDTH.set_limits(BandwidthLimits(down=1024 * 1024))
    download = h.window.jobs.download(upload.slug, dest, opened)
    h.wait_transfers()
    assert download.state == DONE, download.error
    assert process.pid == process.last_pid == worker  # the same worker, kept warm
    assert landed(dest) == tree_bytes(source)
    assert seen and seen[-1].files_done <= 60 and download.files_done == 60
    # the window's own cache sees what the worker linked into it
    assert len(opened.cache.files(upload.slug)) == 60


def test_cancel_and_a_limit_set_in_the_window_reach_the_worker(
    make_window: Any, opened: CachedProjectService, tmp_path: Path, limits_restored: None
) -> None:
    h = make_window(opened)
    seen = spy_progress(h)
    BANDWIDTH.set_limits(SLOW)  # after the window applied the store's (none): forwarded with the run
    source = project(tmp_path / "src", 80, 25_000)
    upload = push(h, source, "Cancelled App")
    h.qtbot.waitUntil(lambda: any(p.bytes_done > 0 for p in seen), timeout=30000)
    upload.cancel.set()  # as the row's Cancel does
    h.wait_transfers()
    assert upload.state == CANCELLED, upload.error
    assert 0 < upload.files_done < 80  # stopped in the middle: the limit held it back there
    process = h.window.tasks.transfer_process()
    assert process is not None
    worker = process.pid
    assert worker is not None and process.last_pid == worker != os.getpid()

    BANDWIDTH.set_limits(BandwidthLimits())
    h.window.jobs.retry(upload)  # the worker is idle and usable: Retry sends the rest
    h.wait_transfers()
    again = h.window.transfer_model.transfers()[-1]
    assert again is not upload and again.state == DONE, again.error
    assert process.pid == process.last_pid == worker


def test_a_killed_worker_fails_the_row_in_one_sentence_and_retry_completes_it(
    make_window: Any,
    opened: CachedProjectService,
    profile: Profile,
    isolated_dirs: Paths,
    tmp_path: Path,
    limits_restored: None,
) -> None:
    h = make_window(opened)
    seen = spy_progress(h)
    BANDWIDTH.set_limits(SLOW)
    source = project(tmp_path / "src", 80, 25_000)
    upload = push(h, source, "Killed App")
    h.qtbot.waitUntil(lambda: any(p.files_done > 0 for p in seen), timeout=30000)
    process = h.window.tasks.transfer_process()
    assert process is not None and process.pid is not None
    killed = process.pid
    os.kill(killed, signal.SIGKILL)
    h.wait_transfers()
    assert upload.state == FAILED
    assert upload.error == (
        "Transfer stopped: The transfer process stopped unexpectedly; files already sent are complete; "
        "Retry sends the rest."
    )
    assert h.window.isVisible() and process.pid is None

    BANDWIDTH.set_limits(BandwidthLimits())
    h.window.jobs.retry(upload)
    h.wait_transfers()
    again = h.window.transfer_model.transfers()[-1]
    assert again.state == DONE, again.error
    assert process.pid is not None and process.last_pid == process.pid not in (killed, os.getpid())  # a new worker
    dest = tmp_path / "down"
    download = h.window.jobs.download(upload.slug, dest, opened)
    h.wait_transfers()
    assert download.state == DONE, download.error
    assert landed(dest) == tree_bytes(source)
    # the cache opens cleanly beside the window's and knows every file
    cache = CacheStore(isolated_dirs.cache_root, profile.name, profile.user_id)
    try:
        assert len(cache.files(upload.slug)) == 80
    finally:
        cache.close()


def test_a_service_built_by_hand_transfers_on_a_thread(make_window: Any, tmp_path: Path) -> None:
    service = ProjectService(LocalRepository(tmp_path / "store"))
    h = make_window(service)
    source = project(tmp_path / "src", 5, 1000)
    upload = push(h, source, "Thread App")
    h.wait_transfers()
    assert upload.state == DONE, upload.error
    assert h.window.tasks._process is None  # no worker was started: the window's service has no recipe
    assert isinstance(h.window.service, CachedProjectService) and h.window.service.transfer_recipe() is None


def test_closing_the_window_mid_transfer_stops_the_worker(
    make_window: Any, opened: CachedProjectService, tmp_path: Path, limits_restored: None
) -> None:
    h = make_window(opened)
    seen = spy_progress(h)
    BANDWIDTH.set_limits(SLOW)
    upload = push(h, project(tmp_path / "src", 80, 25_000), "Closed App")
    h.qtbot.waitUntil(lambda: any(p.files_done > 0 for p in seen), timeout=30000)
    process = h.window.tasks.transfer_process()
    assert process is not None and process.pid is not None
    worker = process.pid
    h.window.force_close()  # cancels the transfers, then Tasks.shutdown: "stop" to the worker
    h.window.tasks.shutdown(wait=True)  # waits for the worker to exit (it is reaped here)
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)
    assert len(opened.repo.list_files(upload.slug)) < 80  # the worker stopped between files rather than finishing


def test_pause_all_and_resume_reach_the_worker(
    make_window: Any, opened: CachedProjectService, tmp_path: Path, limits_restored: None
) -> None:
    h = make_window(opened)
    seen = spy_progress(h)
    BANDWIDTH.pause()  # Pause All Transfers, before the upload starts: the run carries it
    upload = push(h, project(tmp_path / "src", 20, 5_000), "Paused App")
    h.qtbot.wait(1500)  # an observation window, not a synchronisation: nothing may move while paused
    assert not any(p.files_done for p in seen) and upload.state != DONE
    assert opened.repo.list_files(upload.slug) == []
    BANDWIDTH.resume()  # Resume Transfers: forwarded while the run is in flight
    h.wait_transfers()
    assert upload.state == DONE, upload.error
    assert len(opened.repo.list_files(upload.slug)) == 20
