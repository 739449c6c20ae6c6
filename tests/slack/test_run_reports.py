"""What a run's report and its notices say in Slack (issue 17: F6, red-team 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import APPROVALS
from governor.remediate.session import apply_plan, plan_for
from tests.remediate.harness import rig
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
        done = [x.run_id for x in await r.store.remediations.list() if x.state == "succeeded"]
        first, second = done.count(run_ids[0]), done.count(run_ids[1])
        assert first > second, "the first run fixed most"
        assert f"*Remediations*\\n{first} done" in texts[0]
        # F6: the second report said the total of both runs
        assert f"*Remediations*\\n{second} done" in texts[1]
