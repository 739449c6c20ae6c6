"""The simulated Neon account: organizations (with members), projects, branches, endpoints,
API keys, tokens.

Why its own shape: the world file nests API objects exactly as the API returns them, so a
fixture can be written by hand from real responses. Loading indexes everything by id once,
so request handling never scans the whole account.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from governor.simulator.timestamps import parse_timestamp

KeyKind = Literal["personal", "org", "project"]
KEY_KINDS: tuple[str, ...] = ("personal", "org", "project")
# Nesting keys of the file: never part of an API object.
ORGANIZATION_NESTING_KEYS = ("api_keys", "members", "projects", "billing")
PROJECT_NESTING_KEYS = (
    "branches",
    "endpoints",
    "compute_activity",
    "snapshots",
    "backup_schedules",
    "operations",
)


class WorldError(ValueError):
    """A world that cannot be used; the message names the JSON path and the reason."""


@dataclass
class ProjectState:
    """One project with its branches and endpoints, each keyed by id in file order."""

    org_id: str
    project: dict[str, Any]
    branches: dict[str, dict[str, Any]] = field(default_factory=dict)
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    # endpoint id → pinned hourly activity (``{"cu": avg CU, "hours": {hour start: CU}}``):
    # what the usage ledger meters for it instead of its seeded draws, so a test's world can
    # fix a compute's hours exactly (kept awake in 160 of 168 hours, at the floor in 81).
    compute_activity: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Snapshot objects as ``GET .../snapshots`` lists them (beta; with full_size/diff_size).
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    # branch id → ``{"schedule": [...]}`` (a branch without one answers an empty schedule)
    backup_schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Operations from before the simulator started (``start_compute`` activations, for
    # instance), listed after the live ones; each an Operation object, finished.
    operations: list[dict[str, Any]] = field(default_factory=list)
    # branch id -> its annotation values (``{"vercel-commit-ref": "main"}``): a world file's
    # branch may carry them as ``annotations``, a created branch gets its annotation_value;
    # the branch listing answers them beside the branches, as Neon does
    annotations: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def project_id(self) -> str:
        return str(self.project["id"])

    def children_of(self, branch_id: str) -> list[str]:
        return [
            other_id
            for other_id, branch in self.branches.items()
            if branch.get("parent_id") == branch_id
        ]

    def endpoints_of(self, branch_id: str) -> list[dict[str, Any]]:
        return [
            endpoint for endpoint in self.endpoints.values() if endpoint["branch_id"] == branch_id
        ]


class World:
    """The live state the simulator serves and mutates."""

    def __init__(
        self,
        keys: dict[str, dict[str, Any]],
        personal_api_keys: list[dict[str, Any]],
        organizations: list[dict[str, Any]],
        org_api_keys: dict[str, list[dict[str, Any]]],
        projects: dict[str, ProjectState],
        *,
        org_members: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.keys = keys
        self.personal_api_keys = personal_api_keys
        self.organizations = organizations
        self.org_api_keys = org_api_keys
        self.projects = projects
        # Only organizations whose file has a "members" list (so files round-trip as
        # written); GET .../members answers an empty list for the others.
        self.org_members = org_members if org_members is not None else {}
        # org id → its "billing" part (``{"spending_limit_cents": N | null}``); absent: none
        # set, or, on a plan without spending notifications, not offered (422)
        self.org_billing: dict[str, dict[str, Any]] = {}
        self.organizations_by_id = {str(org["id"]): org for org in organizations}
        self.org_project_ids: dict[str, list[str]] = {
            org_id: [] for org_id in self.organizations_by_id
        }
        for project_id, state in projects.items():
            self.org_project_ids[state.org_id].append(project_id)

    # ----- construction -------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> World:
        """Read a world file; errors name the file and the JSON path."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise WorldError(f"{path}: cannot read world file: {error.strerror}") from error
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise WorldError(
                f"{path}: not valid JSON at line {error.lineno} column {error.colno}: {error.msg}"
            ) from error
        try:
            return cls.from_dict(data)
        except WorldError as error:
            raise WorldError(f"{path}: {error}") from None

    @classmethod
    def from_dict(cls, data: Any) -> World:
        """Build a world from the file shape (deep-copied, so the caller's dict stays as is)."""
        return _parse_world(copy.deepcopy(data))

    @classmethod
    def generate(
        cls,
        seed: int = 1,
        orgs: int = 2,
        projects: int = 24,
        branches: int = 200,
        now: datetime | None = None,
        *,
        members: bool = False,
    ) -> World:
        """A realistic, deterministic world; ``projects`` and ``branches`` are totals.

        ``members``: give each organization members, the creators of some of its keys
        (added to the same world, nothing else changes).
        """
        from governor.simulator.generate import generate_world_data

        return cls.from_dict(
            generate_world_data(
                seed=seed,
                orgs=orgs,
                projects=projects,
                branches=branches,
                now=now,
                members=members,
            )
        )

    # ----- output -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The world in the file shape (a deep copy of the live state)."""
        organizations = []
        for org in self.organizations:
            org_id = str(org["id"])
            projects = []
            for project_id in self.org_project_ids[org_id]:
                state = self.projects[project_id]
                projects.append(
                    {
                        **state.project,
                        "branches": [
                            _annotated(branch, state.annotations.get(branch_id))
                            for branch_id, branch in state.branches.items()
                        ],
                        "endpoints": list(state.endpoints.values()),
                        **(
                            {"compute_activity": state.compute_activity}
                            if state.compute_activity
                            else {}
                        ),
                        **_present(
                            snapshots=list(state.snapshots.values()),
                            backup_schedules=state.backup_schedules,
                            operations=state.operations,
                        ),
                    }
                )
            nested: dict[str, Any] = {"api_keys": list(self.org_api_keys[org_id])}
            if org_id in self.org_members:
                nested["members"] = list(self.org_members[org_id])
            if org_id in self.org_billing:
                nested["billing"] = self.org_billing[org_id]
            organizations.append({**org, **nested, "projects": projects})
        return copy.deepcopy(
            {
                "keys": self.keys,
                "personal_api_keys": self.personal_api_keys,
                "organizations": organizations,
            }
        )

    def dump(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    # ----- lookups ------------------------------------------------------------------

    def project(self, project_id: str) -> ProjectState | None:
        return self.projects.get(project_id)

    def counts(self) -> dict[str, int]:
        """Sizes, for logs and the ``simulate`` banner."""
        return {
            "organizations": len(self.organizations),
            "projects": len(self.projects),
            "branches": sum(len(state.branches) for state in self.projects.values()),
            "endpoints": sum(len(state.endpoints) for state in self.projects.values()),
            "api_keys": len(self.personal_api_keys)
            + sum(len(keys) for keys in self.org_api_keys.values()),
        }


def _annotated(branch: dict[str, Any], values: dict[str, Any] | None) -> dict[str, Any]:
    """A branch in the file shape: its annotation values nested, as a world file sets them."""
    return {**branch, "annotations": values} if values else branch


def _present(**parts: Any) -> dict[str, Any]:
    """The non-empty ones: a world file without such resources round-trips as written."""
    return {name: value for name, value in parts.items() if value}


# ----- parsing and validation ---------------------------------------------------------


def _require_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WorldError(f"at {where}: expected an object, got {_type_name(value)}")
    return value


def _require_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise WorldError(f"at {where}: expected an array, got {_type_name(value)}")
    return value


def _require_id(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise WorldError(f"at {where}.{key}: expected a non-empty string, got {_type_name(value)}")
    return value


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _parse_api_keys(value: Any, where: str) -> list[dict[str, Any]]:
    keys = _require_list(value, where)
    seen: set[int] = set()
    for index, key in enumerate(keys):
        here = f"{where}[{index}]"
        _require_object(key, here)
        key_id = key.get("id")
        if not isinstance(key_id, int) or isinstance(key_id, bool):
            raise WorldError(f"at {here}.id: expected an integer, got {_type_name(key_id)}")
        if key_id in seen:
            raise WorldError(f"at {here}.id: duplicate API key id {key_id}")
        seen.add(key_id)
        _require_id(key, "name", here)
    return keys


def _parse_members(value: Any, where: str, org_id: str) -> list[dict[str, Any]]:
    """``MemberWithUser`` items: ``{"member": {"id", "user_id", "org_id", ...}, "user": {...}}``."""
    members = _require_list(value, where)
    seen: set[str] = set()
    for index, item in enumerate(members):
        here = f"{where}[{index}]"
        _require_object(item, here)
        member = _require_object(item.get("member"), f"{here}.member")
        member_id = _require_id(member, "id", f"{here}.member")
        _require_id(member, "user_id", f"{here}.member")
        if member.get("org_id") != org_id:
            raise WorldError(
                f"at {here}.member.org_id: expected {org_id!r}, got {member.get('org_id')!r}"
            )
        if member_id in seen:
            raise WorldError(f"at {here}.member.id: duplicate member id {member_id!r}")
        seen.add(member_id)
        _require_object(item.get("user"), f"{here}.user")
    return members


def _parse_project(value: Any, where: str, org_id: str) -> ProjectState:
    project = dict(_require_object(value, where))
    project_id = _require_id(project, "id", where)
    branches = _require_list(project.pop("branches", []), f"{where}.branches")
    endpoints = _require_list(project.pop("endpoints", []), f"{where}.endpoints")
    if "org_id" in project and project["org_id"] != org_id:
        raise WorldError(
            f"at {where}.org_id: {project['org_id']!r} differs from the enclosing "
            f"organization {org_id!r}"
        )
    state = ProjectState(org_id=org_id, project=project)
    for index, branch in enumerate(branches):
        here = f"{where}.branches[{index}]"
        _require_object(branch, here)
        branch_id = _require_id(branch, "id", here)
        if branch.get("project_id") != project_id:
            raise WorldError(
                f"at {here}.project_id: expected {project_id!r}, got {branch.get('project_id')!r}"
            )
        if branch_id in state.branches:
            raise WorldError(f"at {here}.id: duplicate branch id {branch_id!r}")
        state.branches[branch_id] = branch
        if "annotations" in branch:  # the file's nesting, not part of the API object
            values = _require_object(branch["annotations"], f"{here}.annotations")
            if values:
                state.annotations[branch_id] = values
            state.branches[branch_id] = {k: v for k, v in branch.items() if k != "annotations"}
    for index, branch in enumerate(branches):
        parent_id = branch.get("parent_id")
        if parent_id is not None and parent_id not in state.branches:
            raise WorldError(
                f"at {where}.branches[{index}].parent_id: no branch {parent_id!r} in this project"
            )
    for index, endpoint in enumerate(endpoints):
        here = f"{where}.endpoints[{index}]"
        _require_object(endpoint, here)
        endpoint_id = _require_id(endpoint, "id", here)
        if endpoint.get("project_id") != project_id:
            raise WorldError(
                f"at {here}.project_id: expected {project_id!r}, got {endpoint.get('project_id')!r}"
            )
        if endpoint.get("branch_id") not in state.branches:
            raise WorldError(
                f"at {here}.branch_id: no branch {endpoint.get('branch_id')!r} in this project"
            )
        if endpoint_id in state.endpoints:
            raise WorldError(f"at {here}.id: duplicate endpoint id {endpoint_id!r}")
        state.endpoints[endpoint_id] = endpoint
    activity = _require_object(project.pop("compute_activity", {}), f"{where}.compute_activity")
    for endpoint_id, pinned in activity.items():
        here = f"{where}.compute_activity[{endpoint_id!r}]"
        if endpoint_id not in state.endpoints:
            raise WorldError(f"at {here}: no endpoint {endpoint_id!r} in this project")
        _require_object(pinned, here)
        hours = _require_object(pinned.get("hours", {}), f"{here}.hours")
        for cu in (pinned.get("cu", 0), *hours.values()):
            if not isinstance(cu, int | float) or isinstance(cu, bool) or cu < 0:
                raise WorldError(f"at {here}: CU values must be non-negative numbers")
        for hour in hours:
            try:
                parse_timestamp(hour)
            except ValueError:
                raise WorldError(f"at {here}.hours: {hour!r} is not an RFC 3339 time") from None
    state.compute_activity = activity
    _parse_project_extras(project, state, where)
    return state


def _parse_project_extras(project: dict[str, Any], state: ProjectState, where: str) -> None:
    """Snapshots, backup schedules and past operations: each must name this project's own."""
    for index, snapshot in enumerate(
        _require_list(project.pop("snapshots", []), f"{where}.snapshots")
    ):
        here = f"{where}.snapshots[{index}]"
        _require_object(snapshot, here)
        snapshot_id = _require_id(snapshot, "id", here)
        source = snapshot.get("source_branch_id")
        if source is not None and source not in state.branches:
            raise WorldError(f"at {here}.source_branch_id: no branch {source!r} in this project")
        if snapshot_id in state.snapshots:
            raise WorldError(f"at {here}.id: duplicate snapshot id {snapshot_id!r}")
        state.snapshots[snapshot_id] = snapshot
    schedules = _require_object(project.pop("backup_schedules", {}), f"{where}.backup_schedules")
    for branch_id, schedule in schedules.items():
        here = f"{where}.backup_schedules[{branch_id!r}]"
        if branch_id not in state.branches:
            raise WorldError(f"at {here}: no branch {branch_id!r} in this project")
        items = _require_list(_require_object(schedule, here).get("schedule"), f"{here}.schedule")
        for index, item in enumerate(items):
            _require_id(_require_object(item, f"{here}.schedule[{index}]"), "frequency", here)
    state.backup_schedules = schedules
    operations = _require_list(project.pop("operations", []), f"{where}.operations")
    for index, operation in enumerate(operations):
        here = f"{where}.operations[{index}]"
        _require_object(operation, here)
        _require_id(operation, "id", here)
        _require_id(operation, "action", here)
        if operation.get("project_id") != state.project_id:
            raise WorldError(
                f"at {here}.project_id: expected {state.project_id!r}, "
                f"got {operation.get('project_id')!r}"
            )
        endpoint_id = operation.get("endpoint_id")
        if endpoint_id is not None and endpoint_id not in state.endpoints:
            raise WorldError(f"at {here}.endpoint_id: no endpoint {endpoint_id!r} in this project")
    state.operations = operations


def _parse_keys(
    value: Any, organizations: dict[str, dict[str, Any]], projects: dict[str, ProjectState]
) -> dict[str, dict[str, Any]]:
    keys = _require_object(value, "keys")
    for token, scope in keys.items():
        here = f"keys[{_masked(token)}]"
        if not token:
            raise WorldError("at keys: a bearer token must not be empty")
        _require_object(scope, here)
        kind = scope.get("kind")
        if kind not in KEY_KINDS:
            raise WorldError(
                f"at {here}.kind: expected one of {', '.join(KEY_KINDS)}, got {kind!r}"
            )
        user_id = scope.get("user_id")
        if user_id is not None and (not isinstance(user_id, str) or not user_id):
            raise WorldError(f"at {here}.user_id: expected a non-empty string, got {user_id!r}")
        if kind in ("org", "project"):
            org_id = _require_id(scope, "org_id", here)
            if org_id not in organizations:
                raise WorldError(f"at {here}.org_id: no organization {org_id!r} in the world")
        if kind == "project":
            project_id = _require_id(scope, "project_id", here)
            state = projects.get(project_id)
            if state is None or state.org_id != scope["org_id"]:
                raise WorldError(
                    f"at {here}.project_id: no project {project_id!r} in organization "
                    f"{scope['org_id']!r}"
                )
    return keys


def _masked(token: str) -> str:
    """A token's position in error messages without its secret part."""
    return f"'{token[:4]}…'" if len(token) > 8 else "'…'"


def _parse_world(data: Any) -> World:
    root = _require_object(data, "(top level)")
    unknown = sorted(set(root) - {"keys", "personal_api_keys", "organizations"})
    if unknown:
        raise WorldError(f"at (top level): unknown key(s) {', '.join(unknown)}")
    personal_api_keys = _parse_api_keys(root.get("personal_api_keys", []), "personal_api_keys")
    organizations: list[dict[str, Any]] = []
    org_api_keys: dict[str, list[dict[str, Any]]] = {}
    org_members: dict[str, list[dict[str, Any]]] = {}
    org_billing: dict[str, dict[str, Any]] = {}
    projects: dict[str, ProjectState] = {}
    for org_index, value in enumerate(
        _require_list(root.get("organizations", []), "organizations")
    ):
        where = f"organizations[{org_index}]"
        org = dict(_require_object(value, where))
        org_id = _require_id(org, "id", where)
        if org_id in org_api_keys:
            raise WorldError(f"at {where}.id: duplicate organization id {org_id!r}")
        org_api_keys[org_id] = _parse_api_keys(org.pop("api_keys", []), f"{where}.api_keys")
        if "members" in org:
            org_members[org_id] = _parse_members(org.pop("members"), f"{where}.members", org_id)
        if "billing" in org:
            billing = _require_object(org.pop("billing"), f"{where}.billing")
            cents = billing.get("spending_limit_cents")
            if cents is not None and (not isinstance(cents, int) or isinstance(cents, bool)):
                raise WorldError(
                    f"at {where}.billing.spending_limit_cents: expected an integer or null, "
                    f"got {_type_name(cents)}"
                )
            org_billing[org_id] = billing
        for project_index, project in enumerate(
            _require_list(org.pop("projects", []), f"{where}.projects")
        ):
            here = f"{where}.projects[{project_index}]"
            state = _parse_project(project, here, org_id)
            if state.project_id in projects:
                raise WorldError(f"at {here}.id: duplicate project id {state.project_id!r}")
            projects[state.project_id] = state
        organizations.append(org)
    organizations_by_id = {str(org["id"]): org for org in organizations}
    keys = _parse_keys(root.get("keys", {}), organizations_by_id, projects)
    world = World(
        keys, personal_api_keys, organizations, org_api_keys, projects, org_members=org_members
    )
    world.org_billing = org_billing
    return world
