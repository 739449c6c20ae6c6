"""Done when (issue 19): with an owner map of three owners (a Slack channel, an email
address on a local SMTP server, a webhook) and a default owner, each receives exactly
their resources in their digest, once; the webhook's signature verifies; a resource that
matches no owner reaches the default owner.

Everything real over loopback: the bundled Neon simulator, the fake Slack, an aiosmtpd
server and an HTTP receiver; the commands run as a user runs them (``audit``, then the
``digest`` tick twice).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from governor.cli import app
from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, APPROVALS, REPORTS
from governor.simulator import World
from tests.channels.harness import http_receiver, smtp_server
from tests.fake_slack.fixtures import fake_slack  # noqa: F401 (a fixture)
from tests.simulator.worlds import api_key, branch, organization, project

pytestmark = pytest.mark.anyio
ORG = "org-owners-11111111"
TOKEN = "owners-personal-token"
USER = "0c9d9e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
OLD = "2026-08-01T08:00:00Z"
SECRET = "whsec-digest-0123456789"
DATA_TEAM = "data-team@example.com"
# project name -> the owner its rules name (sandbox: none, so the default owner's)
PROJECTS = {"web-shop": "web", "data-lake": "data", "ops-tools": "ops", "sandbox": "platform"}


def world_data() -> dict[str, Any]:
    projects = []
    for name in PROJECTS:
        pid = f"{name}-11111111"
        main = f"br-{name}-main"
        projects.append(
            {
                **project(pid, ORG, name),
                "branches": [
                    branch(main, pid, "main", default=True, created_at=OLD, updated_at=OLD),
                    *(
                        branch(
                            f"br-{name}-stale-{n}",
                            pid,
                            f"preview/{name}-{n}",
                            main,
                            created_at=OLD,
                            updated_at=OLD,
                        )
                        for n in (1, 2)
                    ),
                ],
                "endpoints": [],
            }
        )
    return {
        "keys": {TOKEN: {"kind": "personal", "user_id": USER}},
        "personal_api_keys": [],
        "organizations": [
            {
                **organization(ORG, "Owners"),
                "api_keys": [api_key(7001, "old-deployer", created_at=OLD)],  # no project
                "projects": projects,
            }
        ],
    }


def config_text(tmp_path: Path, fake: FakeSlack, smtp_port: int, hook_url: str) -> str:
    rules = "".join(
        f'[[owners.rule]]\nowner = "{owner}"\nprojects = ["{name.split("-")[0]}-*"]\n'
        for name, owner in PROJECTS.items()
        if owner != "platform"
    )
    return f"""
[store]
path = "{tmp_path / "governor.db"}"

[slack]
channel = "{APPROVALS.id}"
api_url = "{fake.base_url}"
report = "never"
approvers = ["{ALICE.id}"]

[email]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
sender = "governor@example.com"

[[webhooks]]
name = "tickets"
url = "{hook_url}"
secret_env = "HOOK_SECRET"
events = ["outcome"]

[digest]
schedule = "7d"
top = 200

[owners]
default = "platform"

[[owners.owner]]
name = "web"
slack_channel = "{REPORTS.id}"
slack_users = ["{ALICE.id}"]

[[owners.owner]]
name = "data"
emails = ["{DATA_TEAM}"]

[[owners.owner]]
name = "ops"
webhook = "tickets"

[[owners.owner]]
name = "platform"
slack_channel = "{APPROVALS.id}"

{rules}"""


def expected_owners(db: Path) -> dict[str, set[str]]:
    """Each open finding's resource by the owner its project's rule names (no project or
    the sandbox: the default owner); and the store stamped each finding so."""
    by_id = {f"{name}-11111111": owner for name, owner in PROJECTS.items()}
    with sqlite3.connect(db) as connection:
        found = connection.execute(
            "SELECT resource_id, project_id, owned_by FROM findings WHERE status = 'open'"
        ).fetchall()
    expected: dict[str, set[str]] = {owner: set() for owner in PROJECTS.values()}
    for resource_id, project_id, owned_by in found:
        owner = by_id.get(project_id, "platform")
        assert owned_by == owner, (resource_id, owned_by)
        expected[owner].add(resource_id)
    return expected


def text_of(message: EmailMessage) -> str:
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    return str(plain.get_content())


def mentioned(text: str, everyone: set[str]) -> set[str]:
    return {resource for resource in everyone if resource in text}


async def test_each_owner_gets_exactly_their_resources_once_and_the_unmatched_reach_the_default(
    tmp_path: Path,
    fake_slack: FakeSlack,  # noqa: F811 (the fixture)
    served_simulator: Callable[..., tuple[Any, str]],
) -> None:
    _, neon_url = served_simulator(World.from_dict(world_data()))
    runner = CliRunner()
    with smtp_server() as (mailbox, smtp_port):
        async with http_receiver(secret=SECRET) as hook:
            config = tmp_path / "governor.toml"
            config.write_text(config_text(tmp_path, fake_slack, smtp_port, hook.url))
            env = {
                "NEON_API_URL": neon_url,
                "NEON_API_KEY": TOKEN,
                "SLACK_BOT_TOKEN": fake_slack.bot_token,
                "HOOK_SECRET": SECRET,
            }

            async def cli(*args: str) -> Result:
                return await asyncio.to_thread(
                    runner.invoke, app, [*args, "--config", str(config)], env=env
                )

            audited = await cli("audit")
            assert audited.exit_code == 1, audited.output  # findings
            expected = expected_owners(tmp_path / "governor.db")
            everyone = set().union(*expected.values())
            assert all(expected.values()), expected  # every owner has something

            first = await cli("digest")
            assert first.exit_code == 0, first.output
            assert "4 sent" in first.output

            def digests_in(channel: str) -> list[str]:
                return [str(m.blocks) for m in fake_slack.log.messages(channel) if not m.is_reply]

            [web] = digests_in(REPORTS.id)
            assert "Neon digest for web" in web
            assert mentioned(web, everyone) == expected["web"]
            [platform] = digests_in(APPROVALS.id)
            assert "Neon digest for platform" in platform
            assert mentioned(platform, everyone) == expected["platform"]
            assert "7001" in platform  # the organization's key: no project, no rule

            [(_, recipients, email)] = mailbox.messages
            assert recipients == [DATA_TEAM]
            assert mentioned(text_of(email), everyone) == expected["data"]

            [received] = hook.received
            assert received.verified is True
            document = received.document
            assert document["type"] == "digest"
            assert document["data"]["owner"] == "ops"
            items = {item["resource_id"] for item in document["data"]["items"]}
            assert items == expected["ops"]

            second = await cli("digest")  # the next tick: nothing new, nothing resolved
            assert second.exit_code == 0, second.output
            assert "4 nothing new" in second.output
            assert len(digests_in(REPORTS.id)) == 1
            assert len(digests_in(APPROVALS.id)) == 1
            assert len(mailbox.messages) == 1
            assert len(hook.received) == 1
