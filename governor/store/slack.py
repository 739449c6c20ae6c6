"""The only writer of ``slack_outbox``, ``slack_approvals`` and ``approval_votes``.

Why the outbox lives in the store: a message is recorded in the same place as what it is
about, before anyone tries to send it, so Slack being down loses nothing and a restart
resumes in order. ``claim`` marks a send as started (``uncertain``) before the request, so
a crash between Slack's answer and ``sent`` is known and checked, never blindly repeated.

These functions are the API (no wrapper class): each takes the connection first, encodes its
own times and makes its own write step, so commands call ``store.call(slack.enqueue, ...)``
and async code ``await store.run(slack.enqueue, ...)`` (governor/store/store.py).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from governor.store import audit_log
from governor.store.audit_log import NewEntry
from governor.store.connection import rows, write
from governor.store.encoding import decode_json, encode_json, encode_time
from governor.store.errors import StoreError

OutboxKind = Literal["post", "update", "file", "ephemeral"]


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    kind: OutboxKind
    channel: str
    payload: dict[str, Any]
    parent_id: int | None
    ref: str | None
    state: str
    attempts: int
    uncertain: bool
    next_attempt_at: str
    last_error: str | None
    sent_ts: str | None
    sent_channel: str | None
    created_at: str
    sent_at: str | None
    priority: int = 0  # 1: interactive feedback (a click's outcome), sent before bulk posts

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> OutboxMessage:
        values = dict(row)
        values["payload"] = decode_json(values["payload"], default={})
        values["uncertain"] = bool(values["uncertain"])
        return cls(**values)


@dataclass(frozen=True)
class ApprovalMessage:
    remediation_id: int
    token: str
    outbox_id: int
    owner: str | None
    created_at: str
    channel: str | None  # where it was posted (None until sent)
    ts: str | None


def enqueue(
    connection: sqlite3.Connection,
    *,
    kind: OutboxKind,
    channel: str,
    payload: dict[str, Any],
    now: datetime,
    parent_id: int | None = None,
    ref: str | None = None,
    priority: int = 0,
) -> int:
    """Record a message to send; ``priority`` 1 for interactive feedback (a clicked
    message's update, an ephemeral reply), which goes before bulk posts."""
    at = encode_time(now, what="now")
    with write(connection):
        cursor = connection.execute(
            "INSERT INTO slack_outbox (kind, channel, payload, parent_id, ref, next_attempt_at, "
            "created_at, priority) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                kind,
                channel,
                encode_json(payload, what="slack message"),
                parent_id,
                ref,
                at,
                at,
                1 if priority else 0,
            ],
        )
    return int(cursor.lastrowid or 0)


ENDED = ("failed", "cancelled")
# A child that still means something alone: the CSV of a report that could not be posted
# goes to the channel by itself. An update of a message that never existed does not.
STANDALONE_KINDS = frozenset({"file"})


def due(connection: sqlite3.Connection, *, now: datetime, limit: int = 20) -> list[OutboxMessage]:
    """Pending messages to send now, interactive feedback (priority 1) first, then by id.

    Each lane keeps its own order per channel: a bulk post waits for the channel's older
    bulk posts, a click's update waits only for older feedback in its channel (so it never
    queues behind a flood of posts), and either waits until its parent (the message it
    threads under or updates) was sent. A child whose parent ended unsent never holds its
    channel: it goes alone (a file) or waits for the give-up that cancels it, skipped
    meanwhile (an older store may hold such rows)."""
    at = encode_time(now, what="now")
    # The sender asks after every send: choose on the small columns, read payloads (a
    # report's CSV can be large) of the chosen few only.
    pending = rows(
        connection,
        "SELECT id, kind, channel, parent_id, priority, next_attempt_at FROM slack_outbox "
        "WHERE state = 'pending' ORDER BY priority DESC, id",
    )
    parents = {
        int(row["id"]): str(row["state"])
        for row in rows(
            connection,
            "SELECT id, state FROM slack_outbox WHERE id IN "
            "(SELECT parent_id FROM slack_outbox WHERE state = 'pending' "
            "AND parent_id IS NOT NULL)",
        )
    }
    chosen: list[int] = []
    seen_channels: set[tuple[int, str]] = set()  # (lane, channel)
    for row in pending:
        parent_id = row["parent_id"]
        parent_state = parents.get(parent_id) if parent_id is not None else None
        orphaned = parent_state in ENDED or (parent_id is not None and not parent_state)
        if orphaned and row["kind"] not in STANDALONE_KINDS:
            continue  # never posted parent: nothing to update; never holds the channel
        lane = (1 if row["priority"] else 0, str(row["channel"]))
        if lane in seen_channels:
            continue
        seen_channels.add(lane)
        if row["next_attempt_at"] > at:
            continue
        if parent_state is not None and parent_state != "sent" and not orphaned:
            continue
        chosen.append(int(row["id"]))
        if len(chosen) >= limit:
            break
    if not chosen:
        return []
    marks = ", ".join("?" * len(chosen))
    found = {
        int(row["id"]): OutboxMessage.from_row(row)
        for row in rows(connection, f"SELECT * FROM slack_outbox WHERE id IN ({marks})", chosen)
    }
    return [found[outbox_id] for outbox_id in chosen]


