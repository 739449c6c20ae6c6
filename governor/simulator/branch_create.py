"""``POST /projects/{id}/branches``: a branch created with its annotations.

Why the simulator has it though the governor never creates branches: annotations are set
only at creation (``annotation_value``; Neon has no call to change them), and integrations
such as Vercel create branches that way. Tests of owner rules create branches as they do
and see the annotations come back in the branch listing. Branches are created without
computes (``endpoints`` in the request is refused by name).
"""

from __future__ import annotations

import json
from typing import Any

from governor.simulator.access import visible_project
from governor.simulator.context import Answer, Context
from governor.simulator.operations import Step
from governor.simulator.responses import ApiError
from governor.simulator.timestamps import format_timestamp

BRANCH_CREATE_FIELDS = frozenset({"parent_id", "name", "protected"})
MAX_ANNOTATIONS = 50  # AnnotationValueData.maxProperties


def _body(context: Context) -> dict[str, Any]:
    try:
        body = json.loads(context.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    unknown = sorted(set(body) - {"branch", "annotation_value", "endpoints"})
    if unknown:
        raise ApiError(400, f"unknown field(s): {', '.join(unknown)}")
    if body.get("endpoints"):
        raise ApiError(400, "the simulator creates branches without computes: drop endpoints")
    return body


def _annotation_value(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ApiError(400, "annotation_value must be an object of string values")
    if len(value) > MAX_ANNOTATIONS:
        raise ApiError(400, f"annotation_value may hold at most {MAX_ANNOTATIONS} values")
    return dict(value)


def _new_branch_id(taken: dict[str, Any]) -> str:
    number = len(taken) + 1
    while f"br-created-{number:08d}" in taken:
        number += 1
    return f"br-created-{number:08d}"


def create_branch(context: Context) -> Answer:
    state = visible_project(context.world, context.scope, context.params["project_id"])
    body = _body(context)
    fields = body.get("branch", {})
    if not isinstance(fields, dict):
        raise ApiError(400, 'branch must be an object {"name": ..., "parent_id": ...}')
    unknown = sorted(set(fields) - BRANCH_CREATE_FIELDS)
    if unknown:
        raise ApiError(400, f"unknown field(s) in branch: {', '.join(unknown)}")
    values = _annotation_value(body.get("annotation_value"))
    parent_id = fields.get("parent_id") or next(
        (branch_id for branch_id, branch in state.branches.items() if branch.get("default")),
        None,
    )
    if parent_id not in state.branches:
        raise ApiError(404, f"parent branch {parent_id!r} not found")
    branch_id = _new_branch_id(state.branches)
    name = fields.get("name", branch_id)
    if not isinstance(name, str) or not 1 <= len(name) <= 256:
        raise ApiError(400, "name must be a string of 1 to 256 characters")
    protected = fields.get("protected", False)
    if not isinstance(protected, bool):
        raise ApiError(400, "protected must be a boolean")
    stamp = format_timestamp(context.now)
    branch: dict[str, Any] = {
        "id": branch_id,
        "project_id": state.project_id,
        "parent_id": parent_id,
        "name": name,
        "current_state": "init",
        "state_changed_at": stamp,
        "logical_size": state.branches[parent_id].get("logical_size", 0),
        "creation_source": "console",
        "default": False,
        "protected": protected,
        "cpu_used_sec": 0,
        "compute_time_seconds": 0,
        "active_time_seconds": 0,
        "written_data_bytes": 0,
        "data_transfer_bytes": 0,
        "created_at": stamp,
        "updated_at": stamp,
        "init_source": "parent-data",
    }
    state.branches[branch_id] = branch
    if values:
        state.annotations[branch_id] = values

    def ready(at: Any) -> None:
        branch["current_state"] = "ready"
        branch["state_changed_at"] = format_timestamp(at)

    operations = context.operations.start(
        state.project_id,
        [Step("create_branch", branch_id)],
        ready,
        context.clock_value,
        context.now,
    )
    answer = {
        "branch": branch,
        "endpoints": [],
        "operations": operations,
        "roles": [],
        "databases": [],
    }
    return 201, answer
