"""One inventory sweep: everything the key can see, read concurrently under the pacer.

Why this shape: the rate limit, not the latency, should bound a sweep, so every project's
reads run concurrently (bounded by ``concurrency`` requests in flight), and project tasks
start as soon as their page of the project list arrives. A part that cannot be read after
the client's retries becomes an ``IncompletePart`` and the sweep goes on: unknown is never
"gone". Only a 401 (the key itself is refused) aborts the sweep.

An object listed twice (in one page, across pages or listings) is kept once, the first
time it was seen, so no later stage meets one id twice. The server's clock skew goes on
the snapshot: remediation must not judge ages by a clock days off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from governor.inventory import IncompletePart, KeyRecord, KeyScope, PartKind, Snapshot
from governor.neon.client import NeonClient
from governor.neon.errors import NeonApiError, NeonAuthError, NeonError, auth_hint
from governor.neon.models import ApiKey, Branch, Endpoint, Organization, Project

ValueT = TypeVar("ValueT")
ItemT = TypeVar("ItemT")

logger = logging.getLogger("governor.sweep")
# Beyond this, "30 days idle" measured on our clock is not what Neon's clock says.
CLOCK_SKEW_WARNING_SECONDS = 300.0


@dataclass(frozen=True)
class SweepProgress:
    """Counts for a progress bar; ``projects_total`` grows as project pages arrive."""

    projects_done: int
    projects_total: int
    requests: int
    organizations_done: int = 0
    organizations_total: int = 0


@dataclass
class _ProjectResult:
    project: Project | None
    branches: list[Branch] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)


@dataclass
class _OrgResult:
    org_id: str | None  # None: the key's projects without org_id (scope inferred)
    organization: Organization | None = None
    projects: dict[str, _ProjectResult] = field(default_factory=dict)
    api_keys: list[ApiKey] = field(default_factory=list)
    # 403s whose meaning depends on the key's scope, known only at the end
    api_keys_error: NeonApiError | None = None
    details_error: NeonApiError | None = None
    inferred: bool = False  # found through its projects, not asked for or listed
    children: list[_OrgResult] = field(default_factory=list)


class _Failed(Exception):
    """A part could not be read; already recorded as incomplete."""


async def sweep(
    client: NeonClient,
    *,
    org_ids: Sequence[str] | None = None,
    concurrency: int = 16,
    progress: Callable[[SweepProgress], None] | None = None,
    now: datetime | None = None,
) -> Snapshot:
    """Read every organization in ``org_ids`` (default: all the key can see) into a Snapshot.

    Raises ``NeonAuthError`` only when Neon refuses the key itself (401).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    run = _Sweep(client, concurrency, progress)
    return await run.run(list(org_ids) if org_ids else None, now or datetime.now(UTC))


