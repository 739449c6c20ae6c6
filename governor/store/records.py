"""What the store hands back: frozen, typed copies of its rows.

JSON columns come back decoded; times stay the stored UTC ISO-8601 text (``...+00:00``,
microseconds always present), which sorts in time order and goes straight into JSON and
reports. ``datetime.fromisoformat`` turns one back into an aware datetime.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal, cast

from governor.model.actions import Action, parse_action
from governor.model.findings import CostPart, Estimate, EstimateKind, Mode, Severity
from governor.model.snapshot import ResourceType
from governor.store.encoding import decode_json
from governor.store.errors import StoreError

RunStatus = Literal["running", "finished", "failed", "abandoned", "cancelled"]
FindingStatus = Literal["open", "resolved", "suppressed"]
FINDING_STATUSES: frozenset[str] = frozenset({"open", "resolved", "suppressed"})
StoredResourceType = Literal["organization", "project", "branch", "endpoint", "api_key"]


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs``. ``running`` with an old ``started_at`` may be a crashed process."""

    id: int
    trigger: str
    status: RunStatus
    started_at: str
    finished_at: str | None  # when it finished, failed or was abandoned; None while running
    complete: bool | None  # None while running; False for failed and abandoned runs
    requests: int | None
    incomplete_parts: list[dict[str, Any]]  # what the sweep could not read
    failure_reason: str | None  # failed or abandoned: why
    policies_evaluated: list[str]
    findings_seen: int
    findings_opened: int
    findings_reopened: int
    findings_resolved: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RunRecord:
        complete = row["complete"]
        return cls(
            id=row["id"],
            trigger=row["trigger"],
            status=cast(RunStatus, row["status"]),
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            complete=None if complete is None else bool(complete),
            requests=row["requests"],
            incomplete_parts=decode_json(row["incomplete_parts"], default=[]),
            failure_reason=row["failure_reason"],
            policies_evaluated=decode_json(row["policies_evaluated"], default=[]),
            findings_seen=row["findings_seen"],
            findings_opened=row["findings_opened"],
            findings_reopened=row["findings_reopened"],
            findings_resolved=row["findings_resolved"],
        )


@dataclass(frozen=True, slots=True)
class StoredFinding:
    """One row of ``findings``: the finding as last seen plus its history in this store.

    Slots: a run hands back 100,000 of these, and one object each instead of two (no
    ``__dict__``) is less for the garbage collector to walk.
    """

    id: int
    policy: str
    resource_type: ResourceType
    resource_id: str
    org_id: str | None
    project_id: str | None
    name: str
    severity: Severity
    summary: str
    action: Action
    mode: Mode
    status: FindingStatus
    first_seen: str  # first time ever; kept when a resolved finding reopens
    last_seen: str  # last run in which the policy selected the resource
    status_changed_at: str
    resolved_at: str | None  # set while status is "resolved"
    reopened_at: str | None  # the latest reopening, if any
    reopen_count: int
    fingerprint: str
    evidence: dict[str, Any]
    estimate_usd: float | None
    estimate_method: str | None
    estimate_kind: EstimateKind | None
    first_run_id: int
    last_run_id: int
    resolved_run_id: int | None
    estimate_parts: tuple[CostPart, ...] = ()  # the costs it would save (totals: count once)
    # who owns its resource as of its last sighting ([owners]; None: unowned) and why:
    # "rule 3", "default", or "none" (no rule matched and no default); None: never stamped
    owned_by: str | None = None
    owned_by_rule: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.policy, self.resource_type, self.resource_id)

    @property
    def estimated_monthly_savings_usd(self) -> float:
        """The estimate in USD, 0.0 when there is none (risk estimates are 0.0 too)."""
        return self.estimate_usd or 0.0

    @property
    def estimate(self) -> Estimate | None:
        if self.estimate_usd is None or self.estimate_method is None:
            return None
        return Estimate(
            self.estimate_usd,
            self.estimate_method,
            self.estimate_kind or "estimated",
            self.estimate_parts,
        )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredFinding:
        return cls(
            id=row["id"],
            policy=row["policy"],
            resource_type=cast(ResourceType, row["resource_type"]),
            resource_id=row["resource_id"],
            org_id=row["org_id"],
            project_id=row["project_id"],
            name=row["name"],
            severity=cast(Severity, row["severity"]),
            summary=row["summary"],
            action=stored_action(row["action"], row["id"]),
            mode=cast(Mode, row["mode"]),
            status=cast(FindingStatus, row["status"]),
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            status_changed_at=row["status_changed_at"],
            resolved_at=row["resolved_at"],
            reopened_at=row["reopened_at"],
            reopen_count=row["reopen_count"],
            fingerprint=row["fingerprint"],
            evidence=decode_json(row["evidence"], default={}),
            estimate_usd=row["estimate_usd"],
            estimate_method=row["estimate_method"],
            estimate_kind=row["estimate_kind"],
            first_run_id=row["first_run_id"],
            last_run_id=row["last_run_id"],
            resolved_run_id=row["resolved_run_id"],
            estimate_parts=cost_parts(row.get("estimate_parts")),
            owned_by=row.get("owned_by"),
            owned_by_rule=row.get("owned_by_rule"),
        )


