"""The store's remediation methods: ``store.remediations`` (sync) and its awaited twin.

Why a book of its own and not more ``Store`` methods: the facade stays small, and the
remediation engine sees exactly the operations its state machine needs. Every write is
one ``BEGIN IMMEDIATE`` step of the owning store; errors leave as one-line StoreErrors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from governor.store import remediations
from governor.store.audit_log import DEFAULT_ACTOR
from governor.store.books import AsyncOwner, Owner, guarded
from governor.store.encoding import encode_time
from governor.store.remediations import (
    SWITCH_PAUSED,
    NewRemediation,
    RemediationRecord,
    RemediationState,
    SwitchRecord,
)


class RemediationBook:
    """Remediations, notices and switches of one ``Store`` (use it from the store's thread)."""

    def __init__(self, store: Owner) -> None:
        self.owner = store

    @guarded
    def add(
        self, new: NewRemediation, *, now: datetime, actor: str = DEFAULT_ACTOR
    ) -> tuple[RemediationRecord, bool]:
        """Insert, or return the resource's active remediation: ``(record, created)``."""
        at = encode_time(now, what="now")
        with self.owner._write() as connection:
            return remediations.insert(connection, new, at=at, actor=actor)

    @guarded
    def latest_ended(self, states: Sequence[str]) -> list[RemediationRecord]:
        return remediations.latest_ended(self.owner._connection, states)

    @guarded
    def account_of_project(self, project_id: str) -> str | None:
        return remediations.account_of_project(self.owner._connection, project_id)

    @guarded
    def get(self, remediation_id: int) -> RemediationRecord:
        return remediations.get(self.owner._connection, remediation_id)

    @guarded
    def list(
        self, *, states: Sequence[str] = (), limit: int | None = None
    ) -> list[RemediationRecord]:
        return remediations.select(self.owner._connection, states=states, limit=limit)

    @guarded
    def active_for(self, resource_type: str, resource_id: str) -> RemediationRecord | None:
        return remediations.active_for(self.owner._connection, resource_type, resource_id)

    @guarded
    def move(
        self,
        remediation_id: int,
        *,
        expected: Iterable[RemediationState],
        to: RemediationState,
        now: datetime,
        actor: str = DEFAULT_ACTOR,
        reason: str | None = None,
        changes: Mapping[str, Any] | None = None,
        details: Mapping[str, Any] | None = None,
        owned_by: str | None = None,
    ) -> RemediationRecord | None:
        """Compare-and-set the state (and, with ``owned_by``, the owner); None when
        another writer moved it or took it over first."""
        at = encode_time(now, what="now")
        with self.owner._write() as connection:
            return remediations.move(
                connection,
                remediation_id,
                expected=expected,
                to=to,
                at=at,
                actor=actor,
                reason=reason,
                changes=changes,
                details=details,
                owned_by=owned_by,
            )

    @guarded
    def progress(
        self,
        remediation_id: int,
        *,
        state: RemediationState,
        now: datetime,
        changes: Mapping[str, Any],
        owned_by: str | None = None,
    ) -> bool:
        at = encode_time(now, what="now")
        with self.owner._write() as connection:
            return remediations.update_progress(
                connection, remediation_id, state=state, at=at, changes=changes, owned_by=owned_by
            )

    @guarded
    def take_over(
        self,
        remediation_id: int,
        *,
        state: RemediationState,
        owner_was: str | None,
        owner: str,
        now: datetime,
        actor: str = DEFAULT_ACTOR,
        reason: str,
    ) -> RemediationRecord | None:
        """Compare-and-set the owner of an unfinished row; None when another was first."""
        at = encode_time(now, what="now")
        with self.owner._write() as connection:
            return remediations.take_over(
                connection,
                remediation_id,
                state=state,
                owner_was=owner_was,
                owner=owner,
                at=at,
                actor=actor,
                reason=reason,
            )

    @guarded
    def record_notice(
        self, finding_id: int, *, now: datetime, via: str, details: dict[str, Any]
    ) -> bool:
        at = encode_time(now, what="now")
        with self.owner._write() as connection:
            return remediations.record_notice(
                connection, finding_id, at=at, via=via, details=details
            )

    @guarded
    def notices(self, finding_ids: Iterable[int]) -> dict[int, str]:
        return remediations.notices(self.owner._connection, finding_ids)

    @guarded
    def set_paused(self, paused: bool, *, reason: str | None, actor: str, now: datetime) -> None:
        at = encode_time(now, what="now")
        with self.owner._write() as connection:
            remediations.set_switch(
                connection,
                SWITCH_PAUSED,
                "true" if paused else None,
                reason=reason,
                actor=actor,
                at=at,
            )

    @guarded
    def paused(self) -> SwitchRecord | None:
        """The pause switch when set (every executor checks it before every mutation)."""
        return remediations.switch(self.owner._connection, SWITCH_PAUSED)


class AsyncRemediationBook:
    """``RemediationBook``'s methods, awaited on the async store's thread."""

    def __init__(self, store: AsyncOwner) -> None:
        self._store = store

    async def add(
        self, new: NewRemediation, *, now: datetime, actor: str = DEFAULT_ACTOR
    ) -> tuple[RemediationRecord, bool]:
        return await self._store.call(
            lambda store: store.remediations.add(new, now=now, actor=actor)
        )

    async def latest_ended(self, states: Sequence[str]) -> list[RemediationRecord]:
        wanted = list(states)
        return await self._store.call(lambda store: store.remediations.latest_ended(wanted))

    async def account_of_project(self, project_id: str) -> str | None:
        return await self._store.call(
            lambda store: store.remediations.account_of_project(project_id)
        )

    async def get(self, remediation_id: int) -> RemediationRecord:
        return await self._store.call(lambda store: store.remediations.get(remediation_id))

    async def list(
        self, *, states: Sequence[str] = (), limit: int | None = None
    ) -> list[RemediationRecord]:
        return await self._store.call(
            lambda store: store.remediations.list(states=states, limit=limit)
        )

    async def active_for(self, resource_type: str, resource_id: str) -> RemediationRecord | None:
        return await self._store.call(
            lambda store: store.remediations.active_for(resource_type, resource_id)
        )

    async def move(
        self,
        remediation_id: int,
        *,
        expected: Iterable[RemediationState],
        to: RemediationState,
        now: datetime,
        actor: str = DEFAULT_ACTOR,
        reason: str | None = None,
        changes: Mapping[str, Any] | None = None,
        details: Mapping[str, Any] | None = None,
        owned_by: str | None = None,
    ) -> RemediationRecord | None:
        expected = tuple(expected)
        return await self._store.call(
            lambda store: store.remediations.move(
                remediation_id,
                expected=expected,
                to=to,
                now=now,
                actor=actor,
                reason=reason,
                changes=changes,
                details=details,
                owned_by=owned_by,
            )
        )

    async def progress(
        self,
        remediation_id: int,
        *,
        state: RemediationState,
        now: datetime,
        changes: Mapping[str, Any],
        owned_by: str | None = None,
    ) -> bool:
        return await self._store.call(
            lambda store: store.remediations.progress(
                remediation_id, state=state, now=now, changes=changes, owned_by=owned_by
            )
        )

    async def take_over(
        self,
        remediation_id: int,
        *,
        state: RemediationState,
        owner_was: str | None,
        owner: str,
        now: datetime,
        actor: str = DEFAULT_ACTOR,
        reason: str,
    ) -> RemediationRecord | None:
        return await self._store.call(
            lambda store: store.remediations.take_over(
                remediation_id,
                state=state,
                owner_was=owner_was,
                owner=owner,
                now=now,
                actor=actor,
                reason=reason,
            )
        )

    async def record_notice(
        self, finding_id: int, *, now: datetime, via: str, details: dict[str, Any]
    ) -> bool:
        return await self._store.call(
            lambda store: store.remediations.record_notice(
                finding_id, now=now, via=via, details=details
            )
        )

    async def notices(self, finding_ids: Iterable[int]) -> dict[int, str]:
        wanted = list(finding_ids)
        return await self._store.call(lambda store: store.remediations.notices(wanted))

    async def set_paused(
        self, paused: bool, *, reason: str | None, actor: str, now: datetime
    ) -> None:
        await self._store.call(
            lambda store: store.remediations.set_paused(paused, reason=reason, actor=actor, now=now)
        )

    async def paused(self) -> SwitchRecord | None:
        return await self._store.call(lambda store: store.remediations.paused())
