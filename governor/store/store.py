"""The governor's memory: runs, the resources they saw, findings over time, and an audit log.

Two tiers: ``Store`` owns the one connection and the one error guard; each table is written
by one module (history for runs and findings, resources, audit_log, remediations,
exemptions, slack, saved_plans, jobs), so a table's rules (compare-and-set in the ``WHERE``,
its audit entry) live in one place. Those modules are the API: ``store.call(table_function,
...)`` runs one on the connection with the guard; ``await async_store.run(...)`` runs it on
the store's own thread.

Each write is one ``BEGIN IMMEDIATE`` transaction: it takes the write lock before
its first read, so a concurrent writer makes it wait (up to the busy timeout) rather than
fail halfway, and an error leaves all of the step or none. sqlite3 errors leave as one-line
``StoreError``s naming the file. Use a ``Store`` from the thread that opened it (sqlite3
checks; ``AsyncStore`` gives it a thread of its own); other processes may share the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, Self, TypeVar

from governor.store.connection import open_connection
from governor.store.encoding import EncodingError
from governor.store.errors import NotFound, StoreError, database_error, one_line, where_of
from governor.store.reconcile import FindingInputError

P = ParamSpec("P")
R = TypeVar("R")


class Store:
    """Open with ``Store.open(path)``; ``Store.open(":memory:")`` for tests."""

    def __init__(
        self, connection: sqlite3.Connection, where: str, timeout: float, ro: bool
    ) -> None:
        """Use ``Store.open``; ``timeout``: the busy timeout, ``ro``: opened read-only."""
        self._connection, self._where = connection, where
        self._busy_timeout_seconds, self._read_only = timeout, ro

    def call(
        self,
        work: Callable[Concatenate[sqlite3.Connection, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Run a table function on this store's connection, with the store's error guard:
        ``store.call(remediations.move, record_id, expected=..., to=..., now=...)``. Use it
        from the store's thread (``AsyncStore.run`` does, for async code)."""
        with self._guard(work.__name__):
            return work(self._connection, *args, **kwargs)

    @contextmanager
    def _guard(self, name: str) -> Iterator[None]:
        """The one error guard: sqlite3 and encoding errors leave as one-line StoreErrors."""
        try:
            yield
        except NotFound as error:
            raise NotFound(f"{self._where}: {error}") from error
        except sqlite3.Error as error:
            timeout, read_only = self._busy_timeout_seconds, self._read_only
            raise database_error(
                self._where, error, busy_timeout_seconds=timeout, read_only=read_only
            ) from error
        except (EncodingError, FindingInputError) as error:
            raise StoreError(one_line(f"{name}: {error}")) from error

    @classmethod
    def open(
        cls, path: str | Path, *, busy_timeout_seconds: float = 5.0, read_only: bool = False
    ) -> Store:
        """Open (creating and migrating as needed); ``read_only`` for commands that only report."""
        connection = open_connection(
            path, busy_timeout_seconds=busy_timeout_seconds, read_only=read_only
        )
        return cls(connection, where_of(path), busy_timeout_seconds, read_only)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
