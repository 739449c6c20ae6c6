"""Snapshots for policy tests: API-shaped dicts turned into models, plus a seeded generator.

The generator aims at the edges the shipped policies care about: ages exactly on the
threshold and one second either side, computes without any timestamp, branch chains,
protected and default branches, missing fields, and never-used keys.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from governor.model.consumption import COMPUTE_UNIT_SECONDS, Bucket
from governor.model.snapshot import KeyRecord, KeyScope, Snapshot
from governor.neon.models import (
    ApiKey,
    Branch,
    Endpoint,
    Organization,
    Project,
    ProjectSnapshot,
)
from governor.savings.usage import Usage

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def stamp(age: timedelta, *, style: int = 0) -> str:
    """An API timestamp ``age`` before NOW, in one of the spellings Neon uses."""
    moment = NOW - age
    if style == 1:
        return moment.isoformat()  # +00:00
    if style == 2:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def project(project_id: str, **fields: Any) -> Project:
    data = {"id": project_id, "name": f"name-{project_id}", "org_id": "org-a", **fields}
    return Project.from_api(data)


def branch(branch_id: str, project_id: str = "p1", **fields: Any) -> Branch:
    data = {
        "id": branch_id,
        "project_id": project_id,
        "name": f"name-{branch_id}",
        "default": False,
        "protected": False,
        "current_state": "ready",
        "created_at": stamp(400 * DAY),
        "updated_at": stamp(400 * DAY),
        **fields,
    }
    return Branch.from_api({key: value for key, value in data.items() if value is not ...})


def endpoint(endpoint_id: str, branch_id: str, project_id: str = "p1", **fields: Any) -> Endpoint:
    data = {
        "id": endpoint_id,
        "project_id": project_id,
        "branch_id": branch_id,
        "type": "read_write",
        "current_state": "idle",
        "autoscaling_limit_min_cu": 0.25,
        "autoscaling_limit_max_cu": 2,
        "suspend_timeout_seconds": 0,
        "created_at": stamp(400 * DAY),
        "updated_at": stamp(400 * DAY),
        **fields,
    }
    return Endpoint.from_api({key: value for key, value in data.items() if value is not ...})


def key(
    key_id: int, scope: KeyScope = "personal", org_id: str | None = None, **fields: Any
) -> KeyRecord:
    data = {"id": key_id, "name": f"key-{key_id}", "created_at": stamp(400 * DAY), **fields}
    data = {name: value for name, value in data.items() if value is not ...}
    return KeyRecord(ApiKey.from_api(data), scope, org_id)


def organization(org_id: str = "org-a", **fields: Any) -> Organization:
    return Organization.from_api({"id": org_id, "name": f"name-{org_id}", **fields})


def project_snapshot(snapshot_id: str, project_id: str = "p1", **fields: Any) -> ProjectSnapshot:
    data = {"id": snapshot_id, "name": f"name-{snapshot_id}", "manual": True, **fields}
    data = {name: value for name, value in data.items() if value is not ...}
    return ProjectSnapshot.in_project(project_id, data)


def hourly_usage(branches: dict[str, tuple[int, int, float]], *, project_id: str = "p1") -> Usage:
    """Neon's hourly meters over the 168 hours before NOW: for each branch id, ``(active
    hours, of which at the floor, the branch's floor in CU)``. Floor hours bill exactly the
    floor, the other active hours twice it, the rest nothing (no row)."""
    rows: list[Bucket] = []
    end = NOW.replace(minute=0, second=0, microsecond=0)
    for branch_id, (active, at_floor, floor_cu) in branches.items():
        for hour in range(active):
            start = end - timedelta(hours=hour + 1)
            value = floor_cu * 3600 * (1 if hour < at_floor else 2)
            rows.append(
                Bucket(
                    "org-a", project_id, branch_id, "hourly", start, start + timedelta(hours=1),
                    None, None, COMPUTE_UNIT_SECONDS, value,
                )
            )  # fmt: skip
    return Usage(rows, NOW)


def snapshot(**parts: Any) -> Snapshot:
    parts.setdefault("organizations", [Organization.from_api({"id": "org-a", "name": "A"})])
    parts.setdefault("projects", [project("p1")])
    return Snapshot(taken_at=NOW, **parts)


# Ages around every threshold the shipped policies use, plus ordinary ones.
_AGES = [
    timedelta(0),
    timedelta(hours=5),
    DAY,
    29 * DAY,
    30 * DAY - timedelta(seconds=1),
    30 * DAY,
    30 * DAY + timedelta(seconds=1),
    31 * DAY,
    90 * DAY - timedelta(seconds=1),
    90 * DAY,
    90 * DAY + timedelta(seconds=1),
    200 * DAY,
]


@dataclass
class Generator:
    """Random snapshots, reproducible from the seed."""

    seed: int
    random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def age_stamp(self) -> str:
        return stamp(self.random.choice(_AGES), style=self.random.randrange(3))

    def maybe(self, probability: float) -> bool:
        return self.random.random() < probability

    def snapshot(self, projects: int = 4, branches_per_project: int = 12) -> Snapshot:
        organizations = [Organization.from_api({"id": f"org-{n}", "name": f"O{n}"}) for n in (1, 2)]
        project_list, branch_list, endpoint_list = [], [], []
        for project_number in range(projects):
            project_id = f"p{self.seed}-{project_number}"
            project_list.append(project(project_id, org_id=f"org-{project_number % 2 + 1}"))
            ids: list[str] = []
            for branch_number in range(branches_per_project):
                branch_id = f"br-{project_id}-{branch_number}"
                branch_list.append(self.branch(branch_id, project_id, ids))
                ids.append(branch_id)
                for compute_number in range(self.random.choice([0, 0, 1, 1, 1, 2, 3])):
                    endpoint_list.append(
                        self.endpoint(f"ep-{branch_id}-{compute_number}", branch_id, project_id)
                    )
        return Snapshot(
            taken_at=NOW,
            organizations=organizations,
            projects=project_list,
            branches=branch_list,
            endpoints=endpoint_list,
            api_keys=[self.key(number) for number in range(30)],
        )

    def branch(self, branch_id: str, project_id: str, earlier: list[str]) -> Branch:
        root = not earlier
        fields: dict[str, Any] = {
            "default": root,
            "protected": self.maybe(0.1),
            "parent_id": None if root else self.random.choice(earlier[-4:]),
            "created_at": self.age_stamp(),
            "updated_at": self.age_stamp(),
            "logical_size": self.random.randrange(10**10),
        }
        for name in ("protected", "default", "created_at", "updated_at", "parent_id"):
            if self.maybe(0.04):
                fields[name] = ...  # the field is missing from the API object
        if fields["parent_id"] is None:
            fields["parent_id"] = ...
        return branch(branch_id, project_id, **fields)

    def endpoint(self, endpoint_id: str, branch_id: str, project_id: str) -> Endpoint:
        minimum = self.random.choice([0.25, 0.5, 1, 2, 4, 7.75, 8, 8.0, 10, 16])
        fields: dict[str, Any] = {
            "autoscaling_limit_min_cu": minimum,
            "autoscaling_limit_max_cu": self.random.choice([minimum, minimum * 2, 16]),
            "suspend_timeout_seconds": self.random.choice([-1, 0, 300, 3600, 604800]),
        }
        if self.maybe(0.05):
            fields["suspend_timeout_seconds"] = ...
        if self.maybe(0.5):
            fields["name"] = f"compute-{endpoint_id}"
        if not self.maybe(0.15):  # else: a compute without any activity timestamp
            for name in ("last_active", "started_at", "suspended_at"):
                if self.maybe(0.6):
                    fields[name] = self.age_stamp()
        return endpoint(endpoint_id, branch_id, project_id, **fields)

    def key(self, number: int) -> KeyRecord:
        scope: KeyScope = self.random.choice(["personal", "organization", "project"])
        fields: dict[str, Any] = {"created_at": self.age_stamp()}
        if scope == "project":
            fields["project_id"] = "p-keys"
        used = self.random.random()
        if used < 0.3:
            fields["last_used_at"] = None
        elif used < 0.4:
            fields["last_used_at"] = ...
        else:
            fields["last_used_at"] = self.age_stamp()
        if self.maybe(0.03):
            fields["created_at"] = ...
        org_id = None if scope == "personal" else "org-1"
        return key(number + 1000 * self.seed, scope, org_id, **fields)
