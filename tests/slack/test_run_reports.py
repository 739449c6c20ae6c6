"""What a run's report and its notices say in Slack (issue 17: F6, red-team 11)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import APPROVALS
from governor.remediate.cycle import apply_plan, plan_for
from governor.simulator import Simulator, World
from governor.slack.notices import SlackNotices
from governor.store import remediations
from tests.remediate.harness import rig, shipped
from tests.remediate.world import NEVER_SUSPENDS, PROJECT_ID
from tests.slack.harness import service_for, settings_for

pytestmark = pytest.mark.anyio


async def test_the_second_runs_report_counts_only_its_own_remediations(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack, report="always"))
        service.sender_interval = 0.01
        texts, run_ids = [], []
        for _ in range(2):
            result = await r.audit()
            plan = await plan_for(
                result, store=r.store, policies=r.policies, settings=r.settings, now=r.now()
            )
            await apply_plan(plan, executor=r.executor(), run_id=result.run_id)
            run_ids.append(result.run_id)
            await service.notifier.run_finished(result)
            assert await service.sender().flush(deadline_seconds=20)
            [report] = [m for m in fake_slack.log.messages(APPROVALS.id) if not m.is_reply][-1:]
            texts.append(str(report.blocks))
        done = [x.run_id for x in await r.store.run(remediations.listed) if x.state == "succeeded"]
        first, second = done.count(run_ids[0]), done.count(run_ids[1])
        assert first > second, "the first run fixed most"
        assert f"*Remediations*\\n{first} done" in texts[0]
        # F6: the second report said the total of both runs
        assert f"*Remediations*\\n{second} done" in texts[1]


async def test_an_auto_pass_with_a_grace_notices_in_slack_and_acts_only_after_the_grace(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """Red-team 11: the notice was a log line even with Slack configured."""
    policies = [
        p for p in shipped("auto", grace=timedelta(days=1)) if p.name == "never-suspending-computes"
    ]
    async with rig(tmp_path, policies=policies) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        notices = SlackNotices(r.store, service.settings, r.now, {p.name: p for p in policies})

        async def posted() -> list[Any]:
            assert await service.sender().flush(deadline_seconds=20)
            return [m for m in fake_slack.log.messages(APPROVALS.id) if not m.is_reply]

        noticed_at = r.now()
        await r.apply(announce=notices)
        assert r.mutations() == []  # noticed, not acted on
        [notice] = await posted()
        assert NEVER_SUSPENDS in str(notice.blocks)
        assert "never-suspending-computes" in str(notice.blocks)
        due = noticed_at + timedelta(days=1)
        assert f"not before {due.strftime('%Y-%m-%d %H:%M')} UTC" in str(notice.blocks)
        with sqlite3.connect(tmp_path / "governor.db") as db:
            vias = {via for (via,) in db.execute("SELECT via FROM finding_notices")}
        assert vias == {"slack"}

        r.clock.now += 23 * 3600  # within the grace from the notice
        await r.apply(announce=notices)
        assert r.mutations() == []
        assert len(await posted()) == 1  # noticed once, not again each pass

        r.clock.now += 2 * 3600  # past it
        await r.apply(announce=notices)
        assert [path for method, path, _ in r.mutations() if method == "PATCH"] == [
            f"/projects/{PROJECT_ID}/endpoints/{NEVER_SUSPENDS}"
        ]


def test_cli_apply_posts_its_notices_to_the_slack_webhook_before_any_grace_starts(
    tmp_path: Path,
    fake_slack: FakeSlack,
    served_simulator: Callable[..., tuple[Simulator, str]],
) -> None:
    from typer.testing import CliRunner

    from governor.cli import app
    from tests.remediate.world import PERSONAL_TOKEN, world_data

    simulator, base_url = served_simulator(World.from_dict(world_data()))
    policies = tmp_path / "policies"
    policies.mkdir()
    source = Path("policies/never-suspending-computes.yaml").read_text()
    (policies / "p.yaml").write_text(
        source.replace("  mode: report", '  mode: auto\n  grace: "1d"')
    )
    config = tmp_path / "governor.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "governor.db"}"\n[policies]\npaths = ["{policies}"]\n'
        f'[remediation]\nenabled = true\n[slack]\nwebhook_url = "{fake_slack.webhook_url}"\n'
    )
    result = CliRunner().invoke(
        app,
        ["apply", "--yes", "--config", str(config)],
        env={"NEON_API_URL": base_url, "NEON_API_KEY": PERSONAL_TOKEN},
    )
    assert result.exit_code == 0, result.stderr
    [notice] = fake_slack.log.messages()
    assert NEVER_SUSPENDS in str(notice.blocks)
    assert "not before" in str(notice.blocks)
    assert not [e for e in simulator.logged_requests() if e["method"] != "GET"]
    with sqlite3.connect(tmp_path / "governor.db") as db:
        assert {via for (via,) in db.execute("SELECT via FROM finding_notices")} == {"slack"}