class _Sweep:
    def __init__(
        self,
        client: NeonClient,
        concurrency: int,
        progress: Callable[[SweepProgress], None] | None,
    ) -> None:
        self.client = client
        self.slots = asyncio.Semaphore(concurrency)
        self.progress = progress
        self.requests_at_start = client.requests
        self.key_scope: KeyScope | None = None  # learnt from the answers, settled at the end
        self.incomplete: list[IncompletePart] = []
        self.projects_done = 0
        self.projects_total = 0
        self.organizations_done = 0
        self.organizations_total = 0
        self.duplicates = 0  # objects listed again under an id already seen, dropped

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

    def first_of_each(
        self, items: Iterable[ItemT], id_of: Callable[[ItemT], Hashable]
    ) -> list[ItemT]:
        """``items`` without those whose id came earlier; counts what it drops."""
        seen: set[Hashable] = set()
        kept: list[ItemT] = []
        for item in items:
            item_id = id_of(item)
            if item_id in seen:
                self.duplicates += 1
            else:
                seen.add(item_id)
                kept.append(item)
        return kept

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
            raise _first_error(errors) from None
        for task in org_tasks:
            task.result()
        personal_keys = personal.result()
        self.settle_scope(orgs, personal_keys)
        return self.snapshot(orgs, personal_keys, taken_at)

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

    async def organizations(self, org_ids: list[str] | None) -> list[_OrgResult]:
        if org_ids is not None:
            results = [_OrgResult(org_id) for org_id in dict.fromkeys(org_ids)]
            await asyncio.gather(*(self.organization_details(result) for result in results))
            return results
        async with self.slots:
            try:
                listed = await self.client.list_organizations()
            except NeonAuthError as error:
                if error.status == 401:
                    raise
                # Organization or project keys may not list organizations: infer from projects.
                return [_OrgResult(None)]
            except NeonError as error:
                self.incomplete.append(IncompletePart("organizations", str(error)))
                return []
        if not listed:  # an account without organizations: its projects need no org_id
            return [_OrgResult(None)]
        unique = self.first_of_each(listed, lambda org: org.id)
        return [_OrgResult(org.id, organization=org) for org in unique]

    async def organization_details(self, result: _OrgResult) -> None:
        if result.org_id is None:
            return
        async with self.slots:
            try:
                result.organization = await self.client.get_organization(result.org_id)
            except NeonAuthError as error:
                if error.status == 401:
                    raise
                result.details_error = error  # judged once the key's scope is known
            except NeonError as error:
                self.incomplete.append(IncompletePart("organizations", str(error), result.org_id))

    async def organization(self, result: _OrgResult) -> None:
        # Without an org_id the project list is how organizations are discovered, so its
        # failure leaves the organization list itself incomplete.
        listing_kind: PartKind = "projects" if result.org_id is not None else "organizations"
        async with asyncio.TaskGroup() as group:
            if result.org_id is not None:
                group.create_task(self.org_api_keys(result))
            iterator = self.client.iter_project_pages(result.org_id)
            async for page in self.pages(listing_kind, result.org_id, None, iterator):
                for project in page.projects:
                    if project.id not in result.projects:
                        self.start_project(group, result, project.id, _ProjectResult(project))
                for project_id in page.unavailable_project_ids:
                    if project_id not in result.projects:
                        self.start_project(group, result, project_id, _ProjectResult(None))
                self.report()
            if result.org_id is None:
                for org_id in _inferred_org_ids(result):
                    inferred = _OrgResult(org_id, inferred=True)
                    result.children.append(inferred)
                    group.create_task(self.organization_details(inferred))
                    group.create_task(self.org_api_keys(inferred))
        self.organizations_done += 1
        self.report()

    def start_project(
        self,
        group: asyncio.TaskGroup,
        org: _OrgResult,
        project_id: str,
        record: _ProjectResult,
    ) -> None:
        org.projects[project_id] = record
        self.projects_total += 1
        group.create_task(self.project(org, project_id))

    async def org_api_keys(self, result: _OrgResult) -> None:
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

    async def project(self, org: _OrgResult, project_id: str) -> None:
        record = org.projects[project_id]
        org_id = org.org_id or (record.project.org_id if record.project else None)
        # Listed as unavailable: Neon knows it exists; if we cannot read it either, the
        # organization's project list is what stays incomplete for it.
        project_kind: PartKind = "project" if record.project is not None else "projects"
        reads = await asyncio.gather(
            self.call(
                project_kind, org_id, project_id, lambda: self.client.get_project(project_id)
            ),
            self.call("branches", org_id, project_id, lambda: self.branches(project_id)),
            self.call(
                "endpoints", org_id, project_id, lambda: self.client.list_endpoints(project_id)
            ),
            return_exceptions=True,
        )
        for outcome in reads:
            if isinstance(outcome, BaseException) and not isinstance(outcome, _Failed):
                raise outcome
        project, branches, endpoints = reads
        if isinstance(project, Project):
            record.project = project
        if isinstance(branches, list):
            record.branches = branches
        if isinstance(endpoints, list):
            record.endpoints = endpoints
        self.projects_done += 1
        self.report()

    async def branches(self, project_id: str) -> list[Branch]:
        found: list[Branch] = []
        async for page in self.client.iter_branch_pages(project_id):
            found.extend(page)
        return found

    # -- results ---------------------------------------------------------------------

    def settle_scope(self, orgs: list[_OrgResult], personal_keys: list[ApiKey] | None) -> None:
        """Decide, now that every answer is in, what the key is and which 403s matter."""
        every = [*orgs, *(child for org in orgs for child in org.children)]
        if self.key_scope is None and personal_keys is None:
            read_org = any(
                org.organization is not None or (org.org_id is not None and not org.api_keys_error)
                for org in every
            )
            refused_org = any(org.api_keys_error is not None for org in every)
            if read_org:
                self.key_scope = "organization"
            elif refused_org:
                self.key_scope = "project"
        scope = self.key_scope
        for org in every:
            for kind, error in (
                ("api_keys", org.api_keys_error),
                ("organizations", org.details_error),
            ):
                if error is None or scope == "project":
                    continue  # a project key has no business with organizations
                if kind == "organizations" and org.inferred:
                    continue  # only its plan is unknown; the key cannot read it by design
                rehinted = error.with_hint(auth_hint(error.status, scope))
                part_kind: PartKind = "api_keys" if kind == "api_keys" else "organizations"
                self.incomplete.append(IncompletePart(part_kind, str(rehinted), org.org_id))

    def snapshot(
        self, orgs: list[_OrgResult], personal_keys: list[ApiKey] | None, taken_at: datetime
    ) -> Snapshot:
        snapshot = Snapshot(taken_at=taken_at)
        every = [*orgs, *(child for org in orgs for child in org.children)]
        organizations = [org.organization for org in every if org.organization is not None]
        snapshot.organizations = self.first_of_each(organizations, lambda org: org.id)
        snapshot.org_ids = list(
            dict.fromkeys(org.org_id for org in every if org.org_id is not None)
        )
        records = [record for org in orgs for record in org.projects.values()]
        projects = [record.project for record in records if record.project is not None]
        snapshot.projects = self.first_of_each(projects, lambda project: project.id)
        branches = [branch for record in records for branch in record.branches]
        snapshot.branches = self.first_of_each(branches, lambda branch: branch.id)
        endpoints = [endpoint for record in records for endpoint in record.endpoints]
        snapshot.endpoints = self.first_of_each(endpoints, lambda endpoint: endpoint.id)
        keys = [KeyRecord(key, "personal", None) for key in personal_keys or []]
        for org in every:
            for key in org.api_keys:
                scope: KeyScope = "project" if key.project_id else "organization"
                keys.append(KeyRecord(key, scope, org.org_id))
        snapshot.api_keys = self.first_of_each(keys, lambda record: record.key.id)
        if self.duplicates:
            logger.warning(
                "Neon listed objects more than once; kept the first of each, dropped %d",
                self.duplicates,
            )
        snapshot.incomplete = list(self.incomplete)
        snapshot.requests = self.client.requests - self.requests_at_start
        snapshot.key_scope = self.key_scope
        snapshot.clock_skew_seconds = skew = self.client.clock_skew_seconds
        if skew is not None and abs(skew) > CLOCK_SKEW_WARNING_SECONDS:
            logger.warning(
                "Neon's clock (its Date header) is %+.0f s (%+.1f h) off this machine's: "
                "ages measured here may be wrong; check the machine's clock",
                skew,
                skew / 3600,
            )
        return snapshot


def _inferred_org_ids(result: _OrgResult) -> list[str]:
    found: list[str] = []
    for record in result.projects.values():
        org_id = record.project.org_id if record.project is not None else None
        if org_id and org_id not in found:
            found.append(org_id)
    return found


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error of a task group (auth errors first), unwrapped."""
    leaves: list[BaseException] = []

    def collect(item: BaseException) -> None:
        if isinstance(item, BaseExceptionGroup):
            for inner in item.exceptions:
                collect(inner)
        else:
            leaves.append(item)

    collect(group)
    for leaf in leaves:
        if isinstance(leaf, NeonAuthError):
            return leaf
    return leaves[0]
