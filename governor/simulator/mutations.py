"""Mutations: branch update and delete, endpoint update/suspend/start, API key revocation.

Each validates like Neon, refuses with 423 while the project has unfinished operations,
and changes the world only when its operations finish (branch updates and key revocations
have none and apply at once).

Choices where Neon documents nothing or little, so tests can rely on them:

- A PATCH to an idle compute wakes it, as the spec says ("it becomes active for a short
  period of time, and the control plane suspends it again after the update"): operations
  ``apply_config`` then ``suspend_compute``; ``current_state`` is ``active`` from when
  ``apply_config`` starts running (``started_at`` then) until ``suspend_compute`` finishes
  (``suspended_at`` then); each wake-up is counted in the stats. If the chain fails for
  good the compute is suspended again at the failure.
- Suspending an already idle compute is accepted: one ``suspend_compute`` operation that
  finishes and changes nothing (state, ``suspended_at`` and ``last_active`` stay).
- Neon's documented compute rules come from ``governor.rules.compute`` (the one statement
  the governor plans with): the resulting pair must be sizes Neon offers, a range at most
  8 CU wide, up to 16 CU, with min >= max/8 above 10 CU; a fixed size up to 56 CU. They are
  checked when the PATCH sets a limit, so a world may hold legacy ranges; min <= max is
  checked on the resulting pair always. A suspend timeout the PATCH sets is checked against
  the organization's ``plan`` (Free: 5 minutes; Launch: 5 minutes or never; others: 1 minute
  to never) and the resulting size (above 16 CU only -1). Refusals are 400s that name the
  rule.
- ``expires_at`` must have second precision: a fraction of a second is refused (400).
- PATCH project: ``history_retention_seconds`` within the API's 0..2592000 and the plan's
  cap (``governor.rules.retention``: Free 6 h, Launch 7 days); a change of it starts one
  ``apply_storage_config`` operation and applies when it finishes. ``default_endpoint_settings``
  is checked with ``governor.rules.compute`` (the merged pair and the plan's timeouts) and
  applies at once (no operation: only new computes read it).
- DELETE project answers the project with no operations (as the spec's ProjectResponse) and
  is soft: ``POST /projects/{p}/recover`` brings it back within 7 days (404 after).
- DELETE snapshot answers 202 with one ``apply_storage_config`` operation; the snapshot goes
  when it finishes. PUT backup_schedule (beta, not in the 2025 spec) replaces the schedule
  at once, items as the spec's ``BackupScheduleItem`` (``retention_seconds`` ≥ 3600).
- DELETE endpoint suspends an active compute first (``suspend_compute``), then the compute
  is gone; a second DELETE answers 204.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from governor.rules.compute import size_problems, suspend_problems
from governor.rules.retention import retention_problems
from governor.simulator.access import require_org_access, visible_project
from governor.simulator.context import Answer, Context, Tombstones
from governor.simulator.operations import Step
from governor.simulator.responses import ApiError
from governor.simulator.timestamps import (
    format_timestamp,
    has_fractional_seconds,
    parse_timestamp,
)
from governor.simulator.world import ProjectState

LOCKED_MESSAGE = "project already has running operations, scheduling of new ones is prohibited"
MAX_EXPIRATION = timedelta(days=30)
BRANCH_UPDATE_FIELDS = frozenset({"name", "protected", "expires_at"})
ENDPOINT_UPDATE_FIELDS = frozenset(
    {
        "branch_id", "autoscaling_limit_min_cu", "autoscaling_limit_max_cu", "provisioner",
        "settings", "pooler_enabled", "pooler_mode", "disabled", "passwordless_access",
        "suspend_timeout_seconds", "name",
    }
)  # fmt: skip
MIN_COMPUTE_UNITS = 0.25
PROJECT_UPDATE_FIELDS = frozenset(
    {"settings", "name", "default_endpoint_settings", "history_retention_seconds"}
)
DEFAULT_ENDPOINT_FIELDS = frozenset(
    {
        "pg_settings", "pgbouncer_settings", "autoscaling_limit_min_cu",
        "autoscaling_limit_max_cu", "suspend_timeout_seconds",
    }
)  # fmt: skip
PROJECT_RECOVERY = timedelta(days=7)
SCHEDULE_ITEM_FIELDS = frozenset({"frequency", "hour", "day", "month", "retention_seconds"})
SCHEDULE_FREQUENCIES = ("hourly", "daily", "weekly", "monthly", "yearly")
MIN_SCHEDULE_RETENTION_SECONDS = 3600


# ----- shared helpers -----------------------------------------------------------------


def _request_object(context: Context, envelope: str, allowed: frozenset[str]) -> dict[str, Any]:
    """The ``{envelope: {...}}`` body, with unknown fields refused by name."""
    try:
        body = json.loads(context.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get(envelope), dict):
        raise ApiError(400, f'request body must be a JSON object {{"{envelope}": {{...}}}}')
    fields: dict[str, Any] = body[envelope]
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ApiError(400, f"unknown field(s) in {envelope}: {', '.join(unknown)}")
    return fields


def _refuse_while_running(context: Context, state: ProjectState) -> None:
    if context.operations.has_running(state.project_id):
        raise ApiError(423, LOCKED_MESSAGE)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def remove_branch(state: ProjectState, branch_id: str, tombstones: Tombstones) -> None:
    """Delete a branch and its computes, remembering both ids."""
    state.branches.pop(branch_id, None)
    state.annotations.pop(branch_id, None)
    tombstones.bury_branch(state.project_id, branch_id)
    for endpoint_id in [
        endpoint_id
        for endpoint_id, endpoint in state.endpoints.items()
        if endpoint["branch_id"] == branch_id
    ]:
        del state.endpoints[endpoint_id]
        tombstones.bury_endpoint(state.project_id, endpoint_id)


def _existing_branch(state: ProjectState, branch_id: str) -> dict[str, Any]:
    branch = state.branches.get(branch_id)
    if branch is None:
        raise ApiError(404, f"branch {branch_id!r} not found")
    return branch


def _existing_endpoint(state: ProjectState, endpoint_id: str) -> dict[str, Any]:
    endpoint = state.endpoints.get(endpoint_id)
    if endpoint is None:
        raise ApiError(404, f"endpoint {endpoint_id!r} not found")
    return endpoint


# ----- branches -----------------------------------------------------------------------


def _validated_expiry(value: Any, now: datetime) -> datetime:
    if not isinstance(value, str):
        raise ApiError(400, "expires_at must be an RFC 3339 date-time string or null")
    try:
        moment = parse_timestamp(value)
    except ValueError as error:
        raise ApiError(400, f"expires_at: {error}") from None
    if has_fractional_seconds(value):
        raise ApiError(
            400, f"expires_at {value!r} must have second precision (no fractional seconds)"
        )
    if moment <= now:
        raise ApiError(400, f"expires_at {value!r} must be in the future")
    if moment > now + MAX_EXPIRATION:
        raise ApiError(400, f"expires_at {value!r} must be at most 30 days ahead")
    return moment


def update_branch(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    branch_id = context.params["branch_id"]
    branch = _existing_branch(state, branch_id)
    _refuse_while_running(context, state)
    fields = _request_object(context, "branch", BRANCH_UPDATE_FIELDS)
    if "name" in fields and (
        not isinstance(fields["name"], str) or not 1 <= len(fields["name"]) <= 256
    ):
        raise ApiError(400, "name must be a string of 1 to 256 characters")
    if "protected" in fields and not isinstance(fields["protected"], bool):
        raise ApiError(400, "protected must be a boolean")
    protected = fields.get("protected", branch.get("protected", False))
    expiry: datetime | None = None
    if fields.get("expires_at") is not None:
        expiry = _validated_expiry(fields["expires_at"], context.now)
        if protected:
            raise ApiError(400, "expires_at cannot be set on a protected branch")
        if branch.get("default"):
            raise ApiError(400, "expires_at cannot be set on the default branch")
        if state.children_of(branch_id):
            raise ApiError(400, "expires_at cannot be set on a branch that has child branches")
    elif protected and "expires_at" not in fields and branch.get("expires_at"):
        raise ApiError(400, "a branch with expires_at cannot be protected; clear expires_at first")
    if "name" in fields:
        branch["name"] = fields["name"]
    if "protected" in fields:
        branch["protected"] = fields["protected"]
    if "expires_at" in fields:
        if expiry is None:
            branch.pop("expires_at", None)
            branch.pop("ttl_interval_seconds", None)
        else:
            branch["expires_at"] = format_timestamp(expiry)
            branch["ttl_interval_seconds"] = int((expiry - context.now).total_seconds())
            context.schedule_expiry(state.project_id, branch_id)
    branch["updated_at"] = format_timestamp(context.now)
    return 200, {"branch": branch, "operations": []}


def delete_branch(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    branch_id = context.params["branch_id"]
    branch = state.branches.get(branch_id)
    if branch is None:
        if context.tombstones.branch_was_deleted(state.project_id, branch_id):
            return 204, None
        raise ApiError(404, f"branch {branch_id!r} not found")
    if branch.get("default"):
        raise ApiError(422, "cannot delete the project's default branch", "BRANCH_IS_DEFAULT")
    if branch.get("protected"):
        raise ApiError(422, "cannot delete a protected branch", "BRANCH_IS_PROTECTED")
    if not branch.get("parent_id"):
        raise ApiError(422, "cannot delete the project's root branch", "BRANCH_IS_ROOT")
    if state.children_of(branch_id):
        raise ApiError(422, "cannot delete a branch that has child branches", "BRANCH_HAS_CHILDREN")
    _refuse_while_running(context, state)
    steps = [
        Step("suspend_compute", branch_id, endpoint["id"])
        for endpoint in state.endpoints_of(branch_id)
        if endpoint.get("current_state") == "active"
    ]
    steps.append(Step("delete_timeline", branch_id))

    def effect(_: datetime) -> None:
        remove_branch(state, branch_id, context.tombstones)

    operations = context.operations.start(
        state.project_id, steps, effect, context.clock_value, context.now
    )
    return 200, {"branch": branch, "operations": operations}


# ----- endpoints ----------------------------------------------------------------------


def _validate_endpoint_fields(
    fields: dict[str, Any], endpoint: dict[str, Any], plan: str | None
) -> None:
    for name in ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu"):
        if name in fields and (not _is_number(fields[name]) or fields[name] < MIN_COMPUTE_UNITS):
            raise ApiError(400, f"{name} must be a number of at least {MIN_COMPUTE_UNITS}")
    minimum: Any = fields.get("autoscaling_limit_min_cu", endpoint.get("autoscaling_limit_min_cu"))
    maximum: Any = fields.get("autoscaling_limit_max_cu", endpoint.get("autoscaling_limit_max_cu"))
    if _is_number(minimum) and _is_number(maximum) and minimum > maximum:
        raise ApiError(
            400,
            f"autoscaling_limit_min_cu ({minimum}) must not exceed "
            f"autoscaling_limit_max_cu ({maximum})",
        )
    sets_limits = "autoscaling_limit_min_cu" in fields or "autoscaling_limit_max_cu" in fields
    if sets_limits and _is_number(minimum) and _is_number(maximum):
        problems = size_problems(float(minimum), float(maximum))
        if problems:
            raise ApiError(
                400,
                f"autoscaling limits {minimum:g}-{maximum:g} CU refused: " + "; ".join(problems),
            )
    if "suspend_timeout_seconds" in fields:
        value = fields["suspend_timeout_seconds"]
        if not isinstance(value, int) or isinstance(value, bool):
            raise ApiError(400, "suspend_timeout_seconds must be an integer")
        if _is_number(minimum) and _is_number(maximum):
            problems = suspend_problems(value, plan, float(minimum), float(maximum))
        else:
            problems = suspend_problems(value, plan, MIN_COMPUTE_UNITS, MIN_COMPUTE_UNITS)
        if problems:
            raise ApiError(400, f"suspend_timeout_seconds {value} refused: " + "; ".join(problems))
    for name in ("disabled", "pooler_enabled", "passwordless_access"):
        if name in fields and not isinstance(fields[name], bool):
            raise ApiError(400, f"{name} must be a boolean")
    if "name" in fields and (
        not isinstance(fields["name"], str) or not 1 <= len(fields["name"]) <= 64
    ):
        raise ApiError(400, "name must be a string of 1 to 64 characters")
    if "pooler_mode" in fields and fields["pooler_mode"] != "transaction":
        raise ApiError(400, "pooler_mode must be 'transaction'")
    if "settings" in fields and not isinstance(fields["settings"], dict):
        raise ApiError(400, "settings must be an object")
    if "branch_id" in fields and fields["branch_id"] != endpoint["branch_id"]:
        raise ApiError(400, "moving an endpoint to another branch is not supported")


def _org_plan(context: Context, state: ProjectState) -> str | None:
    """The organization's ``plan`` as the world holds it (None: not stated)."""
    org = context.world.organizations_by_id.get(state.org_id)
    plan = org.get("plan") if org is not None else None
    return plan if isinstance(plan, str) and plan else None


