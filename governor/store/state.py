"""Compare-and-set: move one row from an expected state to the next, or learn that it moved.

Why: the remediation state machine, the daemon and the CLI may all try the same
transition (``pending`` -> ``applying``); exactly one must win, whatever process it runs
in. One ``UPDATE ... WHERE <row> AND <expected>`` under the write lock decides it.

Names are checked against the live schema and quoted; values are always bound, never
interpolated. Refused: the append-only ``audit_log``, SQLite's and the migrations' own
tables, and the tables other store modules own (change those through their methods).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from governor.store.encoding import EncodingError, encode_json, encode_time
from governor.store.errors import StoreError

# Each written by exactly one module, through Store methods.
OWNED_TABLES = {
    "audit_log": "it is append-only",
    "runs": "it is written by governor/store/runs.py (Store.start_run, finish_run, ...)",
    "resources": "it is written by governor/store/resources.py (Store.record_snapshot)",
    "findings": "it is written by governor/store/findings_writer.py "
    "(Store.record_findings, suppress, unsuppress)",
    "remediations": "it is written by governor/store/remediations.py (Store.remediations)",
    "finding_notices": "it is written by governor/store/remediations.py (Store.remediations)",
    "switches": "it is written by governor/store/remediations.py (Store.remediations)",
    "slack_outbox": "it is written by governor/store/slack.py (Store.slack)",
    "slack_approvals": "it is written by governor/store/slack.py (Store.slack)",
    "approval_votes": "it is written by governor/store/slack.py (Store.slack)",
    "exemptions": "it is written by governor/store/slack.py (Store.slack)",
    "saved_plans": "it is written by governor/store/saved_plans.py (Store.saved_plans)",
    "_sqlite_migrations": "it records the schema's migrations",
}


def compare_and_set(
    connection: sqlite3.Connection,
    table: str,
    where: Mapping[str, object],
    expected: Mapping[str, object],
    changes: Mapping[str, object],
) -> bool:
    """True iff exactly one row matched ``where`` and ``expected`` and now has ``changes``.

    Call inside a write transaction: more than one matching row raises (and so rolls back).
    """
    if not where:
        raise StoreError(f"compare_and_set on {table!r}: where must name the row")
    if not changes:
        raise StoreError(f"compare_and_set on {table!r}: no changes given")
    columns = _columns(connection, table)
    for part, names in (("where", where), ("expected", expected), ("changes", changes)):
        unknown = sorted(name for name in names if name not in columns)
        if unknown:
            raise StoreError(
                f"compare_and_set on {table!r}: unknown {part} column(s) "
                f"{', '.join(map(repr, unknown))}; the table has {', '.join(sorted(columns))}"
            )
    conditions = [*where.items(), *expected.items()]
    sql = (
        f"UPDATE {_quoted(table)} SET "
        + ", ".join(f"{_quoted(name)} = ?" for name in changes)
        + " WHERE "
        + " AND ".join(f"{_quoted(name)} IS ?" for name, _ in conditions)
    )
    parameters = [_value(table, name, value) for name, value in changes.items()]
    parameters += [_value(table, name, value) for name, value in conditions]
    changed = connection.execute(sql, parameters).rowcount
    if changed > 1:
        raise StoreError(
            f"compare_and_set on {table!r}: {changed} rows matched {dict(where)!r}; "
            "where must name exactly one row (nothing was changed)"
        )
    return changed == 1


def _columns(connection: sqlite3.Connection, table: str) -> frozenset[str]:
    if table in OWNED_TABLES or table.startswith("sqlite_"):
        reason = OWNED_TABLES.get(table, "it is SQLite's own")
        raise StoreError(f"compare_and_set refuses to change {table!r}: {reason}")
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
    ).fetchone()
    if found is None:
        raise StoreError(f"compare_and_set: no table {table!r} in the store's schema")
    names = connection.execute("SELECT name FROM pragma_table_info(?)", [table]).fetchall()
    return frozenset(name for (name,) in names)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value(table: str, column: str, value: object) -> Any:
    """SQLite's own types as they are; times as UTC text and JSON as text, by convention."""
    what = f"compare_and_set on {table!r}: {column}"
    try:
        if isinstance(value, datetime):
            return encode_time(value, what=what)
        if isinstance(value, dict | list):
            return encode_json(value, what=what)
    except EncodingError as error:
        raise StoreError(str(error)) from error
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    raise StoreError(f"{what}: cannot store a {type(value).__name__}")
