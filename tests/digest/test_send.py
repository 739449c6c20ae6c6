"""Sending digests from a real store: one per owner, once per tick, nothing when quiet."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime

import pytest

from governor.config.owners import OwnerContact
from governor.digest.send import owners_to_reach, send_digests
from governor.notify.documents import Digest
from governor.store import Store
from governor.store import digests as digest_rows
from governor.store.connection import write
from tests.digest.factories import Recorder, audit
from tests.store.factories import at

pytestmark = pytest.mark.anyio
STALE = "stale-branches"
CONTACTS = [
    OwnerContact(name="web", slack_users=["U0WEB"]),
    OwnerContact(name="data"),
]
OWNERS = owners_to_reach(CONTACTS, "platform")


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:") as opened:
        yield opened


async def send(
    store: Store, channel: Recorder, when: datetime, **options: object
) -> dict[str, str]:
    outcomes = await send_digests(
        store,
        channel,
        OWNERS,
        default="platform",
        now=when,
        top=25,
        **options,  # type: ignore[arg-type]
    )
    return {outcome.owner: outcome.verdict for outcome in outcomes}


def owners_of(digests: Sequence[Digest]) -> dict[str, set[str]]:
    return {d.owner: {item.resource_id for item in d.items} for d in digests}


async def test_each_owner_gets_their_findings_and_unowned_ones_reach_the_default(
    store: Store,
) -> None:
    audit(store, at(0), {"br-1": "web", "br-2": "web", "br-3": "data", "br-4": None})
    channel = Recorder()
    verdicts = await send(store, channel, at(1))
    assert verdicts == {"web": "sent", "data": "sent", "platform": "sent"}
    assert owners_of(channel.digests) == {
        "web": {"br-1", "br-2"},
        "data": {"br-3"},
        "platform": {"br-4"},
    }
    web = next(d for d in channel.digests if d.owner == "web")
    assert web.mentions == ("U0WEB",)
    rows = await store.run(digest_rows.listed, "web")
    assert [(r.fingerprints, r.channels) for r in rows] == [(("fp-br-1", "fp-br-2"), ("test:web",))]


async def test_a_second_digest_with_nothing_new_sends_nothing(store: Store) -> None:
    audit(store, at(0), {"br-1": "web", "br-3": "data"})
    channel = Recorder()
    await send(store, channel, at(1))
    first = [d.owner for d in channel.digests]
    assert first == ["web", "data", "platform"]  # platform: a first digest, even empty
    verdicts = await send(store, channel, at(200))
    assert verdicts == {"web": "nothing new", "data": "nothing new", "platform": "nothing new"}
    assert len(channel.digests) == 3


async def test_an_owner_who_asked_gets_a_digest_even_with_nothing_new(store: Store) -> None:
    owners = owners_to_reach([OwnerContact(name="web", digest_when_empty=True)], None)
    audit(store, at(0), {"br-1": "web"})
    channel = Recorder()
    for hours in (1, 200):
        await send_digests(store, channel, owners, default=None, now=at(hours), top=25)
    assert [d.new_count for d in channel.digests] == [1, 0]


async def test_a_resolved_finding_is_news_in_the_next_digest(store: Store) -> None:
    audit(store, at(0), {"br-1": "web", "br-2": "web"})
    channel = Recorder()
    await send(store, channel, at(1))
    audit(store, at(100), {"br-1": "web"})  # br-2 no longer selected: resolved
    await send(store, channel, at(200))
    web = [d for d in channel.digests if d.owner == "web"]
    assert (web[1].new_count, web[1].resolved_count) == (0, 1)
    assert [(i.resource_id, i.status) for i in web[1].items] == [
        ("br-1", "open"),
        ("br-2", "resolved"),
    ]


async def test_a_finding_kept_since_the_last_digest_is_not_called_resolved(store: Store) -> None:
    audit(store, at(0), {"br-1": "web", "br-2": "web"})
    channel = Recorder()
    await send(store, channel, at(1))

    def keep_br_2(connection: sqlite3.Connection) -> None:  # what `keep` leaves in the store
        with write(connection):
            connection.execute(
                "UPDATE findings SET status = 'suppressed' WHERE resource_id = 'br-2'"
            )

    store.call(keep_br_2)
    audit(store, at(100), {"br-1": "web"})
    await send(
        store,
        channel,
        at(200),
    )
    web = [d for d in channel.digests if d.owner == "web"]
    assert len(web) == 1  # kept is not news: the owner (or a teammate) chose it
    verdicts = await send(store, channel, at(300))
    assert verdicts["web"] == "nothing new"


async def test_a_tick_already_recorded_is_not_sent_again_after_a_restart(store: Store) -> None:
    audit(store, at(0), {"br-1": "web"})
    channel = Recorder()
    tick = at(1)
    await send(store, channel, tick, tick_start=tick)
    audit(store, at(1.5), {"br-1": "web", "br-5": "web"})  # something new within the tick
    restarted = await send(store, channel, at(2), tick_start=tick)
    assert restarted["web"] == "already sent"
    assert [d.owner for d in channel.digests].count("web") == 1
    next_tick = await send(store, channel, at(200), tick_start=at(199))
    assert next_tick["web"] == "sent"


async def test_a_dry_run_records_nothing_and_sends_nothing(store: Store) -> None:
    audit(store, at(0), {"br-1": "web"})
    channel = Recorder()
    verdicts = await send(store, channel, at(1), dry_run=True)
    assert verdicts["web"] == "would send"
    assert channel.digests == []
    assert await store.run(digest_rows.listed) == []


async def test_one_owner_whose_channel_fails_does_not_stop_the_others(store: Store) -> None:
    audit(store, at(0), {"br-1": "web", "br-3": "data"})
    channel = Recorder(fail_for="web")
    verdicts = await send(store, channel, at(1))
    assert (verdicts["web"], verdicts["data"]) == ("failed", "sent")


def test_owners_to_reach_adds_the_default_once_and_filters_by_name() -> None:
    assert [o.name for o in owners_to_reach(CONTACTS, "web")] == ["web", "data"]
    assert [o.name for o in owners_to_reach(CONTACTS, "platform", "platform")] == ["platform"]
