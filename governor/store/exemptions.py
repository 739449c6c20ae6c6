"""The only writer of ``exemptions``: "keep this resource as it is until ...".

Why its own module and not Slack's: an exemption is a remediation decision (the planner
reads it, any channel or the CLI may add one); Slack is only one way to ask for it. Each
function takes the connection first, encodes its own times and makes its own write step
with its audit entry: ``store.call(exemptions.add, ...)`` or ``await store.run(...)``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from governor.store import audit_log
from governor.store.audit_log import NewEntry
from governor.store.connection import rows, write
from governor.store.encoding import encode_time


@dataclass(frozen=True)
class Exemption:
    id: int
    resource_type: str
    resource_id: str
    until: str
    reason: str
    created_by: str
    created_at: str
    ended_noticed_at: str | None


def add(
    connection: sqlite3.Connection,
    *,
    resource_type: str,
    resource_id: str,
    until: datetime,
    reason: str,
    actor: str,
    now: datetime,
) -> int:
    """Keep the resource as it is until ``until``, with its audit entry; returns the id."""
    ends, at = encode_time(until, what="now"), encode_time(now, what="now")
    with write(connection):
        cursor = connection.execute(
            "INSERT INTO exemptions (resource_type, resource_id, until, reason, created_by, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [resource_type, resource_id, ends, reason, actor, at],
        )
        exemption_id = int(cursor.lastrowid or 0)
        audit_log.append(
            connection,
            NewEntry(
                at,
                None,
                actor,
                "exemption_added",
                f"{resource_type}:{resource_id}",
                {"until": ends, "reason": reason, "exemption_id": exemption_id},
            ),
        )
    return exemption_id


def listed(connection: sqlite3.Connection, *, active_at: datetime | None = None) -> list[Exemption]:
    sql, parameters = "SELECT * FROM exemptions", []
    if active_at is not None:
        sql += " WHERE until > ?"
        parameters.append(encode_time(active_at, what="now"))
    return [Exemption(**row) for row in rows(connection, sql + " ORDER BY id", parameters)]


def ended_unnoticed(connection: sqlite3.Connection, *, now: datetime) -> list[Exemption]:
    at = encode_time(now, what="now")
    return [
        Exemption(**row)
        for row in rows(
            connection,
            "SELECT * FROM exemptions WHERE until <= ? AND ended_noticed_at IS NULL ORDER BY id",
            [at],
        )
    ]


def notice_ended(
    connection: sqlite3.Connection, exemption_ids: Iterable[int], *, now: datetime
) -> None:
    at = encode_time(now, what="now")
    with write(connection):
        for exemption_id in list(exemption_ids):
            connection.execute(
                "UPDATE exemptions SET ended_noticed_at = ? "
                "WHERE id = ? AND ended_noticed_at IS NULL",
                [at, exemption_id],
            )
            audit_log.append(
                connection,
                NewEntry(at, None, "governor", "exemption_ended", f"exemption:{exemption_id}", {}),
            )
