"""`neon-governor doctor` against the simulator: good, refused and missing keys, scopes,
store and policies; exit 0 when all is well, 1 when something is to fix, 2 for a bad config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import OUTSIDE, REPORTS
from governor.simulator import World
from tests.conftest import ServedSimulator
from tests.fake_slack.fixtures import fake_slack
from tests.simulator.worlds import (
    ORG_TOKEN,
    OTHER_ORG_ID,
    PERSONAL_TOKEN,
    PROJECT_TOKEN,
    TINY_ORG_ID,
    tiny_world_data,
)

__all__ = ["fake_slack"]
runner = CliRunner()


@pytest.fixture
def base_url(served_simulator: Callable[..., ServedSimulator]) -> str:
    return served_simulator(World.from_dict(tiny_world_data()))[1]


def config(folder: Path, extra: str = "") -> Path:
    path = folder / "governor.toml"
    path.write_text(f'[store]\npath = "{folder / "governor.db"}"\n{extra}')
    return path


def doctor(cfg: Path, base_url: str, key: str | None, **env: str | None) -> Any:
    return runner.invoke(
        app,
        ["doctor", "--config", str(cfg)],
        env={"NEON_API_URL": base_url, "NEON_API_KEY": key, "CREDENTIALS_DIRECTORY": None, **env},
    )


def line(output: str, name: str) -> str:
    (found,) = [row for row in output.splitlines() if row.split()[1:2] == [name]]
    return found


def test_a_good_personal_key_passes_every_check(tmp_path: Path, base_url: str) -> None:
    result = doctor(config(tmp_path), base_url, PERSONAL_TOKEN)
    assert result.exit_code == 0, result.stdout
    out = result.stdout
    assert line(out, "config").startswith("ok")
    assert line(out, "key").startswith("ok")
    assert "environment variable NEON_API_KEY" in line(out, "key")
    assert line(out, "accepted").startswith("ok")
    assert "auth method api_key_user" in line(out, "accepted")
    assert "personal key: can read" in line(out, "scope")
    assert f"2 visible: {TINY_ORG_ID}, {OTHER_ORG_ID}" in line(out, "organizations")
    assert line(out, "store").startswith("ok")
    assert "not created yet" in line(out, "store")
    assert line(out, "policies").startswith("ok")
    assert line(out, "slack").startswith("skip")
    assert line(out, "credentials").startswith("skip")
    assert out.rstrip().endswith("all checks passed")
    assert PERSONAL_TOKEN not in out
    assert not (tmp_path / "governor.db").exists()  # doctor creates nothing


def test_a_refused_key_names_what_is_wrong(tmp_path: Path, base_url: str) -> None:
    result = doctor(config(tmp_path), base_url, "not-a-key-neon-knows")
    assert result.exit_code == 1
    accepted = line(result.stdout, "accepted")
    assert accepted.startswith("FAIL")
    assert "refused the key: HTTP 401" in accepted
    assert "fix: the key in environment variable NEON_API_KEY is wrong, revoked" in result.stdout
    assert "not-a-key-neon-knows" not in result.stdout
    assert "1 check(s) failed" in result.stdout


def test_a_missing_key_says_where_it_looked(tmp_path: Path, base_url: str) -> None:
    result = doctor(config(tmp_path), base_url, None)
    assert result.exit_code == 1
    key = line(result.stdout, "key")
    assert key.startswith("FAIL")
    assert "environment variable NEON_API_KEY is not set" in key
    assert "fix: export NEON_API_KEY=<a Neon API key>" in result.stdout
    assert line(result.stdout, "neon").startswith("skip")


def test_an_organization_key_and_what_it_cannot_do(tmp_path: Path, base_url: str) -> None:
    result = doctor(config(tmp_path), base_url, ORG_TOKEN)
    assert result.exit_code == 0, result.stdout
    scope = line(result.stdout, "scope")
    assert "organization key" in scope
    assert "cannot see other organizations or personal API keys" in scope
    assert f"1 visible: {TINY_ORG_ID}" in line(result.stdout, "organizations")


def test_a_project_key_cannot_list_organization_keys(tmp_path: Path, base_url: str) -> None:
    result = doctor(config(tmp_path), base_url, PROJECT_TOKEN)
    assert result.exit_code == 0, result.stdout
    assert "a project-scoped key cannot list organizations" in line(result.stdout, "scope")
    assert line(result.stdout, "organizations").startswith("skip")


def test_a_configured_organization_the_key_cannot_see_fails(tmp_path: Path, base_url: str) -> None:
    cfg = config(tmp_path, f'\n[neon]\norganizations = ["{OTHER_ORG_ID}"]\n')
    result = doctor(cfg, base_url, ORG_TOKEN)
    assert result.exit_code == 1
    organizations = line(result.stdout, "organizations")
    assert organizations.startswith("FAIL")
    assert f"configured but not visible to this key: {OTHER_ORG_ID}" in organizations


def test_store_policies_and_credentials_problems_are_each_named(
    tmp_path: Path, base_url: str
) -> None:
    (tmp_path / "creds").mkdir()
    (tmp_path / "bad.yaml").write_text("- name: broken\n  resource: nonsense\n")
    cfg = tmp_path / "governor.toml"
    cfg.write_text(
        f'[neon]\napi_key_file = "neon-api-key"\n'
        f'[store]\npath = "{tmp_path / "missing-folder" / "governor.db"}"\n'
        f'[policies]\npaths = ["bad.yaml"]\n'
    )
    result = doctor(cfg, base_url, None, CREDENTIALS_DIRECTORY=str(tmp_path / "creds"))
    assert result.exit_code == 1
    out = result.stdout
    assert line(out, "key").startswith("FAIL")
    assert "does not exist" in line(out, "store")
    assert line(out, "policies").startswith("FAIL")
    assert "bad.yaml" in line(out, "policies")
    credentials = line(out, "credentials")
    assert credentials.startswith("FAIL")
    assert "not readable in" in credentials
    assert "neon-api-key" in credentials


def test_a_systemd_credential_key_is_found_and_used(tmp_path: Path, base_url: str) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "neon-api-key").write_text(PERSONAL_TOKEN + "\n")
    cfg = config(tmp_path, '[neon]\napi_key_file = "neon-api-key"\n')
    result = doctor(cfg, base_url, None, CREDENTIALS_DIRECTORY=str(creds))
    assert result.exit_code == 0, result.stdout
    assert "file or credential 'neon-api-key'" in line(result.stdout, "key")
    assert line(result.stdout, "credentials").startswith("ok")


def test_an_existing_store_reports_its_schema(tmp_path: Path, base_url: str) -> None:
    from governor.store import Store

    Store.open(tmp_path / "governor.db").close()
    result = doctor(config(tmp_path), base_url, PERSONAL_TOKEN)
    assert "writable, schema current" in line(result.stdout, "store")


def test_a_config_that_cannot_load_is_exit_2(tmp_path: Path, base_url: str) -> None:
    cfg = tmp_path / "governor.toml"
    cfg.write_text("[neon]\nrequests_per_minut = 5\n")
    result = doctor(cfg, base_url, PERSONAL_TOKEN)
    assert result.exit_code == 2
    assert f"{cfg}:2: [neon.requests_per_minut] unknown key" in result.stderr


def slack_config(folder: Path, slack: FakeSlack, channel: str, extra: str = "") -> Path:
    return config(folder, f'[slack]\nchannel = "{channel}"\napi_url = "{slack.base_url}"\n{extra}')


def test_doctor_checks_the_slack_tokens_and_the_channel_for_real(
    tmp_path: Path, base_url: str, fake_slack: FakeSlack
) -> None:
    cfg = slack_config(tmp_path, fake_slack, REPORTS.id)
    tokens = {"SLACK_BOT_TOKEN": fake_slack.bot_token, "SLACK_APP_TOKEN": fake_slack.app_token}
    result = doctor(cfg, base_url, PERSONAL_TOKEN, **tokens)
    assert result.exit_code == 0, result.stdout
    assert line(result.stdout, "slack").startswith("ok")
    assert "bot token accepted" in line(result.stdout, "slack")
    assert line(result.stdout, "slack-channel").startswith("ok")
    assert f"channel {REPORTS.id}: the bot is a member" in line(result.stdout, "slack-channel")
    assert line(result.stdout, "slack-app").startswith("ok")
    assert {call.method for call in fake_slack.log.calls()} >= {
        "auth.test",
        "conversations.info",
        "apps.connections.open",
    }
    assert not fake_slack.log.messages()  # nothing posted
    assert fake_slack.bot_token not in result.stdout
    assert fake_slack.app_token not in result.stdout


def test_doctor_fails_a_slack_bot_token_slack_refuses(
    tmp_path: Path, base_url: str, fake_slack: FakeSlack
) -> None:
    cfg = slack_config(tmp_path, fake_slack, REPORTS.id)
    result = doctor(
        cfg, base_url, PERSONAL_TOKEN, SLACK_BOT_TOKEN="xoxb-wrong", SLACK_APP_TOKEN=None
    )
    assert result.exit_code == 1
    assert line(result.stdout, "slack").startswith("FAIL")
    assert "Slack refused the bot token: invalid_auth" in line(result.stdout, "slack")
    assert "xoxb-wrong" not in result.stdout


def test_doctor_fails_a_channel_the_bot_is_not_in_and_skips_a_missing_app_token(
    tmp_path: Path, base_url: str, fake_slack: FakeSlack
) -> None:
    cfg = slack_config(tmp_path, fake_slack, OUTSIDE.id)
    result = doctor(
        cfg, base_url, PERSONAL_TOKEN, SLACK_BOT_TOKEN=fake_slack.bot_token, SLACK_APP_TOKEN=None
    )
    assert result.exit_code == 1
    channel = line(result.stdout, "slack-channel")
    assert channel.startswith("FAIL")
    assert f"channel {OUTSIDE.id}: the bot is not a member" in channel
    assert "fix: invite it: /invite @" in result.stdout
    assert line(result.stdout, "slack-app").startswith("skip")
    assert "approval buttons and /neon-governor are off" in line(result.stdout, "slack-app")


def test_doctor_checks_the_bot_is_in_the_approvals_channel_too(
    tmp_path: Path, base_url: str, fake_slack: FakeSlack
) -> None:
    """Approval requests go to approvals_channel: a bot outside it posts none of them,
    while the reports channel alone looked fine."""
    cfg = slack_config(
        tmp_path,
        fake_slack,
        REPORTS.id,
        f'approvals_channel = "{OUTSIDE.id}"\napprovers = ["U0ALICE001"]\n',
    )
    tokens = {"SLACK_BOT_TOKEN": fake_slack.bot_token, "SLACK_APP_TOKEN": fake_slack.app_token}
    result = doctor(cfg, base_url, PERSONAL_TOKEN, **tokens)

    assert result.exit_code == 1, result.stdout
    rows = [row for row in result.stdout.splitlines() if row.split()[1:2] == ["slack-channel"]]
    assert rows[0].startswith("ok")
    assert f"channel {REPORTS.id}: the bot is a member" in rows[0]
    assert rows[1].startswith("FAIL")
    assert f"approvals_channel {OUTSIDE.id}: the bot is not a member" in rows[1]
    assert "later release" not in result.stdout
