"""Decide what one run's findings do to the stored ones: pure, so the rules are easy to test.

Rules:
- new (policy, resource) -> opened;
- seen again while open or suppressed -> its fields refresh, status kept (a suppression is a
  person's decision and outlives re-runs);
- seen again while resolved -> reopened: status open, ``first_seen`` KEPT (the original
  sighting), ``reopen_count`` + 1 and ``reopened_at`` set, so history is not lost;
- open, of a policy that ran this time, not seen, and the sweep covered where it lives ->
  resolved. Anything else (policy did not run, organization not swept, part unreadable,
  already resolved, suppressed) is left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar, get_args

from governor.model.findings import ESTIMATE_KINDS, Finding, Mode, Severity
from governor.model.snapshot import ResourceType
from governor.store.coverage import Coverage

_RESOURCE_TYPES = frozenset(get_args(ResourceType))
_SEVERITIES = frozenset(get_args(Severity))
_MODES = frozenset(get_args(Mode))
_ESTIMATE_KINDS = frozenset(ESTIMATE_KINDS)

FindingKey = tuple[str, str, str]


class FindingInputError(ValueError):
    """A finding the store refuses: the message names it and says what is wrong."""


class Stored(Protocol):
    """What the rules read of a stored finding (a StoredFinding, or its undecoded row)."""

    @property
    def policy(self) -> str: ...
    @property
    def resource_type(self) -> ResourceType: ...
    @property
    def org_id(self) -> str | None: ...
    @property
    def project_id(self) -> str | None: ...
    @property
    def status(self) -> str: ...


S = TypeVar("S", bound=Stored)


@dataclass
class FindingChanges(Generic[S]):
    opened: list[Finding] = field(default_factory=list)
    refreshed: list[tuple[S, Finding]] = field(default_factory=list)
    reopened: list[tuple[S, Finding]] = field(default_factory=list)
    resolved: list[S] = field(default_factory=list)


def describe(key: FindingKey) -> str:
    policy, resource_type, resource_id = key
    return f"finding {policy}/{resource_type}/{resource_id}"


def validate_findings(findings: Iterable[Finding], policies_evaluated: Collection[str]) -> None:
    """Refuse findings the store could not keep faithfully, before anything is written."""
    seen: set[FindingKey] = set()
    for finding in findings:
        where = describe(finding.key)
        if finding.key in seen:
            raise FindingInputError(f"{where}: appears twice in one run")
        seen.add(finding.key)
        if finding.policy not in policies_evaluated:
            raise FindingInputError(
                f"{where}: policy {finding.policy!r} is not among the policies evaluated"
            )
        if finding.resource_type not in _RESOURCE_TYPES:
            raise FindingInputError(f"{where}: unknown resource type {finding.resource_type!r}")
        if not finding.resource_id:
            raise FindingInputError(f"{where}: empty resource id")
        if finding.severity not in _SEVERITIES:
            raise FindingInputError(f"{where}: unknown severity {finding.severity!r}")
        if finding.mode not in _MODES:
            raise FindingInputError(f"{where}: unknown mode {finding.mode!r}")
        if finding.estimate is not None and finding.estimate.kind not in _ESTIMATE_KINDS:
            raise FindingInputError(f"{where}: unknown estimate kind {finding.estimate.kind!r}")


def plan_changes(
    existing: Mapping[FindingKey, S],
    findings: Sequence[Finding],
    policies_evaluated: Collection[str],
    coverage: Coverage,
) -> FindingChanges[S]:
    changes: FindingChanges[S] = FindingChanges()
    matched: set[FindingKey] = set()
    for finding in findings:
        key = finding.key
        matched.add(key)
        stored = existing.get(key)
        if stored is None:
            changes.opened.append(finding)
        elif stored.status == "resolved":
            changes.reopened.append((stored, finding))
        else:
            changes.refreshed.append((stored, finding))
    evaluated = frozenset(policies_evaluated)
    for key, stored in existing.items():
        if (
            key not in matched
            and stored.status == "open"
            and stored.policy in evaluated
            and coverage.covers(stored.resource_type, stored.org_id, stored.project_id)
        ):
            changes.resolved.append(stored)
    return changes
