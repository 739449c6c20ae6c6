"""The fields a filter can name: the API's own, plus the ones the governor derives.

A filter names a field of the resource's API object (``protected``, ``created_at``,
``settings.pg_settings.max_connections`` for nested ones) or one of these derived fields:

every resource
    ``org_id``: the organization the resource belongs to (for a project, its own
    ``org_id``; for a branch or compute, its project's; for a key, the organization it was
    listed under, absent for personal keys).

organization
    ``plan``: its billing plan id (``governor.savings.billing_plan``: free, launch, scale,
    agent, enterprise, legacy_launch, legacy_scale, legacy_business); absent when unknown.
    ``spending_limit_read``: whether the sweep read its spending notification (Neon offers
    one on Launch and Scale only); ``spending_limit_cents``: the limit, absent when none
    is set or it was not read.
    ``scale_features_used``: the Scale-only features its projects use (a timeout outside
    0/300/-1, a fixed compute above 16 CU, a restore window above 7 days, IP allow lists,
    blocked public connections, HIPAA, more than 100 projects); ``scale_feature_count``:
    how many.
    ``within_free_limits``: every project inside the Free plan's object limits (at most 10
    branches, computes up to 2 CU, root branches up to 0.5 GB, at most 100 projects);
    absent when a size is unknown. ``project_count``, ``scale_features_used``,
    ``scale_feature_count`` and ``within_free_limits`` are absent when the sweep could not
    read all its projects, branches and computes.

project
    ``branch_count``, ``compute_count``: how many branches and computes the sweep saw in it.
    ``plan``: its organization's billing plan id.
    ``has_protected_branch``: whether any of its branches is protected.
    ``child_branch_count``: branches with a parent (archived ones count: Neon bills them).
    ``included_child_branches``: the child branches its plan includes (9 on Launch, 24 on
    Scale); absent on other plans. ``extra_child_branches``: how many it has beyond that.
    ``default_suspend_timeout_seconds``, ``default_min_cu``: from
    ``default_endpoint_settings`` (absent when not set).
    ``branches_created_30d``: branches created in the 30 days before the sweep.
    ``logical_replication``: ``settings.enable_logical_replication`` (false when not set).
    The counts over its branches (``has_protected_branch``, ``child_branch_count``,
    ``extra_child_branches``, ``branches_created_30d``) are absent when the sweep could not
    read all its branches and computes: "no protected branch" must mean none, not unseen.

branch
    ``project_name``: its project's name.
    ``last_activity``: the latest of ``last_active``, ``started_at`` and ``suspended_at``
    over the branch's computes. Absent when the branch has no compute, or when any of its
    computes has none of the three (that compute's activity is unknown, so the branch's
    latest activity is unknown too).
    ``has_children``: whether another branch names it as ``parent_id``.
    ``compute_count``: how many computes (endpoints) the branch has.
    ``is_root``: the branch has no parent (Neon refuses to delete a root branch).
    ``backup_taken_at``: the time in a ``<branch>_old_<RFC 3339 time>`` name, the backup an
    instant restore leaves; absent for other names.
    ``backup_schedule_without_retention``: its backup schedule has an item without
    ``retention_seconds`` (kept forever); absent when the schedule was not read.

endpoint (compute)
    ``project_name``: its project's name.
    ``last_activity``: the latest of its own ``last_active``, ``started_at``,
    ``suspended_at``; absent when it has none of them.
    ``branch_name``, ``branch_default``, ``branch_protected``: its branch's ``name``,
    ``default`` and ``protected``; absent when the branch was not seen.
    ``floor_can_drop``: whether Neon accepts a lower ``autoscaling_limit_min_cu`` with the
    current maximum kept (Neon's rules: an autoscaling range spans at most 8 CU, the minimum
    is at least max/8 above 10 CU, autoscaling tops out at 16 CU); absent when the limits
    are not known.
    ``active_share_7d``, ``floor_share_7d``, ``hours_measured_7d``: from Neon's hourly
    meters of its branch (``compute_unit_seconds``): the share of the last 168 complete
    hours with any compute, the share of those active hours at the computes' floor (at
    most 1.05 x the sum of their minimums), and the hours measured; absent when the
    branch's meters were not read.
    ``branch_scales_to_zero``: every compute of its branch can scale to zero (timeout not
    -1, at most 16 CU).
    ``logical_replication``: its project has logical replication enabled.
    ``activations_30d``: ``start_compute`` operations in the last 30 days; absent when the
    project's operations were not read.

snapshot
    ``project_name``: its project's name. ``full_size``, ``diff_size``, ``manual``,
    ``expires_at`` as the API gives them (``expires_at`` absent: kept until deleted).

api_key
    ``scope``: ``personal``, ``organization`` or ``project`` (an organization key limited
    to one project).
    ``project_name``: the name of the project a project-scoped key is limited to.

A project's fields come from the project list (``ProjectListItem``). The fields in
``PROJECT_DETAIL_FIELDS`` are only in ``GET /projects/{project_id}`` (consumption counters,
``owner``, ``maintenance_scheduled_for``): a policy naming one makes the sweep read the
detail of each project that policy can still select once every other field is known
(``policies validate`` says which policies do); the resize estimate reads
``consumption_period_start`` the same way.

Derived fields win over API fields of the same name. The API field names listed below come
from Neon's OpenAPI definition; any other name is accepted (Neon adds fields), except one so
close to a known name that it is surely a typo.
"""

