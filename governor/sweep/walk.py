"""One inventory sweep: everything the key can see, read concurrently under the pacer.

Why this shape: the rate limit, not the latency, should bound a sweep, so every project's
reads run concurrently (bounded by ``concurrency`` requests in flight), and project tasks
start as soon as their page of the project list arrives. A project costs two requests (its
branches, in one page up to 10,000, and its computes): the project list's items are what
the policies read, and a project's detail is read only when a loaded policy needs a field
only the detail has (the ``wants_detail`` predicate ``governor.pipeline.detail`` builds),
or the list reported it unavailable. The same goes for the detail only some policies read
(``WantsExtra``): a project's snapshots, its branches' backup schedules, its computes'
activations (its operations), an organization's spending limit.
A part that cannot be read after the client's retries becomes an ``IncompletePart`` and
the sweep goes on: unknown is never "gone". Only a 401 (the key itself is refused) aborts the sweep.

An object listed twice (in one page, across pages or listings) is kept once, the first
time it was seen, so no later stage meets one id twice. The server's clock skew goes on
the snapshot: remediation must not judge ages by a clock days off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from governor.model.snapshot import IncompletePart, KeyScope, PartKind, Snapshot, Spooled
from governor.neon.client import NeonClient
from governor.neon.errors import NeonAuthError, NeonError, NeonNotFound, auth_hint
from governor.neon.models import ApiKey, Branch, Endpoint, Organization, Project, ProjectSnapshot
from governor.sweep.assemble import (
    Deduplicator,
    OrganizationNotVisible,
    OrgResult,
    ProjectResult,
    branch_pages,
    build_snapshot,
    first_error,
    inferred_org_ids,
    minimum_requests,
    settle_scope,
    warn_about_skew,
)
from governor.sweep.spool import ProjectSpool

ValueT = TypeVar("ValueT")

logger = logging.getLogger("governor.sweep")


@dataclass(frozen=True)
class SweepProgress:
    """Counts for a progress bar; ``projects_total`` grows as project pages arrive."""

    projects_done: int
    projects_total: int
    requests: int
    organizations_done: int = 0
    organizations_total: int = 0


class _Failed(Exception):
    """A part could not be read; already recorded as incomplete."""


# Whether a listed project's detail must be read: the project, its branches, its computes,
# the sweep's time. The pipeline builds it from the loaded policies: the sweep only reads.
WantsDetail = Callable[[Project, Sequence[Branch], Sequence[Endpoint], datetime], bool]
# Which of a listed project's branches' backup schedules to read (their ids), judged also on
# the project's snapshot list when it was read (None: not read, or its read failed).
WantsBranches = Callable[
    [Project, Sequence[Branch], Sequence[Endpoint], datetime, Sequence[ProjectSnapshot] | None],
    Sequence[str],
]
ACTIVATIONS_WINDOW = timedelta(days=30)  # start_compute operations counted (L3's evidence)


@dataclass(frozen=True)
class WantsExtra:
    """The detail only some policies read, each judged per project like ``WantsDetail``
    (None: never read). A failed read is an incomplete part of its own kind, never zero."""

    snapshots: WantsDetail | None = None
    backup_schedules: WantsBranches | None = None
    activations: WantsDetail | None = None
    spending_limits: bool = False

    @property
    def kinds(self) -> set[str]:
        """The part kinds asked for (``Snapshot.detail_kinds_read``)."""
        asked = {
            "snapshots": self.snapshots is not None,
            "backup_schedules": self.backup_schedules is not None,
            "operations": self.activations is not None,
            "spending_limit": self.spending_limits,
        }
        return {kind for kind, wanted in asked.items() if wanted}


async def sweep(
    client: NeonClient,
    *,
    org_ids: Sequence[str] | None = None,
    concurrency: int = 16,
    progress: Callable[[SweepProgress], None] | None = None,
    now: datetime | None = None,
    wants_detail: WantsDetail | None = None,
    wants_extra: WantsExtra | None = None,
    spool: ProjectSpool | None = None,
) -> Snapshot:
    """Read every organization in ``org_ids`` (default: all the key can see) into a Snapshot.

    ``wants_detail``: whether a listed project's detail is needed, judged on the project,
    its branches and computes (default: never); the caller builds it from its policies.
    ``wants_extra``: the same for snapshots, backup schedules, activations and spending
    limits (default: none read).
    ``spool``: each project's branches, computes and detail go there as soon as they are
    read; the snapshot then holds the projects and ``spooled`` says where the rest is.
    Raises ``NeonAuthError`` only when Neon refuses the key itself (401).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    taken_at = now or datetime.now(UTC)
    run = _Sweep(
        client, concurrency, progress, wants_detail, taken_at, extra=wants_extra, spool=spool
    )
    return await run.run(list(org_ids) if org_ids else None, taken_at)


