"""What the store hands back: frozen, typed copies of its rows.

JSON columns come back decoded; times stay the stored UTC ISO-8601 text (``...+00:00``,
microseconds always present), which sorts in time order and goes straight into JSON and
reports. ``datetime.fromisoformat`` turns one back into an aware datetime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from governor.actions import Action, parse_action
from governor.findings import Estimate, Mode, Severity
from governor.inventory import ResourceType
from governor.store.encoding import decode_json

FindingStatus = Literal["open", "resolved", "suppressed"]
FINDING_STATUSES: frozenset[str] = frozenset({"open", "resolved", "suppressed"})
StoredResourceType = Literal["organization", "project", "branch", "endpoint", "api_key"]


@dataclass(frozen=True)
class RunRecord:
    id: int
    trigger: str
    started_at: str
    finished_at: str | None  # None: still running, or the process died mid-run
    complete: bool | None
    requests: int | None
    errors: list[dict[str, Any]]
    incomplete_parts: list[dict[str, Any]]
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
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            complete=None if complete is None else bool(complete),
            requests=row["requests"],
            errors=decode_json(row["errors"], default=[]),
            incomplete_parts=decode_json(row["incomplete_parts"], default=[]),
            policies_evaluated=decode_json(row["policies_evaluated"], default=[]),
            findings_seen=row["findings_seen"],
            findings_opened=row["findings_opened"],
            findings_reopened=row["findings_reopened"],
            findings_resolved=row["findings_resolved"],
        )


@dataclass(frozen=True)
class StoredFinding:
    """One row of ``findings``: the finding as last seen plus its history in this store."""

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
    estimate_kind: Literal["money", "risk"] | None
    first_run_id: int
    last_run_id: int
    resolved_run_id: int | None

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
        return Estimate(self.estimate_usd, self.estimate_method, self.estimate_kind or "money")

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
            action=_stored_action(row),
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
        )


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


def _stored_action(row: dict[str, Any]) -> Action:
    """The finding's typed action; a row the governor could not have written is an error."""
    from governor.store.connection import StoreError

    data = decode_json(row["action"], default={})
    try:
        return parse_action(data if isinstance(data, dict) else {})
    except ValueError as error:
        first = str(error).splitlines()[0]
        raise StoreError(f"finding {row['id']}: stored action is not valid ({first})") from None