from __future__ import annotations

import difflib
from typing import Literal

from governor.model.snapshot import ResourceType

# What a derived field holds: ``policies validate`` refuses an operator or a value that
# can never match it (``older_than`` on a count, ``eq: "yes"`` on a boolean).
FieldKind = Literal["boolean", "number", "string", "timestamp", "list"]

_DERIVED: dict[ResourceType, dict[str, tuple[FieldKind, str]]] = {
    "organization": {
        "org_id": ("string", "The organization's own id."),
        "plan": ("string", "Its billing plan id (free, launch, scale, agent, enterprise, "
                 "legacy_launch, legacy_scale, legacy_business); absent when unknown."),
        "spending_limit_read": ("boolean", "Whether the sweep read its spending notification."),
        "spending_limit_cents": ("number", "Its spending notification in cents; absent when "
                                 "none is set or it was not read."),
        "scale_features_used": ("list", "The Scale-only features its projects use."),
        "scale_feature_count": ("number", "How many Scale-only features its projects use."),
        "within_free_limits": ("boolean", "Every project inside the Free plan's object "
                               "limits (branches, compute sizes, root sizes, project count)."),
        "project_count": ("number", "How many projects the sweep saw in it."),
    },
    "project": {
        "org_id": ("string", "The project's organization."),
        "branch_count": ("number", "How many branches the sweep saw in the project."),
        "compute_count": ("number", "How many computes (endpoints) the sweep saw in the project."),
        "plan": ("string", "Its organization's billing plan id; absent when unknown."),
        "has_protected_branch": ("boolean", "Whether any of its branches is protected."),
        "child_branch_count": ("number", "Its branches with a parent, archived ones included."),
        "included_child_branches": ("number", "Child branches its plan includes (9 Launch, "
                                    "24 Scale); absent on other plans."),
        "extra_child_branches": ("number", "Child branches beyond included_child_branches."),
        "default_suspend_timeout_seconds": ("number", "default_endpoint_settings' "
                                            "suspend_timeout_seconds; absent when not set."),
        "default_min_cu": ("number", "default_endpoint_settings' autoscaling_limit_min_cu; "
                           "absent when not set."),
        "branches_created_30d": ("number", "Branches created in the 30 days before the sweep."),
        "logical_replication": ("boolean", "settings.enable_logical_replication (false when "
                                "not set)."),
    },
    "branch": {
        "org_id": ("string", "The organization of the branch's project."),
        "project_name": ("string", "The name of the branch's project."),
        "last_activity": ("timestamp", "Latest of last_active, started_at, suspended_at over "
                          "the branch's computes; absent when it has no compute or any "
                          "compute has none of them."),
        "has_children": ("boolean", "Whether another branch has this branch as parent_id."),
        "compute_count": ("number", "How many computes (endpoints) the branch has."),
        "is_root": ("boolean", "The branch has no parent_id (Neon refuses to delete it)."),
        "backup_taken_at": ("timestamp", "The time in a <branch>_old_<RFC 3339 time> name "
                            "(an instant restore's backup); absent for other names."),
        "backup_schedule_without_retention": ("boolean", "Its backup schedule has an item "
                                              "without retention_seconds; absent when not "
                                              "read."),
    },
    "endpoint": {
        "org_id": ("string", "The organization of the compute's project."),
        "project_name": ("string", "The name of the compute's project."),
        "last_activity": ("timestamp", "Latest of the compute's last_active, started_at, "
                          "suspended_at; absent when it has none of them."),
        "branch_name": ("string", "The name of the compute's branch."),
        "branch_default": ("boolean", "Whether the compute's branch is the project's default "
                           "branch."),
        "branch_protected": ("boolean", "Whether the compute's branch is protected."),
        "floor_can_drop": ("boolean", "Whether Neon accepts a lower autoscaling minimum with "
                           "the current maximum kept (a range spans at most 8 CU, min >= "
                           "max/8 above 10 CU, autoscaling up to 16 CU); absent when the "
                           "limits are not known."),
        "active_share_7d": ("number", "Share (0-1) of the last 168 complete hours its branch "
                            "had compute, from Neon's hourly meters; absent when not read."),
        "floor_share_7d": ("number", "Share (0-1) of those active hours at the floor (at most "
                           "1.05 x the sum of the branch's minimums); absent when not read."),
        "hours_measured_7d": ("number", "Complete hours the branch's meters cover (168)."),
        "branch_scales_to_zero": ("boolean", "Every compute of its branch can scale to zero "
                                  "(timeout not -1, at most 16 CU)."),
        "logical_replication": ("boolean", "Its project has logical replication enabled."),
        "activations_30d": ("number", "start_compute operations in the last 30 days; absent "
                            "when the project's operations were not read."),
    },
    "api_key": {
        "org_id": ("string", "The organization the key was listed under; absent for "
                   "personal keys."),
        "scope": ("string", "personal, organization or project (an organization key limited "
                  "to one project)."),
        "project_name": ("string", "The name of the project a project-scoped key is limited "
                         "to."),
    },
    "snapshot": {
        "org_id": ("string", "The organization of the snapshot's project."),
        "project_name": ("string", "The name of the snapshot's project."),
    },
}  # fmt: skip