class _Sweep:
    def __init__(
        self,
        client: NeonClient,
        concurrency: int,
        progress: Callable[[SweepProgress], None] | None,
        wants: WantsDetail | None,
        taken_at: datetime,
        *,
        extra: WantsExtra | None = None,
        spool: ProjectSpool | None = None,
    ) -> None:
        self.client = client
        self.spool = spool
        # projects read at once: two per request slot keeps every slot busy between a
        # project's reads (its branches and computes, then its detail and extras)
        self.workers = 2 * concurrency
        self.wants = wants
        self.extra = extra or WantsExtra()
        self.taken_at = taken_at
        self.slots = asyncio.Semaphore(concurrency)
        self.progress = progress
        self.requests_at_start = client.requests
        self.key_scope: KeyScope | None = None  # learnt from the answers, settled at the end
        self.incomplete: list[IncompletePart] = []
        self.projects_done = 0
        self.projects_total = 0
        self.organizations_done = 0
        self.organizations_total = 0
        self.dedup = Deduplicator()  # objects listed again under an id already seen

    # -- plumbing --------------------------------------------------------------------

    async def call(
        self,
        kind: PartKind,
        org_id: str | None,
        project_id: str | None,
        read: Callable[[], Awaitable[ValueT]],
    ) -> ValueT:
        """One read under the concurrency bound; a failure is recorded, then ``_Failed``."""
        async with self.slots:
            try:
                return await read()
            except NeonError as error:
                self.fail(kind, org_id, project_id, error)
                raise _Failed from None

    def fail(
        self, kind: PartKind, org_id: str | None, project_id: str | None, error: Exception
    ) -> None:
        if isinstance(error, NeonAuthError) and error.status == 401:
            raise error
        if isinstance(error, NeonAuthError) and self.key_scope is not None:
            error = error.with_hint(auth_hint(error.status, self.key_scope))
        self.incomplete.append(IncompletePart(kind, str(error), org_id, project_id))

    async def pages(
        self,
        kind: PartKind,
        org_id: str | None,
        project_id: str | None,
        iterator: AsyncIterator[ValueT],
    ) -> AsyncIterator[ValueT]:
        """Pages of a listing, each fetched under the bound; stops (recorded) on failure."""
        while True:
            try:
                page = await self.call(kind, org_id, project_id, iterator.__anext__)
            except (StopAsyncIteration, _Failed):
                return
            yield page

    def report(self) -> None:
        if self.progress is not None:
            self.progress(
                SweepProgress(
                    projects_done=self.projects_done,
                    projects_total=self.projects_total,
                    requests=self.client.requests - self.requests_at_start,
                    organizations_done=self.organizations_done,
                    organizations_total=self.organizations_total,
                )
            )

    # -- the sweep -------------------------------------------------------------------

    async def run(self, org_ids: list[str] | None, taken_at: datetime) -> Snapshot:
        try:
            async with asyncio.TaskGroup() as group:
                personal = group.create_task(self.personal_keys())
                orgs = await self.organizations(org_ids)
                self.organizations_total = len(orgs)
                self.report()
                org_tasks = [group.create_task(self.organization(org)) for org in orgs]
        except BaseExceptionGroup as errors:
            raise first_error(errors) from None
        for task in org_tasks:
            task.result()
        personal_keys = personal.result()
        self.key_scope = settle_scope(orgs, personal_keys, self.key_scope, self.incomplete)
        snapshot = build_snapshot(orgs, personal_keys, taken_at, self.dedup)
        snapshot.incomplete = list(self.incomplete)
        snapshot.requests = self.client.requests - self.requests_at_start
        snapshot.minimum_requests = minimum_requests(orgs, listed_organizations=org_ids is None)
        snapshot.detailed_project_ids = {
            project_id
            for org in orgs
            for project_id, record in org.projects.items()
            if record.detailed
        }
        if self.spool is not None:
            snapshot.spooled = [
                Spooled(record.project, record.spooled, record.roots)
                for org in orgs
                for record in org.projects.values()
            ]
        snapshot.key_scope = self.key_scope
        snapshot.detail_kinds_read = self.extra.kinds
        snapshot.clock_skew_seconds = self.client.clock_skew_seconds
        warn_about_skew(snapshot.clock_skew_seconds)
        return snapshot

    async def personal_keys(self) -> list[ApiKey] | None:
        """Personal keys, or None when the key is not personal (not applicable)."""
        async with self.slots:
            try:
                keys = await self.client.list_personal_api_keys()
            except NeonAuthError:
                return None  # an organization or project key: not applicable
            except NeonError as error:
                self.fail("api_keys", None, None, error)
                return []
        self.key_scope = "personal"
        return keys

    async def organizations(self, org_ids: list[str] | None) -> list[OrgResult]:
        if org_ids is not None:
            results = [OrgResult(org_id, named=True) for org_id in dict.fromkeys(org_ids)]
            await asyncio.gather(*(self.organization_details(result) for result in results))
            missing = [result for result in results if result.not_found]
            if missing:
                await self.refuse_not_visible(missing)
            return results
        async with self.slots:
            try:
                listed = await self.client.list_organizations()
            except NeonAuthError as error:
                if error.status == 401:
                    raise
                # Organization or project keys may not list organizations: infer from projects.
                return [OrgResult(None)]
            except NeonError as error:
                self.incomplete.append(IncompletePart("organizations", str(error)))
                return []
        if not listed:  # an account without organizations: its projects need no org_id
            return [OrgResult(None)]
        unique = self.dedup.first_of_each(listed, lambda org: org.id)
        return [OrgResult(org.id, organization=org) for org in unique]

    async def organization_details(self, result: OrgResult) -> None:
        if result.org_id is None:
            return
        async with self.slots:
            try:
                result.organization = await self.client.get_organization(result.org_id)
            except NeonAuthError as error:
                if error.status == 401:
                    raise
                result.details_error = error  # judged once the key's scope is known
            except NeonNotFound as error:
                result.not_found = error  # a typo or another account's: refused before the walk
            except NeonError as error:
                self.incomplete.append(IncompletePart("organizations", str(error), result.org_id))

    async def refuse_not_visible(self, missing: list[OrgResult]) -> None:
        """Raise for named organizations Neon answered 404 for (a typo, another account's).

        Only on this path is the organization list read (one request), to name what is
        visible. An organization that list does show is Neon contradicting itself: that one
        stays an unreadable part of the sweep, as any other failed read.
        """
        async with self.slots:
            try:
                visible: list[Organization] | None = await self.client.list_organizations()
            except NeonAuthError as error:
                if error.status == 401:
                    raise
                visible = None
            except NeonError:
                visible = None
        listed = {org.id for org in visible or []}
        unknown = [org.org_id for org in missing if org.org_id and org.org_id not in listed]
        if unknown:
            raise OrganizationNotVisible(unknown, visible)
        for org in missing:
            self.incomplete.append(IncompletePart("organizations", str(org.not_found), org.org_id))

    async def organization(self, result: OrgResult) -> None:
        # Without an org_id the project list is how organizations are discovered, so its
        # failure leaves the organization list itself incomplete.
        listing_kind: PartKind = "projects" if result.org_id is not None else "organizations"
        # A fixed set of workers takes the projects as their pages arrive: no task (and
        # frame) per project waiting its turn, and the page reader waits when they lag.
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=self.workers)
        async with asyncio.TaskGroup() as group:
            if result.org_id is not None:
                group.create_task(self.org_api_keys(result))
                group.create_task(self.spending_limit(result))
            for _ in range(self.workers):
                group.create_task(self.project_worker(result, queue))
            iterator = self.client.iter_project_pages(result.org_id)
            async for page in self.pages(listing_kind, result.org_id, None, iterator):
                for project in page.projects:
                    if project.id not in result.projects:
                        await self.start_project(queue, result, project.id, ProjectResult(project))
                for project_id in page.unavailable_project_ids:
                    if project_id not in result.projects:
                        await self.start_project(queue, result, project_id, ProjectResult(None))
                self.report()
            for _ in range(self.workers):
                await queue.put(None)  # each worker ends when it takes one
            if result.org_id is None:
                for org_id in inferred_org_ids(result):
                    inferred = OrgResult(org_id, inferred=True)
                    result.children.append(inferred)
                    group.create_task(self.organization_details(inferred))
                    group.create_task(self.org_api_keys(inferred))
                    group.create_task(self.spending_limit(inferred))
        self.organizations_done += 1
        self.report()

    async def start_project(
        self,
        queue: asyncio.Queue[str | None],
        org: OrgResult,
        project_id: str,
        record: ProjectResult,
    ) -> None:
        org.projects[project_id] = record
        self.projects_total += 1
        await queue.put(project_id)

    async def project_worker(self, org: OrgResult, queue: asyncio.Queue[str | None]) -> None:
        while (project_id := await queue.get()) is not None:
            await self.project(org, project_id)

    async def org_api_keys(self, result: OrgResult) -> None:
        assert result.org_id is not None
        async with self.slots:
            try:
                result.api_keys = await self.client.list_org_api_keys(result.org_id)
            except NeonAuthError as error:
                if error.status == 401:
                    raise
                result.api_keys_error = error  # judged once the key's scope is known
            except NeonError as error:
                self.fail("api_keys", result.org_id, None, error)

    async def spending_limit(self, result: OrgResult) -> None:
        """The organization's spending notification, when a policy wants it; a plan without
        the feature (422/403, or a Free plan already known) leaves it unread, not failed."""
        if not self.extra.spending_limits or result.org_id is None:
            return
        org_id = result.org_id
        plan = result.organization.plan if result.organization is not None else None
        if plan is not None and plan.startswith("free"):
            return
        with contextlib.suppress(_Failed):
            limit = await self.call(
                "spending_limit", org_id, None, lambda: self.client.get_spending_limit(org_id)
            )
            result.spending_limit_read = limit.offered
            result.spending_limit_cents = limit.cents
            result.extra_requests += 1

    async def project(self, org: OrgResult, project_id: str) -> None:
        record = org.projects[project_id]
        listed = record.project
        org_id = org.org_id or (listed.org_id if listed else None)
        reads = await asyncio.gather(
            self.call(
                "branches",
                org_id,
                project_id,
                lambda: self.branches(project_id, record.branch_annotations),
            ),
            self.call(
                "endpoints", org_id, project_id, lambda: self.client.list_endpoints(project_id)
            ),
            return_exceptions=True,
        )
        for outcome in reads:
            if isinstance(outcome, BaseException) and not isinstance(outcome, _Failed):
                raise outcome
        branches, endpoints = reads
        if isinstance(branches, list):
            record.branches = branches
        if isinstance(endpoints, list):
            record.endpoints = endpoints
        record.minimum_requests = branch_pages(len(record.branches)) + 1
        if self.wants_detail(listed, branches, endpoints):
            record.minimum_requests += 1
            # Listed as unavailable: Neon knows it exists; if we cannot read it either, the
            # organization's project list is what stays incomplete for it.
            kind: PartKind = "project" if listed is not None else "projects"
            # On failure (recorded) the list item, if any, stands without the detail's fields.
            with contextlib.suppress(_Failed):
                record.project = await self.call(
                    kind, org_id, project_id, lambda: self.client.get_project(project_id)
                )
                record.detailed = True
        if record.project is not None:
            await self.project_extras(record, org_id, branches, endpoints)
        if self.spool is not None:
            record.spill(self.spool)
        self.projects_done += 1
        self.report()

    def wants_detail(self, listed: Project | None, branches: object, endpoints: object) -> bool:
        """Whether to read the project's detail: unavailable in the list, or a policy needs it."""
        if listed is None:
            return True
        if self.wants is None:
            return False
        if not (isinstance(branches, list) and isinstance(endpoints, list)):
            return True  # cannot judge without them: read it rather than miss a finding
        return self.wants(listed, branches, endpoints, self.taken_at)

    async def project_extras(
        self, record: ProjectResult, org_id: str | None, branches: object, endpoints: object
    ) -> None:
        """Snapshots, backup schedules and activations, where a loaded policy wants them.

        Schedules and activations are judged on the branches and computes: without them
        (their part failed, already incomplete) they are not read.
        """
        project = record.project
        assert project is not None
        project_id, extra, now = project.id, self.extra, self.taken_at
        listed = isinstance(branches, list) and isinstance(endpoints, list)
        first: list[Awaitable[None]] = []
        snapshots_read = False

        async def snapshots() -> None:
            nonlocal snapshots_read
            found = await self.call(
                "snapshots", org_id, project_id,
                lambda: self.client.list_project_snapshots(project_id),
            )  # fmt: skip
            record.snapshots = found
            record.minimum_requests += 1
            snapshots_read = True

        async def schedule(branch_id: str) -> None:
            found = await self.call(
                "backup_schedules", org_id, project_id,
                lambda: self.client.get_backup_schedule(project_id, branch_id),
            )  # fmt: skip
            record.backup_schedules[branch_id] = found
            record.minimum_requests += 1

        async def activations(endpoint_ids: list[str]) -> None:
            since = now - ACTIVATIONS_WINDOW
            counts = await self.call(
                "operations", org_id, project_id,
                lambda: self.client.count_activations(project_id, since),
            )  # fmt: skip
            # every compute of the project was counted: none listed is none started
            record.activations = {
                endpoint_id: counts.get(endpoint_id, 0) for endpoint_id in endpoint_ids
            }
            record.minimum_requests += 1  # at least one page; how many depends on the project

        if extra.snapshots is not None and extra.snapshots(
            project, record.branches, record.endpoints, now
        ):
            first.append(snapshots())
        if (
            listed
            and extra.activations is not None
            and extra.activations(project, record.branches, record.endpoints, now)
        ):
            first.append(activations([endpoint.id for endpoint in record.endpoints]))
        await _settled(first)
        # Backup schedules after the snapshot list: where it was read, it says which
        # branches' schedules can be costing anything (governor.pipeline.detail).
        if listed and extra.backup_schedules is not None:
            seen = record.snapshots if snapshots_read else None
            wanted = extra.backup_schedules(project, record.branches, record.endpoints, now, seen)
            await _settled([schedule(branch_id) for branch_id in wanted])

    async def branches(
        self, project_id: str, annotations: dict[str, dict[str, str]]
    ) -> list[Branch]:
        """The project's branches; their annotation values into ``annotations``."""
        found: list[Branch] = []
        async for page in self.client.iter_branch_pages(project_id, annotations=annotations):
            found.extend(page)
        return found


async def _settled(reads: list[Awaitable[None]]) -> None:
    """Run ``reads`` together; a failed part is already recorded (``_Failed``), any other
    error propagates."""
    outcomes = await asyncio.gather(*reads, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, _Failed):
            raise outcome
