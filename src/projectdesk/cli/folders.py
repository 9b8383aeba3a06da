"""Working folders kept in sync: `sync FOLDER --watch`, `folders` (the bound folders), `unbind FOLDER`."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from projectdesk.cli.common import EXIT_OK, CliError, Context, date_text, print_json, table
from projectdesk.core.display import printable


def watch(ctx: Context) -> int:
    """Sync FOLDER once, then keep it in two-way sync until Ctrl+C or SIGTERM (services/watch.py)."""
    from projectdesk.services.watch import FolderWatch, WatchEvent, WatchState, WatchTiming

    folder = Path(ctx.args.folder)
    service = ctx.service()
    slug = ctx.args.slug
    if service.folders.binding(folder, slug) is None and slug is None:
        raise CliError(
            f"{printable(str(folder))} is not a working folder yet: push or pull it once first (or give --slug)."
        )
    interval = float(ctx.args.interval)
    if not 0.2 <= interval <= 3600:
        raise CliError("--interval is in seconds, between 0.2 and 3600.")
    timing = WatchTiming(poll_first=interval, poll_longest=max(interval, min(interval * 15, 60.0)))
    as_json = bool(ctx.args.json)

    def say(event: WatchEvent) -> None:
        if event.state == WatchState.SYNCING:
            return
        stamp = time.strftime("%H:%M:%S")
        if as_json:
            data: dict[str, Any] = {"time": stamp, "state": event.state.value, "line": event.line()}
            if event.report is not None:
                data["report"] = event.report.to_json()
            if event.error is not None:
                data["error"] = event.error.message
            data["waiting"] = event.waiting
            print_json(data, one_line=True)
            sys.stdout.flush()
        elif event.state == WatchState.STOPPED:
            waiting = (
                f"; {event.waiting} local change(s) not sent yet (the next sync sends them)" if event.waiting else ""
            )
            print(f"{stamp} stopped watching {printable(str(folder))}{waiting}", flush=True)
        elif event.report is None or event.reason == "start" or event.report.uploaded or event.report.downloaded \
                or event.report.conflicts or event.report.failed or event.report.deleted_local \
                or event.report.deleted_remote:  # fmt: skip
            print(f"{stamp} {printable(event.line())}", flush=True)
        sys.stdout.flush()

    job = FolderWatch(service, folder, slug, on_event=say, timing=timing)
    stops = 0

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stops
        stops += 1
        if stops > 1:
            raise KeyboardInterrupt  # a second Ctrl+C: do not wait for the round to end
        job.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if not as_json:
            print(f"Watching {printable(str(folder))} (Ctrl+C stops)", flush=True)
        job.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


def folders(ctx: Context) -> int:
    """The working folders bound on this machine, with their profile, project, last sync and state."""
    from projectdesk.services.watch import local_changes
    from projectdesk.services.workfolders import FolderStates

    states = FolderStates(ctx.paths.data_dir)
    try:
        rows: list[dict[str, Any]] = []
        for record in states.records():
            binding = record.binding
            exists = binding.folder.is_dir()
            waiting = len(local_changes(binding.folder, states.bases(binding))) if exists else 0
            state = record.last_state or "never synced"
            if not exists:
                state = "folder missing"
            elif waiting:
                state = f"{waiting} local change{'s' if waiting != 1 else ''} waiting" + (
                    f" ({state})" if state != "in sync" else ""
                )
            rows.append(
                {
                    "folder": str(binding.folder),
                    "profile": record.profile,
                    "project": binding.slug,
                    "store": binding.store,
                    "bound": record.bound_at,
                    "last_sync": record.last_sync,
                    "local_changes": waiting,
                    "state": state,
                }
            )
    finally:
        states.close()
    if ctx.args.json:
        print_json(rows)
        return EXIT_OK
    if not rows:
        print("No working folders yet: `projectdesk-cli pull SLUG FOLDER` or `push FOLDER` makes one.")
        return EXIT_OK
    table(
        [[r["folder"], r["profile"] or "?", r["project"], date_text(r["last_sync"] or 0), r["state"]] for r in rows],
        ["FOLDER", "PROFILE", "PROJECT", "LAST SYNC", "STATE"],
    )
    return EXIT_OK


def unbind(ctx: Context) -> int:
    """Stop treating FOLDER as a working folder (its files stay where they are)."""
    folder = Path(ctx.args.folder)
    service = ctx.service()
    binding = service.folders.binding(folder, ctx.args.slug)
    if binding is None:
        raise CliError(f"{printable(str(folder))} is not a working folder of this profile's store.")
    service.folders.unbind(folder, binding.slug)
    print(f"{printable(str(binding.folder))} is no longer the working folder of '{printable(binding.slug)}'; "
          "its files stay.")  # fmt: skip
    return EXIT_OK


def register(sub: Any) -> None:
    p = sub.add_parser("folders", help="list the working folders bound on this machine", description=folders.__doc__)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=folders)
    p = sub.add_parser("unbind", help="stop treating FOLDER as a working folder (the files stay)",
                       description=unbind.__doc__)  # fmt: skip
    p.add_argument("folder")
    p.add_argument("--slug", help="the project (when the folder is bound to several)")
    p.set_defaults(handler=unbind)
