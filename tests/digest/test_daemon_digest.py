"""The daemon's generation runs the ``digest`` job through its own channels: after a
sweep, the default owner's digest lands in their Slack channel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from governor.daemon.generation import ConfigGeneration, Shared
from governor.daemon.health import Health
from governor.daemon.sweeps import SnapshotKeeper
from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, APPROVALS, REPORTS
from governor.observability.metrics import Metrics
from governor.policy import load_policies, shipped_policies_path
from governor.runtime import Runtime
from governor.simulator import World
from governor.store import Store, history
from tests.conftest import WORLD_NOW
from tests.simulator.worlds import ORG_TOKEN, tiny_world_data

pytestmark = pytest.mark.anyio


async def test_the_daemon_sends_each_owner_a_digest_on_its_schedule_after_a_sweep(
    tmp_path: Path,
    fake_slack: FakeSlack,
    served_simulator: Callable[..., tuple[Any, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, base_url = served_simulator(World.from_dict(tiny_world_data()))
    monkeypatch.setenv("NEON_API_KEY", ORG_TOKEN)
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.bot_token)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[neon]\napi_url = "{base_url}"\n[store]\npath = "{tmp_path / "g.db"}"\n'
        f'[slack]\nchannel = "{APPROVALS.id}"\napi_url = "{fake_slack.base_url}"\n'
        f'report = "never"\napprovers = ["{ALICE.id}"]\n'
        '[digest]\nschedule = "0 9 * * mon"\ntop = 200\n'
        f'[owners]\ndefault = "platform"\n[[owners.owner]]\nname = "platform"\n'
        f'slack_channel = "{REPORTS.id}"\n'
    )
    runtime = Runtime.load(config, clock=lambda: WORLD_NOW)
    policies = load_policies([shipped_policies_path()])
    async with await Store.open_async(tmp_path / "g.db") as store:
        health = Health(
            max_sweep_age=timedelta(hours=2),
            started_at=WORLD_NOW,
            clock=lambda: WORLD_NOW,
            scheduler_running=lambda: True,
        )
        keeper = SnapshotKeeper(timedelta(minutes=10))
        shared = Shared(store, Metrics(), health, keeper, lambda: WORLD_NOW, lambda task: None)
        generation = await ConfigGeneration.open(runtime, policies, shared)
        try:
            [job] = [job for job in generation.jobs if job.name == "digest"]
            assert job.schedule == "0 9 * * mon"
            await generation.run_batch(tuple(policy.name for policy in policies))
            result = await job.run(generation.context)
            assert result.detail == "1 sent"
            assert generation.slack is not None
            assert await generation.slack.sender().flush(deadline_seconds=20)
        finally:
            await generation.close()
        open_findings = await store.run(history.findings, "open")
    assert open_findings
    [posted] = [m for m in fake_slack.log.messages(REPORTS.id) if not m.is_reply]
    text = str(posted.blocks)
    assert "Neon digest for platform" in text
    assert all(finding.resource_id in text for finding in open_findings)
