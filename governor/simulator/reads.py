"""Read endpoints: organizations, projects, branches, endpoints, API keys, operations,
snapshots, backup schedules and spending limits."""

from __future__ import annotations

from typing import Any

from governor.simulator.access import require_org_access, visible_project
from governor.simulator.context import Answer, Context
from governor.simulator.paging import (
    decode_branch_cursor,
    encode_branch_cursor,
    page_after_id,
    parse_choice,
    parse_limit,
    query_value,
)
from governor.simulator.responses import ApiError
from governor.simulator.timestamps import sort_key_of_timestamp
from governor.simulator.world import ProjectState

# Fields of the spec's ProjectListItem; the list serves the Project reduced to these.
PROJECT_LIST_ITEM_FIELDS = frozenset(
    {
        "id", "platform_id", "region_id", "name", "provisioner", "default_endpoint_settings",
        "settings", "pg_version", "proxy_host", "branch_logical_size_limit",
        "branch_logical_size_limit_bytes", "store_passwords", "active_time", "cpu_used_sec",
        "maintenance_starts_at", "creation_source", "created_at", "updated_at",
        "synthetic_storage_size", "quota_reset_at", "owner_id", "compute_last_active_at",
        "org_id", "org_name", "history_retention_seconds", "hipaa_enabled_at",
    }
)  # fmt: skip
ORG_ID_REQUIRED = "org_id is required, you can find it on your organization settings page"
PROJECTS_LIMIT = (1, 400, 10)
BRANCHES_LIMIT = (1, 10000)
OPERATIONS_LIMIT = (1, 1000)
BRANCH_SORT_FIELDS = ("name", "created_at", "updated_at")
# Spending notifications are a Launch and Scale feature; other plans answer 422 (observed).
SPENDING_LIMIT_PLANS = ("launch", "scale")


def project_list_item(project: dict[str, Any]) -> dict[str, Any]:
    """The ProjectListItem Neon lists for ``project``: fewer fields, plus ``active_time``."""
    item = {key: value for key, value in project.items() if key in PROJECT_LIST_ITEM_FIELDS}
    if "active_time" not in item:
        item["active_time"] = int(project.get("active_time_seconds", 0) or 0)
    return item


def auth_details(context: Context) -> Answer:
    """``GET /auth``: who the key is (AuthDetailsResponse); org and project keys are org keys."""
    scope = context.scope
    if scope.kind == "personal":
        # the world's "user_id" of the key, when given: what its keys' created_by.id name
        user = scope.user_id or f"user-{scope.label}"
        return 200, {"account_id": user, "auth_method": "api_key_user"}
    details = {"account_id": str(scope.org_id), "auth_method": "api_key_org"}
    if scope.kind == "project":
        details["auth_data"] = str(scope.project_id)
    return 200, details


def list_organizations(context: Context) -> Answer:
    scope = context.scope
    if scope.kind == "project":
        raise ApiError(403, "project-scoped API keys cannot list organizations")
    organizations = [org for org in context.world.organizations if scope.sees_org(str(org["id"]))]
    return 200, {"organizations": organizations}


def get_organization(context: Context) -> Answer:
    return 200, require_org_access(context.world, context.scope, context.params["org_id"])


def _projects_in_scope(context: Context) -> list[ProjectState]:
    world, scope = context.world, context.scope
    org_id = query_value(context.query, "org_id")
    if scope.kind == "project":
        state = world.projects[str(scope.project_id)]
        if org_id is not None and org_id != state.org_id:
            raise ApiError(403, f"this API key has no access to organization {org_id!r}")
        return [state]
    if scope.kind == "org":
        if org_id is not None and org_id != scope.org_id:
            raise ApiError(403, f"this API key has no access to organization {org_id!r}")
        org_id = scope.org_id
    elif org_id is None:
        if world.organizations:
            raise ApiError(400, ORG_ID_REQUIRED)
        return []
    if org_id not in world.org_project_ids:
        raise ApiError(404, f"organization {org_id!r} not found")
    return [world.projects[project_id] for project_id in world.org_project_ids[org_id]]


