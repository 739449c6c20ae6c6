"""The only writer of ``digests``, and what composing a digest reads from the store.

Why a digest row at all: the next digest says what changed since this one (its open
fingerprints), and a row recorded for a schedule tick is what keeps the tick from being
sent twice after a crash or restart: ``claim`` checks and inserts in one write step,
before anything is handed to a channel.

These functions are the API (``await store.run(digests.claim, ...)``), as in store/slack.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governor.store.connection import rows, write
from governor.store.encoding import decode_json, encode_json, encode_time
from governor.store.records import StoredFinding

_CHUNK = 500  # bound parameters per IN (...): well under SQLite's limit


@dataclass(frozen=True)
class DigestRecord:
    """One row of ``digests``; ``channels``: where it went (``slack:C…``, ``email``…)."""

    id: int
    owner: str
    created_at: str
    fingerprints: tuple[str, ...]
    findings: int
    new: int
    resolved: int
    total_usd: float | None
    channels: tuple[str, ...]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DigestRecord:
        fingerprints = decode_json(row["fingerprints"], default=[])
        channels = decode_json(row["channels"], default=[])
        return cls(
            id=row["id"],
            owner=row["owner"],
            created_at=row["created_at"],
            fingerprints=tuple(str(item) for item in fingerprints),
            findings=row["findings"],
            new=row["new"],
            resolved=row["resolved"],
            total_usd=row["total_usd"],
            channels=tuple(str(item) for item in channels),
        )


def latest(connection: sqlite3.Connection, owner: str) -> DigestRecord | None:
    found = rows(
        connection, "SELECT * FROM digests WHERE owner = ? ORDER BY id DESC LIMIT 1", [owner]
    )
    return DigestRecord.from_row(found[0]) if found else None


def listed(connection: sqlite3.Connection, owner: str | None = None) -> list[DigestRecord]:
    """Every digest recorded (of ``owner``), oldest first."""
    if owner is None:
        found = rows(connection, "SELECT * FROM digests ORDER BY id")
    else:
        found = rows(connection, "SELECT * FROM digests WHERE owner = ? ORDER BY id", [owner])
    return [DigestRecord.from_row(row) for row in found]


def claim(
    connection: sqlite3.Connection,
    *,
    owner: str,
    now: datetime,
    fingerprints: Sequence[str],
    findings: int,
    new: int,
    resolved: int,
    total_usd: float | None,
    tick_start: datetime | None = None,
) -> int | None:
    """Record the owner's digest before it is sent; its id, or None when a digest of the
    owner was already recorded at or after ``tick_start`` (this tick's went out already).

    One write step: two processes (or a restart) racing on one tick record one row.
    """
    at = encode_time(now, what="now")
    with write(connection):
        if tick_start is not None:
            since = encode_time(tick_start, what="tick_start")
            taken = connection.execute(
                "SELECT 1 FROM digests WHERE owner = ? AND created_at >= ? LIMIT 1",
                [owner, since],
            ).fetchone()
            if taken is not None:
                return None
        cursor = connection.execute(
            "INSERT INTO digests (owner, created_at, fingerprints, findings, new, resolved, "
            "total_usd, channels) VALUES (?, ?, ?, ?, ?, ?, ?, '[]')",
            [
                owner,
                at,
                encode_json(sorted(set(fingerprints)), what="digest fingerprints"),
                findings,
                new,
                resolved,
                total_usd,
            ],
        )
    return int(cursor.lastrowid or 0)


def delivered(connection: sqlite3.Connection, digest_id: int, channels: Sequence[str]) -> None:
    """Where the recorded digest went (names, never addresses or URLs)."""
    with write(connection):
        connection.execute(
            "UPDATE digests SET channels = ? WHERE id = ?",
            [encode_json(list(channels), what="digest channels"), digest_id],
        )


# What composing reads -----------------------------------------------------------------


Owned = tuple[StoredFinding, str | None]  # a finding and its ``findings.owned_by``


def open_findings(connection: sqlite3.Connection) -> list[Owned]:
    """Every open finding with its owner (``owned_by``; None: stamped by nobody)."""
    return [
        (StoredFinding.from_row(row), row.get("owned_by"))
        for row in rows(connection, "SELECT * FROM findings WHERE status = 'open' ORDER BY id")
    ]


def closed_with(connection: sqlite3.Connection, fingerprints: Iterable[str]) -> list[Owned]:
    """Findings no longer open (resolved or suppressed) that hold one of ``fingerprints``,
    with their owners."""
    wanted = sorted(set(fingerprints))
    found: list[Owned] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        found += [
            (StoredFinding.from_row(row), row.get("owned_by"))
            for row in rows(
                connection,
                f"SELECT * FROM findings WHERE status != 'open' AND fingerprint IN ({marks}) "
                "ORDER BY id",
                chunk,
            )
        ]
    return found


def awaiting_approval(
    connection: sqlite3.Connection,
) -> dict[tuple[str, str, str], tuple[int, str | None]]:
    """Remediations waiting for an approver, by (policy, resource type, resource id): the
    remediation id and its Slack approval token (None: not asked in Slack)."""
    found = rows(
        connection,
        "SELECT r.id, r.policy, r.resource_type, r.resource_id, a.token FROM remediations r "
        "LEFT JOIN slack_approvals a ON a.remediation_id = r.id "
        "WHERE r.state = 'awaiting_approval' ORDER BY r.id",
    )
    return {
        (row["policy"], row["resource_type"], row["resource_id"]): (int(row["id"]), row["token"])
        for row in found
    }


def posted_with_approval(
    connection: sqlite3.Connection, *, channel: str, ts: str, token: str
) -> bool:
    """Whether the governor posted a digest at (``channel``, ``ts``) whose Approve button
    carries ``token``: a click from it is bound to a message of ours holding that request,
    as a click on the request's own message is (``slack.authorize``'s binding)."""
    for row in rows(
        connection,
        "SELECT payload FROM slack_outbox WHERE state = 'sent' AND sent_channel = ? "
        "AND sent_ts = ? AND ref LIKE 'digest:%'",
        [channel, ts],
    ):
        payload = decode_json(row["payload"], default={})
        blocks = payload.get("blocks") if isinstance(payload, dict) else None
        for block in blocks if isinstance(blocks, list) else []:
            elements = block.get("elements") if isinstance(block, dict) else None
            for element in elements if isinstance(elements, list) else []:
                if (
                    isinstance(element, dict)
                    and element.get("action_id") == "neon_approve"
                    and element.get("value") == token
                ):
                    return True
    return False
