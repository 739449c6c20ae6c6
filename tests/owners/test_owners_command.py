"""`neon-governor owners`: who owns what from the store (no Neon call after the audit),
as JSON and as text, what matched no rule, the rules that matched nothing, and names
from Neon shown escaped."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from governor.cli import app
from governor.simulator import World
from tests.conftest import ServedSimulator
from tests.simulator.worlds import ORG_TOKEN, SECOND_PROJECT_ID, branch, tiny_world_data

Serve = Callable[..., ServedSimulator]
HOSTILE = "evil\x1b]0;pwned\x07\u202ename"

CONFIG = """\
[store]
path = "governor.db"

[owners]
default = "platform"

[[owners.owner]]
name = "platform"
slack_channel = "C0PLATFORM"

[[owners.owner]]
name = "vercel"
emails = ["web@example.com"]

[[owners.owner]]
name = "data"

[[owners.rule]]
owner = "vercel"
annotations = { "vercel-commit-ref" = "feat/*" }

[[owners.rule]]
owner = "data"
projects = ["second"]

[[owners.rule]]
owner = "data"
projects = ["no-such-project-*"]
"""


def world() -> World:
    data = tiny_world_data()
    tiny = data["organizations"][0]["projects"][0]
    for item in tiny["branches"]:
        if item["id"] == "br-feature-1":
            item["annotations"] = {"vercel-commit-ref": "feat/login"}
    tiny["branches"].append(branch("br-evil-1", tiny["id"], HOSTILE, "br-main-1"))
    return World.from_dict(data)


@pytest.fixture
def cli(tmp_path: Path, served_simulator: Serve) -> Callable[..., Result]:
    simulator, base_url = served_simulator(world())
    config = tmp_path / "governor.toml"
    config.write_text(CONFIG, encoding="utf-8")

    def run(*args: str) -> Result:
        return CliRunner().invoke(
            app,
            [*args, "--config", str(config)],
            env={"NEON_API_URL": base_url, "NEON_API_KEY": ORG_TOKEN},
        )

    run.simulator = simulator  # type: ignore[attr-defined]
    return run


def _owner(data: dict[str, Any], name: str | None) -> dict[str, Any]:
    return next(owner for owner in data["owners"] if owner["name"] == name)


def test_owners_lists_each_owners_resources_and_findings_without_calling_neon(cli: Any) -> None:
    audited = cli("audit")
    assert audited.exit_code in (0, 1), audited.stderr
    before = len(cli.simulator.logged_requests())
    shown = cli("owners", "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert len(cli.simulator.logged_requests()) == before  # the store only
    data = json.loads(shown.stdout)
    vercel = _owner(data, "vercel")
    assert [(r["type"], r["id"], r["rule"]) for r in vercel["resources"]] == [
        ("branch", "br-feature-1", "rule 1")
    ]
    assert vercel["contacts"]["emails"] == ["web@example.com"]
    data_owner = _owner(data, "data")
    ids = {r["id"] for r in data_owner["resources"]}
    assert {SECOND_PROJECT_ID, "br-second-main-1"} <= ids
    assert {r["rule"] for r in data_owner["resources"]} == {"rule 2"}
    platform = _owner(data, "platform")
    assert platform["default"] is True
    assert {r["rule"] for r in platform["resources"]} == {"default"}
    assert {r["id"] for r in data["unmatched"]} == {r["id"] for r in platform["resources"]}
    assert [r["rule"] for r in data["rules_matching_nothing"]] == ["rule 3"]
    assert data["rules_matching_nothing"][0]["conditions"] == {"projects": ["no-such-project-*"]}
    # the stale feature branch's finding counts under its annotation's owner
    assert vercel["findings"] >= 1
    total = sum(owner["findings"] for owner in data["owners"])
    audit_open = json.loads(cli("findings", "--format", "json").stdout)
    assert total == len(audit_open if isinstance(audit_open, list) else audit_open["findings"])


def test_owners_text_says_what_went_to_the_default_and_which_rules_matched_nothing(
    cli: Any,
) -> None:
    cli("audit")
    shown = cli("owners")
    assert shown.exit_code == 0, shown.stderr
    text = shown.stdout
    assert "platform (default owner): " in text
    assert "Matched no rule (went to default platform): " in text
    assert "Rules that matched nothing: 1" in text
    assert '  rule 3 (owner data): {"projects": ["no-such-project-*"]}' in text
    assert "  branch  br-feature-1" in text


def test_names_from_neon_are_escaped_in_the_owners_text(cli: Any) -> None:
    cli("audit")
    text = cli("owners").stdout
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\u202e" not in text
    assert "evil\\x1b]0;pwned\\x07\\u202ename" in text


def test_owners_without_a_store_says_so_and_exits_2(cli: Any) -> None:
    shown = cli("owners")
    assert shown.exit_code == 2
    assert "no store at" in shown.stderr


def test_an_owners_config_error_exits_2_naming_the_key(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "governor.toml").write_text(
        CONFIG.replace('owner = "vercel"', 'owner = "vercle"'), encoding="utf-8"
    )
    shown = cli("owners")
    assert shown.exit_code == 2
    assert "[owners.rule.0.owner] rule 1 names owner 'vercle'" in shown.stderr
