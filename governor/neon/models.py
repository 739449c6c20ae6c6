"""Pydantic models of the Neon API v2 objects the governor reads.

Why tolerant: Neon adds fields and enum values often. Every model keeps unknown fields
(``extra="allow"``) and types enum-like strings (states, operation action and status,
provisioner) as plain ``str``. Each instance also keeps the exact JSON object it was
parsed from (``raw``), so reports and the store show the API's own objects unchanged.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

# Open sets: known values, used for decisions; any other string is accepted.
OPERATION_SUCCESS_STATUSES = frozenset({"finished", "skipped"})
OPERATION_FAILURE_STATUSES = frozenset({"failed", "error", "cancelled"})
RETRY_SLACK = timedelta(minutes=2)  # after retry_at, how long Neon gets to start the retry


class NeonObject(BaseModel):
    """Base for API objects: unknown fields kept, raw JSON remembered."""

    # allow_inf_nan: "NaN" or "1e999" as a string would pass as a float and poison estimates.
    model_config = ConfigDict(
        extra="allow", frozen=True, populate_by_name=True, allow_inf_nan=False
    )
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Self:
        """Validate ``data`` and keep it verbatim for output."""
        obj = cls.model_validate(data)
        obj._raw = data
        return obj

    @property
    def raw(self) -> dict[str, Any]:
        """The object exactly as the API returned it."""
        return self._raw if self._raw else self.model_dump(mode="json", exclude_none=True)


class Organization(NeonObject):
    id: str
    name: str
    handle: str | None = None
    plan: str | None = None
    managed_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Project(NeonObject):
    """A project, from the list (ProjectListItem) or from GET /projects/{id} (Project)."""

    id: str
    name: str
    region_id: str | None = None
    org_id: str | None = None
    owner_id: str | None = None
    pg_version: int | None = None
    provisioner: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    synthetic_storage_size: int | None = None
    history_retention_seconds: int | None = None


class Branch(NeonObject):
    id: str
    project_id: str
    name: str
    parent_id: str | None = None
    current_state: str | None = None
    default: bool = False
    protected: bool = False
    logical_size: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_reset_at: datetime | None = None
    expires_at: datetime | None = None
    archived: bool | None = None  # not in every spec version; current_state says it too


class Endpoint(NeonObject):
    id: str
    project_id: str
    branch_id: str
    type: str | None = None
    current_state: str | None = None
    pending_state: str | None = None
    autoscaling_limit_min_cu: float
    autoscaling_limit_max_cu: float
    suspend_timeout_seconds: int = 0
    disabled: bool = False
    provisioner: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_active: datetime | None = None
    started_at: datetime | None = None
    suspended_at: datetime | None = None


class ApiKey(NeonObject):
    """A personal or organization API key (project-scoped keys carry ``project_id``)."""

    id: int
    name: str
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    last_used_from_addr: str | None = None
    project_id: str | None = None


class Membership(NeonObject):
    """The ``member`` part of an organization member (the spec's ``Member``)."""

    id: str
    user_id: str  # the user's id: what an API key's ``created_by.id`` names
    org_id: str
    role: str  # "admin" | "member", open like other enums
    joined_at: datetime | None = None


class MemberUser(NeonObject):
    """The ``user`` part (``MemberUserInfo``); the email is sensitive: never in a repr."""

    # Tolerated when missing: such a member names no one, it does not break the listing.
    email: str | None = Field(default=None, repr=False)


class OrgMember(NeonObject):
    """One item of ``GET /organizations/{org_id}/members`` (``MemberWithUser``)."""

    member: Membership
    user: MemberUser

    @property
    def user_id(self) -> str:
        return self.member.user_id

    @property
    def email(self) -> str | None:
        return self.user.email


class Operation(NeonObject):
    id: str
    project_id: str
    action: str
    status: str
    branch_id: str | None = None
    endpoint_id: str | None = None
    error: str | None = None
    failures_count: int = 0
    retry_at: datetime | None = None  # a failed operation Neon will try again then
    created_at: datetime | None = None
    updated_at: datetime | None = None
    total_duration_ms: int | None = None

    def final(self, now: datetime) -> bool:
        """Terminal for good: ``failed``/``error`` only once Neon stops retrying them.

        Neon's docs: "A failed operation is not terminal and may be retried"; a
        ``retry_at`` ahead of ``now`` (or just behind it: the retry may be starting) says
        it will be.
        """
        if self.succeeded or self.status == "cancelled":
            return True
        if self.status in ("failed", "error"):
            return self.retry_at is None or now > self.retry_at + RETRY_SLACK
        return False

    @property
    def succeeded(self) -> bool:
        return self.status in OPERATION_SUCCESS_STATUSES

    @property
    def failed(self) -> bool:
        return self.status in OPERATION_FAILURE_STATUSES

    @property
    def terminal(self) -> bool:
        return self.succeeded or self.failed