def update_endpoint(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    endpoint = _existing_endpoint(state, context.params["endpoint_id"])
    _refuse_while_running(context, state)
    fields = _request_object(context, "endpoint", ENDPOINT_UPDATE_FIELDS)
    _validate_endpoint_fields(fields, endpoint, _org_plan(context, state))
    active = endpoint.get("current_state") == "active"
    wakes = endpoint.get("current_state") == "idle"
    suspends = wakes or (fields.get("disabled") is True and active)

    def wake(started_at: datetime) -> None:
        _mark_started(endpoint, started_at)
        context.wake_ups[endpoint["id"]] += 1

    branch_id, endpoint_id = endpoint["branch_id"], endpoint["id"]
    steps = [Step("apply_config", branch_id, endpoint_id, on_running=wake if wakes else None)]
    if suspends:
        steps.append(Step("suspend_compute", branch_id, endpoint_id))

    def effect(finished_at: datetime) -> None:
        endpoint.update(fields)
        endpoint["updated_at"] = format_timestamp(finished_at)
        if suspends:
            _mark_suspended(endpoint, finished_at)

    def undo(failed_at: datetime) -> None:
        if wakes and endpoint.get("current_state") == "active":
            _mark_suspended(endpoint, failed_at)  # the control plane suspends it again

    operations = context.operations.start(
        state.project_id, steps, effect, context.clock_value, context.now, on_failure=undo
    )
    return 200, {"endpoint": {**endpoint, **fields}, "operations": operations}


def _mark_suspended(endpoint: dict[str, Any], moment: datetime) -> None:
    stamp = format_timestamp(moment)
    if endpoint.get("current_state") == "active":
        endpoint["last_active"] = stamp
    endpoint["current_state"] = "idle"
    endpoint["suspended_at"] = stamp
    endpoint["updated_at"] = stamp
    endpoint.pop("pending_state", None)


def _mark_started(endpoint: dict[str, Any], moment: datetime) -> None:
    stamp = format_timestamp(moment)
    endpoint["current_state"] = "active"
    endpoint["started_at"] = stamp
    endpoint["last_active"] = stamp
    endpoint["updated_at"] = stamp
    endpoint.pop("pending_state", None)


def _unchanged(endpoint: dict[str, Any], moment: datetime) -> None:
    """Suspending an idle compute: the operation finishes and nothing changes."""
    _ = endpoint, moment


def _change_compute_state(context: Context, action: str, pending_state: str) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    endpoint = _existing_endpoint(state, context.params["endpoint_id"])
    _refuse_while_running(context, state)
    if action == "start_compute" and endpoint.get("disabled"):
        raise ApiError(400, "a disabled endpoint cannot be started")
    if action == "suspend_compute":
        already_idle = endpoint.get("current_state") == "idle"
        mark = _unchanged if already_idle else _mark_suspended
    else:
        mark = _mark_started

    def effect(finished_at: datetime) -> None:
        mark(endpoint, finished_at)

    operations = context.operations.start(
        state.project_id,
        [Step(action, endpoint["branch_id"], endpoint["id"])],
        effect,
        context.clock_value,
        context.now,
    )
    return 200, {"endpoint": {**endpoint, "pending_state": pending_state}, "operations": operations}


def suspend_endpoint(context: Context) -> Answer:
    return _change_compute_state(context, "suspend_compute", "idle")


def start_endpoint(context: Context) -> Answer:
    return _change_compute_state(context, "start_compute", "active")


# ----- API keys -----------------------------------------------------------------------


def _key_id(context: Context) -> int:
    text = context.params["key_id"]
    try:
        return int(text)
    except ValueError:
        raise ApiError(400, f"key_id must be an integer, got {text!r}") from None


def _revoke(keys: list[dict[str, Any]], key_id: int) -> dict[str, Any]:
    for index, key in enumerate(keys):
        if key["id"] == key_id:
            del keys[index]
            created_by = key.get("created_by")
            creator = created_by.get("id") if isinstance(created_by, dict) else created_by
            revoked = {
                "id": key["id"],
                "name": key["name"],
                "created_at": key.get("created_at"),
                "created_by": creator,
            }
            if "last_used_at" in key:
                revoked["last_used_at"] = key["last_used_at"]
            revoked["last_used_from_addr"] = key.get("last_used_from_addr", "")
            if "project_id" in key:
                revoked["project_id"] = key["project_id"]
            revoked["revoked"] = True
            return revoked
    raise ApiError(404, f"API key {key_id} not found")


def revoke_personal_api_key(context: Context) -> Answer:
    if context.scope.kind != "personal":
        raise ApiError(403, "only personal API keys can revoke personal API keys")
    return 200, _revoke(context.world.personal_api_keys, _key_id(context))


def revoke_org_api_key(context: Context) -> Answer:
    org_id = context.params["org_id"]
    require_org_access(context.world, context.scope, org_id)
    return 200, _revoke(context.world.org_api_keys[org_id], _key_id(context))


# ----- projects (issue 18) ------------------------------------------------------------


def _validate_default_settings(value: Any, current: Any, plan: str | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(400, "default_endpoint_settings must be an object")
    unknown = sorted(set(value) - DEFAULT_ENDPOINT_FIELDS)
    if unknown:
        raise ApiError(400, f"unknown field(s) in default_endpoint_settings: {', '.join(unknown)}")
    for name in ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu"):
        if name in value and (not _is_number(value[name]) or value[name] < MIN_COMPUTE_UNITS):
            raise ApiError(
                400,
                f"default_endpoint_settings.{name} must be a number of at least "
                f"{MIN_COMPUTE_UNITS}",
            )
    merged = {**(current if isinstance(current, dict) else {}), **value}
    low: Any = merged.get("autoscaling_limit_min_cu")
    high: Any = merged.get("autoscaling_limit_max_cu")
    if _is_number(low) and _is_number(high):
        if low > high:
            raise ApiError(
                400,
                f"default_endpoint_settings: autoscaling_limit_min_cu ({low}) must not exceed "
                f"autoscaling_limit_max_cu ({high})",
            )
        problems = size_problems(float(low), float(high))
        if problems:
            raise ApiError(
                400,
                f"default_endpoint_settings: autoscaling limits {low:g}-{high:g} CU refused: "
                + "; ".join(problems),
            )
    if "suspend_timeout_seconds" in value:
        seconds = value["suspend_timeout_seconds"]
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise ApiError(
                400, "default_endpoint_settings.suspend_timeout_seconds must be an integer"
            )
        floor = float(low) if _is_number(low) else MIN_COMPUTE_UNITS
        ceiling = float(high) if _is_number(high) else floor
        problems = suspend_problems(seconds, plan, floor, ceiling)
        if problems:
            raise ApiError(
                400,
                f"default_endpoint_settings.suspend_timeout_seconds {seconds} refused: "
                + "; ".join(problems),
            )
    return merged


def update_project(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    _refuse_while_running(context, state)
    fields = _request_object(context, "project", PROJECT_UPDATE_FIELDS)
    plan = _org_plan(context, state)
    project = state.project
    if "history_retention_seconds" in fields:
        seconds = fields["history_retention_seconds"]
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise ApiError(400, "history_retention_seconds must be an integer")
        problems = retention_problems(seconds, plan)
        if problems:
            raise ApiError(
                400, f"history_retention_seconds {seconds} refused: " + "; ".join(problems)
            )
    if "name" in fields and (
        not isinstance(fields["name"], str) or not 1 <= len(fields["name"]) <= 256
    ):
        raise ApiError(400, "name must be a string of 1 to 256 characters")
    if "settings" in fields and not isinstance(fields["settings"], dict):
        raise ApiError(400, "settings must be an object")
    immediate = {
        name: value for name, value in fields.items() if name != "history_retention_seconds"
    }
    if "default_endpoint_settings" in fields:
        immediate["default_endpoint_settings"] = _validate_default_settings(
            fields["default_endpoint_settings"], project.get("default_endpoint_settings"), plan
        )
    if "settings" in fields:
        current = project.get("settings")
        immediate["settings"] = {
            **(current if isinstance(current, dict) else {}),
            **fields["settings"],
        }
    project.update(immediate)
    project["updated_at"] = format_timestamp(context.now)
    retention = fields.get("history_retention_seconds")
    if retention is None or retention == project.get("history_retention_seconds"):
        return 200, {"project": project, "operations": []}

    def effect(finished_at: datetime) -> None:
        project["history_retention_seconds"] = retention
        project["updated_at"] = format_timestamp(finished_at)

    default = next(
        (branch_id for branch_id, branch in state.branches.items() if branch.get("default")), None
    )
    operations = context.operations.start(
        state.project_id,
        [Step("apply_storage_config", default)],
        effect,
        context.clock_value,
        context.now,
    )
    return 200, {
        "project": {**project, "history_retention_seconds": retention},
        "operations": operations,
    }


def delete_project(context: Context) -> Answer:
    """Soft: the project leaves the world and can be recovered for 7 days."""
    state = visible_project(context.world, context.scope, context.params["project_id"])
    _refuse_while_running(context, state)
    world = context.world
    project_id = state.project_id
    world.projects.pop(project_id, None)
    owned = world.org_project_ids.get(state.org_id, [])
    if project_id in owned:
        owned.remove(project_id)
    context.tombstones.bury_project(state, context.now)
    return 200, {"project": state.project}


def recover_project(context: Context) -> Answer:
    project_id = context.params["project_id"]
    if context.world.project(project_id) is not None:
        visible_project(context.world, context.scope, project_id)
        raise ApiError(400, f"project {project_id!r} is not deleted: nothing to recover")
    buried = context.tombstones.projects.get(project_id)
    if buried is None or not context.scope.sees_project(buried[1]):
        raise ApiError(404, f"project {project_id!r} not found")
    deleted_at, state = buried
    if context.now - deleted_at > PROJECT_RECOVERY:
        raise ApiError(
            404,
            f"project {project_id!r} was deleted more than 7 days ago and cannot be recovered",
        )
    del context.tombstones.projects[project_id]
    context.world.projects[project_id] = state
    context.world.org_project_ids.setdefault(state.org_id, []).append(project_id)
    state.project["updated_at"] = format_timestamp(context.now)
    return 200, {"project": state.project, "operations": []}


# ----- snapshots and backup schedules (issue 18) --------------------------------------


def delete_snapshot(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    snapshot_id = context.params["snapshot_id"]
    if snapshot_id not in state.snapshots:
        raise ApiError(404, f"snapshot {snapshot_id!r} not found")
    _refuse_while_running(context, state)

    def effect(_: datetime) -> None:
        state.snapshots.pop(snapshot_id, None)

    source = state.snapshots[snapshot_id].get("source_branch_id")
    operations = context.operations.start(
        state.project_id,
        [Step("apply_storage_config", source if isinstance(source, str) else None)],
        effect,
        context.clock_value,
        context.now,
    )
    return 202, {"operations": operations}


def _schedule_item(item: Any, index: int) -> dict[str, Any]:
    where = f"schedule[{index}]"
    if not isinstance(item, dict):
        raise ApiError(400, f"{where} must be an object")
    unknown = sorted(set(item) - SCHEDULE_ITEM_FIELDS)
    if unknown:
        raise ApiError(400, f"unknown field(s) in {where}: {', '.join(unknown)}")
    if item.get("frequency") not in SCHEDULE_FREQUENCIES:
        raise ApiError(400, f"{where}.frequency must be one of {', '.join(SCHEDULE_FREQUENCIES)}")
    for name, low, high in (("hour", 0, 23), ("day", 1, 31), ("month", 1, 12)):
        value = item.get(name)
        if name in item and (
            not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high
        ):
            raise ApiError(400, f"{where}.{name} must be an integer from {low} to {high}")
    if "retention_seconds" in item:
        value = item["retention_seconds"]
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < MIN_SCHEDULE_RETENTION_SECONDS
        ):
            raise ApiError(
                400,
                f"{where}.retention_seconds must be an integer of at least "
                f"{MIN_SCHEDULE_RETENTION_SECONDS}",
            )
    return dict(item)


def put_backup_schedule(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    branch_id = context.params["branch_id"]
    _existing_branch(state, branch_id)
    _refuse_while_running(context, state)
    try:
        body = json.loads(context.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("schedule"), list):
        raise ApiError(400, 'request body must be a JSON object {"schedule": [...]}')
    unknown = sorted(set(body) - {"schedule"})
    if unknown:
        raise ApiError(400, f"unknown field(s) in the backup schedule: {', '.join(unknown)}")
    schedule = {"schedule": [_schedule_item(item, i) for i, item in enumerate(body["schedule"])]}
    state.backup_schedules[branch_id] = schedule
    return 200, schedule


# ----- endpoint delete (issue 18) -----------------------------------------------------


def delete_endpoint(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    endpoint_id = context.params["endpoint_id"]
    endpoint = state.endpoints.get(endpoint_id)
    if endpoint is None:
        if endpoint_id in context.tombstones.endpoints.get(state.project_id, set()):
            return 204, None
        raise ApiError(404, f"endpoint {endpoint_id!r} not found")
    _refuse_while_running(context, state)
    steps = [Step("suspend_compute", endpoint["branch_id"], endpoint_id)]
    if endpoint.get("current_state") != "active":
        steps = []

    def effect(_: datetime) -> None:
        state.endpoints.pop(endpoint_id, None)
        context.tombstones.bury_endpoint(state.project_id, endpoint_id)

    operations = context.operations.start(
        state.project_id, steps, effect, context.clock_value, context.now
    )
    return 200, {"endpoint": endpoint, "operations": operations}
