"""Sweeping several Neon accounts at once: one client (so one rate budget) per account.

Why concurrently and merged: Neon counts the rate limit per account, so accounts do not
slow each other down, and the policies judge the whole estate in one run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from governor.model.snapshot import Snapshot
from governor.neon.client import NeonClient
from governor.sweep.spool import ProjectSpool
from governor.sweep.walk import SweepProgress, WantsDetail, WantsExtra, sweep


@dataclass(frozen=True)
class Account:
    """A configured account with its client; ``org_ids`` empty means every visible one."""

    name: str
    client: NeonClient
    org_ids: tuple[str, ...] = ()


async def sweep_accounts(
    accounts: Sequence[Account],
    *,
    now: datetime,
    concurrency: int = 16,
    progress: Callable[[SweepProgress], None] | None = None,
    wants_detail: WantsDetail | None = None,
    wants_extra: WantsExtra | None = None,
    spool: ProjectSpool | None = None,
) -> Snapshot:
    """Every account swept concurrently, merged into one snapshot taken at ``now``.

    ``wants_detail``: whether a project's detail is needed (default: never);
    ``wants_extra``: the detail only some policies read (default: none).
    ``spool``: where each project's bulk goes as it is read (``sweep``'s), one for all.
    """
    if not accounts:
        raise ValueError("no account to sweep")
    states: dict[str, SweepProgress] = {}

    def report(name: str) -> Callable[[SweepProgress], None] | None:
        if progress is None:
            return None
        callback = progress

        def update(state: SweepProgress) -> None:
            states[name] = state
            callback(_total(states.values()))

        return update

    parts = await asyncio.gather(
        *(
            sweep(
                account.client,
                org_ids=list(account.org_ids) or None,
                concurrency=concurrency,
                progress=report(account.name),
                now=now,
                wants_detail=wants_detail,
                wants_extra=wants_extra,
                spool=spool,
            )
            for account in accounts
        )
    )
    merged = Snapshot.merged(list(parts), taken_at=now)
    if len(parts) > 1:
        merged.read_by = read_by(accounts, parts)
    return merged


def read_by(accounts: Sequence[Account], parts: Sequence[Snapshot]) -> dict[str, str]:
    """Which account read each project and key: the first, as ``Snapshot.merged`` keeps it."""
    found: dict[str, str] = {}
    for account, part in zip(accounts, parts, strict=True):
        for project in part.projects:
            found.setdefault(f"project:{project.id}", account.name)
        for record in part.api_keys:
            found.setdefault(f"key:{record.key.id}", account.name)
    return found


def _total(states: Iterable[SweepProgress]) -> SweepProgress:
    items = list(states)
    return SweepProgress(
        projects_done=sum(state.projects_done for state in items),
        projects_total=sum(state.projects_total for state in items),
        requests=sum(state.requests for state in items),
        organizations_done=sum(state.organizations_done for state in items),
        organizations_total=sum(state.organizations_total for state in items),
    )