def cost_parts(text: str | None) -> tuple[CostPart, ...]:
    """The ``estimate_parts`` column (JSON ``[[key, monthly USD], ...]``) as CostParts; a
    malformed entry is skipped."""
    decoded = decode_json(text, default=[]) if text else []
    parts: list[CostPart] = []
    for item in decoded if isinstance(decoded, list) else []:
        if not isinstance(item, list) or len(item) != 2:
            continue
        key, amount = item
        if (
            isinstance(key, str)
            and isinstance(amount, int | float)
            and not isinstance(amount, bool)
        ):
            parts.append(CostPart(key, float(amount)))
    return tuple(parts)


@dataclass(frozen=True)
class StoredResource:
    """The latest view of one API object; ``gone_at`` is set once a covering sweep missed it."""

    resource_type: StoredResourceType
    resource_id: str
    org_id: str | None
    project_id: str | None
    name: str | None
    scope: str | None  # API keys only: personal, organization or project
    raw: dict[str, Any]
    first_seen: str
    last_seen: str
    last_run_id: int
    gone_at: str | None
    # the [[accounts]] entry whose sweep read it (None: one account, or read before 0013)
    account: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredResource:
        return cls(
            resource_type=cast(StoredResourceType, row["resource_type"]),
            resource_id=row["resource_id"],
            org_id=row["org_id"],
            project_id=row["project_id"],
            name=row["name"],
            scope=row["scope"],
            raw=decode_json(row["raw"], default={}),
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            last_run_id=row["last_run_id"],
            gone_at=row["gone_at"],
            account=row.get("account"),
        )


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    run_id: int | None
    actor: str
    event: str
    subject: str
    details: dict[str, Any]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AuditEntry:
        return cls(
            id=row["id"],
            at=row["at"],
            run_id=row["run_id"],
            actor=row["actor"],
            event=row["event"],
            subject=row["subject"],
            details=decode_json(row["details"], default={}),
        )


@functools.lru_cache(maxsize=4096)
def _action_from_text(text: str) -> Action:
    """Parsed once per distinct text: most findings of a policy share one action, and
    validating it again for each of 100,000 rows was most of the time spent reading them.
    Actions are frozen, so sharing one object is safe."""
    data = decode_json(text, default={})
    return parse_action(data if isinstance(data, dict) else {})


def stored_action(text: str, finding_id: int | None = None) -> Action:
    """A finding's typed action from its stored text; one the governor could not have
    written is an error."""
    try:
        return _action_from_text(text)
    except ValueError as error:
        first = str(error).splitlines()[0]
        which = "a finding" if finding_id is None else f"finding {finding_id}"
        raise StoreError(f"{which}: stored action is not valid ({first})") from None
