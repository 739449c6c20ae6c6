"""The only writer of ``resources``: the latest view of every API object a sweep saw.

An upsert keeps ``first_seen`` (raw SQL: ``first_seen`` is written on insert only, which
sqlite-utils' upsert cannot say). A resource missing from a sweep is marked gone only
where the sweep looked (``Coverage``): unknown is never gone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from governor.model.snapshot import Snapshot
from governor.store.connection import rows
from governor.store.coverage import Coverage
from governor.store.records import StoredResource, StoredResourceType
from governor.store.resource_rows import RESOURCE_COLUMNS, SEEN_COLUMNS, resource_rows

_COLUMNS = (*RESOURCE_COLUMNS, *SEEN_COLUMNS)
_REFRESHED = (*RESOURCE_COLUMNS[2:], "last_seen", "last_run_id")
_UPSERT = (
    f"INSERT INTO resources ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT (resource_type, resource_id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in _REFRESHED)
    + ", gone_at = NULL"
)


def encoded_rows(snapshot: Snapshot, run_id: int, at: str) -> Iterator[tuple[Any, ...]]:
    """Every row to upsert, encoded (and scrubbed) as ``executemany`` takes it: inside the
    write lock, but never all at once (at 10,000 projects the rows were 150 MB)."""
    return resource_rows(snapshot, at=at, run_id=run_id)


def upsert(
    connection: sqlite3.Connection,
    encoded: Iterable[tuple[Any, ...]],
    snapshot: Snapshot,
    *,
    run_id: int,
    at: str,
) -> None:
    """Insert or refresh every object seen; mark gone what a covering sweep missed."""
    upsert_rows(connection, encoded)
    mark_gone(connection, Coverage(snapshot), run_id=run_id, at=at)


def upsert_rows(connection: sqlite3.Connection, encoded: Iterable[tuple[Any, ...]]) -> None:
    """Insert or refresh these objects (a streamed run's batch); nothing is marked gone."""
    connection.executemany(_UPSERT, encoded)


def mark_gone(connection: sqlite3.Connection, coverage: Coverage, *, run_id: int, at: str) -> None:
    """Every resource this run did not see where its sweep looked: gone (once, at the end)."""
    candidates = connection.execute(
        "SELECT resource_type, resource_id, org_id, project_id FROM resources "
        "WHERE gone_at IS NULL AND last_run_id != ? AND resource_type != 'organization'",
        [run_id],
    )
    gone = [
        (at, resource_type, resource_id)
        for resource_type, resource_id, org_id, project_id in candidates
        if coverage.covers(resource_type, org_id, project_id)
    ]
    connection.executemany(
        "UPDATE resources SET gone_at = ? WHERE resource_type = ? AND resource_id = ?", gone
    )


def listed(
    connection: sqlite3.Connection,
    resource_type: StoredResourceType | None = None,
    *,
    include_gone: bool = False,
) -> list[StoredResource]:
    clauses: list[str] = []
    params: list[Any] = []
    if resource_type is not None:
        clauses.append("resource_type = ?")
        params.append(resource_type)
    if not include_gone:
        clauses.append("gone_at IS NULL")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT * FROM resources {where} ORDER BY resource_type, resource_id"
    return [StoredResource.from_row(row) for row in rows(connection, sql, params)]


def account_of(
    connection: sqlite3.Connection,
    resource_type: str,
    resource_id: str,
    *,
    project_id: str | None = None,
) -> str | None:
    """The account whose sweep last read the resource, else its project (None: unknown)."""
    wanted = [(resource_type, resource_id)]
    if project_id is not None:
        wanted.append(("project", project_id))
    for kind, identifier in wanted:
        found = connection.execute(
            "SELECT account FROM resources WHERE resource_type = ? AND resource_id = ?",
            [kind, identifier],
        ).fetchone()
        if found is not None and found[0] is not None:
            return str(found[0])
    return None
