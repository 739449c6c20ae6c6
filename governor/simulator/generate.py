"""Generated worlds: a realistic, seeded mix of what a governance sweep meets.

Why these proportions: they cover every case a policy distinguishes (stale previews,
parents, protected and default branches, archived ones, branches that already expire,
computes that never suspend, large fixed sizes, keys never used) in worlds of any size,
while staying deterministic for a seed and ``now``.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from governor.rules.compute import size_problems, suspend_problems
from governor.rules.retention import retention_limit
from governor.simulator.names import ADJECTIVES, NOUNS, PEOPLE, PROJECT_NAMES, NeonIds
from governor.simulator.timestamps import format_timestamp

REGIONS = ("aws-us-east-2", "aws-us-east-1", "aws-eu-central-1", "aws-us-west-2")
COMPUTE_SIZES: tuple[tuple[float, float], ...] = (
    (0.25, 0.25),
    (0.25, 1),
    (0.25, 2),
    (0.5, 2),
    (1, 4),
    (2, 8),
)
# Large computes, each a pair Neon accepts (governor.rules.compute): autoscaling ranges at most
# 8 CU wide up to 16 CU, and fixed sizes up to 56 CU (above 16 CU they never scale to zero).
LARGE_SIZES: tuple[tuple[float, float], ...] = (
    (8, 8),
    (8, 16),
    (10, 16),
    (16, 16),
    (20, 20),
    (28, 28),
    (56, 56),
)
FREE_MAX_CU = 2  # the Free plan's computes go up to 2 CU
MEBIBYTE = 1024 * 1024
MEMBERS_PER_ORG = 2  # creators of the organization's first keys (distinct emails)
# Member ids derive from the organization and user ids, never from the seeded stream:
# asking for members leaves every other generated value as it was.
MEMBER_NAMESPACE = uuid.UUID("6f1c2b1e-5d3a-4c8e-9b7f-2a1d0e9c8b7a")


@dataclass
class _BranchPlan:
    branch: dict[str, Any]
    stale: bool
    created: datetime
    endpoints: list[dict[str, Any]] = field(default_factory=list)


class _Generator:
    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.ids = NeonIds(self.rng)
        self.now = now
        self.next_key_id = 100_000 + self.rng.randrange(1000) * 100
        self.preview_number = 100 + self.rng.randrange(400)
        self.org_plans: dict[str, str] = {}

    # ----- time helpers ---------------------------------------------------------------

    def days_ago(self, low: float, high: float) -> datetime:
        seconds = self.rng.uniform(low * 86400, high * 86400)
        return (self.now - timedelta(seconds=seconds)).replace(microsecond=0)

    def between(self, start: datetime, end: datetime) -> datetime:
        if end <= start:
            return start
        seconds = self.rng.uniform(0, (end - start).total_seconds())
        return (start + timedelta(seconds=seconds)).replace(microsecond=0)

    # ----- objects --------------------------------------------------------------------

    def organization(self, index: int) -> dict[str, Any]:
        created = self.days_ago(500, 1200)
        name = f"{self.rng.choice(ADJECTIVES).title()} {self.rng.choice(NOUNS).title()} Inc"
        org_id = self.ids.organization()
        self.org_plans[org_id] = ("scale", "launch", "scale", "free")[index % 4]
        return {
            "id": org_id,
            "name": name,
            "handle": f"{name.lower().replace(' ', '-')}-{index}",
            "plan": self.org_plans[org_id],
            "created_at": format_timestamp(created),
            "updated_at": format_timestamp(self.between(created, self.now)),
            "managed_by": "console",
            "allow_hipaa_projects": False,
        }

    def creator(self) -> dict[str, Any]:
        person = self.rng.choice(PEOPLE)
        return {
            "id": self.ids.uuid(),
            "name": person.title(),
            "image": f"https://avatars.example.com/{person}.png",
        }

    def api_key(self, name: str, usage: str) -> dict[str, Any]:
        self.next_key_id += self.rng.randrange(1, 50)
        created = self.days_ago(30, 700)
        key: dict[str, Any] = {
            "id": self.next_key_id,
            "name": name,
            "created_at": format_timestamp(created),
            "created_by": self.creator(),
        }
        if usage == "never":
            key["last_used_at"] = None
            key["last_used_from_addr"] = ""
        else:
            used = (
                self.between(max(created, self.now - timedelta(hours=6)), self.now)
                if usage == "recent"
                else self.between(created, max(created, self.now - timedelta(days=120)))
            )
            key["last_used_at"] = format_timestamp(used)
            key["last_used_from_addr"] = (
                f"203.0.113.{self.rng.randrange(1, 255)},192.0.2.{self.rng.randrange(1, 255)}"
            )
        return key

    def project(self, org_id: str, index: int) -> dict[str, Any]:
        created = self.days_ago(60, 900)
        region = self.rng.choice(REGIONS)
        size_limit_mib = self.rng.choice((3072, 51200, 204800, 2097152))
        base_name = PROJECT_NAMES[index % len(PROJECT_NAMES)]
        name = base_name if index < len(PROJECT_NAMES) else f"{base_name}-{index}"
        period_start = self.now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        active_seconds = self.rng.randrange(0, 2_000_000)
        return {
            "id": self.ids.project(),
            "platform_id": "aws",
            "region_id": region,
            "name": name,
            "provisioner": "k8s-neonvm",
            "default_endpoint_settings": {
                "autoscaling_limit_min_cu": 0.25,
                "autoscaling_limit_max_cu": self._default_max(org_id),
                "suspend_timeout_seconds": 0,
            },
            "settings": {"allowed_ips": {"ips": [], "protected_branches_only": False}},
            "pg_version": self.rng.choice((15, 16, 17, 17)),
            "proxy_host": f"{region.removeprefix('aws-')}.aws.neon.tech",
            "branch_logical_size_limit": size_limit_mib,
            "branch_logical_size_limit_bytes": size_limit_mib * MEBIBYTE,
            "store_passwords": True,
            "active_time_seconds": active_seconds,
            "compute_time_seconds": int(active_seconds * self.rng.uniform(0.1, 0.6)),
            "written_data_bytes": self.rng.randrange(0, 50 * 1024 * MEBIBYTE),
            "data_transfer_bytes": self.rng.randrange(0, 20 * 1024 * MEBIBYTE),
            "data_storage_bytes_hour": self.rng.randrange(0, 10**15),
            "cpu_used_sec": int(active_seconds * self.rng.uniform(0.1, 0.6)),
            "creation_source": "console",
            "history_retention_seconds": self.rng.choice((21600, 86400, 604800)),
            "created_at": format_timestamp(created),
            "updated_at": format_timestamp(self.between(created, self.now)),
            "synthetic_storage_size": 0,
            "consumption_period_start": format_timestamp(period_start),
            "consumption_period_end": format_timestamp(
                (period_start + timedelta(days=32)).replace(day=1)
            ),
            "owner_id": self.ids.uuid(),
            "org_id": org_id,
        }

    def _default_max(self, org_id: str) -> float:
        chosen = self.rng.choice((1, 2, 4))
        return min(chosen, FREE_MAX_CU) if self.org_plans.get(org_id) == "free" else chosen

    def compute_size_and_timeout(self, org_id: str) -> tuple[float, float, int]:
        """A size and suspend timeout Neon accepts on the organization's plan.

        Free: up to 2 CU, 5 minutes fixed; Launch: 5 minutes or never; above 16 CU: never.
        """
        plan = self.org_plans.get(org_id)
        timeout = self.rng.choices((0, 300, -1, 3600), weights=(60, 20, 15, 5))[0]
        if self.rng.random() < 0.06 and plan != "free":
            low, high = self.rng.choice(LARGE_SIZES)
        else:
            low, high = self.rng.choice(COMPUTE_SIZES)
            if plan == "free":
                high = min(high, FREE_MAX_CU)
        if high > 16:
            timeout = -1
        elif plan == "free":
            timeout = 300 if timeout == 3600 else max(timeout, 0)
        elif plan == "launch" and timeout == 3600:
            timeout = 300
        return low, high, timeout

    def logical_size(self) -> int:
        size = self.rng.lognormvariate(math.log(300 * MEBIBYTE), 1.6)
        return int(min(max(size, 30 * MEBIBYTE), 400 * 1024 * MEBIBYTE))

    def branch(
        self,
        project: dict[str, Any],
        name: str,
        created: datetime,
        stale: bool,
        parent: _BranchPlan | None,
    ) -> _BranchPlan:
        last_change = (
            self.between(created, self.now - timedelta(days=40))
            if stale
            else self.between(created, self.now)
        )
        active_seconds = self.rng.randrange(0, 400_000)
        branch: dict[str, Any] = {"id": self.ids.branch(), "project_id": project["id"]}
        if parent is not None:
            branch["parent_id"] = parent.branch["id"]
            branch["parent_lsn"] = (
                f"{self.rng.randrange(1, 16):X}/{self.rng.randrange(16**7, 16**8):08X}"
            )
            branch["parent_timestamp"] = format_timestamp(created)
        branch.update(
            {
                "name": name,
                "current_state": "ready",
                "state_changed_at": format_timestamp(last_change),
                "logical_size": self.logical_size(),
                "creation_source": "console"
                if parent is None
                else self.rng.choice(("console", "neonctl", "vercel", "github-actions")),
                "primary": parent is None,
                "default": parent is None,
                "protected": False,
                "cpu_used_sec": int(active_seconds * 0.3),
                "compute_time_seconds": int(active_seconds * 0.3),
                "active_time_seconds": active_seconds,
                "written_data_bytes": self.rng.randrange(0, 5 * 1024 * MEBIBYTE),
                "data_transfer_bytes": self.rng.randrange(0, 1024 * MEBIBYTE),
                "created_at": format_timestamp(created),
                "updated_at": format_timestamp(last_change),
                "init_source": "parent-data",
                "created_by": {"name": self.rng.choice(PEOPLE).title(), "image": ""},
            }
        )
        return _BranchPlan(branch=branch, stale=stale, created=created)

    def endpoint(
        self, project: dict[str, Any], plan: _BranchPlan, endpoint_type: str
    ) -> dict[str, Any]:
        endpoint_id = self.ids.endpoint()
        low, high, timeout = self.compute_size_and_timeout(str(project["org_id"]))
        created = self.between(plan.created, plan.created + timedelta(minutes=5))
        archived = plan.branch["current_state"] == "archived"
        if plan.stale:
            last_active = self.between(created, self.now - timedelta(days=40))
        else:
            last_active = self.between(max(created, self.now - timedelta(days=3)), self.now)
        active = not archived and (
            (timeout == -1 and self.rng.random() < 0.8)
            or (not plan.stale and self.rng.random() < 0.35)
        )
        endpoint: dict[str, Any] = {
            "host": f"{endpoint_id}.{project['proxy_host'].split('.')[0]}.aws.neon.tech",
            "id": endpoint_id,
            "project_id": project["id"],
            "branch_id": plan.branch["id"],
            "autoscaling_limit_min_cu": low,
            "autoscaling_limit_max_cu": high,
            "region_id": project["region_id"],
            "type": endpoint_type,
            "current_state": "active" if active else "idle",
            "settings": {},
            "pooler_enabled": False,
            "pooler_mode": "transaction",
            "disabled": False,
            "passwordless_access": True,
            "creation_source": plan.branch["creation_source"],
            "created_at": format_timestamp(created),
            "proxy_host": project["proxy_host"],
            "suspend_timeout_seconds": timeout,
            "provisioner": "k8s-neonvm",
        }
        if active:
            started = self.between(max(created, self.now - timedelta(days=2)), self.now)
            endpoint["started_at"] = format_timestamp(started)
            endpoint["last_active"] = format_timestamp(self.between(started, self.now))
            endpoint["updated_at"] = endpoint["started_at"]
        else:
            started = self.between(created, last_active)
            suspended = min(last_active + timedelta(minutes=5), self.now)
            endpoint["started_at"] = format_timestamp(started)
            endpoint["last_active"] = format_timestamp(last_active)
            endpoint["suspended_at"] = format_timestamp(suspended)
            endpoint["updated_at"] = format_timestamp(suspended)
        return endpoint

    # ----- structure ------------------------------------------------------------------

    def branch_name(self, parent: _BranchPlan | None) -> str:
        roll = self.rng.random()
        if parent is not None and not parent.branch["default"]:
            return f"{parent.branch['name']}/fix-{self.rng.randrange(1, 99)}"
        if roll < 0.6:
            self.preview_number += self.rng.randrange(1, 9)
            return f"preview/pr-{self.preview_number}"
        if roll < 0.8:
            return f"dev/{self.rng.choice(PEOPLE)}"
        if roll < 0.9:
            return self.rng.choice(("staging", "qa", "load-test", "migration-test"))
        return f"feature/{self.rng.choice(NOUNS)}-{self.rng.choice(NOUNS)}"

    def project_tree(self, project: dict[str, Any], branch_count: int) -> list[_BranchPlan]:
        project_created = datetime.fromisoformat(project["created_at"])
        root = self.branch(project, "main", project_created, stale=False, parent=None)
        root.branch["protected"] = self.rng.random() < 0.4
        root.branch["updated_at"] = format_timestamp(self.between(project_created, self.now))
        plans = [root]
        for _ in range(branch_count - 1):
            stale = self.rng.random() < 0.45
            if stale:
                created = max(project_created, self.days_ago(60, 400))
            else:
                created = max(project_created, self.days_ago(0, 10))
            eligible = [
                plan
                for plan in plans[1:]
                if plan.created < created and plan.branch["name"].count("/") < 2
            ]
            parent = self.rng.choice(eligible) if eligible and self.rng.random() < 0.2 else root
            plans.append(self.branch(project, self.branch_name(parent), created, stale, parent))
        self.decorate(plans)
        for plan in plans:
            if plan.branch["default"] or self.rng.random() < 0.8:
                plan.endpoints.append(self.endpoint(project, plan, "read_write"))
                if self.rng.random() < (0.3 if plan.branch["default"] else 0.05):
                    plan.endpoints.append(self.endpoint(project, plan, "read_only"))
        return plans

    def decorate(self, plans: list[_BranchPlan]) -> None:
        """Protection, archiving and expiry, after the tree is known (they depend on it)."""
        parents = {plan.branch.get("parent_id") for plan in plans}
        for plan in plans[1:]:
            branch = plan.branch
            has_children = branch["id"] in parents
            if branch["name"] in ("staging", "qa") and self.rng.random() < 0.5:
                branch["protected"] = True
            elif plan.stale and not has_children and self.rng.random() < 0.3:
                archived_at = self.between(
                    datetime.fromisoformat(branch["updated_at"]), self.now - timedelta(days=40)
                )
                branch["current_state"] = "archived"
                branch["state_changed_at"] = format_timestamp(archived_at)
            elif not plan.stale and not has_children and self.rng.random() < 0.25:
                expires = self.now + timedelta(days=self.rng.uniform(1, 20))
                branch["expires_at"] = format_timestamp(expires)
                branch["ttl_interval_seconds"] = int((expires - plan.created).total_seconds())


def _split_total(rng: random.Random, total: int, parts: int, minimum: int) -> list[int]:
    """``total`` spread over ``parts`` (each at least ``minimum``), skewed like real accounts."""
    counts = [minimum] * parts
    weights = [rng.paretovariate(1.5) for _ in range(parts)]
    for index in rng.choices(range(parts), weights=weights, k=max(0, total - minimum * parts)):
        counts[index] += 1
    return counts


def generate_world_data(
    seed: int = 1,
    orgs: int = 2,
    projects: int = 24,
    branches: int = 200,
    now: datetime | None = None,
    *,
    members: bool = False,
) -> dict[str, Any]:
    """The world file for a generated account; ``projects``/``branches`` are totals.

    ``members``: each organization gets members, the creators of its first keys (emails
    ``<name>@example.com``), derived after everything else so no other value changes.
    """
    if orgs < 0 or projects < 0 or branches < 0:
        raise ValueError("orgs, projects and branches must not be negative")
    if projects and not orgs:
        raise ValueError("projects need at least one organization")
    if branches < projects:
        raise ValueError(
            f"branches ({branches}) must be at least projects ({projects}): "
            "every project has a default branch"
        )
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    generator = _Generator(seed, moment)
    rng = generator.rng
    organizations = [generator.organization(index) for index in range(orgs)]
    for org in organizations:
        org["api_keys"] = []
        org["projects"] = []
    branch_counts = _split_total(rng, branches, projects, 1)
    for index in range(projects):
        org = organizations[index % orgs]
        project = generator.project(org["id"], index)
        plans = generator.project_tree(project, branch_counts[index])
        endpoints = [endpoint for plan in plans for endpoint in plan.endpoints]
        project["synthetic_storage_size"] = sum(plan.branch["logical_size"] for plan in plans)
        if endpoints:
            project["compute_last_active_at"] = max(
                endpoint["last_active"] for endpoint in endpoints
            )
        project["branches"] = [plan.branch for plan in plans]
        project["endpoints"] = endpoints
        org["projects"].append(project)
    personal = [
        generator.api_key("ci-deploy", "recent"),
        generator.api_key("old-laptop", "old"),
        generator.api_key("unused-experiment", "never"),
        generator.api_key("terraform", "old" if rng.random() < 0.5 else "recent"),
    ]
    keys: dict[str, dict[str, Any]] = {"sim-personal-key": {"kind": "personal"}}
    for org in organizations:
        org["api_keys"] = [
            generator.api_key("governor", "recent"),
            generator.api_key("github-actions", "old"),
            generator.api_key("never-used", "never"),
        ]
        for project in org["projects"][:2]:
            scoped = generator.api_key(f"{project['name']}-deployer", rng.choice(("old", "never")))
            scoped["project_id"] = project["id"]
            org["api_keys"].append(scoped)
        keys[f"sim-org-key-{org['id']}"] = {"kind": "org", "org_id": org["id"]}
    for org in organizations:
        if org["projects"]:
            keys["sim-project-key"] = {
                "kind": "project",
                "org_id": org["id"],
                "project_id": org["projects"][0]["id"],
            }
            break
    _Levers(seed, moment).add(organizations)
    if members:
        for org in organizations:
            org["members"] = _members_of(org)
    return {"keys": keys, "personal_api_keys": personal, "organizations": organizations}


def _members_of(org: dict[str, Any]) -> list[dict[str, Any]]:
    """``MemberWithUser`` items for the creators of the organization's first keys.

    A creator whose email another member already has is skipped: emails name one user.
    """
    members: list[dict[str, Any]] = []
    emails: set[str] = set()
    for key in org["api_keys"]:
        if len(members) == MEMBERS_PER_ORG:
            break
        creator = key["created_by"]
        email = f"{creator['name'].lower()}@example.com"
        if email in emails:
            continue
        emails.add(email)
        member_id = uuid.uuid5(MEMBER_NAMESPACE, f"{org['id']}/{creator['id']}")
        members.append(
            {
                "member": {
                    "id": str(member_id),
                    "user_id": creator["id"],
                    "org_id": org["id"],
                    "role": "admin" if not members else "member",
                    # joined no later than the key was created (timestamps share one form)
                    "joined_at": min(org["created_at"], key["created_at"]),
                },
                "user": {"email": email},
            }
        )
    return members


# ----- the cost levers of neon-costs.md §2 ----------------------------------------------

PAID_PLANS = ("launch", "scale")
LONG_TIMEOUTS = (900, 1800, 3600, 7200)  # Scale only: 1 minute to a week
DAY = timedelta(days=1)


class _Levers:
    """Each lever's resources, added after the rest from a stream of their own.

    Why apart: the objects earlier seeds produced keep every value tests pin (counts,
    names of the findings of the shipped policies); this pass adds new kinds (snapshots,
    backup schedules, spending limits, past operations) and changes only fields no older
    policy reads (project settings and defaults, a default branch's computes' activity,
    the name of a childless branch of the default one, timeouts above 300 on Scale).
    """

    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(f"{seed}:levers")
        self.ids = NeonIds(self.rng)
        self.now = now
        self.replication_done = False
        self.snapshot_ids: set[str] = set()

    def ago(self, low_days: float, high_days: float) -> datetime:
        seconds = self.rng.uniform(low_days * 86400, high_days * 86400)
        return (self.now - timedelta(seconds=seconds)).replace(microsecond=0)

    def add(self, organizations: list[dict[str, Any]]) -> None:
        paid_index = 0
        for org in organizations:
            plan = str(org.get("plan", ""))
            if plan in PAID_PLANS:
                # every other paid organization has a spending notification set
                if paid_index % 2 == 0:
                    org["billing"] = {"spending_limit_cents": self.rng.choice((50_000, 200_000))}
                paid_index += 1
            for project in org["projects"]:
                self.project(project, plan)

    def project(self, project: dict[str, Any], plan: str) -> None:
        # a window the plan allows (Free: 6 hours), so the world stays valid under the rules
        limit = retention_limit(plan)
        if project.get("history_retention_seconds", 0) > limit:
            project["history_retention_seconds"] = limit
        branches: list[dict[str, Any]] = project["branches"]
        root = next(branch for branch in branches if branch.get("parent_id") is None)
        endpoints: list[dict[str, Any]] = project["endpoints"]
        on_root = [endpoint for endpoint in endpoints if endpoint["branch_id"] == root["id"]]
        self.backup_branches(branches, root)
        if plan in PAID_PLANS:
            self.snapshots_and_schedules(project, root)
            self.idle_replicas(on_root)
            self.project_defaults(project, branches, plan)
        if plan == "scale":
            self.long_timeouts(project, on_root, endpoints)
        if len(branches) == 1 and self.rng.random() < 0.3:
            self.idle_project(project, on_root)
        elif plan in PAID_PLANS and not self.replication_done:
            self.logical_replication(project, on_root)

    def backup_branches(self, branches: list[dict[str, Any]], root: dict[str, Any]) -> None:
        """``<name>_old_<RFC 3339>``: what each instant restore of the default branch leaves."""
        parents = {branch.get("parent_id") for branch in branches}
        for branch in branches:
            if (
                branch.get("parent_id") == root["id"]
                and branch["id"] not in parents
                and not branch.get("protected")
                and branch.get("current_state") == "ready"
                and "expires_at" not in branch
                and self.rng.random() < 0.12
            ):
                branch["name"] = f"{root['name']}_old_{branch['created_at']}"
                branch["creation_source"] = "console"

    def snapshots_and_schedules(self, project: dict[str, Any], root: dict[str, Any]) -> None:
        snapshots: list[dict[str, Any]] = []
        for _ in range(self.rng.choice((0, 0, 1, 2, 3))):
            created = max(self.ago(1, 200), datetime.fromisoformat(root["created_at"]))
            snapshot = self.snapshot(root, created, manual=True)
            if self.rng.random() < 0.3:
                expires = self.now + timedelta(days=self.rng.uniform(1, 30))
                snapshot["expires_at"] = format_timestamp(expires.replace(microsecond=0))
            snapshots.append(snapshot)
        if self.rng.random() < 0.35:
            item: dict[str, Any] = {"frequency": "daily", "hour": self.rng.randrange(24)}
            if self.rng.random() < 0.5:
                item["retention_seconds"] = self.rng.choice((7, 14)) * 86400
            schedule = [item]
            if self.rng.random() < 0.3:
                schedule.append(
                    {"frequency": "weekly", "hour": item["hour"], "day": self.rng.randrange(1, 8)}
                )
            project["backup_schedules"] = {root["id"]: {"schedule": schedule}}
            retention = item.get("retention_seconds")
            for days in range(1, 4):
                taken = (self.now - days * DAY).replace(
                    hour=item["hour"], minute=0, second=0, microsecond=0
                )
                snapshot = self.snapshot(root, taken, manual=False)
                if retention:
                    expires = taken + timedelta(seconds=retention)
                    snapshot["expires_at"] = format_timestamp(expires)
                snapshots.append(snapshot)
        if snapshots:
            project["snapshots"] = snapshots

    def snapshot(self, root: dict[str, Any], created: datetime, *, manual: bool) -> dict[str, Any]:
        size = int(self.rng.uniform(0.05, 20) * 1024 * MEBIBYTE)
        stamp = format_timestamp(created)
        return {
            "id": self.snapshot_id(),
            "name": f"{root['name']}-{stamp[:10]}" if manual else f"scheduled-{stamp}",
            "lsn": f"{self.rng.randrange(1, 16):X}/{self.rng.randrange(16**7, 16**8):08X}",
            "timestamp": stamp,
            "source_branch_id": root["id"],
            "created_at": stamp,
            "manual": manual,
            "full_size": size,
            "diff_size": size if manual else int(size * self.rng.uniform(0.01, 0.1)),
        }

    def snapshot_id(self) -> str:
        """``snap-<adjective>-<noun>-<8 characters>``, unique in the world."""
        while True:
            suffix = "".join(
                self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8)
            )
            value = f"snap-{self.rng.choice(ADJECTIVES)}-{self.rng.choice(NOUNS)}-{suffix}"
            if value not in self.snapshot_ids:
                self.snapshot_ids.add(value)
                return value

    def idle_replicas(self, on_root: list[dict[str, Any]]) -> None:
        """Read replicas of the default branch nobody queried for weeks."""
        for endpoint in on_root:
            if (
                endpoint.get("type") == "read_only"
                and endpoint["suspend_timeout_seconds"] != -1
                and self.rng.random() < 0.5
            ):
                self.make_idle(endpoint, self.ago(15, 90))

    def make_idle(self, endpoint: dict[str, Any], last_active: datetime | None) -> None:
        created = datetime.fromisoformat(endpoint["created_at"])
        endpoint["current_state"] = "idle"
        for name in ("started_at", "last_active", "suspended_at"):
            endpoint.pop(name, None)
        if last_active is None:  # never active: Neon omits the activity fields
            endpoint["updated_at"] = endpoint["created_at"]
            return
        last_active = max(last_active, created)
        suspended = last_active + timedelta(minutes=5)
        endpoint["started_at"] = format_timestamp(max(created, last_active - timedelta(hours=1)))
        endpoint["last_active"] = format_timestamp(last_active)
        endpoint["suspended_at"] = format_timestamp(suspended)
        endpoint["updated_at"] = format_timestamp(suspended)

    def long_timeouts(
        self,
        project: dict[str, Any],
        on_root: list[dict[str, Any]],
        endpoints: list[dict[str, Any]],
    ) -> None:
        """Scale computes that wait long before suspending, with their activations."""
        operations: list[dict[str, Any]] = []
        for endpoint in endpoints:
            timeout = endpoint["suspend_timeout_seconds"]
            if endpoint in on_root and timeout in (0, 300) and self.rng.random() < 0.2:
                chosen = self.rng.choice(LONG_TIMEOUTS)
                low, high = (
                    endpoint["autoscaling_limit_min_cu"],
                    endpoint["autoscaling_limit_max_cu"],
                )
                if not suspend_problems(chosen, "scale", low, high):
                    endpoint["suspend_timeout_seconds"] = timeout = chosen
            if timeout > 300:
                operations.extend(self.activations(project, endpoint))
        if operations:
            operations.sort(key=lambda operation: str(operation["created_at"]), reverse=True)
            project["operations"] = operations

    def activations(
        self, project: dict[str, Any], endpoint: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """``start_compute`` operations over 45 days (some before the 30-day window)."""
        created = datetime.fromisoformat(endpoint["created_at"])
        oldest = min(45.0, max(0.2, (self.now - created).total_seconds() / 86400))
        found = []
        for _ in range(self.rng.randrange(4, 60)):
            started = max(self.ago(0.1, oldest), created)
            seconds = self.rng.uniform(0.5, 4)
            found.append(
                {
                    "id": self.ids.uuid(),
                    "project_id": project["id"],
                    "branch_id": endpoint["branch_id"],
                    "endpoint_id": endpoint["id"],
                    "action": "start_compute",
                    "status": "finished",
                    "failures_count": 0,
                    "created_at": format_timestamp(started),
                    "updated_at": format_timestamp(started + timedelta(seconds=seconds)),
                    "total_duration_ms": int(seconds * 1000),
                }
            )
        return found

    def idle_project(self, project: dict[str, Any], on_root: list[dict[str, Any]]) -> None:
        """A project nobody used for months, or never (then Neon omits the last activity)."""
        created = datetime.fromisoformat(project["created_at"])
        if created > self.now - 90 * DAY or any(
            endpoint["suspend_timeout_seconds"] == -1 for endpoint in on_root
        ):
            return
        never = self.rng.random() < 0.3
        for endpoint in on_root:
            self.make_idle(endpoint, None if never else self.ago(61, 300))
        activity = [endpoint["last_active"] for endpoint in on_root if "last_active" in endpoint]
        if activity:
            project["compute_last_active_at"] = max(activity)
        else:
            project.pop("compute_last_active_at", None)

    def project_defaults(
        self, project: dict[str, Any], branches: list[dict[str, Any]], plan: str
    ) -> None:
        """Defaults every new preview compute inherits, on a project that makes many."""
        recent = sum(
            1
            for branch in branches
            if datetime.fromisoformat(branch["created_at"]) > self.now - 30 * DAY
        )
        if recent < 4 or self.rng.random() < 0.4:
            return
        defaults = project["default_endpoint_settings"]
        low, high = defaults["autoscaling_limit_min_cu"], defaults["autoscaling_limit_max_cu"]
        if self.rng.random() < 0.5 and not suspend_problems(-1, plan, low, high):
            defaults["suspend_timeout_seconds"] = -1
        elif not size_problems(1, high):
            defaults["autoscaling_limit_min_cu"] = 1

    def logical_replication(self, project: dict[str, Any], on_root: list[dict[str, Any]]) -> None:
        """A publisher whose subscriber keeps its compute awake around the clock."""
        primary = next(
            (
                endpoint
                for endpoint in on_root
                if endpoint.get("type") == "read_write"
                and endpoint["suspend_timeout_seconds"] != -1
                and endpoint["autoscaling_limit_max_cu"] <= 16
            ),
            None,
        )
        if primary is None:
            return
        self.replication_done = True
        project["settings"] = {**project.get("settings", {}), "enable_logical_replication": True}
        primary["current_state"] = "active"
        primary.pop("suspended_at", None)
        started = self.ago(8, 20)
        primary["started_at"] = format_timestamp(
            max(started, datetime.fromisoformat(primary["created_at"]))
        )
        primary["last_active"] = format_timestamp(self.ago(0, 0.01))
        primary["updated_at"] = primary["started_at"]
        project["compute_last_active_at"] = primary["last_active"]  # the newest activity
        # the usage ledger bills it at its floor every hour: kept awake, not busy
        project["compute_activity"] = {
            primary["id"]: {"cu": primary["autoscaling_limit_min_cu"], "hours": {}}
        }
