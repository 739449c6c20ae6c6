"""The store's Slack methods: ``store.slack`` (sync) and ``async_store.slack`` (awaited).

Each write is one ``BEGIN IMMEDIATE`` step of the owning store; the awaited twin runs the
same method on the async store's thread (see ``remediation_book`` for why a book).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from governor.store import slack
from governor.store.encoding import EncodingError, encode_time
from governor.store.errors import StoreError, one_line
from governor.store.slack import ApprovalMessage, Exemption, OutboxKind, OutboxMessage

P = ParamSpec("P")
R = TypeVar("R")


class _Owner(Protocol):
    _connection: sqlite3.Connection

    def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _database_error(self, error: sqlite3.Error) -> StoreError: ...


class _AsyncOwner(Protocol):
    async def call(self, work: Callable[[Any], R]) -> R: ...


def _guarded(
    method: Callable[Concatenate[SlackBook, P], R],
) -> Callable[Concatenate[SlackBook, P], R]:
    @functools.wraps(method)
    def guarded(self: SlackBook, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as error:
            raise self._store._database_error(error) from error
        except EncodingError as error:
            raise StoreError(one_line(f"{method.__name__}: {error}")) from error

    return guarded


def _at(moment: datetime) -> str:
    return encode_time(moment, what="now")


class SlackBook:
    def __init__(self, store: _Owner) -> None:
        self._store = store

    @_guarded
    def enqueue(
        self,
        *,
        kind: OutboxKind,
        channel: str,
        payload: dict[str, Any],
        now: datetime,
        parent_id: int | None = None,
        ref: str | None = None,
    ) -> int:
        with self._store._write() as connection:
            return slack.enqueue(
                connection,
                kind=kind,
                channel=channel,
                payload=payload,
                at=_at(now),
                parent_id=parent_id,
                ref=ref,
            )

    @_guarded
    def due(self, *, now: datetime, limit: int = 20) -> list[OutboxMessage]:
        return slack.due(self._store._connection, at=_at(now), limit=limit)

    @_guarded
    def message(self, outbox_id: int) -> OutboxMessage:
        return slack.get(self._store._connection, outbox_id)

    @_guarded
    def claim(self, outbox_id: int, *, now: datetime) -> bool:
        with self._store._write() as connection:
            return slack.claim(connection, outbox_id, at=_at(now))

    @_guarded
    def sent(self, outbox_id: int, *, ts: str, channel: str, now: datetime) -> None:
        with self._store._write() as connection:
            slack.sent(connection, outbox_id, ts=ts, channel=channel, at=_at(now))

    @_guarded
    def retry_later(
        self, outbox_id: int, *, error: str, at: datetime, give_up: bool = False
    ) -> None:
        with self._store._write() as connection:
            slack.retry_later(
                connection, outbox_id, error=error, next_attempt_at=_at(at), give_up=give_up
            )

    @_guarded
    def outbox(self, *, ref: str | None = None) -> list[OutboxMessage]:
        return slack.outbox(self._store._connection, ref=ref)

    @_guarded
    def add_approval(
        self, *, remediation_id: int, token: str, outbox_id: int, owner: str | None, now: datetime
    ) -> None:
        with self._store._write() as connection:
            slack.add_approval(
                connection,
                remediation_id=remediation_id,
                token=token,
                outbox_id=outbox_id,
                owner=owner,
                at=_at(now),
            )

    @_guarded
    def approval_by_token(self, token: str) -> ApprovalMessage | None:
        return slack.approval_by_token(self._store._connection, token)

    @_guarded
    def approval_for(self, remediation_id: int) -> ApprovalMessage | None:
        return slack.approval_for(self._store._connection, remediation_id)

    @_guarded
    def vote(self, remediation_id: int, user_id: str, *, now: datetime) -> bool:
        with self._store._write() as connection:
            return slack.vote(connection, remediation_id, user_id, at=_at(now))

    @_guarded
    def votes(self, remediation_id: int) -> list[str]:
        return slack.votes(self._store._connection, remediation_id)

    @_guarded
    def add_exemption(
        self,
        *,
        resource_type: str,
        resource_id: str,
        until: datetime,
        reason: str,
        actor: str,
        now: datetime,
    ) -> int:
        with self._store._write() as connection:
            return slack.add_exemption(
                connection,
                resource_type=resource_type,
                resource_id=resource_id,
                until=_at(until),
                reason=reason,
                actor=actor,
                at=_at(now),
            )

    @_guarded
    def exemptions(self, *, active_at: datetime | None = None) -> list[Exemption]:
        when = None if active_at is None else _at(active_at)
        return slack.exemptions(self._store._connection, active_at=when)

    @_guarded
    def ended_unnoticed(self, *, now: datetime) -> list[Exemption]:
        return slack.ended_unnoticed(self._store._connection, at=_at(now))

    @_guarded
    def notice_ended(self, exemption_ids: Iterable[int], *, now: datetime) -> None:
        with self._store._write() as connection:
            slack.notice_ended(connection, list(exemption_ids), at=_at(now))

    @_guarded
    def record_interaction(
        self, *, now: datetime, actor: str, event: str, subject: str, details: dict[str, Any]
    ) -> None:
        with self._store._write() as connection:
            slack.record_interaction(
                connection, at=_at(now), actor=actor, event=event, subject=subject, details=details
            )


class AsyncSlackBook:
    """``SlackBook``'s methods, awaited on the async store's thread: ``await book.x(...)``."""

    def __init__(self, store: _AsyncOwner) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or not callable(getattr(SlackBook, name, None)):
            raise AttributeError(name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._store.call(lambda store: getattr(store.slack, name)(*args, **kwargs))

        return call
