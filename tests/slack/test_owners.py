"""Resolving a finding's owner to a Slack user: only through ids, never by a guess.

The chain is an org key's ``created_by.id`` → the organization's members → Slack's
``users.lookupByEmail``; the fake Slack knows alice@, bob@ and mallory@example.com.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, BOB
from governor.model.actions import parse_action
from governor.model.snapshot import KeyRecord, Snapshot
from governor.neon.errors import NeonApiError
from governor.neon.models import ApiKey, Branch, OrgMember
from governor.simulator import Simulator, World
from governor.slack.owners import resolve_owners, slack_lookup
from governor.store.records import StoredFinding
from tests.conftest import WORLD_NOW
from tests.neon.helpers import PERSONAL_SIM_KEY, virtual_client
from tests.neon.virtual_time import VirtualClock
from tests.simulator.conftest import NO_LIMITS

pytestmark = pytest.mark.anyio

ORG = "org-tiny-11111111"
OTHER_ORG = "org-other-22222222"
ALICE_ID = "0c9d9e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
BOB_ID = "6df052ac-ca9a-4321-8963-b6507b2d7dee"
CAROL_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
STAMP = "2026-10-01T08:00:00Z"


def creator(user_id: str, name: str) -> dict[str, str]:
    return {"id": user_id, "name": name, "image": f"https://avatars.example.com/{name}.png"}


def key_json(key_id: int, created_by: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": key_id,
        "name": f"key-{key_id}",
        "created_at": STAMP,
        "created_by": created_by,
        "last_used_at": None,
        "last_used_from_addr": "",
        **extra,
    }


def org_key(key_id: int, created_by: Any, org_id: str = ORG) -> KeyRecord:
    return KeyRecord(ApiKey.from_api(key_json(key_id, created_by)), "organization", org_id)


def member(user_id: str, email: str | None, org_id: str = ORG, number: int = 1) -> OrgMember:
    user: dict[str, Any] = {} if email is None else {"email": email}
    return OrgMember.from_api(
        {
            "member": {
                "id": f"d57833f2-d308-4ede-9d2e-{number:012d}",
                "user_id": user_id,
                "org_id": org_id,
                "role": "member",
                "joined_at": STAMP,
            },
            "user": user,
        }
    )


def finding(resource_id: str, resource_type: str = "api_key", **changes: Any) -> StoredFinding:
    values: dict[str, Any] = {
        "id": 1,
        "policy": "unused_api_keys",
        "resource_type": resource_type,
        "resource_id": resource_id,
        "org_id": ORG,
        "project_id": None,
        "name": f"key-{resource_id}",
        "severity": "medium",
        "summary": "never used",
        "action": parse_action({"type": "none"}),
        "mode": "report",
        "status": "open",
        "first_seen": "2026-11-01T00:00:00.000000+00:00",
        "last_seen": "2026-11-27T09:00:00.000000+00:00",
        "status_changed_at": "2026-11-01T00:00:00.000000+00:00",
        "resolved_at": None,
        "reopened_at": None,
        "reopen_count": 0,
        "fingerprint": "f",
        "evidence": {},
        "estimate_usd": None,
        "estimate_method": None,
        "estimate_kind": None,
        "first_run_id": 1,
        "last_run_id": 7,
        "resolved_run_id": None,
    }
    values.update(changes)
    return StoredFinding(**values)


def snapshot(*keys: KeyRecord, branches: list[Branch] | None = None) -> Snapshot:
    return Snapshot(
        taken_at=datetime(2026, 11, 27, tzinfo=UTC), api_keys=list(keys), branches=branches or []
    )


class Members:
    """``members_of`` with a fixed answer per organization, counting the calls."""

    def __init__(self, by_org: dict[str, list[OrgMember] | Exception]) -> None:
        self.by_org = by_org
        self.calls: Counter[str] = Counter()

    async def __call__(self, org_id: str) -> list[OrgMember]:
        self.calls[org_id] += 1
        answer = self.by_org.get(org_id, [])
        if isinstance(answer, Exception):
            raise answer
        return answer


def neon_error(status: int) -> NeonApiError:
    return NeonApiError(
        status,
        "no access",
        request_id="r-1",
        method="GET",
        path=f"/organizations/{ORG}/members",
    )


def web(fake_slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url, timeout=10)


def lookups(fake_slack: FakeSlack) -> list[str]:
    return [str(call.params.get("email")) for call in fake_slack.log.calls("users.lookupByEmail")]


async def test_a_key_created_by_a_member_with_a_slack_account_resolves_once_per_org_and_email(
    fake_slack: FakeSlack,
) -> None:
    members = Members(
        {ORG: [member(ALICE_ID, "alice@example.com"), member(BOB_ID, "bob@example.com", number=2)]}
    )
    snap = snapshot(
        org_key(2001, creator(ALICE_ID, "Alice")),
        org_key(2002, creator(ALICE_ID, "Alice")),
        org_key(2003, creator(BOB_ID, "Bob")),
    )
    findings = [
        finding("2001"),
        finding("2001", policy="old_api_keys"),  # the same key under two policies
        finding("2002"),
        finding("2003"),
    ]

    owners = await resolve_owners(
        findings, snap, members_of=members, slack_user_by_email=slack_lookup(web(fake_slack))
    )

    assert owners == {
        ("api_key", "2001"): ALICE.id,
        ("api_key", "2002"): ALICE.id,
        ("api_key", "2003"): BOB.id,
    }
    assert members.calls == Counter({ORG: 1})
    assert sorted(lookups(fake_slack)) == ["alice@example.com", "bob@example.com"]


@pytest.mark.parametrize(
    ("listed", "why"),
    [
        ([member(BOB_ID, "bob@example.com")], "the creator is not a member"),
        (
            [member(ALICE_ID, "alice@example.com"), member(ALICE_ID, "bob@example.com", number=2)],
            "two members share the creator's user id",
        ),
        (
            [
                member(ALICE_ID, "alice@example.com"),
                member(ALICE_ID, "alice@example.com", number=2),
            ],
            "the creator is listed twice",
        ),
        ([member(ALICE_ID, None)], "the member has no email"),
        ([member(ALICE_ID, "")], "the member's email is empty"),
        ([member(ALICE_ID, "alice@example.com", org_id=OTHER_ORG)], "a member of another org"),
        ([member(ALICE_ID.upper(), "alice@example.com")], "ids match exactly or not at all"),
    ],
)
async def test_no_single_member_with_an_email_leaves_the_owner_unresolved(
    listed: list[OrgMember], why: str
) -> None:
    asked: list[str] = []

    async def slack(email: str) -> str | None:
        asked.append(email)
        return ALICE.id

    owners = await resolve_owners(
        [finding("2001")],
        snapshot(org_key(2001, creator(ALICE_ID, "Alice"))),
        members_of=Members({ORG: listed}),
        slack_user_by_email=slack,
    )

    assert owners == {}, why
    assert asked == [], why


async def test_an_email_slack_does_not_know_leaves_the_owner_unresolved(
    fake_slack: FakeSlack,
) -> None:
    owners = await resolve_owners(
        [finding("2001"), finding("2002")],
        snapshot(
            org_key(2001, creator(CAROL_ID, "Carol")), org_key(2002, creator(CAROL_ID, "Carol"))
        ),
        members_of=Members({ORG: [member(CAROL_ID, "carol@example.com")]}),
        slack_user_by_email=slack_lookup(web(fake_slack)),
    )

    assert owners == {}
    assert lookups(fake_slack) == ["carol@example.com"]  # asked once, the answer cached


@pytest.mark.parametrize(
    "error",
    [
        neon_error(403),
        TimeoutError("read timed out"),
        ValueError("anything else"),
    ],
    ids=["neon-403", "timeout", "other"],
)
async def test_members_that_cannot_be_read_leave_that_orgs_owners_unresolved(
    error: Exception,
) -> None:
    members = Members(
        {ORG: error, OTHER_ORG: [member(BOB_ID, "bob@example.com", org_id=OTHER_ORG)]}
    )

    async def slack(email: str) -> str | None:
        return {"alice@example.com": ALICE.id, "bob@example.com": BOB.id}.get(email)

    owners = await resolve_owners(
        [finding("2001"), finding("2002"), finding("3001", org_id=OTHER_ORG)],
        snapshot(
            org_key(2001, creator(ALICE_ID, "Alice")),
            org_key(2002, creator(ALICE_ID, "Alice")),
            org_key(3001, creator(BOB_ID, "Bob"), org_id=OTHER_ORG),
        ),
        members_of=members,
        slack_user_by_email=slack,
    )

    assert owners == {("api_key", "3001"): BOB.id}
    assert members.calls == Counter({ORG: 1, OTHER_ORG: 1})  # the failure is remembered


async def test_slack_errors_leave_the_owner_unresolved(fake_slack: FakeSlack) -> None:
    fake_slack.faults.fail("users.lookupByEmail", "internal_error", times=None)
    lookup = slack_lookup(web(fake_slack))
    assert await lookup("alice@example.com") is None
    fake_slack.faults.clear()
    assert await lookup("alice@example.com") == ALICE.id
    assert await lookup("neon-governor@example.com") is None
    await asyncio.to_thread(fake_slack.down, "refuse")
    assert await lookup("alice@example.com") is None

    async def broken(email: str) -> str | None:
        raise RuntimeError("slack exploded")

    owners = await resolve_owners(
        [finding("2001")],
        snapshot(org_key(2001, creator(ALICE_ID, "Alice"))),
        members_of=Members({ORG: [member(ALICE_ID, "alice@example.com")]}),
        slack_user_by_email=broken,
    )
    assert owners == {}


async def test_branch_findings_are_never_resolved_even_when_a_name_matches() -> None:
    branch = Branch.from_api(
        {
            "id": "br-main-1",
            "project_id": "tiny-project-11111111",
            "name": "preview/pr-7",
            "created_by": {"name": "Alice", "image": ""},
        }
    )
    members = Members({ORG: [member(ALICE_ID, "alice@example.com")]})

    async def slack(email: str) -> str | None:
        return ALICE.id

    owners = await resolve_owners(
        [finding("br-main-1", "branch", project_id="tiny-project-11111111")],
        snapshot(org_key(2001, creator(ALICE_ID, "Alice")), branches=[branch]),
        members_of=members,
        slack_user_by_email=slack,
    )

    assert owners == {}
    assert members.calls == Counter()


@pytest.mark.parametrize(
    ("keys", "found", "why"),
    [
        ([], finding("2001"), "the key is not in the snapshot"),
        ([org_key(2001, creator(ALICE_ID, "Alice"))], finding("2001", org_id=None), "no org"),
        (
            [org_key(2001, creator(ALICE_ID, "Alice"), org_id=OTHER_ORG)],
            finding("2001"),
            "the key belongs to another organization",
        ),
        ([org_key(2001, {"name": "Alice", "image": ""})], finding("2001"), "a creator without id"),
        ([org_key(2001, None)], finding("2001"), "no creator at all"),
        ([org_key(2001, creator(ALICE_ID, "Alice"))], finding("2001", "project"), "not a key"),
    ],
)
async def test_a_key_that_cannot_be_tied_to_its_creator_is_unresolved(
    keys: list[KeyRecord], found: StoredFinding, why: str
) -> None:
    async def slack(email: str) -> str | None:
        return ALICE.id

    owners = await resolve_owners(
        [found],
        snapshot(*keys),
        members_of=Members({ORG: [member(ALICE_ID, "alice@example.com")]}),
        slack_user_by_email=slack,
    )
    assert owners == {}, why


async def test_emails_are_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="governor.slack.owners")

    async def slack(email: str) -> str | None:
        raise RuntimeError(f"no such user {email}")

    members = Members({ORG: [member(ALICE_ID, "alice@example.com")], OTHER_ORG: neon_error(500)})
    await resolve_owners(
        [finding("2001"), finding("2002"), finding("3001", org_id=OTHER_ORG)],
        snapshot(
            org_key(2001, creator(ALICE_ID, "Alice")),
            org_key(2002, creator(CAROL_ID, "Carol")),
            org_key(3001, creator(BOB_ID, "Bob"), org_id=OTHER_ORG),
        ),
        members_of=members,
        slack_user_by_email=slack,
    )

    assert caplog.records  # something was said about each unresolved owner
    assert "@" not in caplog.text


async def test_owners_resolve_through_the_simulator_and_the_fake_slack(
    fake_slack: FakeSlack,
) -> None:
    """The whole chain: a generated world's members, the client, the fake Slack."""
    data = World.generate(
        seed=1, orgs=2, projects=4, branches=8, now=WORLD_NOW, members=True
    ).to_dict()
    org = data["organizations"][0]
    alice = {"id": ALICE_ID, "name": "Alice", "image": ""}
    org["api_keys"][0]["created_by"] = alice  # rewire one member to the fake's alice
    org["members"][0]["member"]["user_id"] = ALICE_ID
    org["members"][0]["user"]["email"] = "alice@example.com"
    org["members"][1]["user"]["email"] = "carol@example.com"  # unknown to the fake Slack
    world = World.from_dict(data)
    clock = VirtualClock()
    simulator = Simulator(world, NO_LIMITS, clock=clock, now=lambda: WORLD_NOW)
    assert PERSONAL_SIM_KEY in data["keys"]
    snap = snapshot(*(org_key(key["id"], key["created_by"], org["id"]) for key in org["api_keys"]))
    findings = [finding(str(key["id"]), org_id=org["id"]) for key in org["api_keys"]]

    async with virtual_client(simulator, clock) as client:

        def members_of(org_id: str) -> Awaitable[list[OrgMember]]:
            return clock.run(client.list_org_members(org_id))

        owners = await resolve_owners(
            findings, snap, members_of=members_of, slack_user_by_email=slack_lookup(web(fake_slack))
        )

    assert owners == {("api_key", str(org["api_keys"][0]["id"])): ALICE.id}
    routes = Counter(record.route for record in simulator.request_log)
    assert routes == Counter({"GET /organizations/{org_id}/members": 1})
