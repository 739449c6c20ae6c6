"""A world built independently of the simulator's generator, and the shipped policies'
expected selections computed straight from the issue's definitions.

Why independent: a test whose world and expectations come from the code under test cannot
catch that code's blind spots. Nothing here imports governor.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

DAY = timedelta(days=1)


# Neon's documented compute rules, restated here (not imported): sizes 0.25, 0.5, whole CU
# to 16, even CU to 56; an autoscaling range (min != max) at most 8 CU wide, up to 16 CU,
# with min >= max/8 when max > 10; fixed sizes up to 56 CU; above 16 CU no scale to zero.
CU_SIZES = (0.25, 0.5, *range(1, 17), *range(18, 57, 2))


def valid_pair(low: float, high: float) -> bool:
    if low not in CU_SIZES or high not in CU_SIZES or low > high:
        return False
    if low == high:
        return True
    return high <= 16 and high - low <= 8 and not (high > 10 and low < high / 8)


def lowest_min_keeping(high: float) -> float | None:
    """The lowest autoscaling minimum valid with ``high`` kept (None: none below it)."""
    return next((low for low in CU_SIZES if low < high and valid_pair(low, high)), None)


# Every kind of compute a Neon account holds, each valid (checked at import).
SIZES = [
    (0.25, 0.25), (0.25, 0.25), (0.25, 1), (0.25, 2), (0.5, 2), (1, 4), (2, 8), (4, 4),
    (1, 9), (4, 12), (8, 8), (8, 16), (9, 16), (10, 16), (12, 16), (16, 16), (20, 20),
    (28, 28), (56, 56),
]  # fmt: skip
assert all(valid_pair(*pair) for pair in SIZES)


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _word(rng: random.Random) -> str:
    return (
        rng.choice(
            ["amber", "brisk", "cold", "dawn", "eager", "frost", "gentle", "hollow", "icy", "jolly"]
        )
        + "-"
        + rng.choice(["river", "stone", "leaf", "cloud", "field", "wave", "pine", "moon"])
    )


def build_world(seed: int, now: datetime, *, projects: int = 24, branches: int = 200) -> dict:
    """Two organizations, ``projects`` projects and about ``branches`` branches."""
    rng = random.Random(seed)
    orgs: list[dict[str, Any]] = []
    for index in range(2):
        org_id = f"org-{_word(rng)}-{rng.randrange(10**7, 10**8)}"
        orgs.append(
            {
                "id": org_id,
                "name": f"Team {index}",
                "handle": f"team-{index}-{org_id[-4:]}",
                "plan": "launch" if index == 0 else rng.choice(["scale", "business"]),
                "created_at": _ts(now - 700 * DAY),
                "updated_at": _ts(now - 30 * DAY),
                "managed_by": "console",
                "api_keys": [],
                "projects": [],
            }
        )
    per_project = max(2, branches // projects)
    key_id = 900_000
    for number in range(projects):
        org = orgs[number % 2]
        project_id = f"{_word(rng)}-{rng.randrange(10**7, 10**8)}"
        created = now - rng.randrange(100, 900) * DAY
        project = {
            "id": project_id,
            "platform_id": "aws",
            "region_id": "aws-eu-central-1",
            "name": f"app-{number}",
            "provisioner": "k8s-neonvm",
            "pg_version": 17,
            "proxy_host": "eu-central-1.aws.neon.tech",
            "branch_logical_size_limit": 0,
            "branch_logical_size_limit_bytes": 0,
            "store_passwords": True,
            "cpu_used_sec": 0,
            "active_time_seconds": rng.randrange(0, 10**6),
            "compute_time_seconds": rng.randrange(0, 10**6),
            "written_data_bytes": 0,
            "data_transfer_bytes": 0,
            "data_storage_bytes_hour": 0,
            "consumption_period_start": _ts(now - 10 * DAY),
            "consumption_period_end": _ts(now + 20 * DAY),
            "creation_source": "console",
            "history_retention_seconds": 86400,
            "created_at": _ts(created),
            "updated_at": _ts(now - rng.randrange(0, 50) * DAY),
            "owner_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "org_id": org["id"],
            "branches": [],
            "endpoints": [],
        }
        org["projects"].append(project)
        root = _branch(rng, project_id, "main", None, created, default=True)
        root["protected"] = number % 3 == 0
        project["branches"].append(root)
        _endpoint(
            rng,
            org["plan"],
            project,
            root,
            now,
            kind="read_write",
            last=now - rng.randrange(0, 90) * DAY,
        )
        parents = [root]
        for index in range(per_project - 1):
            parent = rng.choice(parents)
            age_days = rng.choice([2, 10, 29, 31, 45, 120, 400])
            branch = _branch(
                rng,
                project_id,
                f"preview/pr-{number * 100 + index}",
                parent["id"],
                now - age_days * DAY - rng.randrange(1, 20) * DAY,
                updated=now - age_days * DAY,
            )
            branch["protected"] = rng.random() < 0.05
            if rng.random() < 0.15:
                branch["current_state"] = "archived"
            project["branches"].append(branch)
            if rng.random() < 0.3:
                parents.append(branch)
            shape = rng.random()
            if shape < 0.25:
                continue  # no compute
            if shape < 0.32:
                _endpoint(rng, org["plan"], project, branch, now, kind="read_write", last=None)
                continue  # a compute with no activity timestamps at all
            _endpoint(
                rng, org["plan"], project, branch, now, kind="read_write", last=now - age_days * DAY
            )
            if shape > 0.85:
                # a second compute active recently: the branch is not stale
                recent = now - rng.choice([1, 3, 60]) * DAY
                _endpoint(rng, org["plan"], project, branch, now, kind="read_only", last=recent)
        for index in range(rng.randrange(1, 3)):
            key_id += 1
            org["api_keys"].append(_key(rng, key_id, f"ci-{number}-{index}", now, project_id))
    for org in orgs:
        for index in range(4):
            key_id += 1
            org["api_keys"].append(_key(rng, key_id, f"org-key-{index}", now, None))
    personal = []
    for index in range(5):
        key_id += 1
        personal.append(_key(rng, key_id, f"laptop-{index}", now, None))
    return {
        "keys": {"unseen-personal-token": {"kind": "personal"}},
        "personal_api_keys": personal,
        "organizations": orgs,
    }


def _branch(
    rng: random.Random,
    project_id: str,
    name: str,
    parent_id: str | None,
    created: datetime,
    *,
    default: bool = False,
    updated: datetime | None = None,
) -> dict[str, Any]:
    branch: dict[str, Any] = {
        "id": f"br-{_word(rng)}-{rng.randrange(10**7, 10**8)}",
        "project_id": project_id,
        "name": name,
        "current_state": "ready",
        "state_changed_at": _ts(updated or created),
        "logical_size": rng.randrange(30, 40_000) * 1024 * 1024,
        "creation_source": "console",
        "default": default,
        "protected": False,
        "cpu_used_sec": 0,
        "compute_time_seconds": 0,
        "active_time_seconds": 0,
        "written_data_bytes": 0,
        "data_transfer_bytes": 0,
        "created_at": _ts(created),
        "updated_at": _ts(updated or created),
    }
    if parent_id:
        branch["parent_id"] = parent_id
    return branch


def _endpoint(
    rng: random.Random,
    plan: str,
    project: dict[str, Any],
    branch: dict[str, Any],
    now: datetime,
    *,
    kind: str,
    last: datetime | None,
) -> None:
    minimum, maximum = rng.choice(SIZES)
    # Launch: 5 minutes or never; Scale and legacy Business: 1 minute to never
    timeouts = [0, 0, 300, -1] if plan == "launch" else [0, 0, 300, 3600, -1]
    timeout = -1 if maximum > 16 else rng.choice(timeouts)  # above 16 CU: never suspends
    endpoint: dict[str, Any] = {
        "host": "",
        "id": f"ep-{_word(rng)}-{rng.randrange(10**7, 10**8)}",
        "project_id": project["id"],
        "branch_id": branch["id"],
        "region_id": project["region_id"],
        "autoscaling_limit_min_cu": minimum,
        "autoscaling_limit_max_cu": maximum,
        "type": kind,
        "current_state": "idle",
        "pooler_enabled": False,
        "pooler_mode": "transaction",
        "disabled": False,
        "passwordless_access": True,
        "creation_source": "console",
        "created_at": branch["created_at"],
        "updated_at": branch["updated_at"],
        "settings": {},
        "proxy_host": project["proxy_host"],
        "suspend_timeout_seconds": timeout,
        "provisioner": "k8s-neonvm",
    }
    endpoint["host"] = f"{endpoint['id']}.{project['proxy_host']}"
    if last is not None:
        fields = rng.sample(["last_active", "started_at", "suspended_at"], rng.randrange(1, 4))
        offsets = sorted(rng.randrange(0, 5) for _ in fields)
        for field, offset in zip(fields, offsets, strict=True):
            # the latest of the fields present is exactly `last`
            endpoint[field] = _ts(last - offset * timedelta(hours=1))
        endpoint[fields[0]] = _ts(last)
    project["endpoints"].append(endpoint)


def _key(
    rng: random.Random, key_id: int, name: str, now: datetime, project_id: str | None
) -> dict[str, Any]:
    created_days = rng.choice([5, 60, 89, 91, 200, 800])
    used = rng.choice([None, 1, 30, 89, 91, 150, "none"])
    key: dict[str, Any] = {
        "id": key_id,
        "name": name,
        "created_at": _ts(now - created_days * DAY),
        "created_by": {"id": str(uuid.UUID(int=rng.getrandbits(128))), "name": "Ada", "image": ""},
        "last_used_from_addr": "",
    }
    if used == "none":
        pass  # field absent altogether
    elif used is None:
        key["last_used_at"] = None
    else:
        key["last_used_at"] = _ts(now - min(int(used), created_days) * DAY)
        key["last_used_from_addr"] = "203.0.113.7"
    if project_id:
        key["project_id"] = project_id
    return key


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def oversized(endpoint: dict) -> bool:
    """oversized-computes' definition: a floor of 8 CU or more that Neon lets drop with the
    maximum kept."""
    low, high = endpoint["autoscaling_limit_min_cu"], endpoint["autoscaling_limit_max_cu"]
    lowest = lowest_min_keeping(high)
    return low >= 8 and lowest is not None and lowest < low


def expected_findings(world: dict, now: datetime) -> set[tuple[str, str]]:
    """(policy, resource_id) for every resource the shipped policies must select."""
    expected: set[tuple[str, str]] = set()
    month = timedelta(days=30)
    quarter = timedelta(days=90)
    for org in world["organizations"]:
        for project in org["projects"]:
            endpoints_by_branch: dict[str, list[dict]] = {}
            for endpoint in project["endpoints"]:
                endpoints_by_branch.setdefault(endpoint["branch_id"], []).append(endpoint)
                if endpoint["suspend_timeout_seconds"] == -1:
                    expected.add(("never-suspending-computes", endpoint["id"]))
                if oversized(endpoint):
                    expected.add(("oversized-computes", endpoint["id"]))
            parents = {branch.get("parent_id") for branch in project["branches"]}
            for branch in project["branches"]:
                if branch["default"] or branch["protected"] or branch["id"] in parents:
                    continue
                computes = endpoints_by_branch.get(branch["id"], [])
                if computes:
                    activity = []
                    for endpoint in computes:
                        stamps = [
                            _parse(endpoint.get(name))
                            for name in ("last_active", "started_at", "suspended_at")
                        ]
                        present = [stamp for stamp in stamps if stamp]
                        activity.append(max(present) if present else None)
                    if all(stamp is not None and now - stamp > month for stamp in activity):
                        expected.add(("stale-branches", branch["id"]))
                else:
                    created = _parse(branch["created_at"])
                    updated = _parse(branch["updated_at"])
                    if created and updated and now - created > month and now - updated > month:
                        expected.add(("stale-branches", branch["id"]))
        keys = org["api_keys"]
        expected |= _unused_keys(keys, now, quarter)
    expected |= _unused_keys(world["personal_api_keys"], now, quarter)
    return expected


def _unused_keys(keys: list[dict], now: datetime, quarter: timedelta) -> set[tuple[str, str]]:
    selected = set()
    for key in keys:
        used = _parse(key.get("last_used_at"))
        created = _parse(key["created_at"])
        if (used is None and created and now - created > quarter) or (
            used is not None and now - used > quarter
        ):
            selected.add(("unused-api-keys", str(key["id"])))
    return selected
