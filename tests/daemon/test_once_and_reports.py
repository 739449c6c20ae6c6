"""``run --once`` as cron runs it, against the simulator and the fake Slack: its report
goes out before it exits, and it counts the remediations of the run it reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from governor.daemon.daemon import Daemon
from governor.exit_codes import ExitCode
from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import REPORTS
from governor.runtime import Runtime
from governor.simulator import Simulator, SimulatorOptions, World
from governor.store import Store, history, remediations
from governor.store import slack as slack_table
from tests.fake_slack.fixtures import fake_slack
from tests.remediate.world import NEVER_SUSPENDS, PERSONAL_TOKEN, world_data

__all__ = ["fake_slack"]
pytestmark = pytest.mark.anyio
FAST = SimulatorOptions(
    requests_per_minute=None, requests_per_second_per_route=None, operation_seconds=(0.01, 0.02)
)
AUTO_SUSPEND = """\
- name: never-suspending
  resource: endpoint
  mode: auto
  filters:
    - suspend_timeout_seconds: -1
  action: {type: set_autosuspend, seconds: 300}
"""


def _config(folder: Path, neon_url: str, slack: FakeSlack, *, remediation: bool) -> Path:
    (folder / "policies.yaml").write_text(AUTO_SUSPEND)
    config = folder / "governor.toml"
    config.write_text(
        f'[neon]\napi_url = "{neon_url}"\napi_key_env = "ONCE_NEON_KEY"\n'
        f'[store]\npath = "{folder / "governor.db"}"\n'
        f'[policies]\npaths = ["{folder / "policies.yaml"}"]\n'
        f"[remediation]\nenabled = {str(remediation).lower()}\n"
        f'[slack]\nchannel = "{REPORTS.id}"\napi_url = "{slack.base_url}"\n'
        '[daemon]\njitter = "0s"\n[metrics]\nlisten = ""\n[log]\nformat = "text"\n'
    )
    return config


async def _once(
    tmp_path: Path,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    served_simulator: Callable[..., tuple[Simulator, str]],
    *,
    remediation: bool,
) -> ExitCode:
    _, neon_url = served_simulator(World.from_dict(world_data()), FAST)
    config = _config(tmp_path, neon_url, fake_slack, remediation=remediation)
    monkeypatch.setenv("ONCE_NEON_KEY", PERSONAL_TOKEN)
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.bot_token)
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)
    return await Daemon(Runtime.load(config)).run(once=True)


def _reports(fake_slack: FakeSlack) -> list[str]:
    return [
        message.text
        for message in fake_slack.log.messages(REPORTS.id)
        if not message.is_reply and "governance report" in message.text.lower()
    ]


async def test_run_once_delivers_its_report_before_it_exits(
    tmp_path: Path,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    served_simulator: Callable[..., tuple[Simulator, str]],
) -> None:
    code = await _once(tmp_path, fake_slack, monkeypatch, served_simulator, remediation=False)

    assert code == ExitCode.OK
    assert len(_reports(fake_slack)) == 1  # posted, not left pending in the outbox
    with Store.open(tmp_path / "governor.db") as store:
        assert [m.state for m in store.call(slack_table.outbox) if m.state == "pending"] == []


async def test_the_report_counts_the_remediations_of_the_run_it_reports(
    tmp_path: Path,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    served_simulator: Callable[..., tuple[Simulator, str]],
) -> None:
    code = await _once(tmp_path, fake_slack, monkeypatch, served_simulator, remediation=True)

    assert code == ExitCode.OK
    with Store.open(tmp_path / "governor.db") as store:
        [done] = store.call(remediations.listed, states=["succeeded"])
        [queued] = [
            m for m in store.call(slack_table.outbox, ref=f"run:{done.run_id}") if m.kind == "post"
        ]
    assert done.resource_id == NEVER_SUSPENDS
    assert "remediations 1 done, 0 failed" in queued.payload["text"], queued.payload["text"]


@pytest.mark.parametrize(("setting", "reports"), [("", 1), ('report = "always"\n', 2)])
async def test_the_daemon_does_not_report_a_run_that_changed_nothing_unless_told_always(
    tmp_path: Path,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    served_simulator: Callable[..., tuple[Simulator, str]],
    *,
    setting: str,
    reports: int,
) -> None:
    _, neon_url = served_simulator(World.from_dict(world_data()), FAST)
    config = _config(tmp_path, neon_url, fake_slack, remediation=False)
    config.write_text(config.read_text().replace("[slack]\n", f"[slack]\n{setting}"))
    monkeypatch.setenv("ONCE_NEON_KEY", PERSONAL_TOKEN)
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.bot_token)
    today = datetime.now(UTC)
    for now in (today, today + timedelta(days=1)):  # the second run is due, finds the same
        runtime = Runtime.load(config, clock=lambda now=now: now)
        assert await Daemon(runtime, clock=runtime.clock).run(once=True) == ExitCode.OK

    with Store.open(tmp_path / "governor.db") as store:
        assert len(store.call(history.latest_runs)) == 2
    assert len(_reports(fake_slack)) == reports
