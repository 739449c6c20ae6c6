"""Evaluate policies against a snapshot: pure, data in and findings out.

Each finding's ``evidence`` holds the value of every field the policy's filters name, and
``fingerprint`` hashes it, so the fingerprint changes exactly when the evidence does (not
when time passes). A policy's ``evidence`` fields are recorded too but not hashed: they do
not select, so a new count (activations) is no new finding and no reason to re-decide.
The summary uses only the fields that decided the match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from governor.model.findings import Finding
from governor.model.snapshot import ResourceType, Snapshot
from governor.policy.filters import filter_fields
from governor.policy.matching import deciding_fields, field_value, outcome
from governor.policy.model import Policy
from governor.policy.resources import ResourceView, SnapshotIndex
from governor.policy.summary import summarize


def evaluate(
    policies: Sequence[Policy], snapshot: Snapshot | SnapshotIndex, *, now: datetime
) -> list[Finding]:
    """Findings of every policy, in policy order, then snapshot order.

    Pass a ``SnapshotIndex`` to share one index with savings and later stages.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(UTC))")
    index = snapshot if isinstance(snapshot, SnapshotIndex) else SnapshotIndex(snapshot)
    # Each resource type's views are built once, for all its policies: views are not kept.
    found: list[list[Finding]] = [[] for _ in policies]
    by_type: dict[ResourceType, list[tuple[Policy, list[str], frozenset[str], list[Finding]]]]
    by_type = {}
    for policy, into in zip(policies, found, strict=True):
        unhashed = frozenset(policy.evidence) - frozenset(filter_fields(policy.filters))
        by_type.setdefault(policy.resource, []).append(
            (policy, policy.named_fields, unhashed, into)
        )
    for resource_type, judged in by_type.items():
        for view in index.iter_views(resource_type):
            for policy, fields, unhashed, into in judged:
                if outcome(policy.filters, view.values, now) is not True:
                    continue
                if policy.exclude.excludes(
                    name=view.name,
                    resource_id=view.resource_id,
                    project_id=view.project_id,
                    org_id=view.org_id,
                ):
                    continue
                into.append(_finding(policy, view, fields, unhashed, now))
    return [finding for findings in found for finding in findings]


def _finding(
    policy: Policy, view: ResourceView, fields: list[str], unhashed: frozenset[str], now: datetime
) -> Finding:
    evidence = {
        field: _plain(field_value(view.values, tuple(field.split(".")))) for field in fields
    }
    deciding = [*deciding_fields(policy.filters, view.values, now), *policy.evidence]
    return Finding(
        policy=policy.name,
        resource_type=view.resource_type,
        resource_id=view.resource_id,
        org_id=view.org_id,
        project_id=view.project_id,
        name=view.name,
        severity=policy.severity,
        summary=summarize(view.resource_type, deciding, view.values, now),
        action=policy.action.resolve(view.values),
        mode=policy.mode,
        fingerprint=fingerprint(
            {field: value for field, value in evidence.items() if field not in unhashed}
        ),
        evidence=evidence,
    )


def fingerprint(evidence: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``evidence``."""
    canonical = json.dumps(
        evidence, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    """JSON-ready: derived timestamps as ISO 8601 text, like the API's own."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value
