"""Grouped approval requests: one Slack message per policy and owner per run.

Why the items keep their own ``slack_approvals`` rows: a group is only how the request is
shown. Each remediation keeps its own token, votes and state, so "Approve all" decides
every item exactly as a click on that item would, and a per-item click in the thread
still binds to that item's own message (``item_outbox_id``, set once it is shown).

Functions take the connection first, like ``governor.store.slack``; async code calls
``await store.run(approval_groups.by_token, token)``. The store runs its calls one at a
time on its thread, so ``show`` (check, enqueue, record) posts an item at most once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governor.store import finding_queries, remediations
from governor.store import slack as slack_table
from governor.store.connection import rows, write
from governor.store.encoding import encode_time
from governor.store.errors import StoreError
from governor.store.records import StoredFinding
from governor.store.remediations import RemediationRecord

UNOWNED = "unowned"


@dataclass(frozen=True)
class ApprovalGroup:
    id: int
    token: str
    policy: str
    owner: str | None  # the findings' ``owned_by`` (None: unowned)
    run_id: int | None
    outbox_id: int
    created_at: str
    channel: str | None  # where the group message was posted (None until sent)
    ts: str | None


@dataclass(frozen=True)
class GroupItem:
    """One remediation of a group, and its own message in the thread once shown."""

    remediation_id: int
    token: str
    group_id: int
    item_outbox_id: int | None
    item_channel: str | None  # where its thread message was posted (None until sent)
    item_ts: str | None


@dataclass(frozen=True)
class GroupState:
    """A group as it stands: what its message is rendered from."""

    group: ApprovalGroup
    items: list[GroupItem]
    records: list[RemediationRecord]  # in the items' order
    votes: dict[int, list[str]]  # remediation id -> who approved so far
    findings: list[StoredFinding]  # the items' findings (their estimates, counted once)


_GROUP = (
    "SELECT g.id, g.token, g.policy, g.owner, g.run_id, g.outbox_id, g.created_at, "
    "o.sent_channel AS channel, o.sent_ts AS ts FROM approval_groups g "
    "JOIN slack_outbox o ON o.id = g.outbox_id"
)
_ITEM = (
    "SELECT a.remediation_id, a.token, a.group_id, a.item_outbox_id, "
    "o.sent_channel AS item_channel, o.sent_ts AS item_ts FROM slack_approvals a "
    "LEFT JOIN slack_outbox o ON o.id = a.item_outbox_id WHERE a.group_id IS NOT NULL"
)


def create(
    connection: sqlite3.Connection,
    *,
    token: str,
    policy: str,
    owner: str | None,
    run_id: int | None,
    outbox_id: int,
    items: Sequence[tuple[int, str]],
    now: datetime,
) -> int:
    """Record a group posted as ``outbox_id`` and its items ((remediation id, token)),
    each with its own approval row bound to the group message; the group's id."""
    at = encode_time(now, what="now")
    with write(connection):
        cursor = connection.execute(
            "INSERT INTO approval_groups (token, policy, owner, run_id, outbox_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [token, policy, owner, run_id, outbox_id, at],
        )
        group_id = int(cursor.lastrowid or 0)
        connection.executemany(
            "INSERT INTO slack_approvals (remediation_id, token, outbox_id, owner, created_at, "
            "group_id) VALUES (?, ?, ?, NULL, ?, ?)",
            [
                (remediation_id, item_token, outbox_id, at, group_id)
                for remediation_id, item_token in items
            ],
        )
    return group_id


def ask(
    connection: sqlite3.Connection,
    *,
    channel: str,
    payload: dict[str, Any],
    ref: str,
    items: Sequence[tuple[int, str]],
    group: tuple[str, str, str | None, int | None] | None,
    now: datetime,
) -> int | None:
    """Queue a request's message and record its approval rows, unless one of ``items``
    ((remediation id, token)) was asked meanwhile (None: nothing queued). ``group``:
    (token, policy, owner, run_id) of a grouped message; None: one item, asked alone.

    One store call: the daemon's pass and its Slack job may ask at the same time, and the
    store runs calls one at a time, so a request is never posted twice."""
    for remediation_id, _ in items:
        if slack_table.approval_for(connection, remediation_id) is not None:
            return None
    outbox_id = slack_table.enqueue(
        connection, kind="post", channel=channel, payload=payload, now=now, ref=ref
    )
    if group is None:
        [(remediation_id, token)] = items
        slack_table.add_approval(
            connection,
            remediation_id=remediation_id,
            token=token,
            outbox_id=outbox_id,
            owner=None,
            now=now,
        )
    else:
        token, policy, owner, run_id = group
        create(
            connection,
            token=token,
            policy=policy,
            owner=owner,
            run_id=run_id,
            outbox_id=outbox_id,
            items=items,
            now=now,
        )
    return outbox_id


