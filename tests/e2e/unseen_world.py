"""A world built independently of the simulator's generator, and the shipped policies'
expected selections computed straight from the issue's definitions.

Why independent: a test whose world and expectations come from the code under test cannot
catch that code's blind spots. Nothing here imports governor.
"""

from __future__ import annotations

import random
import re
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
    _realistic_extras(orgs, now)
    orgs.extend(_lever_orgs(random.Random(seed + 1), now, key_id))
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
                if not branch.get("parent_id"):
                    continue  # a root branch: Neon refuses to delete it (issue 18, lever 4)
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
    return expected | lever_findings(world, now)


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


# ----- issue 18: the levers that cost the most ------------------------------------------
#
# Every resource below is a case of the "Shipped defaults" table, most of them in
# pairs on both sides of a boundary (archived 13 vs 15 days ago, history_retention_seconds
# 86400 vs 86401, kept awake in 160 vs 159 of 168 hours, ...). Ids say what each case is.

HOUR = timedelta(hours=1)
WINDOW_HOURS = 168  # the last 168 complete hours
# Pinned exceptions sit in the middle of the window, so a run that crosses an hour boundary
# after the world was built still sees every one of them (the window moves by one hour).
EXCEPTIONS_FROM = 155  # hours back from the world's current hour
FLOOR_SLACK = 1.05
MEASURED_PLANS = frozenset({"launch", "scale", "agent", "enterprise"})  # v2/branches
SPENDING_LIMIT_PLANS = frozenset({"launch", "scale"})  # usage-based Launch and Scale


def _hour_start(now: datetime, back: int) -> str:
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return _ts(current - back * HOUR)


def pinned_activity(now: datetime, cu: float, *, asleep: int = 0, above: int = 0) -> dict:
    """``cu`` (average CU) every hour, except ``asleep`` hours at 0 and ``above`` hours at
    twice ``cu``, all in the middle of the last 168 hours."""
    hours: dict[str, float] = {}
    back = EXCEPTIONS_FROM
    for value, count in ((0.0, asleep), (2 * cu, above)):
        for _ in range(count):
            hours[_hour_start(now, back)] = value
            back -= 1
    assert back > 0, "too many exceptions to stay inside the window"
    return {"cu": cu, "hours": hours}


def business_activity(now: datetime, cu: float, *, recent: bool) -> dict:
    """A compute used a few hours a week (``recent``) or not at all in the window."""
    if not recent:
        return {"cu": 0}
    return {"cu": 0, "hours": {_hour_start(now, back): 2 * cu for back in range(30, 50)}}


def _activity_stamp(endpoint: dict) -> datetime | None:
    stamps = [_parse(endpoint.get(name)) for name in ("last_active", "started_at", "suspended_at")]
    present = [stamp for stamp in stamps if stamp]
    return max(present) if present else None


def _realistic_extras(orgs: list[dict], now: datetime) -> None:
    """What the random part lacked and the new policies read: each project's
    ``compute_last_active_at`` (the latest activity of its computes, omitted when none is
    known, as Neon does), every compute's hours pinned (never-suspending computes bill their
    floor around the clock, the others a few hours a week when recently active), and
    spending limits (Launch: none set; Scale: one set; legacy plans: not offered)."""
    # The random part's second organization was drawn Scale or legacy Business; a legacy plan
    # "that would cost less on the usage-based plans" (plan fit) is then a judgement on a
    # compute-heavy bill, so it is usage-based Scale here and the legacy case is a small
    # organization below (clearly cheaper on usage-based plans).
    orgs[1]["plan"] = "scale"
    for org in orgs:
        if org["plan"] == "scale":
            org["billing"] = {"spending_limit_cents": 250_000}
        elif org["plan"] == "launch":
            org["billing"] = {"spending_limit_cents": None}
        for project in org["projects"]:
            stamps = [_activity_stamp(endpoint) for endpoint in project["endpoints"]]
            known = [stamp for stamp in stamps if stamp]
            if known:
                project["compute_last_active_at"] = _ts(max(known))
            activity = {}
            for endpoint, stamp in zip(project["endpoints"], stamps, strict=True):
                low = endpoint["autoscaling_limit_min_cu"]
                if endpoint["suspend_timeout_seconds"] == -1:
                    activity[endpoint["id"]] = {"cu": low}
                else:
                    recent = stamp is not None and now - stamp < 7 * DAY
                    activity[endpoint["id"]] = business_activity(now, low, recent=recent)
            project["compute_activity"] = activity


