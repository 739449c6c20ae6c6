"""The remediation calls: branch, compute, project, snapshot and backup-schedule changes, keys.

Why each takes ``retry``: the default (``MUTATION_RETRY``) waits out a 423 like neonctl
does, but a caller that serialises work per project may rather see the 423 at once
(``MUTATION_NO_LOCKED_RETRY``) and reschedule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal

from governor.neon.http import NeonHttp
from governor.neon.models import ApiKey, Branch, Endpoint, Operation, Project
from governor.neon.responses import ApiResponse, Mutation, mutation_of
from governor.neon.retry import RetryPolicy


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET


class NeonMutations(NeonHttp):
    """Mutation methods; each returns the object and the operations Neon started."""

    async def update_branch(
        self,
        project_id: str,
        branch_id: str,
        *,
        name: str | _Unset = UNSET,
        protected: bool | _Unset = UNSET,
        expires_at: datetime | _Unset | None = UNSET,
        retry: RetryPolicy | None = None,
    ) -> Mutation[Branch]:
        """PATCH a branch; ``expires_at=None`` removes its expiry."""
        changes: dict[str, Any] = {}
        if name is not UNSET:
            changes["name"] = name
        if protected is not UNSET:
            changes["protected"] = protected
        if expires_at is not UNSET:
            changes["expires_at"] = None if expires_at is None else rfc3339_seconds(expires_at)
        if not changes:
            raise ValueError("update_branch needs at least one change")
        response = await self.request(
            "PATCH",
            "/projects/{project_id}/branches/{branch_id}",
            {"project_id": project_id, "branch_id": branch_id},
            json={"branch": changes},
            retry=retry,
        )
        return mutation_of(response, Branch, "branch")

    async def delete_branch(
        self, project_id: str, branch_id: str, *, retry: RetryPolicy | None = None
    ) -> Mutation[Branch]:
        """DELETE a branch; a 204 (already deleted) gives ``resource=None``."""
        response = await self.request(
            "DELETE",
            "/projects/{project_id}/branches/{branch_id}",
            {"project_id": project_id, "branch_id": branch_id},
            retry=retry,
        )
        return mutation_of(response, Branch, "branch")

    async def update_endpoint(
        self,
        project_id: str,
        endpoint_id: str,
        *,
        autoscaling_limit_min_cu: float | None = None,
        autoscaling_limit_max_cu: float | None = None,
        suspend_timeout_seconds: int | None = None,
        disabled: bool | None = None,
        retry: RetryPolicy | None = None,
    ) -> Mutation[Endpoint]:
        """PATCH a compute's size, scale-to-zero timeout or disabled flag (None: unchanged)."""
        changes: dict[str, Any] = {
            key: value
            for key, value in (
                ("autoscaling_limit_min_cu", autoscaling_limit_min_cu),
                ("autoscaling_limit_max_cu", autoscaling_limit_max_cu),
                ("suspend_timeout_seconds", suspend_timeout_seconds),
                ("disabled", disabled),
            )
            if value is not None
        }
        if not changes:
            raise ValueError("update_endpoint needs at least one change")
        response = await self.request(
            "PATCH",
            "/projects/{project_id}/endpoints/{endpoint_id}",
            {"project_id": project_id, "endpoint_id": endpoint_id},
            json={"endpoint": changes},
            retry=retry,
        )
        return mutation_of(response, Endpoint, "endpoint")

    async def suspend_endpoint(
        self, project_id: str, endpoint_id: str, *, retry: RetryPolicy | None = None
    ) -> Mutation[Endpoint]:
        return await self._endpoint_action(project_id, endpoint_id, "suspend", retry)

    async def start_endpoint(
        self, project_id: str, endpoint_id: str, *, retry: RetryPolicy | None = None
    ) -> Mutation[Endpoint]:
        return await self._endpoint_action(project_id, endpoint_id, "start", retry)

    async def _endpoint_action(
        self,
        project_id: str,
        endpoint_id: str,
        action: Literal["suspend", "start"],
        retry: RetryPolicy | None,
    ) -> Mutation[Endpoint]:
        response = await self.request(
            "POST",
            f"/projects/{{project_id}}/endpoints/{{endpoint_id}}/{action}",
            {"project_id": project_id, "endpoint_id": endpoint_id},
            retry=retry,
        )
        return mutation_of(response, Endpoint, "endpoint")

    async def delete_endpoint(
        self, project_id: str, endpoint_id: str, *, retry: RetryPolicy | None = None
    ) -> Mutation[Endpoint]:
        """DELETE a compute; a 204 (already deleted) gives ``resource=None``."""
        response = await self.request(
            "DELETE",
            "/projects/{project_id}/endpoints/{endpoint_id}",
            {"project_id": project_id, "endpoint_id": endpoint_id},
            retry=retry,
        )
        return mutation_of(response, Endpoint, "endpoint")

    async def update_project(
        self,
        project_id: str,
        *,
        history_retention_seconds: int | None = None,
        default_endpoint_settings: dict[str, Any] | None = None,
        retry: RetryPolicy | None = None,
    ) -> Mutation[Project]:
        """PATCH a project's restore window and/or default compute settings (None: unchanged)."""
        changes: dict[str, Any] = {}
        if history_retention_seconds is not None:
            changes["history_retention_seconds"] = history_retention_seconds
        if default_endpoint_settings is not None:
            changes["default_endpoint_settings"] = default_endpoint_settings
        if not changes:
            raise ValueError("update_project needs at least one change")
        response = await self.request(
            "PATCH",
            "/projects/{project_id}",
            {"project_id": project_id},
            json={"project": changes},
            retry=retry,
        )
        return _project_mutation(response)

    async def delete_project(
        self, project_id: str, *, retry: RetryPolicy | None = None
    ) -> Mutation[Project]:
        """DELETE a project: synchronous, recoverable for 7 days (``recover_project``)."""
        response = await self.request(
            "DELETE", "/projects/{project_id}", {"project_id": project_id}, retry=retry
        )
        return _project_mutation(response)

    async def recover_project(
        self, project_id: str, *, retry: RetryPolicy | None = None
    ) -> Mutation[Project]:
        """POST /projects/{p}/recover: a project deleted less than 7 days ago comes back."""
        response = await self.request(
            "POST", "/projects/{project_id}/recover", {"project_id": project_id}, retry=retry
        )
        return _project_mutation(response)

    async def delete_snapshot(
        self, project_id: str, snapshot_id: str, *, retry: RetryPolicy | None = None
    ) -> Mutation[None]:
        """DELETE a snapshot: Neon answers 202 with the operations that remove it."""
        response = await self.request(
            "DELETE",
            "/projects/{project_id}/snapshots/{snapshot_id}",
            {"project_id": project_id, "snapshot_id": snapshot_id},
            retry=retry,
        )
        if response.data is None:
            return Mutation(None, [], response.status)
        return Mutation(None, _operations(response), response.status)

    async def put_backup_schedule(
        self,
        project_id: str,
        branch_id: str,
        schedule: list[dict[str, Any]],
        *,
        retry: RetryPolicy | None = None,
    ) -> Mutation[dict[str, Any]]:
        """PUT a branch's backup schedule (beta; it replaces the whole schedule)."""
        response = await self.request(
            "PUT",
            "/projects/{project_id}/branches/{branch_id}/backup_schedule",
            {"project_id": project_id, "branch_id": branch_id},
            json={"schedule": schedule},
            retry=retry,
        )
        if response.data is None:
            return Mutation(None, [], response.status)
        body = response.object()
        operations = _operations(response) if "operations" in body else []
        return Mutation(body, operations, response.status)

    async def revoke_personal_api_key(
        self, key_id: int, *, retry: RetryPolicy | None = None
    ) -> Mutation[ApiKey]:
        response = await self.request(
            "DELETE", "/api_keys/{key_id}", {"key_id": key_id}, retry=retry
        )
        return Mutation(response.model(ApiKey, response.object(), "api_key"), [], response.status)

    async def revoke_org_api_key(
        self, org_id: str, key_id: int, *, retry: RetryPolicy | None = None
    ) -> Mutation[ApiKey]:
        response = await self.request(
            "DELETE",
            "/organizations/{org_id}/api_keys/{key_id}",
            {"org_id": org_id, "key_id": key_id},
            retry=retry,
        )
        return Mutation(response.model(ApiKey, response.object(), "api_key"), [], response.status)


def _operations(response: ApiResponse) -> list[Operation]:
    return response.models(Operation, response.field_array("operations"), "operations")


def _project_mutation(response: ApiResponse) -> Mutation[Project]:
    """The project and the operations Neon started (DELETE and recover start none)."""
    if response.data is None:
        return Mutation(None, [], response.status)
    project = response.model(Project, response.field_object("project"), "project")
    operations = _operations(response) if "operations" in response.object() else []
    return Mutation(project, operations, response.status)


def rfc3339_seconds(moment: datetime) -> str:
    """RFC 3339 in UTC with second precision, as Neon wants ``expires_at``."""
    if moment.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