DERIVED_FIELDS: dict[ResourceType, dict[str, str]] = {
    resource: {name: text for name, (_kind, text) in fields.items()}
    for resource, fields in _DERIVED.items()
}
DERIVED_KINDS: dict[ResourceType, dict[str, FieldKind]] = {
    resource: {name: kind for name, (kind, _text) in fields.items()}
    for resource, fields in _DERIVED.items()
}


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# From the OpenAPI definition (Project, ProjectListItem, Branch, Endpoint,
# ApiKeysListResponseItem, Organization, Snapshot).
API_FIELDS: dict[ResourceType, frozenset[str]] = {
    "project": _names(
        """
        id platform_id region_id name provisioner default_endpoint_settings settings
        pg_version proxy_host branch_logical_size_limit
        branch_logical_size_limit_bytes store_passwords active_time cpu_used_sec
        maintenance_starts_at creation_source created_at updated_at
        synthetic_storage_size quota_reset_at owner_id owner compute_last_active_at
        org_id org_name history_retention_seconds hipaa_enabled_at
        data_storage_bytes_hour data_transfer_bytes written_data_bytes
        compute_time_seconds active_time_seconds consumption_period_start
        consumption_period_end maintenance_scheduled_for
        """
    ),
    "branch": _names(
        """
        id project_id parent_id parent_lsn parent_timestamp name current_state
        pending_state state_changed_at logical_size creation_source primary default
        protected cpu_used_sec compute_time_seconds active_time_seconds
        written_data_bytes data_transfer_bytes created_at updated_at
        ttl_interval_seconds expires_at last_reset_at created_by init_source
        restore_status restored_from restored_as restricted_actions recovery
        archived
        """
    ),
    "endpoint": _names(
        """
        host id name project_id branch_id autoscaling_limit_min_cu
        autoscaling_limit_max_cu region_id type current_state pending_state settings
        pooler_enabled pooler_mode disabled passwordless_access last_active
        creation_source created_at updated_at started_at suspended_at proxy_host
        suspend_timeout_seconds provisioner compute_release_version
        """
    ),
    "api_key": _names(
        """
        id name created_at created_by last_used_at last_used_from_addr project_id
        """
    ),
    "organization": _names(
        """
        id name handle plan managed_by created_at updated_at allow_hipaa_projects
        """
    ),
    # Snapshot, plus the sizes current responses carry and the project it was listed in
    "snapshot": _names(
        """
        id name created_at expires_at manual lsn timestamp source_branch_id full_size
        diff_size project_id
        """
    ),
}