class _Levers:
    """Builds the lever cases; ids are readable (``br-archived-15d-...``) and unique."""

    def __init__(self, rng: random.Random, now: datetime, key_id: int) -> None:
        self.rng = rng
        self.now = now
        self.key_id = key_id
        self.serial = 0

    def ident(self, prefix: str, label: str) -> str:
        self.serial += 1
        return f"{prefix}-{label}-{self.serial:04d}{self.rng.randrange(10**5, 10**6)}"

    def org(self, label: str, plan: str, billing: dict | None) -> dict[str, Any]:
        org_id = self.ident("org", label)
        org: dict[str, Any] = {
            "id": org_id,
            "name": f"Levers {label}",
            "handle": f"levers-{label}-{org_id[-4:]}",
            "plan": plan,
            "created_at": _ts(self.now - 500 * DAY),
            "updated_at": _ts(self.now - 20 * DAY),
            "managed_by": "console",
            "api_keys": [],
            "projects": [],
        }
        if billing is not None:
            org["billing"] = billing
        return org

    def project(
        self,
        org: dict[str, Any],
        label: str,
        *,
        created_days: float = 200,
        retention: int = 86400,
        last_active_days: float | None = 0.05,
        root_compute: bool = True,
        protected_root: bool = False,
        root_activity: dict | None = None,
        root_size: int = 512 * 1024 * 1024,
    ) -> dict[str, Any]:
        """A project with its default root branch ``main`` (and a compute on it, active
        ``last_active_days`` ago; None: never active, no ``compute_last_active_at``)."""
        project_id = self.ident("p", label)
        created = self.now - created_days * DAY
        project: dict[str, Any] = {
            "id": project_id,
            "platform_id": "aws",
            "region_id": "aws-eu-central-1",
            "name": label,
            "provisioner": "k8s-neonvm",
            "pg_version": 17,
            "proxy_host": "eu-central-1.aws.neon.tech",
            "branch_logical_size_limit": 0,
            "branch_logical_size_limit_bytes": 0,
            "store_passwords": True,
            "cpu_used_sec": 0,
            "active_time_seconds": 3600,
            "compute_time_seconds": 3600,
            "written_data_bytes": 0,
            "data_transfer_bytes": 0,
            "data_storage_bytes_hour": 0,
            "consumption_period_start": _ts(self.now - 10 * DAY),
            "consumption_period_end": _ts(self.now + 20 * DAY),
            "creation_source": "console",
            "history_retention_seconds": retention,
            "settings": {},
            "created_at": _ts(created),
            "updated_at": _ts(self.now - 3 * DAY),
            "owner_id": str(uuid.UUID(int=self.rng.getrandbits(128))),
            "org_id": org["id"],
            "branches": [],
            "endpoints": [],
            "compute_activity": {},
        }
        if last_active_days is not None:
            project["compute_last_active_at"] = _ts(self.now - last_active_days * DAY)
        org["projects"].append(project)
        root = self.branch(project, "main", None, created_days, default=True)
        root["protected"] = protected_root
        root["logical_size"] = root_size
        if root_compute:
            self.endpoint(project, root, last_days=last_active_days, activity=root_activity)
        return project

    def branch(
        self,
        project: dict[str, Any],
        name: str,
        parent: dict[str, Any] | None,
        created_days: float,
        *,
        default: bool = False,
        protected: bool = False,
        archived_days: float | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        created = self.now - created_days * DAY
        changed = created if archived_days is None else self.now - archived_days * DAY
        branch: dict[str, Any] = {
            "id": self.ident("br", label or name.split("_", maxsplit=1)[0].replace("/", "-")),
            "project_id": project["id"],
            "name": name,
            "current_state": "ready" if archived_days is None else "archived",
            "state_changed_at": _ts(changed),
            "logical_size": 512 * 1024 * 1024,
            "creation_source": "console",
            "default": default,
            "protected": protected,
            "cpu_used_sec": 0,
            "compute_time_seconds": 0,
            "active_time_seconds": 0,
            "written_data_bytes": 0,
            "data_transfer_bytes": 0,
            "created_at": _ts(created),
            "updated_at": _ts(changed),
        }
        if parent is not None:
            branch["parent_id"] = parent["id"]
        project["branches"].append(branch)
        return branch

    def endpoint(
        self,
        project: dict[str, Any],
        branch: dict[str, Any],
        *,
        low: float = 0.25,
        high: float = 1,
        timeout: int = 300,
        kind: str = "read_write",
        last_days: float | None = 0.05,
        activity: dict | None = None,
        label: str | None = None,
        active_since_days: float | None = None,
    ) -> dict[str, Any]:
        """A compute idle since ``last_days`` ago (None: never active, no activity fields),
        or running since ``active_since_days`` ago (only ``started_at`` then)."""
        assert valid_pair(low, high)
        endpoint: dict[str, Any] = {
            "host": "",
            "id": self.ident("ep", label or kind.replace("_", "")),
            "project_id": project["id"],
            "branch_id": branch["id"],
            "region_id": project["region_id"],
            "autoscaling_limit_min_cu": low,
            "autoscaling_limit_max_cu": high,
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
        if active_since_days is not None:
            endpoint["current_state"] = "active"
            endpoint["started_at"] = _ts(self.now - active_since_days * DAY)
        elif last_days is not None:
            last = self.now - last_days * DAY
            endpoint["last_active"] = _ts(last)
            endpoint["suspended_at"] = _ts(last)
            endpoint["started_at"] = _ts(last - HOUR)
        project["endpoints"].append(endpoint)
        if activity is None:
            if timeout == -1:
                activity = {"cu": low}
            else:
                recent = last_days is not None and last_days < 7
                activity = business_activity(self.now, low, recent=recent)
        project["compute_activity"][endpoint["id"]] = activity
        return endpoint

    def children(self, project: dict[str, Any], count: int, *, created_days: float = 5) -> None:
        root = project["branches"][0]
        for index in range(count):
            self.branch(project, f"preview/pr-{index}", root, created_days, label="preview")

    def snapshot(
        self,
        project: dict[str, Any],
        label: str,
        created_days: float,
        *,
        manual: bool = True,
        expires_days: float | None = None,
    ) -> None:
        created = self.now - created_days * DAY
        snapshot: dict[str, Any] = {
            "id": self.ident("snap", label),
            "name": label,
            "created_at": _ts(created),
            "timestamp": _ts(created),
            "lsn": "0/1A2B3C4",
            "manual": manual,
            "source_branch_id": project["branches"][0]["id"],
            "full_size": 0 if not manual else 2_000_000_000,
            "diff_size": 300_000_000,
        }
        if expires_days is not None:
            snapshot["expires_at"] = _ts(self.now + expires_days * DAY)
        project.setdefault("snapshots", []).append(snapshot)

    def start_computes(self, project: dict[str, Any], endpoint: dict[str, Any], days: list[int]):
        for day in days:
            moment = _ts(self.now - day * DAY)
            project.setdefault("operations", []).append(
                {
                    "id": str(uuid.UUID(int=self.rng.getrandbits(128))),
                    "project_id": project["id"],
                    "branch_id": endpoint["branch_id"],
                    "endpoint_id": endpoint["id"],
                    "action": "start_compute",
                    "status": "finished",
                    "failures_count": 0,
                    "created_at": moment,
                    "updated_at": moment,
                    "total_duration_ms": 900,
                }
            )


def _backup_name(base: str, moment: datetime, *, millis: bool = False) -> str:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}_old_{text}{'.123' if millis else ''}Z"


def _lever_orgs(rng: random.Random, now: datetime, key_id: int) -> list[dict[str, Any]]:
    """Organizations holding a case of every lever of the issue's table, with boundaries."""
    make = _Levers(rng, now, key_id)
    orgs = {
        "launch": make.org("launch", "launch", {"spending_limit_cents": None}),  # selected
        "scale": make.org("scale", "scale", {"spending_limit_cents": 150_000}),  # set
        "unset": make.org("scale-unset", "scale", None),  # no limit set: selected
        "legacy": make.org("business", "business", None),  # legacy plan: not offered
        "free": make.org("free", "free", None),  # Free: not offered
        "tiny": make.org("launch-tiny", "launch", {"spending_limit_cents": 5_000}),
    }
    for add in (
        _kept_awake, _long_timeouts, _read_replicas, _archived_and_backup_branches,
        _over_the_allowance, _restore_window, _snapshots, _idle_projects, _project_defaults,
    ):  # fmt: skip
        add(make, orgs)
    # no compute in the window: no private transfer either, so no Scale-only feature (plan fit)
    make.project(orgs["unset"], "plain", root_activity={"cu": 0})
    make.project(orgs["free"], "free-hobby", retention=21600)
    # a Launch organization inside Free's limits (plan fit): one small, nearly idle project
    make.project(orgs["tiny"], "tiny", root_activity={"cu": 0}, root_size=100_000_000)
    return list(orgs.values())


def _kept_awake(make: _Levers, orgs: dict[str, dict[str, Any]]) -> None:
    """Launch: measured from v2/branches; a legacy plan: not measured."""
    now = make.now
    awake = make.project(orgs["launch"], "kept-awake", root_compute=False)
    root = awake["branches"][0]
    make.endpoint(
        awake, root, label="awake-160-floor",
        activity=pinned_activity(now, 0.25, asleep=8),
    )  # fmt: skip
    cases = [
        ("active-159", {"asleep": 9}),  # 159 of 168 hours: under 95%
        ("floor-80-of-160", {"asleep": 8, "above": 80}),  # exactly half at the floor
        ("floor-81-of-160", {"asleep": 8, "above": 79}),  # more than half: selected
    ]
    for label, shape in cases:
        branch = make.branch(awake, label, root, 60, label=label)
        make.endpoint(awake, branch, label=label, activity=pinned_activity(now, 0.25, **shape))
    pair = make.branch(awake, "reporting", root, 60, label="awake-pair")
    for kind, low in (("read_write", 0.25), ("read_only", 0.5)):
        make.endpoint(
            awake, pair, low=low, high=2, kind=kind, label="awake-pair",
            activity=pinned_activity(now, low, asleep=4),
        )  # fmt: skip
    mixed = make.branch(awake, "worker", root, 60, label="awake-mixed")
    make.endpoint(awake, mixed, label="awake-mixed", activity=pinned_activity(now, 0.25))
    make.endpoint(awake, mixed, timeout=-1, label="awake-mixed-never", kind="read_only")
    logical = make.project(orgs["launch"], "kept-awake-logical-replication", root_compute=False)
    logical["settings"] = {"enable_logical_replication": True}
    make.endpoint(
        logical, logical["branches"][0], label="awake-logical",
        activity=pinned_activity(now, 0.5, asleep=2), low=0.5, high=2,
    )  # fmt: skip
    # the same pattern on a legacy plan: v2/branches is not offered, nothing is measured
    unmeasured = make.project(orgs["legacy"], "kept-awake-unmeasured", root_compute=False)
    make.endpoint(
        unmeasured, unmeasured["branches"][0], label="awake-unmeasured",
        activity=pinned_activity(now, 0.25),
    )  # fmt: skip
    # a fixed 20 CU compute never scales to zero: not "kept awake"
    fixed = make.project(orgs["scale"], "kept-awake-fixed-20cu", root_compute=False)
    make.endpoint(
        fixed, fixed["branches"][0], low=20, high=20, timeout=-1, label="fixed-20cu",
        activity=pinned_activity(now, 20),
    )  # fmt: skip


def _long_timeouts(make: _Levers, orgs: dict[str, dict[str, Any]]) -> None:
    """Long suspend timeouts (Scale and legacy plans may set them)."""
    timeouts = make.project(orgs["scale"], "long-timeouts")
    root = timeouts["branches"][0]
    for seconds in (600, 3600, 300, 301, 60, 0):
        branch = make.branch(timeouts, f"svc-{seconds}", root, 90, label=f"timeout-{seconds}")
        compute = make.endpoint(timeouts, branch, timeout=seconds, label=f"timeout-{seconds}")
        if seconds == 600:
            make.start_computes(timeouts, compute, [1, 2, 5, 12, 29, 31, 45])
    legacy_timeouts = make.project(orgs["legacy"], "long-timeouts-legacy")
    make.endpoint(
        legacy_timeouts, legacy_timeouts["branches"][0], timeout=7200, label="timeout-7200"
    )


def _read_replicas(make: _Levers, orgs: dict[str, dict[str, Any]]) -> None:
    """Read replicas."""
    replicas = make.project(orgs["scale"], "replicas")
    root = replicas["branches"][0]
    for label, options in (
        ("replica-idle-13d", {"last_days": 13}),
        ("replica-idle-15d", {"last_days": 15}),
        ("replica-never-suspends", {"timeout": -1, "last_days": 0.01}),
        ("replica-no-activity", {"last_days": None}),
        # running for 20 days (a connected reader): not idle, so not selected
        ("replica-active-20d", {"active_since_days": 20, "activity": {"cu": 0.25}}),
        ("primary-idle-20d", {"last_days": 20, "kind": "read_write"}),
    ):
        make.endpoint(replicas, root, label=label, **{"kind": "read_only", **options})


def _archived_and_backup_branches(make: _Levers, orgs: dict[str, dict[str, Any]]) -> None:
    """Archived and backup branches; a non-default root that matches otherwise."""
    now = make.now
    branches = make.project(orgs["scale"], "branches")
    main = branches["branches"][0]
    make.branch(branches, "feature/a", main, 200, archived_days=15, label="archived-15d")
    make.branch(branches, "feature/b", main, 200, archived_days=13, label="archived-13d")
    make.branch(
        branches, "feature/c", main, 200, archived_days=20, protected=True,
        label="archived-protected",
    )  # fmt: skip
    parent = make.branch(
        branches, "feature/d", main, 200, archived_days=20, label="archived-with-child"
    )
    make.branch(branches, "feature/d-fix", parent, 2, label="child-of-archived")
    make.branch(branches, "import", None, 200, archived_days=40, label="archived-root")
    for days, options, label in (
        (8, {}, "backup-8d"),
        (6, {}, "backup-6d"),
        (10, {"millis": True}, "backup-10d-millis"),
    ):
        moment = now - days * DAY
        make.branch(branches, _backup_name("main", moment, **options), main, days, label=label)
    make.branch(
        branches, _backup_name("main", now - 9 * DAY), main, 9, protected=True,
        label="backup-protected",
    )  # fmt: skip
    dev = make.branch(branches, "dev", main, 100, label="dev")
    make.endpoint(branches, dev, label="dev")
    dev_backup = make.branch(
        branches, _backup_name("dev", now - 9 * DAY), dev, 9, label="backup-with-child"
    )
    make.branch(branches, "dev-restored-check", dev_backup, 1, label="child-of-backup")
    make.branch(branches, _backup_name("legacy", now - 20 * DAY), None, 20, label="backup-root")
    make.branch(branches, "main_old_yesterday", main, 20, label="backup-bad-time")


def _over_the_allowance(make: _Levers, orgs: dict[str, dict[str, Any]]) -> None:
    """Branches over the plan's allowance: 9 vs 10 on Launch, 24 vs 25 on Scale."""
    for org, count in (
        (orgs["launch"], 9),
        (orgs["launch"], 10),
        (orgs["scale"], 24),
        (orgs["scale"], 25),
    ):
        crowded = make.project(org, f"children-{count}")
        make.children(crowded, count)
    crowded["branches"][-1]["current_state"] = "archived"  # archived children count too


def _restore_window(make: _Levers, orgs: dict[str, dict[str, Any]]) -> None:
    """Restore window."""
    for org, seconds, protected in (
        (orgs["launch"], 86400, False),
        (orgs["launch"], 86401, False),
        (orgs["scale"], 604800, False),
        (orgs["scale"], 604800, True),
    ):
        label = f"retention-{seconds}" + ("-protected" if protected else "")
        make.project(org, label, retention=seconds, protected_root=protected)


def _snapshots(make: _Levers, orgs: dict[str, dict[str, Any]]) -> None:
    """Snapshots and backup schedules."""
    snaps = make.project(orgs["scale"], "snapshots")
    make.snapshot(snaps, "manual-31d", 31)
    make.snapshot(snaps, "manual-29d", 29)
    make.snapshot(snaps, "manual-31d-expiring", 31, expires_days=10)
    make.snapshot(snaps, "scheduled-40d", 40, manual=False)
    main = snaps["branches"][0]
    schedules: dict[str, Any] = {
        main["id"]: {
            "schedule": [
                {"frequency": "daily", "hour": 3, "retention_seconds": 604800},
                {"frequency": "weekly", "day": 1, "hour": 3},  # kept forever: selected
            ]
        }
    }
    kept = make.branch(snaps, "staging", main, 100, label="schedule-with-retention")
    make.endpoint(snaps, kept, label="staging")
    schedules[kept["id"]] = {
        "schedule": [{"frequency": "daily", "hour": 4, "retention_seconds": 86400}]
    }
    empty = make.branch(snaps, "qa", main, 100, label="schedule-empty")
    make.endpoint(snaps, empty, label="qa")
    schedules[empty["id"]] = {"schedule": []}
    snaps["backup_schedules"] = schedules


def _idle_projects(make: _Levers, orgs: dict[str, dict[str, Any]]) -> None:
    """Idle projects: 59 vs 61 days without compute activity, never active."""
    for label, created, last in (
        ("idle-61d", 100, 61),
        ("idle-59d", 100, 59),
        ("never-active-61d", 61, None),
        ("never-active-59d", 59, None),
    ):
        make.project(orgs["scale"], label, created_days=created, last_active_days=last)


def _project_defaults(make: _Levers, orgs: dict[str, dict[str, Any]]) -> None:
    """Expensive project defaults on projects creating 3 vs 4 branches in 30 days."""
    for label, defaults, recent in (
        ("defaults-never-suspend-4", {"suspend_timeout_seconds": -1}, 4),
        ("defaults-never-suspend-3", {"suspend_timeout_seconds": -1}, 3),
        ("defaults-1cu-5", {"autoscaling_limit_min_cu": 1, "autoscaling_limit_max_cu": 4}, 5),
        ("defaults-cheap-6", {"autoscaling_limit_min_cu": 0.5, "autoscaling_limit_max_cu": 2}, 6),
    ):
        project = make.project(orgs["launch"], label)
        project["default_endpoint_settings"] = defaults
        make.children(project, recent, created_days=29)
        make.branch(project, "old-feature", project["branches"][0], 31)


# ----- the answer key for the levers, straight from the table ---------------------

BACKUP_NAME = re.compile(
    r"^(?P<base>.+)_old_(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d))$"
)
INCLUDED_CHILDREN = {"launch": 9, "scale": 24}  # the plan's included branches minus one
SCALE_ONLY_TIMEOUTS = frozenset({0, 300, -1})


def branch_hours(project: dict[str, Any], branch: dict[str, Any], now: datetime) -> list[float]:
    """The branch's CU-seconds in each of the last 168 complete hours, from the pinned
    activity of its computes (counted from the branch's creation)."""
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    created = _parse(branch["created_at"]) or current
    pins = project.get("compute_activity", {})
    values = []
    for back in range(WINDOW_HOURS, 0, -1):
        start = current - back * HOUR
        seconds = max(0.0, ((start + HOUR) - max(start, created)).total_seconds())
        total = 0.0
        for endpoint in project["endpoints"]:
            if endpoint["branch_id"] != branch["id"] or endpoint.get("disabled"):
                continue
            pin = pins[endpoint["id"]]
            total += pin.get("hours", {}).get(_ts(start), pin.get("cu", 0)) * seconds
        values.append(total)
    return values


def kept_awake(project: dict[str, Any], branch: dict[str, Any], now: datetime) -> bool:
    """Every compute scales to zero (timeout not -1, at most 16 CU); compute in at least
    95% of the last 168 complete hours; at the floor in more than half of those."""
    computes = [e for e in project["endpoints"] if e["branch_id"] == branch["id"]]
    if not computes or any(
        e["suspend_timeout_seconds"] == -1 or e["autoscaling_limit_max_cu"] > 16 for e in computes
    ):
        return False
    floor = FLOOR_SLACK * sum(e["autoscaling_limit_min_cu"] for e in computes) * 3600
    hours = branch_hours(project, branch, now)
    active = [value for value in hours if value > 0]
    at_floor = [value for value in active if value <= floor]
    return len(active) >= 0.95 * WINDOW_HOURS and len(at_floor) > len(active) / 2


def _older(value: str | None, now: datetime, age: timedelta) -> bool:
    moment = _parse(value)
    return moment is not None and now - moment > age


def _monthly_cu_hours(project: dict[str, Any], now: datetime) -> float:
    """CU-hours of the project's computes over the last 30 days, from the pinned activity."""
    total = 0.0
    for pin in project.get("compute_activity", {}).values():
        hours = pin.get("hours", {})
        listed = sum(cu for hour, cu in hours.items() if now - (_parse(hour) or now) <= 30 * DAY)
        total += listed + pin.get("cu", 0) * (720 - len(hours))
    return total


def _plan_fits(org: dict[str, Any], now: datetime) -> bool:
    """Plan fit (issue 18, lever 9; note L14). Every case the world holds is clear-cut:
    a case the object fields cannot settle (usage near a limit) fails the build."""
    plan, projects = org["plan"], org["projects"]
    endpoints = [e for p in projects for e in p["endpoints"]]
    usage = sum(_monthly_cu_hours(p, now) for p in projects)
    if plan == "scale":
        uses = (
            len(projects) > 100
            or any(e["suspend_timeout_seconds"] not in SCALE_ONLY_TIMEOUTS for e in endpoints)
            or any(e["autoscaling_limit_max_cu"] > 16 for e in endpoints)
            or any(p.get("history_retention_seconds", 0) > 604800 for p in projects)
            or any(
                (p.get("settings") or {}).get(k)
                for p in projects
                for k in ("allowed_ips", "block_public_connections", "hipaa")
            )
        )
        # private network transfer (a Scale-only feature) comes with compute: none, none
        assert uses or usage == 0, f"{org['id']}: plan fit would depend on private transfer"
        return not uses
    if plan == "launch":
        within = len(projects) <= 100 and all(
            len(p["branches"]) <= 10
            and all(e["autoscaling_limit_max_cu"] <= 2 for e in p["endpoints"])
            and sum(b["logical_size"] for b in p["branches"] if not b.get("parent_id"))
            <= 500_000_000
            for p in projects
        )
        # Free's 100 CU-hours and 5 GB of transfer are metered: only clear cases here
        assert not within or usage <= 1, f"{org['id']}: plan fit would depend on metering"
        return within
    if plan == "business":
        # legacy Business: $700 a month before usage; a few dollars on usage-based Launch
        assert usage <= 300, f"{org['id']}: plan fit would need the legacy rate card"
        return True
    return False


def lever_findings(world: dict, now: datetime) -> set[tuple[str, str]]:
    """(policy, resource id) for issue 18's shipped policies, from the issue's definitions."""
    found: set[tuple[str, str]] = set()
    for org in world["organizations"]:
        plan = org["plan"]
        measured = plan in MEASURED_PLANS and org.get("managed_by") in (None, "console")
        limit = (org.get("billing") or {}).get("spending_limit_cents")
        if plan in SPENDING_LIMIT_PLANS and limit is None:
            found.add(("no-spending-notification", org["id"]))
        if _plan_fits(org, now):
            found.add(("plan-fit", org["id"]))
        for project in org["projects"]:
            found |= _project_findings(project, plan, measured, now)
    return found


def _project_findings(
    project: dict[str, Any], plan: str, measured: bool, now: datetime
) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    branches = project["branches"]
    parents = {branch.get("parent_id") for branch in branches}
    logical = bool((project.get("settings") or {}).get("enable_logical_replication"))
    for branch in branches:
        if measured and kept_awake(project, branch, now):
            policy = "computes-kept-awake" + ("-logical-replication" if logical else "")
            found |= {
                (policy, e["id"]) for e in project["endpoints"] if e["branch_id"] == branch["id"]
            }
        deletable = (
            not branch["default"]
            and not branch["protected"]
            and bool(branch.get("parent_id"))
            and branch["id"] not in parents
        )
        if (
            deletable
            and branch["current_state"] == "archived"
            and _older(branch.get("state_changed_at"), now, 14 * DAY)
        ):
            found.add(("archived-branches", branch["id"]))
        backup = BACKUP_NAME.match(branch["name"])
        if deletable and backup and _older(backup.group("time"), now, 7 * DAY):
            found.add(("backup-branches", branch["id"]))
    for endpoint in project["endpoints"]:
        if endpoint["suspend_timeout_seconds"] > 300:
            found.add(("long-suspend-timeouts", endpoint["id"]))
        if endpoint["type"] == "read_only" and (
            endpoint["suspend_timeout_seconds"] == -1
            or (
                endpoint["current_state"] == "idle"
                and (stamp := _activity_stamp(endpoint)) is not None
                and now - stamp > 14 * DAY
            )
        ):
            found.add(("idle-read-replicas", endpoint["id"]))
    children = sum(1 for branch in branches if branch.get("parent_id"))
    if plan in INCLUDED_CHILDREN and children > INCLUDED_CHILDREN[plan]:
        found.add(("branches-over-allowance", project["id"]))
    protected = any(branch["protected"] for branch in branches)
    if not protected and project["history_retention_seconds"] > 86400:
        found.add(("restore-window", project["id"]))
    for snapshot in project.get("snapshots", []):
        if (
            snapshot.get("manual") is True
            and not snapshot.get("expires_at")
            and _older(snapshot["created_at"], now, 30 * DAY)
        ):
            found.add(("old-manual-snapshots", snapshot["id"]))
    for branch_id, schedule in project.get("backup_schedules", {}).items():
        items = schedule.get("schedule", [])
        if any(item.get("retention_seconds") is None for item in items):
            found.add(("backup-schedules-without-retention", branch_id))
    last = project.get("compute_last_active_at")
    if _older(project["created_at"], now, 60 * DAY) and (
        last is None or _older(last, now, 60 * DAY)
    ):
        found.add(("idle-projects", project["id"]))
    defaults = project.get("default_endpoint_settings") or {}
    recent = sum(1 for branch in branches if not _older(branch["created_at"], now, 30 * DAY))
    expensive = (
        defaults.get("suspend_timeout_seconds") == -1
        or defaults.get("autoscaling_limit_min_cu", 0) >= 1
    )
    if expensive and recent >= 4:
        found.add(("expensive-project-defaults", project["id"]))
    return found
