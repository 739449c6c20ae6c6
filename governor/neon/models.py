"""Pydantic models of the Neon API v2 objects the governor reads.

Why tolerant: Neon adds fields and enum values often. Enum-like strings (states,
operation action and status, provisioner) are plain ``str``, and every object keeps the
exact JSON object it was parsed from (``raw``), unknown fields included, so reports and
the store show the API's own objects unchanged.

Why ``raw`` is compact bytes: a sweep of 10,000 projects holds about 200,000 objects.
Kept as a dict next to a model that also kept every unknown field (``extra="allow"``),
each cost about 7 KB, 1.7 GB in all. ``from_api`` now validates the declared fields only
(the unknown ones live in ``raw``), shares the ``fields_set`` of models with the same keys,
and keeps ``raw`` as compact JSON bytes (orjson), decoded afresh on each access: about a
quarter of the memory. Models built directly (``Branch(id=..., ...)``) still keep extra
keyword fields, and their ``raw`` is their dump.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

# Open sets: known values, used for decisions; any other string is accepted.
OPERATION_SUCCESS_STATUSES = frozenset({"finished", "skipped"})
RETRY_SLACK = timedelta(minutes=2)  # after retry_at, how long Neon gets to start the retry


# One ``fields_set`` per distinct set of keys: models are frozen, and pydantic copies the
# set before changing a copy's (``model_copy``), so sharing it is safe; a set of 13 names
# is 728 bytes, more than a third of a model.
_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


def _shared_fields_set(names: set[str]) -> set[str]:
    key = frozenset(names)
    shared = _FIELDS_SETS.get(key)
    if shared is None:
        if len(_FIELDS_SETS) >= 4096:  # hostile answers with ever new key sets: stop sharing
            return names
        shared = _FIELDS_SETS[key] = set(names)
    return shared


# Raw JSON without its keys: the values as a JSON array, its last element the number of
# the object's key tuple here (a branch's 20 key names are 40% of its text). Bounded:
# past it (hostile answers with ever new keys) an object is kept as its whole JSON text.
_SHAPES: dict[tuple[str, ...], int] = {}
_SHAPE_KEYS: list[tuple[str, ...]] = []
_SHAPES_LOCK = threading.Lock()
_MAX_SHAPES = 4096
_ARRAY = ord("[")


def _compact(data: dict[str, Any]) -> bytes:
    """``data`` as compact JSON bytes (a copy: orjson's own buffer is a few KB whatever the
    length, 8 KB for a 600-byte branch as measured); raises orjson.JSONEncodeError."""
    keys = tuple(data)
    shape = _SHAPES.get(keys)
    if shape is None:
        with _SHAPES_LOCK:
            shape = _SHAPES.get(keys)
            if shape is None and len(_SHAPE_KEYS) < _MAX_SHAPES:
                shape = _SHAPES[keys] = len(_SHAPE_KEYS)
                _SHAPE_KEYS.append(keys)
    if shape is None:
        return memoryview(orjson.dumps(data)).tobytes()
    values = list(data.values())
    values.append(shape)
    return memoryview(orjson.dumps(values)).tobytes()


def _expanded(text: bytes) -> dict[str, Any]:
    if text[0] != _ARRAY:
        whole: dict[str, Any] = orjson.loads(text)
        return whole
    values = orjson.loads(text)
    return dict(zip(_SHAPE_KEYS[values[-1]], values, strict=False))  # the last is the shape


class NeonObject(BaseModel):
    """Base for API objects: declared fields validated, the API's JSON remembered."""

    # allow_inf_nan: "NaN" or "1e999" as a string would pass as a float and poison estimates.
    model_config = ConfigDict(
        extra="allow", frozen=True, populate_by_name=True, allow_inf_nan=False
    )
    # The API object as compact JSON (``_compact``), or the dict itself when orjson cannot
    # write it (an integer beyond 64 bits); None: built directly, ``raw`` is the dump.
    _raw: bytes | dict[str, Any] | None = PrivateAttr(default=None)
    # Fields whose values repeat across objects (ids of the parent, states): interned,
    # so 10 branches and their computes share one project id string.
    _shared_values: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Self:
        """Validate ``data``'s declared fields and keep all of it, verbatim, for output."""
        obj = cls.model_validate(data, extra="ignore")
        object.__setattr__(
            obj, "__pydantic_fields_set__", _shared_fields_set(obj.__pydantic_fields_set__)
        )
        values = obj.__dict__
        for name in cls._shared_values:
            value = values.get(name)
            if type(value) is str:
                values[name] = sys.intern(value)
        try:
            obj._raw = _compact(data)
        except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
            obj._raw = data
        return obj

    @property
    def raw(self) -> dict[str, Any]:
        """The object exactly as the API returned it: a new dict on each access (changing it
        changes nothing here); read it once where it is needed more than once."""
        stored = self._raw
        if isinstance(stored, bytes):
            return _expanded(stored)
        if stored is not None:
            return dict(stored)
        return self.model_dump(mode="json", exclude_none=True)


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

    _shared_values = ("region_id", "org_id", "provisioner")

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
    _shared_values = ("project_id", "parent_id", "current_state")

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
    _shared_values = ("project_id", "branch_id", "type", "current_state", "provisioner")

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


class ProjectSnapshot(NeonObject):
    """A snapshot of a project (``GET /projects/{p}/snapshots``, beta).

    The API object does not name its project: ``in_project`` sets ``project_id`` from the
    path and keeps ``raw`` as returned. ``full_size`` and ``diff_size`` are in current
    responses, not in the 2025 spec: absent or 0 ``full_size`` means not charged.
    """

    _shared_values = ("project_id", "source_branch_id")

    id: str
    name: str
    project_id: str = ""
    created_at: datetime | None = None
    expires_at: datetime | None = None
    manual: bool | None = None
    full_size: int | None = None
    diff_size: int | None = None
    source_branch_id: str | None = None
    lsn: str | None = None

    @classmethod
    def in_project(cls, project_id: str, data: dict[str, Any]) -> ProjectSnapshot:
        """``from_api`` with the project the listing was read from; ``raw`` stays the API's."""
        snapshot = cls.from_api({**data, "project_id": data.get("project_id", project_id)})
        try:
            snapshot._raw = _compact(data)
        except TypeError:
            snapshot._raw = data
        return snapshot


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
    _shared_values = ("project_id", "action", "status")

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