# Project minus ProjectListItem in the OpenAPI definition: only GET /projects/{id} has them.
PROJECT_DETAIL_FIELDS: frozenset[str] = _names(
    """
    active_time_seconds compute_time_seconds consumption_period_start consumption_period_end
    data_storage_bytes_hour data_transfer_bytes written_data_bytes owner
    maintenance_scheduled_for
    """
)


def detail_only(resource: ResourceType, field: str) -> bool:
    """Whether ``field`` (dotted) of ``resource`` is only in a project's detail read."""
    return resource == "project" and field.split(".", maxsplit=1)[0] in PROJECT_DETAIL_FIELDS


def known_fields(resource: ResourceType) -> frozenset[str]:
    return API_FIELDS[resource] | frozenset(DERIVED_FIELDS[resource])


def likely_typo(resource: ResourceType, field: str) -> str | None:
    """The known field ``field`` is surely a misspelling of, if any."""
    known = known_fields(resource)
    if field in known:
        return None
    close = difflib.get_close_matches(field, sorted(known), n=1, cutoff=0.8)
    return close[0] if close else None


# The operators that can match a value of each kind, and the literal kinds each compares to.
_KIND_OPERATORS: dict[FieldKind, frozenset[str]] = {
    "boolean": frozenset({"eq", "ne", "in", "present", "absent"}),
    "number": frozenset({"eq", "ne", "in", "gt", "gte", "lt", "lte", "present", "absent"}),
    "string": frozenset({"eq", "ne", "in", "glob", "regex", "present", "absent"}),
    "timestamp": frozenset(
        {"gt", "gte", "lt", "lte", "older_than", "newer_than", "present", "absent"}
    ),
    "list": frozenset({"present", "absent"}),
}
_LITERAL_KINDS: dict[FieldKind, type | tuple[type, ...]] = {
    "boolean": bool,
    "number": (int, float),
    "string": str,
}


def field_kind(resource: ResourceType, field: str) -> FieldKind | None:
    """The kind of a derived field (None: an API field, whose values the engine does not type)."""
    return DERIVED_KINDS[resource].get(field)


def kind_problem(resource: ResourceType, field: str, operator: str, value: object) -> str | None:
    """Why ``field: {operator: value}`` can never match a derived field, if it cannot."""
    kind = field_kind(resource, field)
    if kind is None:
        return None
    if operator not in _KIND_OPERATORS[kind]:
        usable = ", ".join(sorted(_KIND_OPERATORS[kind]))
        return f"{field} is a {kind}: {operator} never matches it (use one of {usable})"
    if operator in ("gt", "gte", "lt", "lte"):
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "timestamp" and is_number:
            return f"{field} is a timestamp: compare it with a time such as 2026-01-31T00:00:00Z"
        if kind == "number" and not is_number:
            return f"{field} is a number: {value!r} never compares with it"
        return None
    literal = _LITERAL_KINDS.get(kind)
    if literal is None or operator not in ("eq", "ne", "in"):
        return None
    items = value if isinstance(value, list) else [value]
    for item in items:
        wrong = isinstance(item, bool) != (kind == "boolean") or not isinstance(item, literal)
        if wrong and item is not None:
            return f"{field} is a {kind}: {item!r} never equals it"
    return None
