"""``neon-governor keep``: the CLI keeps a resource the way Slack's Keep does.

Before: only Slack could keep (the decision lived in slack/interactions.py and
slack/service.py); an operator without Slack had to reject and hope the evidence changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from governor.cli import app
from governor.simulator import Simulator, World
from tests.remediate.test_commands import FAST
from tests.remediate.world import NEVER_SUSPENDS, PERSONAL_TOKEN, world_data


@pytest.fixture
def cli(
    tmp_path: Path, served_simulator: Callable[..., tuple[Simulator, str]]
) -> Callable[..., Result]:
    """The shipped policies in ``mode: approve``, remediation enabled."""
    simulator, base_url = served_simulator(World.from_dict(world_data()), FAST)
    folder = tmp_path / "policies"
    folder.mkdir()
    for source in sorted(Path("policies").glob("*.yaml")):
        text = source.read_text().replace("mode: report", "mode: approve")
        text = "\n".join(line for line in text.splitlines() if not line.startswith("  grace:"))
        (folder / source.name).write_text(text + "\n")
    config = tmp_path / "governor.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "governor.db"}"\n'
        f'[policies]\npaths = ["{folder}"]\n[remediation]\nenabled = true\n'
    )

    def run(*args: str) -> Result:
        return CliRunner().invoke(
            app,
            [*args, "--config", str(config)],
            env={"NEON_API_URL": base_url, "NEON_API_KEY": PERSONAL_TOKEN},
        )

    run.simulator = simulator  # type: ignore[attr-defined]
    return run


def _rows(cli: Any) -> list[dict[str, Any]]:
    return list(json.loads(cli("remediations", "--format", "json").stdout)["remediations"])


def test_cli_keep_turns_down_the_pending_request_and_the_next_plan_leaves_the_resource(
    cli: Any,
) -> None:
    assert cli("apply", "--yes").exit_code == 0
    pending = next(r for r in _rows(cli) if r["resource_id"] == NEVER_SUSPENDS)
    assert pending["state"] == "awaiting_approval"

    kept = cli("keep", "endpoint", NEVER_SUSPENDS, "--for", "30d", "--reason", "demo day")
    assert kept.exit_code == 0, kept.stderr
    assert f"Kept endpoint {NEVER_SUSPENDS} until" in kept.stdout
    assert f"#{pending['id']} rejected by cli:" in kept.stdout
    row = next(r for r in _rows(cli) if r["id"] == pending["id"])
    assert row["state"] == "rejected"

    assert cli("apply", "--yes").exit_code == 0  # asks nothing again while it is kept
    again = [r for r in _rows(cli) if r["resource_id"] == NEVER_SUSPENDS]
    assert [r["id"] for r in again] == [pending["id"]]
    sent = [e for e in cli.simulator.logged_requests() if e["method"] != "GET"]
    assert sent == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("bucket", "b-1", "--for", "30d"), "cannot keep a 'bucket'"),
        (("endpoint", "ep-nowhere-1", "--for", "30d"), "no endpoint ep-nowhere-1 in the store"),
        (("endpoint", NEVER_SUSPENDS, "--for", "soon"), "--for 'soon' is neither a duration"),
    ],
)
def test_cli_keep_refuses_what_it_cannot_keep_in_one_line(
    cli: Any, args: tuple[str, ...], says: str
) -> None:
    assert cli("audit").exit_code in (0, 1)
    result = cli("keep", *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