def by_token(connection: sqlite3.Connection, token: str) -> ApprovalGroup | None:
    found = rows(connection, _GROUP + " WHERE g.token = ?", [token])
    return ApprovalGroup(**found[0]) if found else None


def get(connection: sqlite3.Connection, group_id: int) -> ApprovalGroup:
    found = rows(connection, _GROUP + " WHERE g.id = ?", [group_id])
    if not found:
        raise StoreError(f"no approval group {group_id}")
    return ApprovalGroup(**found[0])


def items(connection: sqlite3.Connection, group_id: int) -> list[GroupItem]:
    return [
        GroupItem(**row)
        for row in rows(
            connection, _ITEM + " AND a.group_id = ? ORDER BY a.remediation_id", [group_id]
        )
    ]


def item_for(connection: sqlite3.Connection, remediation_id: int) -> GroupItem | None:
    """The remediation's place in a group (None: asked alone, or never asked)."""
    found = rows(connection, _ITEM + " AND a.remediation_id = ?", [remediation_id])
    return GroupItem(**found[0]) if found else None


def set_item_outbox_id(connection: sqlite3.Connection, remediation_id: int, outbox_id: int) -> bool:
    """Bind an item to its thread message; False if it already has one (never rebound)."""
    with write(connection):
        cursor = connection.execute(
            "UPDATE slack_approvals SET item_outbox_id = ? "
            "WHERE remediation_id = ? AND group_id IS NOT NULL AND item_outbox_id IS NULL",
            [outbox_id, remediation_id],
        )
    return cursor.rowcount == 1


def show(
    connection: sqlite3.Connection,
    group_id: int,
    payloads: Mapping[int, dict[str, Any]],
    *,
    now: datetime,
    priority: int = 0,
) -> list[int]:
    """Post each item's own message (``payloads`` by remediation id) in the group's thread,
    once: items already shown are left alone. The remediation ids posted now."""
    group = get(connection, group_id)
    posted = []
    for item in items(connection, group_id):
        payload = payloads.get(item.remediation_id)
        if payload is None or item.item_outbox_id is not None:
            continue
        outbox_id = slack_table.enqueue(
            connection,
            kind="post",
            channel=group.channel or slack_table.message(connection, group.outbox_id).channel,
            payload=payload,
            now=now,
            parent_id=group.outbox_id,
            ref=f"remediation:{item.remediation_id}",
            priority=priority,
        )
        set_item_outbox_id(connection, item.remediation_id, outbox_id)
        posted.append(item.remediation_id)
    return posted


def owner_of(connection: sqlite3.Connection, record: RemediationRecord) -> str | None:
    """The owner (``findings.owned_by``) of the remediation's findings, read now: the one
    name they all carry, or None when they carry none or disagree (fail closed)."""
    ids = [int(s["finding_id"]) for s in record.findings if isinstance(s.get("finding_id"), int)]
    prints = [
        (str(s["policy"]), str(s["fingerprint"]))
        for s in record.findings
        if not isinstance(s.get("finding_id"), int) and s.get("fingerprint") and s.get("policy")
    ]
    owners: set[str | None] = set()
    for finding_id in ids:
        owners.update(
            row["owned_by"]
            for row in rows(connection, "SELECT owned_by FROM findings WHERE id = ?", [finding_id])
        )
    for policy, fingerprint in prints:
        owners.update(
            row["owned_by"]
            for row in rows(
                connection,
                "SELECT owned_by FROM findings WHERE policy = ? AND fingerprint = ? "
                "AND resource_id = ?",
                [policy, fingerprint, record.resource_id],
            )
        )
    return owners.pop() if len(owners) == 1 else None


def state(connection: sqlite3.Connection, group_id: int) -> GroupState:
    """The group, its items, their records, votes and findings, read in one call."""
    members = items(connection, group_id)
    records = [remediations.get(connection, item.remediation_id) for item in members]
    return GroupState(
        group=get(connection, group_id),
        items=members,
        records=records,
        votes={record.id: slack_table.votes(connection, record.id) for record in records},
        findings=findings_of(connection, records),
    )


def findings_of(
    connection: sqlite3.Connection, records: Sequence[RemediationRecord]
) -> list[StoredFinding]:
    """The records' stored findings, each once (a finding pruned since is left out)."""
    findings: dict[int, StoredFinding] = {}
    for record in records:
        for source in record.findings:
            finding_id = source.get("finding_id")
            if isinstance(finding_id, int) and finding_id not in findings:
                try:
                    findings[finding_id] = finding_queries.get(connection, finding_id)
                except StoreError:
                    continue
    return list(findings.values())
