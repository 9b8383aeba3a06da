"""Listing every project of a user fast: the catalog checked against the slug listing, one listing of the
user's prefix for the projects the catalog does not know, derived info remembered by ETag.

A run (`ProjectLister.list_projects`):

1. The catalog object (`core/catalog.py`) is read — If-None-Match on the copy the memo holds, so an
   unchanged one is a 304 — then the slugs are listed (in pieces at once, split at the catalog's slugs) while
   the manifests of the `CHECKS_PER_RUN` entries checked longest ago are read If-None-Match their recorded
   ETag (a manifest another tool changed is noticed within len(catalog) / CHECKS_PER_RUN runs).
2. Slugs the catalog knows are listed from it at once (the first batch). Entries without a slug are dropped.
3. The other slugs — projects another tool wrote, or whose catalog update was lost — come from one listing of
   their part of the user's prefix (`storage/listing.py`): those with a manifest are read from it, those
   without one are derived from their files, the tech stack from the few files detection reads, fetched only
   when the ETags of the project's files changed since last time (`cache/listing_memo.py`).
4. When what was found differs from the catalog, the catalog is written back If-Match the version read
   (a lost race is left to the next run). Never does a catalog problem fail the listing.

Writers (`CatalogWriter`): every manifest write and project deletion updates the catalog after the fact,
read-modify-write with If-Match and a few attempts, best effort (logged, never raised).
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final, Literal

from projectdesk.cache.listing_memo import Derived, ListingMemo
from projectdesk.core import techstack
from projectdesk.core.catalog import Catalog, CatalogEntry, CatalogInvalid
from projectdesk.core.errors import AuthError, BucketMissing, Cancelled, Conflict, Offline, ProjectDeskError
from projectdesk.core.models import Manifest, ManifestInvalid, ProjectInfo
from projectdesk.storage.listing import CatalogRead, ListingBackend, ProjectObjects, backend_for
from projectdesk.storage.repository import Repository

log = logging.getLogger(__name__)

CHECKS_PER_RUN = 64  # catalog entries whose manifest is re-read (If-None-Match) per run
READ_THREADS = 16
CHECK_THREADS = 8  # the slug listing and the manifest checks (starting threads costs, on a busy machine)
CATALOG_ATTEMPTS = 8
FATAL = (AuthError, BucketMissing, Offline, Cancelled)  # not one project's fault: the whole listing fails

UNCHANGED: Final = "unchanged"  # a manifest check found the version the catalog records
Checked = CatalogEntry | None | Literal["unchanged"]

# (projects that arrived, how many have arrived so far, how many are expected): called on the listing's thread
OnBatch = Callable[[list[ProjectInfo], int, int], None]


def fingerprint(objects: ProjectObjects) -> str:
    """What a manifest-less project's derived stack depends on: its files' paths and ETags."""
    digest = hashlib.sha256()
    for entry in sorted(objects.files, key=lambda e: e.path):
        digest.update(f"{entry.path}\0{entry.etag}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class CatalogWriter:
    """Keeps the catalog in step with the manifests this process writes (best effort)."""

    def __init__(self, repo: Repository, memo: ListingMemo, backend: ListingBackend | None = None) -> None:
        self.repo = repo
        self.memo = memo
        self.backend = backend or backend_for(repo)
        self.unchanged = False  # the last read was a 304: the catalog is still the copy held

    def read(self) -> tuple[Catalog | None, str | None]:
        """The catalog (None when there is none or it is unusable: logged) and its version."""
        held = self.memo.catalog_version()
        return self.settle(self.backend.read_catalog(if_none_match=held), held)

    def settle(
        self, read: CatalogRead, held: str | None, parsed: Catalog | None = None
    ) -> tuple[Catalog | None, str | None]:
        """The catalog `read` (asked If-None-Match `held`, the memo's version, whose parsed copy `parsed` the
        caller may have loaded already) and its version; the memo updated."""
        self.unchanged = read.unchanged and held is not None
        if self.unchanged and held is not None:
            etag = held
            catalog = parsed if parsed is not None else self.memo.parsed_catalog(held, self.repo.user_id)
            if catalog is not None:  # as parsed and checked when it was read: 3× faster than parsing it again
                return catalog, etag
            kept = self.memo.catalog()
            if kept is None or kept[0] != held:  # the memo changed meanwhile (another process): read it whole
                self.memo.put_catalog(None, None)
                return self.read()
            data = kept[1]
        elif read.data is None or read.etag is None:
            self.memo.put_catalog(None, None)
            return None, read.etag
        else:
            etag, data = read.etag, read.data
            self.memo.put_catalog(etag, data)
        try:
            catalog = Catalog.from_bytes(data, self.repo.user_id)
        except CatalogInvalid as exc:
            log.warning("the project catalog is unreadable (%s); projects are read directly and it is rewritten", exc)
            return None, etag
        if catalog.dropped:
            log.warning("%d entries of the project catalog were unreadable; those projects are read directly",
                        catalog.dropped)  # fmt: skip
        else:
            self.memo.put_parsed_catalog(etag, catalog)
        return catalog, etag

    def write(self, catalog: Catalog, base: str | None) -> bool:
        """Write `catalog` over version `base` (none: only if there is none); False when someone else wrote it
        first or the store refused (logged)."""
        data = catalog.to_bytes()
        try:
            etag = self.backend.write_catalog(data, if_match=base, if_none_match=base is None)
        except Conflict:
            return False
        except ProjectDeskError as exc:
            log.info("the project catalog could not be written: %s", exc)
            return False
        self.memo.put_catalog(etag, data)
        self.memo.put_parsed_catalog(etag, catalog)
        return True

    def change(self, apply: Callable[[Catalog], None]) -> None:
        """Read, apply, write If-Match; again when another writer got there first. Never raises."""
        if not self.backend.supports_catalog:
            return
        for attempt in range(CATALOG_ATTEMPTS):
            try:
                catalog, etag = self.read()
            except ProjectDeskError as exc:
                log.info("the project catalog could not be read to update it: %s", exc)
                return
            updated = Catalog(self.repo.user_id, dict(catalog.entries) if catalog is not None else {})
            apply(updated)
            if catalog is not None and updated.same_entries(catalog):
                return
            if self.write(updated, etag):
                return
            self.memo.put_catalog(None, None)  # someone else's version is newer: read it whole again
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # writers that collided do not collide again
        log.info("the project catalog kept changing; left for the next listing to repair")

    def record(self, manifest: Manifest, etag: str) -> None:
        """The manifest of `manifest.slug` is now version `etag`."""
        info = ProjectInfo.from_manifest(manifest, self.repo.user_id)

        def put(catalog: Catalog) -> None:
            catalog.entries[manifest.slug] = CatalogEntry(info, etag)

        self.change(put)

    def forget(self, slug: str) -> None:
        def drop(catalog: Catalog) -> None:
            catalog.entries.pop(slug, None)

        self.change(drop)


class ProjectLister:
    """One user's projects, listed as the module says."""

    def __init__(self, repo: Repository, memo: ListingMemo, *, checks_per_run: int = CHECKS_PER_RUN) -> None:
        self.repo = repo
        self.memo = memo
        self.backend = backend_for(repo)
        self.writer = CatalogWriter(repo, memo, self.backend)
        self.checks_per_run = checks_per_run
        # The last listing found exactly what the one before it did: the catalog unchanged (a 304), every
        # entry checked unchanged, no project it lacks, none it has in excess.
        self.unchanged = False

    def list_projects(
        self, on_batch: OnBatch | None = None, cancel: threading.Event | None = None, *, check_all: bool = False
    ) -> list[ProjectInfo]:
        """Every project, newest first; `on_batch` hears them as they arrive — the catalog's at once, before the
        slug listing has confirmed them: the list returned is the truth, rows heard of and not in it are gone.
        `check_all`: every catalog entry's manifest is checked this run (`projectdesk-cli list --check`)."""
        catalog: Catalog | None = None
        base: str | None = None
        self.unchanged = False
        with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
            slugs_asked: Future[list[str]] | None = None
            early: tuple[list[str], Iterator[list[tuple[str, Checked]]]] | None = None
            if self.backend.supports_catalog:
                held = self.memo.catalog_version()
                read = pool.submit(self.backend.read_catalog, if_none_match=held)
                # While the catalog is asked for (a 304 when it is the copy held), the slugs are listed, cut at
                # the held copy's slugs (only the pieces' sizes depend on them), and its entries checked longest
                # ago are checked: the requests are all under way before the held copy is even loaded.
                outline = self.memo.catalog_outline(held) if held is not None else None
                if outline is not None:
                    slugs_asked = pool.submit(self.backend.list_slugs_split, list(outline))
                    chosen = list(outline) if check_all else self.memo.least_checked(list(outline), self.checks_per_run)
                    early = (chosen, self._start_checks(pool, [(slug, outline[slug]) for slug in chosen]))
                parsed = self.memo.parsed_catalog(held, self.repo.user_id) if held is not None and outline else None
                try:
                    catalog, base = self.writer.settle(read.result(), held, parsed)
                except FATAL:
                    raise
                except ProjectDeskError as exc:
                    log.warning("the project catalog could not be read (%s); projects are read directly", exc)
            entries = dict(catalog.entries) if catalog is not None else {}
            if slugs_asked is None:
                slugs_asked = pool.submit(self.backend.list_slugs_split, list(entries))
            if early is not None and self.writer.unchanged and catalog is parsed:  # checked the very entries held
                checking, answers = early
            else:
                checking = list(entries) if check_all else self.memo.least_checked(list(entries), self.checks_per_run)
                answers = self._start_checks(pool, [(slug, entries[slug].manifest_etag) for slug in checking])
            shown = dict(entries)  # what the caller was told so far
            if on_batch is not None and shown:  # at once, while the slugs are listed: the catalog is rarely wrong
                on_batch([entry.info for entry in shown.values()], len(shown), len(shown))
            checks = [(slug, entries[slug] if result == UNCHANGED else result) for chunk in answers
                      for slug, result in chunk if slug in entries]  # fmt: skip
            slugs = slugs_asked.result()
        self.memo.mark_checked(checking, time.time())
        for slug, checked in checks:
            if checked is None:
                entries.pop(slug, None)  # gone or unreadable: read with the unknown ones
            else:
                entries[slug] = checked
        listed = set(slugs)
        total = len(slugs)
        found: dict[str, ProjectInfo] = {}
        known = [entry.info for slug, entry in entries.items() if slug in listed]
        for info in known:
            found[info.slug] = info
        news = [info for info in known if shown.get(info.slug) != entries[info.slug]]  # checks changed them
        if on_batch is not None and news:
            on_batch(news, len(found), total)
        unknown = [slug for slug in slugs if slug not in found]
        fresh: dict[str, CatalogEntry] = {}
        for batch in self.backend.list_project_objects(unknown, slugs):
            if cancel is not None and cancel.is_set():
                raise Cancelled("Listing the projects was cancelled.")
            infos = self._infos(batch, fresh)
            for info in infos:
                found[info.slug] = info
            if on_batch is not None and infos:
                on_batch(infos, len(found), total)
        if self.backend.supports_catalog:
            repaired = Catalog(self.repo.user_id, {s: e for s, e in entries.items() if s in listed} | fresh)
            stale = catalog is None or not repaired.same_entries(catalog)
            if stale and not self.writer.write(repaired, base):
                log.info("the project catalog changed meanwhile; it is repaired on a later listing")
            self.unchanged = self.writer.unchanged and not stale and not unknown
        return sorted(found.values(), key=lambda p: (-p.updated_date, p.slug))

    def _start_checks(
        self, pool: ThreadPoolExecutor, wanted: list[tuple[str, str]]
    ) -> Iterator[list[tuple[str, Checked]]]:
        """The manifests of `wanted` (slug, the version the catalog records) read If-None-Match that version, in
        a few jobs (submitting costs); the results as `pool.map` gives them."""
        chunks = [wanted[i :: CHECK_THREADS - 1] for i in range(CHECK_THREADS - 1)]
        return pool.map(lambda chunk: [(slug, self._check(slug, etag)) for slug, etag in chunk], chunks)

    def _check(self, slug: str, etag: str) -> Checked:
        """The entry as the manifest of `slug` is now: UNCHANGED when still version `etag` (or not checkable
        now), None when gone or unreadable."""
        try:
            data, version, changed = self.backend.read_manifest_if_changed(slug, etag)
        except FATAL:
            raise
        except ProjectDeskError as exc:
            log.info("manifest of %s could not be checked: %s", slug, exc)
            return UNCHANGED
        if not changed:
            return UNCHANGED
        if data is None or version is None:
            return None
        try:
            manifest = Manifest.from_bytes(data, slug=slug)
        except ManifestInvalid:
            return None
        return CatalogEntry(ProjectInfo.from_manifest(manifest, self.repo.user_id), version)

    # ---- projects the catalog does not know ---------------------------------------------------------

    def _infos(self, batch: Sequence[ProjectObjects], fresh: dict[str, CatalogEntry]) -> list[ProjectInfo]:
        with_manifest = [p for p in batch if p.manifest is not None]
        without = [p for p in batch if p.manifest is None and p.files]
        infos: list[ProjectInfo] = []
        with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
            for objects, result in zip(with_manifest, pool.map(self._from_manifest, with_manifest), strict=True):
                if isinstance(result, CatalogEntry):
                    fresh[objects.slug] = result
                    infos.append(result.info)
                elif result is not None:
                    infos.append(result)
            infos += self._derive_all(without, pool)
        return infos

    def _from_manifest(self, objects: ProjectObjects) -> CatalogEntry | ProjectInfo | None:
        slug = objects.slug
        try:
            data, etag = self.repo.read_manifest_versioned(slug)
        except FATAL:
            raise
        except ProjectDeskError as exc:
            log.warning("could not read project %s: %s", slug, exc)
            return self._unreadable(slug, f"it could not be read ({exc})")
        if data is None or etag is None:  # removed since the listing
            return self._derive(objects, {}) if objects.files else None
        try:
            manifest = Manifest.from_bytes(data, slug=slug)
        except ManifestInvalid as exc:
            log.warning("manifest of %s is unreadable (%s); listing the project from its files", slug, exc)
            if not objects.files:
                return self._unreadable(slug, f"its manifest is unreadable ({exc}); listed from its files")
            info = self._derive(objects, self._contents(objects))
            info.warning = f"its manifest is unreadable ({exc}); listed from its files"
            return info
        return CatalogEntry(ProjectInfo.from_manifest(manifest, self.repo.user_id), etag)

    def _unreadable(self, slug: str, why: str) -> ProjectInfo:
        return ProjectInfo(slug, slug, self.repo.user_id, 0.0, 0.0, 0, 0, [], False, False,
                           has_manifest=False, warning=why)  # fmt: skip

    def _derive_all(self, projects: Sequence[ProjectObjects], pool: ThreadPoolExecutor) -> list[ProjectInfo]:
        """Manifest-less projects: stacks from the memo where the files' ETags match, else from their files."""
        if not projects:
            return []
        prints = {p.slug: fingerprint(p) for p in projects}
        remembered = self.memo.derived(prints)
        infos: list[ProjectInfo] = []
        todo: list[ProjectObjects] = []
        for objects in projects:
            held = remembered.get(objects.slug)
            if held is not None and held.fingerprint == prints[objects.slug]:
                info = self._derive(objects, None)
                info.tech_stack, info.has_frontend, info.has_backend = list(held.tech_stack), held.has_frontend, \
                    held.has_backend  # fmt: skip
                infos.append(info)
            else:
                todo.append(objects)
        learnt: dict[str, Derived] = {}
        for objects, contents in zip(todo, pool.map(self._contents, todo), strict=True):
            info = self._derive(objects, contents)
            learnt[objects.slug] = Derived(prints[objects.slug], list(info.tech_stack), info.has_frontend,
                                           info.has_backend)  # fmt: skip
            infos.append(info)
        self.memo.put_derived(learnt)
        return infos

    def _contents(self, objects: ProjectObjects) -> dict[str, bytes]:
        contents: dict[str, bytes] = {}
        for entry in objects.files:
            if techstack.is_interesting(entry.path) and entry.size <= techstack.INTERESTING_MAX_BYTES:
                try:
                    contents[entry.path] = self.repo.read_file(objects.slug, entry.path)
                except FATAL:
                    raise
                except ProjectDeskError as exc:
                    log.warning("could not read %s of %s for its tech stack: %s", entry.path, objects.slug, exc)
        return contents

    def _derive(self, objects: ProjectObjects, contents: dict[str, bytes] | None) -> ProjectInfo:
        """As `Repository.derive_info`, from files already listed (`contents` None: the stack is filled in
        by the caller)."""
        entries = objects.files
        stack = techstack.detect((e.path for e in entries), contents) if contents is not None else None
        times = [e.last_modified for e in entries] or [0.0]
        return ProjectInfo(
            name=objects.slug,
            slug=objects.slug,
            user_id=self.repo.user_id,
            created_date=min(times),
            updated_date=max(times),
            files_count=len(entries),
            total_bytes=sum(e.size for e in entries),
            tech_stack=stack.tech_stack if stack else [],
            has_frontend=stack.has_frontend if stack else False,
            has_backend=stack.has_backend if stack else False,
            has_manifest=False,
        )
