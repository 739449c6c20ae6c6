"""The reads a sweep needs: organizations, projects, branches, computes, keys, operations
(and the organization members who own keys, for Slack mentions), and the detail some
policies want: project snapshots, backup schedules, spending limits, compute activations.

Why listings stream pages: a sweep starts each project's reads as soon as its page
arrives. Page sizes are explicit because the spec's defaults (10 projects) truncate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, NamedTuple

from governor.neon.annotations import branch_annotations
from governor.neon.errors import NeonApiError
from governor.neon.http import NeonHttp
from governor.neon.ids import neon_id
from governor.neon.models import (
    ApiKey,
    Branch,
    Endpoint,
    Operation,
    Organization,
    OrgMember,
    Project,
    ProjectSnapshot,
)
from governor.neon.paging import Listing
from governor.neon.responses import ProjectsPage

PROJECTS_PAGE_SIZE = 400  # the spec's maximum; the default of 10 truncates listings
BRANCHES_PAGE_SIZE = 10000  # the spec's maximum (LimitParam: 1..10000): one page per project
OPERATIONS_PAGE_SIZE = 1000  # the spec's maximum
# The spending limit is a Launch and Scale feature: other plans answer 422 (observed) or 403.
SPENDING_LIMIT_NOT_OFFERED = frozenset({403, 422})


class SpendingLimit(NamedTuple):
    """An organization's spending notification threshold.

    ``offered`` False: the plan has none (or the key may not read it), so ``cents`` says
    nothing; ``cents`` None on an offered one: none is set.
    """

    offered: bool
    cents: int | None


class NeonReads(NeonHttp):
    """Read methods; every one is a GET, retried by ``READ_RETRY``."""

    async def list_organizations(self) -> list[Organization]:
        response = await self.request("GET", "/users/me/organizations")
        items = response.field_array("organizations")
        return response.models(Organization, items, "organizations")

    async def get_organization(self, org_id: str) -> Organization:
        response = await self.request("GET", "/organizations/{org_id}", {"org_id": org_id})
        return response.model(Organization, response.object(), "organization")

    async def iter_project_pages(
        self, org_id: str | None = None, *, page_size: int = PROJECTS_PAGE_SIZE
    ) -> AsyncIterator[ProjectsPage]:
        """Project pages, streamed; ``pagination.cursor`` is on every page, the last included.

        An id seen earlier in the listing (listed or unavailable) is not yielded again.
        """
        cursor: str | None = None
        listing = Listing("project", page_size, self.max_listing_items)
        while True:
            params: dict[str, str | int | bool] = {"limit": page_size}
            if org_id:
                params["org_id"] = neon_id("org_id", org_id)  # often from an answer
            if cursor:
                params["cursor"] = cursor
            response = await self.request("GET", "/projects", params=params)
            items = response.field_array("projects")
            body = response.object()
            unavailable = body.get("unavailable_project_ids") or []
            if not isinstance(unavailable, list) or not all(
                isinstance(project_id, str) for project_id in unavailable
            ):
                raise response.protocol_error("'unavailable_project_ids' is not a list of ids")
            projects = listing.fresh(response.models(Project, items, "projects"), _id)
            yield ProjectsPage(projects, listing.fresh(unavailable, str))
            # Unavailable projects may take places on the page: only a page short of both
            # is the last one (one extra, empty page costs less than a missed project).
            if len(items) + len(unavailable) < page_size:
                return
            cursor = listing.next_cursor(response, body, "cursor")

    async def iter_projects(
        self, org_id: str | None = None, *, page_size: int = PROJECTS_PAGE_SIZE
    ) -> AsyncIterator[Project]:
        async for page in self.iter_project_pages(org_id, page_size=page_size):
            for project in page.projects:
                yield project

    async def get_project(self, project_id: str) -> Project:
        response = await self.request("GET", "/projects/{project_id}", {"project_id": project_id})
        return response.model(Project, response.field_object("project"), "project")

    async def iter_branch_pages(
        self,
        project_id: str,
        *,
        page_size: int = BRANCHES_PAGE_SIZE,
        annotations: dict[str, dict[str, str]] | None = None,
    ) -> AsyncIterator[list[Branch]]:
        """Branch pages, oldest first: created_at does not move while we page (updated_at does).

        A branch seen earlier in the listing (or the page) is not yielded again.
        ``annotations``: filled with the listed branches' annotation values (by branch id).
        """
        cursor: str | None = None
        listing = Listing("branch", page_size, self.max_listing_items)
        while True:
            params: dict[str, str | int | bool] = {
                "limit": page_size,
                "sort_by": "created_at",
                "sort_order": "asc",
            }
            if cursor:
                params["cursor"] = cursor
            response = await self.request(
                "GET", "/projects/{project_id}/branches", {"project_id": project_id}, params=params
            )
            items = response.field_array("branches")
            page = listing.fresh(response.models(Branch, items, "branches"), _id)
            if annotations is not None:
                listed = response.object().get("annotations")
                annotations.update(branch_annotations(listed, {branch.id for branch in page}))
            yield page
            if len(items) < page_size:
                return
            body = response.object()
            pagination = body.get("pagination")
            if not isinstance(pagination, dict) or not pagination.get("next"):
                return  # CursorPagination.next is optional: absent means the last page
            cursor = listing.next_cursor(response, body, "next")

    async def iter_branches(
        self, project_id: str, *, page_size: int = BRANCHES_PAGE_SIZE
    ) -> AsyncIterator[Branch]:
        async for page in self.iter_branch_pages(project_id, page_size=page_size):
            for branch in page:
                yield branch

    async def get_branch(self, project_id: str, branch_id: str) -> Branch:
        response = await self.request(
            "GET",
            "/projects/{project_id}/branches/{branch_id}",
            {"project_id": project_id, "branch_id": branch_id},
        )
        return response.model(Branch, response.field_object("branch"), "branch")

    async def list_endpoints(self, project_id: str) -> list[Endpoint]:
        response = await self.request(
            "GET", "/projects/{project_id}/endpoints", {"project_id": project_id}
        )
        return response.models(Endpoint, response.field_array("endpoints"), "endpoints")

    async def get_endpoint(self, project_id: str, endpoint_id: str) -> Endpoint:
        response = await self.request(
            "GET",
            "/projects/{project_id}/endpoints/{endpoint_id}",
            {"project_id": project_id, "endpoint_id": endpoint_id},
        )
        return response.model(Endpoint, response.field_object("endpoint"), "endpoint")

    async def list_personal_api_keys(self) -> list[ApiKey]:
        response = await self.request("GET", "/api_keys")
        return response.models(ApiKey, response.array(), "api_keys")

    async def list_org_api_keys(self, org_id: str) -> list[ApiKey]:
        response = await self.request("GET", "/organizations/{org_id}/api_keys", {"org_id": org_id})
        return response.models(ApiKey, response.array(), "api_keys")

    async def list_org_members(self, org_id: str) -> list[OrgMember]:
        """The organization's members with their emails (``getOrganizationMembers``)."""
        response = await self.request("GET", "/organizations/{org_id}/members", {"org_id": org_id})
        return response.models(OrgMember, response.field_array("members"), "members")

    async def get_operation(self, project_id: str, operation_id: str) -> Operation:
        response = await self.request(
            "GET",
            "/projects/{project_id}/operations/{operation_id}",
            {"project_id": project_id, "operation_id": operation_id},
        )
        return response.model(Operation, response.field_object("operation"), "operation")

    async def iter_operations(
        self, project_id: str, *, page_size: int = OPERATIONS_PAGE_SIZE
    ) -> AsyncIterator[Operation]:
        cursor: str | None = None
        listing = Listing("operation", page_size, self.max_listing_items)
        while True:
            params: dict[str, str | int | bool] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            response = await self.request(
                "GET",
                "/projects/{project_id}/operations",
                {"project_id": project_id},
                params=params,
            )
            items = response.field_array("operations")
            operations = response.models(Operation, items, "operations")
            for operation in listing.fresh(operations, _id):
                yield operation
            if len(items) < page_size:
                return
            cursor = listing.next_cursor(response, response.object(), "cursor")

    async def count_activations(
        self, project_id: str, since: datetime, *, page_size: int = OPERATIONS_PAGE_SIZE
    ) -> dict[str, int]:
        """``start_compute`` operations per endpoint since ``since`` (L3's evidence).

        Neon lists operations newest first, so paging stops at the first one older than
        ``since``; an operation without ``created_at`` is counted (cannot be placed).
        """
        counts: dict[str, int] = {}
        async for operation in self.iter_operations(project_id, page_size=page_size):
            if operation.created_at is not None and operation.created_at < since:
                break
            if operation.action == "start_compute" and operation.endpoint_id:
                counts[operation.endpoint_id] = counts.get(operation.endpoint_id, 0) + 1
        return counts

    async def list_project_snapshots(self, project_id: str) -> list[ProjectSnapshot]:
        """``listSnapshots`` (beta): one unpaged list, ``{"snapshots": [...]}``."""
        response = await self.request(
            "GET", "/projects/{project_id}/snapshots", {"project_id": project_id}
        )
        items = response.field_array("snapshots")
        checked = response.models(ProjectSnapshot, items, "snapshots")  # validates each
        return [
            ProjectSnapshot.in_project(project_id, item)
            for item, _ in zip(items, checked, strict=True)
        ]

    async def get_backup_schedule(self, project_id: str, branch_id: str) -> dict[str, Any]:
        """A branch's backup schedule (beta; the path is not in the 2025 spec, only its
        ``BackupSchedule`` schema): ``{"schedule": [{frequency, ..., retention_seconds}]}``,
        an item without ``retention_seconds`` keeping its snapshots forever."""
        response = await self.request(
            "GET",
            "/projects/{project_id}/branches/{branch_id}/backup_schedule",
            {"project_id": project_id, "branch_id": branch_id},
        )
        schedule = response.field_array("schedule")
        if not all(isinstance(item, dict) for item in schedule):
            raise response.protocol_error("'schedule' is not a list of objects")
        return response.object()

    async def get_spending_limit(self, org_id: str) -> SpendingLimit:
        """``GET /organizations/{o}/billing/spending_limit`` (beta): 200 with
        ``spending_limit_cents`` (null: none set); 422 or 403 on plans without it."""
        try:
            response = await self.request(
                "GET", "/organizations/{org_id}/billing/spending_limit", {"org_id": org_id}
            )
        except NeonApiError as error:
            if error.status in SPENDING_LIMIT_NOT_OFFERED:
                return SpendingLimit(offered=False, cents=None)
            raise
        cents = response.object().get("spending_limit_cents")
        if cents is not None and (not isinstance(cents, int) or isinstance(cents, bool)):
            raise response.protocol_error("'spending_limit_cents' is not an integer or null")
        return SpendingLimit(offered=True, cents=cents)


def _id(item: Project | Branch | Operation) -> str:
    return item.id