def list_projects(context: Context) -> Answer:
    low, high, default = PROJECTS_LIMIT
    limit = parse_limit(context.query, low, high, default)
    assert limit is not None
    states = _projects_in_scope(context)
    search = query_value(context.query, "search")
    if search:
        needle = search.lower()
        states = [
            state
            for state in states
            if needle in state.project_id.lower()
            or needle in str(state.project.get("name", "")).lower()
        ]
    cursor = query_value(context.query, "cursor")
    ids = [state.project_id for state in states]
    start = page_after_id(ids, cursor)
    page = states[start : start + limit]
    unavailable = context.options.unavailable_project_ids
    payload: dict[str, Any] = {
        "projects": [
            project_list_item(state.project)
            for state in page
            if state.project_id not in unavailable
        ]
    }
    missing = [state.project_id for state in page if state.project_id in unavailable]
    if missing:
        payload["unavailable_project_ids"] = missing
    next_cursor = page[-1].project_id if page else cursor
    if next_cursor:
        payload["pagination"] = {"cursor": next_cursor}
    payload["applications"] = {}
    payload["integrations"] = {}
    return 200, payload


def get_project(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    return 200, {"project": state.project}


def _branch_sort_value(branch: dict[str, Any], sort_by: str) -> Any:
    if sort_by == "name":
        return str(branch.get("name", ""))
    return sort_key_of_timestamp(branch.get(sort_by))


def list_branches(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    query = context.query
    sort_by = parse_choice(query, "sort_by", BRANCH_SORT_FIELDS, "updated_at")
    sort_order = parse_choice(query, "sort_order", ("asc", "desc"), "desc")
    limit = parse_limit(query, *BRANCHES_LIMIT, default=None)
    cursor = query_value(query, "cursor")
    after: tuple[Any, str] | None = None
    if cursor:
        sort_by, sort_order, sort_value, last_id = decode_branch_cursor(cursor)
        if sort_by not in BRANCH_SORT_FIELDS or sort_order not in ("asc", "desc"):
            raise ApiError(400, f"cursor {cursor!r} is not a valid pagination cursor")
        after = (sort_value, last_id)
    branches = list(state.branches.values())
    search = query_value(query, "search")
    if search:
        needle = search.lower()
        branches = [
            branch
            for branch in branches
            if needle in str(branch["id"]).lower() or needle in str(branch.get("name", "")).lower()
        ]
    descending = sort_order == "desc"
    keyed = sorted(
        ((_branch_sort_value(branch, sort_by), str(branch["id"])), branch) for branch in branches
    )
    if descending:
        keyed.reverse()
    if after is not None:
        keyed = [
            (key, branch) for key, branch in keyed if (key < after if descending else key > after)
        ]
    page = keyed if limit is None else keyed[:limit]
    pagination: dict[str, Any] = {}
    if limit is not None:
        if page:
            (last_value, last_id), _ = page[-1]
            pagination["next"] = encode_branch_cursor(sort_by, sort_order, last_value, last_id)
        elif cursor:
            pagination["next"] = cursor
    pagination["sort_by"] = sort_by
    pagination["sort_order"] = sort_order
    return 200, {
        "branches": [branch for _, branch in page],
        "annotations": {
            str(branch["id"]): _annotation(state, str(branch["id"]))
            for _, branch in page
            if str(branch["id"]) in state.annotations
        },
        "pagination": pagination,
    }


def _annotation(state: ProjectState, branch_id: str) -> dict[str, Any]:
    """The spec's AnnotationData of one branch (``value``: empty when it has none)."""
    annotation: dict[str, Any] = {
        "object": {"type": "console/branch", "id": branch_id},
        "value": state.annotations.get(branch_id, {}),
    }
    created_at = state.branches[branch_id].get("created_at")
    if created_at is not None:
        annotation["created_at"] = annotation["updated_at"] = created_at
    return annotation


def get_branch(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    branch_id = context.params["branch_id"]
    branch = state.branches.get(branch_id)
    if branch is None:
        raise ApiError(404, f"branch {branch_id!r} not found")
    return 200, {"branch": branch, "annotation": _annotation(state, branch_id)}


def list_endpoints(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    return 200, {"endpoints": list(state.endpoints.values())}


def get_endpoint(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    endpoint_id = context.params["endpoint_id"]
    endpoint = state.endpoints.get(endpoint_id)
    if endpoint is None:
        raise ApiError(404, f"endpoint {endpoint_id!r} not found")
    return 200, {"endpoint": endpoint}


def list_personal_api_keys(context: Context) -> Answer:
    if context.scope.kind != "personal":
        raise ApiError(403, "only personal API keys can list personal API keys")
    return 200, context.world.personal_api_keys


def list_org_api_keys(context: Context) -> Answer:
    org_id = context.params["org_id"]
    require_org_access(context.world, context.scope, org_id)
    return 200, context.world.org_api_keys[org_id]


def list_org_members(context: Context) -> Answer:
    """Who may see the organization's keys may see its members (``MemberWithUser``)."""
    org_id = context.params["org_id"]
    require_org_access(context.world, context.scope, org_id)
    return 200, {"members": context.world.org_members.get(org_id, [])}


def list_operations(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    limit = parse_limit(context.query, *OPERATIONS_LIMIT, default=None)
    operations = context.operations.of_project(state.project_id) + _past_operations(state)
    cursor = query_value(context.query, "cursor")
    start = page_after_id([operation["id"] for operation in operations], cursor)
    page = operations[start:] if limit is None else operations[start : start + limit]
    payload: dict[str, Any] = {"operations": page}
    next_cursor = page[-1]["id"] if page else cursor
    if next_cursor:
        payload["pagination"] = {"cursor": next_cursor}
    return 200, payload


def get_operation(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    operation_id = context.params["operation_id"]
    operation = context.operations.get(state.project_id, operation_id)
    if operation is None:
        operation = next((past for past in state.operations if past["id"] == operation_id), None)
    if operation is None:
        raise ApiError(404, f"operation {operation_id!r} not found")
    return 200, {"operation": operation}


def _past_operations(state: ProjectState) -> list[dict[str, Any]]:
    """The world's operations from before the simulator started, newest first, as Neon
    lists them (after every live one: those are all newer)."""
    return sorted(
        state.operations,
        key=lambda operation: (sort_key_of_timestamp(operation.get("created_at")), operation["id"]),
        reverse=True,
    )


def list_snapshots(context: Context) -> Answer:
    """``listSnapshots`` (beta): the whole list, unpaged, newest first."""
    state = visible_project(context.world, context.scope, context.params["project_id"])
    snapshots = sorted(
        state.snapshots.values(),
        key=lambda snapshot: (sort_key_of_timestamp(snapshot.get("created_at")), snapshot["id"]),
        reverse=True,
    )
    return 200, {"snapshots": snapshots}


def get_backup_schedule(context: Context) -> Answer:
    """A branch's backup schedule (beta); a branch without one has an empty schedule."""
    state = visible_project(context.world, context.scope, context.params["project_id"])
    branch_id = context.params["branch_id"]
    if branch_id not in state.branches:
        raise ApiError(404, f"branch {branch_id!r} not found")
    return 200, state.backup_schedules.get(branch_id, {"schedule": []})


def get_spending_limit(context: Context) -> Answer:
    """``spending_limit_cents`` (null: none set); 422 on plans without the feature."""
    org_id = context.params["org_id"]
    org = require_org_access(context.world, context.scope, org_id)
    if not str(org.get("plan", "")).startswith(SPENDING_LIMIT_PLANS):
        raise ApiError(
            422, "spending limits are not available on the organization's plan", "NOT_ALLOWED"
        )
    billing = context.world.org_billing.get(org_id, {})
    return 200, {"spending_limit_cents": billing.get("spending_limit_cents")}
