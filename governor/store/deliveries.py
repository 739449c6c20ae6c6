"""The only writer of ``deliveries``: the outbox of webhook, email and Teams messages.

Why the same rules as ``slack_outbox``: a message is recorded before anyone tries to send
it, so a channel being down loses nothing and a restart resumes in order; ``claim`` marks
a send as started (``uncertain``) before the request, so a crash between the server's
answer and ``sent`` is known. These channels cannot be asked whether a message arrived,
so such a row is sent again with the same id (its delivery id): at-least-once delivery
with a dedupe id, never a silent loss.

``destination`` is a name from the config (a webhook's name, ``owner:<name>``,
``notices``), never an address that carries a secret: the sender resolves URLs and
credentials when it sends. Functions take the connection first (governor/store/slack.py):
``await store.run(deliveries.enqueue, ...)``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from governor.store.connection import rows, write
from governor.store.encoding import decode_json, encode_json, encode_time
from governor.store.errors import StoreError

DeliveryChannel = Literal["webhook", "email", "teams"]
DeliveryState = Literal["pending", "sent", "failed", "cancelled"]
MAX_ERROR = 500


@dataclass(frozen=True)
class Delivery:
    id: int
    channel: str
    destination: str
    kind: str
    payload: dict[str, Any]
    ref: str | None
    state: str
    attempts: int
    uncertain: bool
    next_attempt_at: str
    last_error: str | None
    created_at: str
    sent_at: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Delivery:
        values = dict(row)
        values["payload"] = decode_json(values["payload"], default={})
        values["uncertain"] = bool(values["uncertain"])
        return cls(**values)


@dataclass(frozen=True)
class ChannelHealth:
    """One channel's outbox: what waits, what was given up, and since when the oldest waits."""

    channel: str
    pending: int
    failed: int
    oldest_pending_at: str | None  # created_at of the oldest pending row

    def oldest_pending_age_seconds(self, now: datetime) -> float:
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (now - datetime.fromisoformat(self.oldest_pending_at)).total_seconds())


def enqueue(
    connection: sqlite3.Connection,
    *,
    channel: DeliveryChannel,
    destination: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    ref: str | None = None,
) -> int:
    """Record a message to send; its id is the idempotency id every send of it carries."""
    at = encode_time(now, what="now")
    with write(connection):
        cursor = connection.execute(
            "INSERT INTO deliveries (channel, destination, kind, payload, ref, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                channel,
                destination,
                kind,
                encode_json(payload, what=f"{channel} delivery"),
                ref,
                at,
                at,
            ],
        )
    return int(cursor.lastrowid or 0)


def due(connection: sqlite3.Connection, *, now: datetime, limit: int = 20) -> list[Delivery]:
    """Pending rows to send now: per (channel, destination) only its oldest, and only when
    its time has come, so a later message never overtakes one that waits for a retry."""
    at = encode_time(now, what="now")
    chosen: list[Delivery] = []
    for row in rows(
        connection,
        "SELECT * FROM deliveries WHERE id IN (SELECT MIN(id) FROM deliveries "
        "WHERE state = 'pending' GROUP BY channel, destination) ORDER BY id",
    ):
        delivery = Delivery.from_row(row)
        if delivery.next_attempt_at > at:
            continue
        chosen.append(delivery)
        if len(chosen) >= limit:
            break
    return chosen


def delivery(connection: sqlite3.Connection, delivery_id: int) -> Delivery:
    found = rows(connection, "SELECT * FROM deliveries WHERE id = ?", [delivery_id])
    if not found:
        raise StoreError(f"no delivery {delivery_id}")
    return Delivery.from_row(found[0])


def claim(connection: sqlite3.Connection, delivery_id: int, *, now: datetime) -> bool:
    """Mark a send as started; False if the row is no longer pending."""
    encode_time(now, what="now")
    with write(connection):
        cursor = connection.execute(
            "UPDATE deliveries SET uncertain = 1, attempts = attempts + 1 "
            "WHERE id = ? AND state = 'pending'",
            [delivery_id],
        )
    return cursor.rowcount == 1


def sent(connection: sqlite3.Connection, delivery_id: int, *, now: datetime) -> None:
    at = encode_time(now, what="now")
    with write(connection):
        connection.execute(
            "UPDATE deliveries SET state = 'sent', uncertain = 0, sent_at = ?, "
            "last_error = NULL WHERE id = ?",
            [at, delivery_id],
        )


def retry_later(
    connection: sqlite3.Connection,
    delivery_id: int,
    *,
    error: str,
    at: datetime,
    give_up: bool = False,
) -> None:
    """Not sent (known): try again ``at``, or give up (``failed``: the next row of its
    destination goes, a refused message never blocks the ones after it)."""
    next_attempt_at = encode_time(at, what="at")
    with write(connection):
        connection.execute(
            "UPDATE deliveries SET uncertain = 0, last_error = ?, next_attempt_at = ?, "
            "state = CASE WHEN ? THEN 'failed' ELSE state END WHERE id = ?",
            [error[:MAX_ERROR], next_attempt_at, int(give_up), delivery_id],
        )


def listed(
    connection: sqlite3.Connection,
    *,
    channel: str | None = None,
    state: str | None = None,
    ref: str | None = None,
) -> list[Delivery]:
    clauses, parameters = [], []
    for column, value in (("channel", channel), ("state", state), ("ref", ref)):
        if value is not None:
            clauses.append(f"{column} = ?")
            parameters.append(value)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return [
        Delivery.from_row(row)
        for row in rows(connection, f"SELECT * FROM deliveries{where} ORDER BY id", parameters)
    ]


def pending_count(connection: sqlite3.Connection) -> int:
    found = rows(connection, "SELECT COUNT(*) AS n FROM deliveries WHERE state = 'pending'")
    return int(found[0]["n"])


def health(
    connection: sqlite3.Connection, channels: tuple[str, ...] = ("webhook", "email", "teams")
) -> dict[str, ChannelHealth]:
    """Per channel (every one of ``channels``, zero when empty): pending, failed, oldest."""
    found = {
        str(row["channel"]): row
        for row in rows(
            connection,
            "SELECT channel, SUM(state = 'pending') AS pending, SUM(state = 'failed') AS failed, "
            "MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest "
            "FROM deliveries GROUP BY channel",
        )
    }
    names = list(dict.fromkeys([*channels, *found]))
    result: dict[str, ChannelHealth] = {}
    for name in names:
        row = found.get(name)
        result[name] = ChannelHealth(
            channel=name,
            pending=int(row["pending"] or 0) if row else 0,
            failed=int(row["failed"] or 0) if row else 0,
            oldest_pending_at=str(row["oldest"]) if row and row["oldest"] else None,
        )
    return result