def last_id(connection: sqlite3.Connection) -> int:
    """The newest outbox id (0 when empty): a mark for ``as_feedback``."""
    found = rows(connection, "SELECT COALESCE(MAX(id), 0) AS id FROM slack_outbox")
    return int(found[0]["id"])


def as_feedback(connection: sqlite3.Connection, *, after_id: int) -> int:
    """Queue what a click just caused (updates, ephemeral replies newer than ``after_id``)
    at priority 1, for code that enqueued them without saying so; returns how many."""
    with write(connection):
        cursor = connection.execute(
            "UPDATE slack_outbox SET priority = 1 WHERE id > ? AND state = 'pending' "
            "AND priority = 0 AND kind IN ('update', 'ephemeral')",
            [after_id],
        )
    return cursor.rowcount


def cancel_orphans(connection: sqlite3.Connection, parent_id: int) -> list[int]:
    """Cancel what waits on a message that ended unsent (its updates, and theirs in turn);
    a standalone kind stays pending and goes alone. Returns the cancelled ids."""
    cancelled: list[int] = []
    parents = [parent_id]
    while parents:
        current = parents.pop()
        for row in rows(
            connection,
            "SELECT id, kind FROM slack_outbox WHERE parent_id = ? AND state = 'pending'",
            [current],
        ):
            if row["kind"] in STANDALONE_KINDS:
                continue
            connection.execute(
                "UPDATE slack_outbox SET state = 'cancelled', uncertain = 0, last_error = ? "
                "WHERE id = ? AND state = 'pending'",
                [f"message {current} it depends on was never posted", row["id"]],
            )
            cancelled.append(int(row["id"]))
            parents.append(int(row["id"]))
    return cancelled


def message(connection: sqlite3.Connection, outbox_id: int) -> OutboxMessage:
    found = rows(connection, "SELECT * FROM slack_outbox WHERE id = ?", [outbox_id])
    if not found:
        raise StoreError(f"no outbox message {outbox_id}")
    return OutboxMessage.from_row(found[0])


def claim(connection: sqlite3.Connection, outbox_id: int, *, now: datetime) -> bool:
    """Mark a send as started; False if the message is no longer pending."""
    encode_time(now, what="now")
    with write(connection):
        cursor = connection.execute(
            "UPDATE slack_outbox SET uncertain = 1, attempts = attempts + 1 "
            "WHERE id = ? AND state = 'pending'",
            [outbox_id],
        )
    return cursor.rowcount == 1


def sent(
    connection: sqlite3.Connection, outbox_id: int, *, ts: str, channel: str, now: datetime
) -> None:
    at = encode_time(now, what="now")
    with write(connection):
        connection.execute(
            "UPDATE slack_outbox SET state = 'sent', uncertain = 0, sent_ts = ?, "
            "sent_channel = ?, sent_at = ?, last_error = NULL WHERE id = ?",
            [ts, channel, at, outbox_id],
        )
        # chat.update replaces the whole message: an older update still pending (a bulk
        # one a click's feedback overtook) would put back a stale state, so it is dropped
        connection.execute(
            "UPDATE slack_outbox SET state = 'cancelled', uncertain = 0, last_error = ? "
            "WHERE state = 'pending' AND kind = 'update' AND id < ? AND parent_id = "
            "(SELECT parent_id FROM slack_outbox WHERE id = ? AND kind = 'update')",
            [f"superseded by message {outbox_id}", outbox_id, outbox_id],
        )


