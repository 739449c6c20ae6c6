"""What the store's method books share: the owner they write through, and their error guard.

Why a protocol: ``store.py`` imports the books, so the books cannot import ``Store``; they
need only its connection, its write step and its way of naming a sqlite3 error.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from governor.store.encoding import EncodingError
from governor.store.errors import StoreError, one_line

P = ParamSpec("P")
R = TypeVar("R")


class Owner(Protocol):
    _connection: sqlite3.Connection

    def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _database_error(self, error: sqlite3.Error) -> StoreError: ...


class AsyncOwner(Protocol):
    async def call(self, work: Callable[[Any], R]) -> R: ...


class Book(Protocol):
    @property
    def owner(self) -> Owner: ...


B = TypeVar("B", bound=Book)


def guarded(method: Callable[Concatenate[B, P], R]) -> Callable[Concatenate[B, P], R]:
    """sqlite3 and encoding errors leave a book's method as one-line StoreErrors."""

    @functools.wraps(method)
    def wrapper(self: B, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as error:
            raise self.owner._database_error(error) from error
        except EncodingError as error:
            raise StoreError(one_line(f"{method.__name__}: {error}")) from error

    return wrapper
