"""Sharing whole projects by link: `share SLUG`, and `shares` (list; `shares revoke ID`, `shares link ID`,
`shares --add-lifecycle`). The snapshots and their links: services/share.py, core/shares.py.

Listing the shares also removes the expired ones (and unfinished uploads of killed shares), as the window does
when it opens a store. The services are imported inside the commands, as in the other command modules.
"""

from __future__ import annotations

import sys
from typing import Any

from projectdesk.cli.common import Context, PartlyDone, date_text, print_json, table, warn
from projectdesk.cli.progress import TerminalProgress
from projectdesk.core import shares
from projectdesk.core.display import printable
from projectdesk.core.sizes import human_bytes

DEFAULT_EXPIRES = "1d"
LIFECYCLE_ADDED = (
    "Added the lifecycle rule '{rule}' to bucket '{bucket}': the server deletes snapshots under shares/ {days} days "
    "after they were made (no link lives longer), and unfinished uploads after a day."
)
LIFECYCLE_PRESENT = "Bucket '{bucket}' has the lifecycle rule '{rule}' already: the server deletes expired snapshots."


def share(ctx: Context) -> int:
    """Snapshot a project as a zip on the server and print a link anyone can download it with."""
    from projectdesk.services.share import share_project

    a = ctx.args
    seconds = shares.parse_duration(a.expires)
    bar = TerminalProgress("share")
    try:
        made = share_project(ctx.service(), a.slug, seconds, progress=bar)
    finally:
        bar.close()
    for path in made.skipped:
        warn(f"left out of the zip: {printable(repr(path))} (not a safe file name)")
    if a.json:
        print_json(made.to_json())
    else:
        print(printable(shares.share_sentence(made)))
        print(made.url)
    if made.skipped:
        raise PartlyDone(f"{len(made.skipped)} file(s) with unsafe names were left out of the snapshot.")
    return 0


def list_shares(ctx: Context) -> int:
    """The snapshots shared from this store, newest first; expired ones are removed on the way."""
    from projectdesk.services import share as service_share
    from projectdesk.storage.share_store import share_store

    a = ctx.args
    service = ctx.service()
    if a.add_lifecycle:
        added = service_share.add_lifecycle_rule(service)
        bucket = share_store(service.repo).bucket
        text = LIFECYCLE_ADDED if added else LIFECYCLE_PRESENT
        print(printable(text.format(rule=shares.LIFECYCLE_RULE_ID, bucket=bucket, days=shares.LIFECYCLE_DAYS)),
              file=sys.stderr if a.json else sys.stdout)  # fmt: skip
    listing = service_share.list_shares(service)
    if listing.removed:
        print(f"Removed {listing.removed} expired snapshot(s).", file=sys.stderr)
    if a.json:
        print_json([s.to_json() for s in listing.shares])
        return 0
    if not listing.shares:
        print("No project is shared by link from this store.")
        return 0
    rows = [[s.share_id, s.slug, date_text(s.created_at), date_text(s.expires_at), f"{s.files_count:,}",
             human_bytes(s.size)] for s in listing.shares]  # fmt: skip
    table(rows, ["SHARE ID", "PROJECT", "CREATED", "EXPIRES", "FILES", "SIZE"])
    return 0


def revoke(ctx: Context) -> int:
    """Delete a snapshot: its link stops working at once."""
    from projectdesk.services import share as service_share

    service = ctx.service()
    found = service_share.find_share(service, ctx.args.share_id)
    service_share.revoke(service, found)
    if ctx.args.json:
        print_json({"revoked": found.share_id, "slug": found.slug})
    else:
        print(f"Revoked the link to {printable(found.slug)}'s snapshot {found.share_id}: it no longer works.")
    return 0


def link(ctx: Context) -> int:
    """A fresh link to a snapshot, valid for the rest of its lifetime."""
    from projectdesk.services import share as service_share

    service = ctx.service()
    fresh = service_share.fresh_link(service, service_share.find_share(service, ctx.args.share_id))
    if ctx.args.json:
        print_json(fresh.to_json())
    else:
        print(printable(shares.share_sentence(fresh)))
        print(fresh.url)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "share",
        help="share a whole project by link: a zip snapshot of it, downloadable by anyone with the link",
        description="Make a zip snapshot of the project as it is on the server now (stored beside the projects "
        "under shares/) and print a link anyone can download it with until it expires. 'shares' lists them, "
        "'shares revoke ID' ends one at once.",
    )
    p.add_argument("slug")
    p.add_argument("--expires", default=DEFAULT_EXPIRES, metavar="DURATION",
                   help="how long the link works: 1h to 7d (S3's limit), e.g. 90m, 12h, 3d; default 1d")  # fmt: skip
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=share)

    p = sub.add_parser(
        "shares",
        help="list the projects shared by link (removes expired snapshots); revoke ID, link ID",
        description="List the snapshots shared from this store, newest first; expired ones are deleted on the way. "
        "'shares revoke ID' deletes one (its link stops working at once); 'shares link ID' prints a fresh link for "
        "the rest of its lifetime.",
    )
    p.add_argument("--add-lifecycle", action="store_true",
                   help="also ask the bucket to delete snapshots itself after 7 days (a lifecycle rule)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=list_shares)
    actions = p.add_subparsers(dest="shares_action", metavar="ACTION")
    r = actions.add_parser("revoke", help="delete a snapshot: its link stops working at once")
    r.add_argument("share_id", metavar="SHARE_ID")
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.set_defaults(handler=revoke)
    r = actions.add_parser("link", help="print a fresh link to a snapshot, valid for the rest of its lifetime")
    r.add_argument("share_id", metavar="SHARE_ID")
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.set_defaults(handler=link)