def retry_later(
    connection: sqlite3.Connection,
    outbox_id: int,
    *,
    error: str,
    at: datetime,
    give_up: bool = False,
) -> None:
    """Not sent (known): try again ``at``, or give up (``failed``, and what
    waits on it is cancelled: a failed parent never blocks its channel)."""
    next_attempt_at = encode_time(at, what="now")
    with write(connection):
        connection.execute(
            "UPDATE slack_outbox SET uncertain = 0, last_error = ?, next_attempt_at = ?, "
            "state = CASE WHEN ? THEN 'failed' ELSE state END WHERE id = ?",
            [error[:500], next_attempt_at, int(give_up), outbox_id],
        )
        if give_up:
            cancel_orphans(connection, outbox_id)


@dataclass(frozen=True)
class OutboxHealth:
    """What ``status``, ``/healthz`` and the metrics say about the outbox."""

    pending: int
    failed: int
    oldest_pending_at: str | None  # when the oldest message still waiting was queued

    def oldest_pending_age_seconds(self, now: datetime) -> float:
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (now - datetime.fromisoformat(self.oldest_pending_at)).total_seconds())


def health(connection: sqlite3.Connection) -> OutboxHealth:
    [row] = rows(
        connection,
        "SELECT COALESCE(SUM(state = 'pending'), 0) AS pending, "
        "COALESCE(SUM(state = 'failed'), 0) AS failed, "
        "MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest FROM slack_outbox",
    )
    return OutboxHealth(int(row["pending"]), int(row["failed"]), row["oldest"])


def outbox(connection: sqlite3.Connection, *, ref: str | None = None) -> list[OutboxMessage]:
    sql, parameters = "SELECT * FROM slack_outbox", []
    if ref is not None:
        sql += " WHERE ref = ?"
        parameters.append(ref)
    return [
        OutboxMessage.from_row(row) for row in rows(connection, sql + " ORDER BY id", parameters)
    ]


# Approvals ---------------------------------------------------------------------------


def add_approval(
    connection: sqlite3.Connection,
    *,
    remediation_id: int,
    token: str,
    outbox_id: int,
    owner: str | None,
    now: datetime,
) -> None:
    at = encode_time(now, what="now")
    with write(connection):
        connection.execute(
            "INSERT INTO slack_approvals (remediation_id, token, outbox_id, owner, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [remediation_id, token, outbox_id, owner, at],
        )


_APPROVAL = (
    "SELECT a.remediation_id, a.token, a.outbox_id, a.owner, a.created_at, "
    "o.sent_channel AS channel, o.sent_ts AS ts FROM slack_approvals a "
    "JOIN slack_outbox o ON o.id = a.outbox_id"
)


def approval_by_token(connection: sqlite3.Connection, token: str) -> ApprovalMessage | None:
    found = rows(connection, _APPROVAL + " WHERE a.token = ?", [token])
    return ApprovalMessage(**found[0]) if found else None


def approval_for(connection: sqlite3.Connection, remediation_id: int) -> ApprovalMessage | None:
    found = rows(connection, _APPROVAL + " WHERE a.remediation_id = ?", [remediation_id])
    return ApprovalMessage(**found[0]) if found else None


def vote(
    connection: sqlite3.Connection, remediation_id: int, user_id: str, *, now: datetime
) -> bool:
    """Record one person's approval; False if they had already voted (a repeat click)."""
    at = encode_time(now, what="now")
    with write(connection):
        cursor = connection.execute(
            "INSERT OR IGNORE INTO approval_votes (remediation_id, user_id, voted_at) "
            "VALUES (?, ?, ?)",
            [remediation_id, user_id, at],
        )
    return cursor.rowcount == 1


def votes(connection: sqlite3.Connection, remediation_id: int) -> list[str]:
    return [
        str(row["user_id"])
        for row in rows(
            connection,
            "SELECT user_id FROM approval_votes WHERE remediation_id = ? ORDER BY voted_at",
            [remediation_id],
        )
    ]


def record_interaction(
    connection: sqlite3.Connection, *, now: datetime, actor: str, event: str, subject: str,
    details: dict[str, Any],
) -> None:  # fmt: skip
    """Every click and command, accepted or refused, with who and why."""
    at = encode_time(now, what="now")
    with write(connection):
        audit_log.append(connection, NewEntry(at, None, actor, event, subject, details))
