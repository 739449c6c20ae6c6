"""A streamed audit: evaluate, estimate, stamp and store a batch of projects at a time.

Why: holding a whole account's branches and computes, their findings and the views over
them until the store had written made an audit's memory grow with the account (650 MB at
10,000 projects / 100,000 branches). The sweep spools each project's bulk as it is read
(``governor.sweep.spool``); here it is read back ``batch_projects`` projects at a time, in
the order the sweep listed them, each object once (the first seen, as ``build_snapshot``
keeps it). A batch is judged by the project, branch, endpoint and snapshot policies (their
views need only the project's own objects and the organizations), priced, stamped with
owners and written (objects upserted, findings opened/refreshed/reopened), then dropped.
The organization and API-key policies run once at the end, over the organizations, the
keys, every project's list item and each project's tally (``ProjectTally``: the counts
an organization's fields sum). Then, in one write step, what a covering sweep missed is
marked gone and the open findings it did not see are resolved (``history.finish_batches``).
The results equal the in-memory path's (tests/pipeline/test_streamed_audit.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from governor.model.findings import Finding
from governor.model.snapshot import Snapshot, Spooled
from governor.owners.match import OwnerMap
from governor.owners.stamp import stamp_findings
from governor.pipeline.gc_pacing import return_free_memory
from governor.pipeline.spooled_findings import SpooledFindings
from governor.policy import Policy, evaluate
from governor.policy.resources import ProjectTally, SnapshotIndex
from governor.savings import with_estimates
from governor.savings.prices import Prices
from governor.savings.usage import Usage
from governor.store import Store, StoredFinding, history
from governor.sweep.spool import ProjectSpool

BATCH_PROJECTS = 50
# judged at the end, over every project's tally: the rest need only a project's own objects
END_RESOURCES = frozenset({"organization", "api_key"})


@dataclass
class Streamed:
    """What the store made of a streamed run, and what the report counts."""

    matched: SpooledFindings = field(default_factory=SpooledFindings)
    resolved: list[StoredFinding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Seen:
    """Ids already read back: a later duplicate is dropped, as ``build_snapshot`` drops it."""

    projects: set[str] = field(default_factory=set)
    branches: set[str] = field(default_factory=set)
    endpoints: set[str] = field(default_factory=set)
    snapshots: set[str] = field(default_factory=set)
    schedules: set[str] = field(default_factory=set)
    activations: set[str] = field(default_factory=set)
    annotations: set[str] = field(default_factory=set)


def _fresh(items: Sequence[Any], seen: set[str]) -> list[Any]:
    kept = []
    for item in items:
        if item.id not in seen:
            seen.add(item.id)
            kept.append(item)
    return kept


def _first(values: dict[str, Any], into: dict[str, Any], seen: set[str]) -> None:
    for key, value in values.items():
        if key not in seen:
            seen.add(key)
            into[key] = value


def batch_snapshot(
    swept: Snapshot, records: Sequence[Spooled], spool: ProjectSpool, seen: _Seen
) -> Snapshot:
    """The batch's projects and their bulk, over the sweep's organizations and unread parts
    (no keys: they are judged at the end)."""
    batch = replace(
        swept,
        projects=[],
        branches=[],
        endpoints=[],
        api_keys=[],
        snapshots=[],
        backup_schedules={},
        activations={},
        branch_annotations={},
        spooled=[],
    )
    for record in records:
        project = record.project
        if project is not None and project.id not in seen.projects:
            seen.projects.add(project.id)
            batch.projects.append(project)
        branches, endpoints, snapshots, schedules, activations, annotations = spool.get(
            record.where
        )
        batch.branches.extend(_fresh(branches, seen.branches))
        batch.endpoints.extend(_fresh(endpoints, seen.endpoints))
        batch.snapshots.extend(_fresh(snapshots, seen.snapshots))
        _first(schedules, batch.backup_schedules, seen.schedules)
        _first(activations, batch.activations, seen.activations)
        _first(annotations, batch.branch_annotations, seen.annotations)
    return batch


@dataclass
class _Judged:
    snapshot: Snapshot
    findings: list[Finding]
    owners: dict[tuple[str, str, str], tuple[str | None, str]]
    tallies: dict[str, ProjectTally]


def _judge(
    snapshot: Snapshot,
    policies: Sequence[Policy],
    prices: Prices,
    *,
    now: datetime,
    usage: Usage | None,
    owners: OwnerMap,
    tallies: dict[str, ProjectTally] | None = None,
) -> _Judged:
    index = SnapshotIndex(snapshot, usage, tallies=tallies)
    findings = with_estimates(evaluate(policies, index, now=now), index, prices, usage)
    stamps = stamp_findings(owners, snapshot, findings)
    own = {} if tallies is not None else dict(index.project_tallies())
    return _Judged(snapshot, findings, stamps, own)


async def stream_stage(
    store: Store,
    run_id: int,
    swept: Snapshot,
    spool: ProjectSpool,
    *,
    policies: Sequence[Policy],
    prices: Prices,
    now: datetime,
    usage: Usage | None = None,
    owners: OwnerMap | None = None,
    batch_projects: int | None = None,
) -> Streamed:
    """Judge and record a spooled sweep batch by batch (module docstring); the CPU-bound
    work runs in a worker thread, the writes on the store's thread."""
    owner_map = owners or OwnerMap()
    names = [policy.name for policy in policies]
    per_batch = [policy for policy in policies if policy.resource not in END_RESOURCES]
    at_end = [policy for policy in policies if policy.resource in END_RESOURCES]
    seen = _Seen()
    tallies: dict[str, ProjectTally] = {}
    result = Streamed()
    counts = {"branches": 0, "endpoints": 0}
    found = opened = reopened = 0
    records = swept.spooled
    return_free_memory()  # what the sweep parsed and spooled
    size = batch_projects or BATCH_PROJECTS
    for start in range(0, len(records), size):
        chunk = records[start : start + size]

        def judge_batch(chunk: Sequence[Spooled] = chunk) -> _Judged:
            batch = batch_snapshot(swept, chunk, spool, seen)
            return _judge(batch, per_batch, prices, now=now, usage=usage, owners=owner_map)

        judged = await asyncio.to_thread(judge_batch)
        for project_id, tally in judged.tallies.items():
            known = tallies.get(project_id)
            tallies[project_id] = tally if known is None else known.merged(tally)
        counts["branches"] += len(judged.snapshot.branches)
        counts["endpoints"] += len(judged.snapshot.endpoints)
        rows = replace(judged.snapshot, organizations=[])  # written once, at the end
        recorded = await store.run(
            history.record_batch,
            run_id,
            rows,
            judged.findings,
            names,
            now,
            owners=judged.owners,
        )
        found += len(judged.findings)
        opened += recorded.opened
        reopened += recorded.reopened
        result.matched.extend(_matched(recorded.stored, run_id))
        del judged, rows, recorded
        return_free_memory()
    final = await asyncio.to_thread(
        _judge, swept, at_end, prices, now=now, usage=usage, owners=owner_map, tallies=tallies
    )
    recorded = await store.run(
        history.record_batch,
        run_id,
        replace(swept, projects=[]),  # the organizations and keys
        final.findings,
        names,
        now,
        owners=final.owners,
    )
    result.matched.extend(_matched(recorded.stored, run_id))
    result.resolved = await store.run(
        history.finish_batches,
        run_id,
        swept,
        names,
        now,
        seen=found + len(final.findings),
        opened=opened + recorded.opened,
        reopened=reopened + recorded.reopened,
    )
    result.counts = counts
    return result


def _matched(stored: list[StoredFinding], run_id: int) -> list[StoredFinding]:
    return [item for item in stored if item.last_run_id == run_id and item.status != "resolved"]
