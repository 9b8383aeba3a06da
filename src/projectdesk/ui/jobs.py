"""Uploads, imports and downloads as rows of the transfers panel: started here, run in the transfer process (or
the transfer pool, for a service that cannot be opened there: `Tasks.service_transfer`), with progress carried to
the GUI thread, cancel, retry and a failure reason for every row."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Signal

from projectdesk.core.errors import Cancelled, ProjectDeskError
from projectdesk.ui.staging import remove_staging, staged_links
from projectdesk.ui.tasks import ProgressRelay, Tasks
from projectdesk.ui.transfers import CANCELLED, DONE, FAILED, Transfer, TransferModel

if TYPE_CHECKING:
    from projectdesk.services.folder_sync import FolderReport
    from projectdesk.services.projects import ProjectService, PushPlan, PushResult

Track = Callable[[Coroutine[Any, Any, None]], object]


class Feedback(Protocol):
    """How a job speaks to the user (the main window)."""

    def report_error(self, error: BaseException) -> None: ...

    def notify(self, message: str, *, timeout_ms: int = ...) -> None: ...

    def warn(self, title: str, message: str) -> None: ...


def _push_title(source: Path, plan: PushPlan) -> str:
    if not plan.is_new:
        return f"{source.name} → {plan.name}"
    return f"{source.name} (new project)" if plan.name == source.name else f"{source.name} → new project {plan.name}"


class TransferJobs(QObject):
    """Runs transfers for the window.

    Args:
        tasks: the thread pools (transfers run in their own pool).
        model: the transfers panel's model; each job is one row.
        feedback: where messages and errors go.
        track: starts a coroutine the window keeps track of (closing the window cancels it).

    Signals:
        started(Transfer): a row was added.
        uploaded(object, str): a push or an import into this service and slug ended (refresh the views).
    """

    started = Signal(object)
    uploaded = Signal(object, str)

    def __init__(
        self, tasks: Tasks, model: TransferModel, feedback: Feedback, track: Track, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._model = model
        self._feedback = feedback
        self._track = track

    def _relay(self, transfer: Transfer) -> ProgressRelay:
        """The transfer's progress callback. Each run ends with `relay.deleteLater()`, which closes it first:
        when the run is cancelled (the window closes) the worker may still be reporting, into nothing."""
        relay = ProgressRelay(self)
        relay.progressed.connect(lambda progress: self._model.update_progress(transfer, progress))
        return relay

    def _add(self, transfer: Transfer) -> Transfer:
        self._model.add(transfer)
        self.started.emit(transfer)
        return transfer

    def retry(self, transfer: Transfer) -> None:
        """Start a failed or cancelled transfer again (as a new row)."""
        if transfer.retry is not None:
            retry, transfer.retry = transfer.retry, None
            retry()
            self._model.changed(transfer)

    # ---- uploads ----------------------------------------------------------------------------------

    def push(
        self, plan: PushPlan, source: Path, service: ProjectService, *, title: str = "", staging: Path | None = None
    ) -> Transfer:
        """Send a previewed plan; `staging` (a temporary folder of links) is removed once all went up."""
        scan = plan.scan
        transfer = self._add(
            Transfer(
                "Upload",
                title or _push_title(source, plan),
                detail=f"{len(scan.ignored):,} skipped by ignore rules" if scan.ignored else "",
                slug=plan.slug,
                files_total=len(plan.to_upload),
                bytes_total=sum(item.size for item in plan.to_upload),
            )
        )

        async def again() -> None:
            retry_source = staging if staging is not None and staging.exists() else source
            bridges = await self._tasks.call(staged_links, retry_source) if retry_source is staging else []
            fresh = await self._tasks.call(
                service.plan_push, retry_source, name=plan.name, slug=plan.slug, remember=plan.remember,
                bridges=bridges,
            )  # fmt: skip
            if fresh.limit_error is not None:
                raise fresh.limit_error
            self._model.finish(transfer, CANCELLED, error="Retried below.")
            self.push(fresh, source, service, title=transfer.title, staging=staging)

        transfer.retry = lambda: self._track(again())
        self._track(self._run_push(transfer, plan, service, staging))
        return transfer

    async def _run_push(
        self, transfer: Transfer, plan: PushPlan, service: ProjectService, staging: Path | None
    ) -> None:
        relay = self._relay(transfer)
        self._model.start(transfer)
        keep_staging = True  # kept for Retry unless everything went up
        try:
            result: PushResult = await self._tasks.service_transfer(
                service, "push", plan, progress=relay, cancel=transfer.cancel
            )
        except Cancelled as exc:
            self._model.finish(
                transfer, CANCELLED, error=f"{exc.message} Files already sent are complete; Retry sends the rest."
            )
            self._feedback.notify(f"Upload cancelled: {transfer.title}")
        except ProjectDeskError as exc:
            self._model.finish(transfer, FAILED, error=f"{exc.title}: {exc.message}")
            self._feedback.report_error(exc)
        else:
            if result.failed and transfer.cancel.is_set():  # stopped by the user, reported as failed items
                self._model.finish(
                    transfer,
                    CANCELLED,
                    error=f"Cancelled after {len(result.uploaded):,} of {len(plan.to_upload):,} files. "
                    "Files already sent are complete; Retry sends the rest.",
                    failures=[(path, error.message) for path, error in result.failed],
                )
            elif result.failed:
                failures = [(path, error.message) for path, error in result.failed]
                self._model.finish(
                    transfer,
                    FAILED,
                    error=f"{len(failures)} of {len(plan.to_upload)} files failed (first: {failures[0][0]}: "
                    f"{failures[0][1]}). Retry sends them again.",
                    failures=failures,
                )
                self._feedback.warn("Upload incomplete", transfer.error)
            else:
                keep_staging = False
                transfer.retry = None
                skipped = [transfer.detail] if transfer.detail else []
                if plan.unchanged:
                    skipped.append(f"{len(plan.unchanged):,} unchanged")
                self._model.finish(transfer, DONE, detail=", ".join(skipped))
                self._feedback.notify(f"{result.summary()} — {plan.name}")
        finally:
            relay.deleteLater()
            if staging is not None and not keep_staging:
                await self._tasks.call(remove_staging, staging)
        self.uploaded.emit(service, plan.slug)

    # ---- downloads --------------------------------------------------------------------------------

    def download(self, slug: str, dest: Path, service: ProjectService) -> Transfer:
        """Bring a project into the working folder `dest` (three-way: nothing changed there is overwritten)."""
        transfer = self._add(Transfer("Download", f"{slug} → {dest}", slug=slug))

        async def again() -> None:
            self._model.finish(transfer, CANCELLED, error="Retried below.")
            self.download(slug, dest, service)

        transfer.retry = lambda: self._track(again())
        self._track(self._run_download(transfer, slug, dest, service))
        return transfer

    async def _run_download(self, transfer: Transfer, slug: str, dest: Path, service: ProjectService) -> None:
        relay = self._relay(transfer)
        self._model.start(transfer)
        try:
            report: FolderReport = await self._tasks.service_transfer(
                service, "pull", slug, dest, progress=relay, cancel=transfer.cancel
            )
        except Cancelled as exc:
            self._model.finish(transfer, CANCELLED, error=f"{exc.message} Retry downloads again.")
            return
        except ProjectDeskError as exc:
            self._model.finish(transfer, FAILED, error=f"{exc.title}: {exc.message}")
            self._feedback.report_error(exc)
            return
        finally:
            relay.deleteLater()
        failures = [(path, error.message) for path, error in report.failed]
        failures += [(path, f"skipped: {why}") for path, why in report.skipped]
        failures += [(c.path, c.message) for c in report.conflicts]
        if report.failed:
            self._model.finish(transfer, FAILED, error=f"{len(report.failed)} files failed.", failures=failures)
        else:
            transfer.retry = None
            notes = [f"{len(report.skipped)} skipped"] if report.skipped else []
            notes += [f"{len(report.conflicts)} conflict(s), both versions kept"] if report.conflicts else []
            self._model.finish(transfer, DONE, detail=", ".join(notes), failures=failures)
            self._feedback.notify(f"{report.summary()} — {dest}")
