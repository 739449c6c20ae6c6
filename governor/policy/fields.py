"""The fields a filter can name: the API's own, plus the ones the governor derives.

A filter names a field of the resource's API object (``protected``, ``created_at``,
``settings.pg_settings.max_connections`` for nested ones) or one of these derived fields:

every resource
    ``org_id``: the organization the resource belongs to (for a project, its own
    ``org_id``; for a branch or compute, its project's; for a key, the organization it was
    listed under, absent for personal keys).

project
    ``branch_count``, ``compute_count``: how many branches and computes the sweep saw in it.

branch
    ``project_name``: its project's name.
    ``last_activity``: the latest of ``last_active``, ``started_at`` and ``suspended_at``
    over the branch's computes. Absent when the branch has no compute, or when any of its
    computes has none of the three (that compute's activity is unknown, so the branch's
    latest activity is unknown too).
    ``has_children``: whether another branch names it as ``parent_id``.
    ``compute_count``: how many computes (endpoints) the branch has.

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

from governor.model.snapshot import ResourceType

DERIVED_FIELDS: dict[ResourceType, dict[str, str]] = {
    "project": {
        "org_id": "The project's organization.",
        "branch_count": "How many branches the sweep saw in the project.",
        "compute_count": "How many computes (endpoints) the sweep saw in the project.",
    },
    "branch": {
        "org_id": "The organization of the branch's project.",
        "project_name": "The name of the branch's project.",
        "last_activity": "Latest of last_active, started_at, suspended_at over the branch's "
        "computes; absent when it has no compute or any compute has none of them.",
        "has_children": "Whether another branch has this branch as parent_id.",
        "compute_count": "How many computes (endpoints) the branch has.",
    },
    "endpoint": {
        "org_id": "The organization of the compute's project.",
        "project_name": "The name of the compute's project.",
        "last_activity": "Latest of the compute's last_active, started_at, suspended_at; "
        "absent when it has none of them.",
        "branch_name": "The name of the compute's branch.",
        "branch_default": "Whether the compute's branch is the project's default branch.",
        "branch_protected": "Whether the compute's branch is protected.",
        "floor_can_drop": "Whether Neon accepts a lower autoscaling minimum with the current "
        "maximum kept (a range spans at most 8 CU, min >= max/8 above 10 CU, autoscaling up "
        "to 16 CU); absent when the limits are not known.",
    },
    "api_key": {
        "org_id": "The organization the key was listed under; absent for personal keys.",
        "scope": "personal, organization or project (an organization key limited to one project).",
        "project_name": "The name of the project a project-scoped key is limited to.",
    },
}


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# From the OpenAPI definition (Project, ProjectListItem, Branch, Endpoint, ApiKeysListResponseItem).
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
