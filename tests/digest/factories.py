"""StoredFindings for digest tests, stating only what a test is about."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from governor.model.actions import parse_action
from governor.model.findings import CostPart, Estimate
from governor.notify.documents import Digest
from governor.store import Store, history
from governor.store.records import StoredFinding
from tests.store.factories import finding, snapshot

STALE = "stale-branches"

T = "2026-11-01T06:00:00.000000+00:00"


def stored(
    resource_id: str,
    *,
    usd: float | None = None,
    fingerprint: str | None = None,
    status: Any = "open",
    policy: str = "stale-branches",
    name: str | None = None,
    parts: tuple[tuple[str, float], ...] = (),
    finding_id: int = 1,
    resource_type: Any = "branch",
    project_id: str | None = "pr-1",
) -> StoredFinding:
    return StoredFinding(
        id=finding_id,
        policy=policy,
        resource_type=resource_type,
        resource_id=resource_id,
        org_id="org-a",
        project_id=project_id,
        name=name if name is not None else resource_id,
        severity="medium",
        summary=f"{policy} selected {resource_id}",
        action=parse_action({"type": "delete"}),
        mode="report",
        status=status,
        first_seen=T,
        last_seen=T,
        status_changed_at=T,
        resolved_at=T if status == "resolved" else None,
        reopened_at=None,
        reopen_count=0,
        fingerprint=fingerprint or f"fp-{resource_id}",
        evidence={},
        estimate_usd=usd,
        estimate_method=None if usd is None else "test",
        estimate_kind=None if usd is None else "estimated",
        first_run_id=1,
        last_run_id=1,
        resolved_run_id=None,
        estimate_parts=tuple(CostPart(key, amount) for key, amount in parts),
    )


class Recorder:
    """A channel that keeps what it was handed (where it went: ``test:<owner>``)."""

    def __init__(self, fail_for: str | None = None) -> None:
        self.digests: list[Digest] = []
        self.fail_for = fail_for

    async def digest(self, digest: Digest) -> list[str]:
        if digest.owner == self.fail_for:
            raise RuntimeError("channel down")
        self.digests.append(digest)
        return [f"test:{digest.owner}"]


def audit(store: Store, when: datetime, owned: dict[str, str | None]) -> None:
    """A run whose open findings are ``owned``'s branches, stamped with those owners."""
    run_id = store.call(history.start_run, "test", when)
    found = [
        finding(branch, fingerprint=f"fp-{branch}", estimate=Estimate(float(n + 1), "test"))
        for n, branch in enumerate(owned)
    ]
    store.call(history.record_findings, run_id, found, snapshot(), [STALE], when)
    store.call(history.finish_run, run_id, finished_at=when, complete=True, requests=0, errors=[])
    for branch, owner in owned.items():
        store.call(_stamp, branch, owner)


def _stamp(connection: sqlite3.Connection, branch: str, owner: str | None) -> None:
    with connection:
        connection.execute(
            "UPDATE findings SET owned_by = ? WHERE resource_id = ?", [owner, branch]
        )
