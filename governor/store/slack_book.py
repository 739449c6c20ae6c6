"""The store's Slack methods: ``store.slack`` (sync) and ``async_store.slack`` (awaited).

Each write is one ``BEGIN IMMEDIATE`` step of the owning store; the awaited twin runs the
same method on the async store's thread (see ``remediation_book`` for why a book).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from governor.store import slack
from governor.store.books import AsyncOwner, Owner, guarded
from governor.store.encoding import encode_time
from governor.store.slack import ApprovalMessage, Exemption, OutboxKind, OutboxMessage


def _at(moment: datetime) -> str:
    return encode_time(moment, what="now")


class SlackBook:
    def __init__(self, store: Owner) -> None:
        self.owner = store

    @guarded
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
        with self.owner._write() as connection:
            return slack.enqueue(
                connection,
                kind=kind,
                channel=channel,
                payload=payload,
                at=_at(now),
                parent_id=parent_id,
                ref=ref,
            )

    @guarded
    def due(self, *, now: datetime, limit: int = 20) -> list[OutboxMessage]:
        return slack.due(self.owner._connection, at=_at(now), limit=limit)

    @guarded
    def message(self, outbox_id: int) -> OutboxMessage:
        return slack.get(self.owner._connection, outbox_id)

    @guarded
    def claim(self, outbox_id: int, *, now: datetime) -> bool:
        with self.owner._write() as connection:
            return slack.claim(connection, outbox_id, at=_at(now))

    @guarded
    def sent(self, outbox_id: int, *, ts: str, channel: str, now: datetime) -> None:
        with self.owner._write() as connection:
            slack.sent(connection, outbox_id, ts=ts, channel=channel, at=_at(now))

    @guarded
    def retry_later(
        self, outbox_id: int, *, error: str, at: datetime, give_up: bool = False
    ) -> None:
        with self.owner._write() as connection:
            slack.retry_later(
                connection, outbox_id, error=error, next_attempt_at=_at(at), give_up=give_up
            )

    @guarded
    def outbox(self, *, ref: str | None = None) -> list[OutboxMessage]:
        return slack.outbox(self.owner._connection, ref=ref)

    @guarded
    def add_approval(
        self, *, remediation_id: int, token: str, outbox_id: int, owner: str | None, now: datetime
    ) -> None:
        with self.owner._write() as connection:
            slack.add_approval(
                connection,
                remediation_id=remediation_id,
                token=token,
                outbox_id=outbox_id,
                owner=owner,
                at=_at(now),
            )

    @guarded
    def approval_by_token(self, token: str) -> ApprovalMessage | None:
        return slack.approval_by_token(self.owner._connection, token)

    @guarded
    def approval_for(self, remediation_id: int) -> ApprovalMessage | None:
        return slack.approval_for(self.owner._connection, remediation_id)

    @guarded
    def vote(self, remediation_id: int, user_id: str, *, now: datetime) -> bool:
        with self.owner._write() as connection:
            return slack.vote(connection, remediation_id, user_id, at=_at(now))

    @guarded
    def votes(self, remediation_id: int) -> list[str]:
        return slack.votes(self.owner._connection, remediation_id)

    @guarded
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
        with self.owner._write() as connection:
            return slack.add_exemption(
                connection,
                resource_type=resource_type,
                resource_id=resource_id,
                until=_at(until),
                reason=reason,
                actor=actor,
                at=_at(now),
            )

    @guarded
    def exemptions(self, *, active_at: datetime | None = None) -> list[Exemption]:
        when = None if active_at is None else _at(active_at)
        return slack.exemptions(self.owner._connection, active_at=when)

    @guarded
    def ended_unnoticed(self, *, now: datetime) -> list[Exemption]:
        return slack.ended_unnoticed(self.owner._connection, at=_at(now))

    @guarded
    def notice_ended(self, exemption_ids: Iterable[int], *, now: datetime) -> None:
        with self.owner._write() as connection:
            slack.notice_ended(connection, list(exemption_ids), at=_at(now))

    @guarded
    def record_interaction(
        self, *, now: datetime, actor: str, event: str, subject: str, details: dict[str, Any]
    ) -> None:
        with self.owner._write() as connection:
            slack.record_interaction(
                connection, at=_at(now), actor=actor, event=event, subject=subject, details=details
            )


class AsyncSlackBook:
    """``SlackBook``'s methods, awaited on the async store's thread: ``await book.x(...)``."""

    def __init__(self, store: AsyncOwner) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or not callable(getattr(SlackBook, name, None)):
            raise AttributeError(name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._store.call(lambda store: getattr(store.slack, name)(*args, **kwargs))

        return call
