"""Who owns what: rule order, AND within a rule, OR within a list, annotations, key
creators, the default owner, and the owners file with errors naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from governor.config import ConfigError, parse_config
from governor.config.owners import OwnerContact, OwnerRule, OwnersSettings
from governor.owners.facts import ResourceFacts
from governor.owners.match import Match, OwnerMap


def owners(*names: str) -> list[OwnerContact]:
    return [OwnerContact(name=name) for name in names]


def branch(name: str = "main", project: str = "shop", **more: object) -> ResourceFacts:
    values: dict[str, object] = {
        "resource_type": "branch",
        "resource_id": "br-1",
        "org_id": "org-1",
        "project_id": "prj-1",
        "project_name": project,
        "branch_name": name,
    }
    values.update(more)
    return ResourceFacts(**values)  # type: ignore[arg-type]


def test_the_first_matching_rule_names_the_owner_even_when_a_later_one_matches_too() -> None:
    rules = [
        OwnerRule(owner="web", projects=["shop*"]),
        OwnerRule(owner="data", projects=["prj-1"]),
    ]
    owner_map = OwnerMap(owners("web", "data"), rules)
    assert owner_map.owner_of(branch()) == Match("web", "rule 1")
    reordered = OwnerMap(owners("web", "data"), list(reversed(rules)))
    assert reordered.owner_of(branch()) == Match("data", "rule 1")


def test_every_condition_of_a_rule_must_hold_and_any_entry_of_a_list_may() -> None:
    rule = OwnerRule(owner="web", projects=["nope", "shop"], branches=["preview/*", "dev"])
    owner_map = OwnerMap(owners("web"), [rule])
    assert owner_map.owner_of(branch("dev")).owner == "web"  # second entry of each list
    assert owner_map.owner_of(branch("preview/pr-1")).owner == "web"
    assert owner_map.owner_of(branch("main")).owner is None  # project holds, branch not
    assert owner_map.owner_of(branch("dev", project="other")).owner is None


def test_projects_match_by_exact_id_or_case_sensitive_name_glob() -> None:
    owner_map = OwnerMap(owners("web"), [OwnerRule(owner="web", projects=["Shop-*", "prj-9"])])
    assert owner_map.owner_of(branch(project="Shop-eu")).owner == "web"
    assert owner_map.owner_of(branch(project="shop-eu")).owner is None  # case-sensitive
    assert owner_map.owner_of(branch(project="x", project_id="prj-9")).owner == "web"
    assert owner_map.owner_of(branch(project="x", project_id="prj-99")).owner is None


def test_a_rule_on_branch_names_does_not_match_a_project_or_a_key() -> None:
    owner_map = OwnerMap(owners("web"), [OwnerRule(owner="web", branches=["*"])])
    project = ResourceFacts("project", "prj-1", project_id="prj-1", project_name="shop")
    assert owner_map.owner_of(project) == Match(None, "none")
    assert owner_map.owner_of(branch()).owner == "web"


def test_annotations_match_every_key_given_by_value_glob() -> None:
    rule = OwnerRule(owner="vercel", annotations={"vercel-commit-ref": "feat/*", "team": "web"})
    owner_map = OwnerMap(owners("vercel"), [rule])
    both = {"vercel-commit-ref": "feat/login", "team": "web"}
    assert owner_map.owner_of(branch(annotations=both)).owner == "vercel"
    one = {"vercel-commit-ref": "feat/login"}
    assert owner_map.owner_of(branch(annotations=one)).owner is None
    wrong = {"vercel-commit-ref": "main", "team": "web"}
    assert owner_map.owner_of(branch(annotations=wrong)).owner is None


def test_creation_sources_route_integration_branches() -> None:
    owner_map = OwnerMap(owners("ci"), [OwnerRule(owner="ci", creation_sources=["github*"])])
    assert owner_map.owner_of(branch(creation_source="github-actions")).owner == "ci"
    assert owner_map.owner_of(branch(creation_source="console")).owner is None
    assert owner_map.owner_of(branch()).owner is None  # unknown source


def test_an_api_key_belongs_to_the_owner_of_its_creator() -> None:
    rule = OwnerRule(owner="alice", key_creators=["user-a"])
    owner_map = OwnerMap(owners("alice", "platform"), [rule], default="platform")
    key = ResourceFacts("api_key", "2001", org_id="org-1", key_creator="user-a")
    other = ResourceFacts("api_key", "2002", org_id="org-1", key_creator="user-b")
    assert owner_map.owner_of(key) == Match("alice", "rule 1")
    assert owner_map.owner_of(other) == Match("platform", "default")


def test_an_organization_rule_covers_every_resource_in_it() -> None:
    owner_map = OwnerMap(owners("acme"), [OwnerRule(owner="acme", organizations=["org-1"])])
    assert owner_map.owner_of(ResourceFacts("organization", "org-1", org_id="org-1")).owner == (
        "acme"
    )
    assert owner_map.owner_of(branch()).owner == "acme"
    assert owner_map.owner_of(branch(org_id="org-2")).owner is None


def test_a_resource_no_rule_matches_goes_to_the_default_owner() -> None:
    owner_map = OwnerMap(
        owners("web", "platform"), [OwnerRule(owner="web", branches=["x"])], "platform"
    )
    assert owner_map.owner_of(branch()) == Match("platform", "default")
    assert OwnerMap().owner_of(branch()) == Match(None, "none")
    assert not OwnerMap().configured


CONFIG = """\
[owners]
default = "platform"

[[owners.owner]]
name = "platform"

[[owners.rule]]
owner = "web"
projects = ["shop*"]
"""


def test_a_rule_naming_an_unknown_owner_is_a_config_error_with_line_and_key() -> None:
    import tomllib

    with pytest.raises(ConfigError) as raised:
        parse_config(tomllib.loads(CONFIG), text=CONFIG, source="governor.toml")
    assert str(raised.value) == (
        "governor.toml:8: [owners.rule.0.owner] rule 1 names owner 'web', which is not "
        "defined (owners: platform)"
    )


def test_an_unknown_default_and_a_repeated_owner_are_config_errors() -> None:
    data = {
        "owners": {
            "default": "nobody",
            "owner": [{"name": "web"}, {"name": "web"}],
        }
    }
    with pytest.raises(ConfigError) as raised:
        parse_config(data, source="c.toml")
    text = str(raised.value)
    assert "[owners.owner.1.name] owner 'web' is defined twice" in text
    assert "[owners.default] default owner 'nobody' is not defined (owners: web)" in text


def test_an_owner_webhook_must_name_a_webhooks_entry() -> None:
    data = {"owners": {"owner": [{"name": "ops", "webhook": "tickets"}]}}
    with pytest.raises(ConfigError, match=r"\[owners.owner.0.webhook\] owner 'ops' names "):
        parse_config(data, source="c.toml")


OWNERS_FILE = """\
default = "platform"

[[owner]]
name = "platform"
slack_channel = "C0PLATFORM"

[[owner]]
name = "web"
emails = ["web@example.com"]

[[rule]]
owner = "web"
branches = ["preview/*"]
"""


def test_an_owners_file_is_read_relative_to_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "owners.toml").write_text(OWNERS_FILE, encoding="utf-8")
    owner_map = OwnerMap.from_settings(OwnersSettings(file="owners.toml"), tmp_path)
    assert [owner.name for owner in owner_map.owners] == ["platform", "web"]
    assert owner_map.owner_of(branch("preview/pr-7")) == Match("web", "rule 1")
    assert owner_map.owner_of(branch("main")) == Match("platform", "default")
    contact = owner_map.contact("web")
    assert contact is not None
    assert contact.emails == ["web@example.com"]


def test_an_owners_file_error_names_the_file_the_line_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "owners.toml"
    path.write_text(OWNERS_FILE.replace('owner = "web"', 'owner = "wbe"'), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        OwnerMap.from_settings(OwnersSettings(file="owners.toml"), tmp_path)
    assert str(raised.value) == (
        f"{path}:12: [rule.0.owner] rule 1 names owner 'wbe', which is not defined "
        "(owners: platform, web)"
    )
    path.write_text(OWNERS_FILE + 'colour = "red"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"owners\.toml:14: \[rule\.0\.colour\] unknown key"):
        OwnerMap.from_settings(OwnersSettings(file="owners.toml"), tmp_path)


def test_a_missing_owners_file_and_bad_toml_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.toml: cannot read owners file"):
        OwnerMap.from_settings(OwnersSettings(file="absent.toml"), tmp_path)
    (tmp_path / "bad.toml").write_text("[[owner]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: invalid TOML"):
        OwnerMap.from_settings(OwnersSettings(file="bad.toml"), tmp_path)


def test_an_owners_file_webhook_is_checked_against_the_configs_webhooks(tmp_path: Path) -> None:
    (tmp_path / "o.toml").write_text('[[owner]]\nname = "ops"\nwebhook = "jira"\n', "utf-8")
    settings = OwnersSettings(file="o.toml")
    assert OwnerMap.from_settings(settings, tmp_path, webhooks=["jira"]).contact("ops")
    with pytest.raises(ConfigError, match=r"o\.toml:3: \[owner\.0\.webhook\] owner 'ops'"):
        OwnerMap.from_settings(settings, tmp_path, webhooks=["tickets"])


def test_owners_in_the_config_and_a_file_at_once_is_a_config_error() -> None:
    data = {"owners": {"file": "o.toml", "owner": [{"name": "web"}]}}
    with pytest.raises(ConfigError, match=r"\[owners.file\] set \[\[owners.owner\]\]"):
        parse_config(data, source="c.toml")


def test_config_check_reads_the_owners_file_and_names_its_problem(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from governor.cli import app

    (tmp_path / "owners.toml").write_text('[[rule]]\nowner = "ghost"\n', encoding="utf-8")
    config = tmp_path / "governor.toml"
    config.write_text('[owners]\nfile = "owners.toml"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "check", "--offline", "--config", str(config)])
    assert result.exit_code == 2
    assert f"{tmp_path / 'owners.toml'}:2: [rule.0.owner] rule 1 names owner 'ghost'" in (
        result.stderr
    )


def test_a_snapshot_and_a_compute_are_owned_through_their_project_and_branch() -> None:
    from datetime import UTC, datetime

    from governor.model.snapshot import Snapshot
    from governor.neon.models import Branch, Endpoint, Project, ProjectSnapshot
    from governor.owners.facts import FactsIndex

    swept = Snapshot(
        taken_at=datetime(2026, 11, 27, tzinfo=UTC),
        projects=[Project.from_api({"id": "prj-1", "name": "shop-eu", "org_id": "org-1"})],
        branches=[Branch.from_api({"id": "br-1", "project_id": "prj-1", "name": "preview/1"})],
        endpoints=[
            Endpoint.from_api(
                {
                    "id": "ep-1",
                    "project_id": "prj-1",
                    "branch_id": "br-1",
                    "autoscaling_limit_min_cu": 0.25,
                    "autoscaling_limit_max_cu": 1,
                }
            )
        ],
        snapshots=[ProjectSnapshot.in_project("prj-1", {"id": "snap-1", "name": "nightly"})],
    )
    index = FactsIndex.of_snapshot(swept)
    rules = [
        OwnerRule(owner="web", branches=["preview/*"]),
        OwnerRule(owner="data", projects=["shop-*"]),
    ]
    owner_map = OwnerMap(owners("web", "data"), rules)
    assert owner_map.owner_of(index.facts("endpoint", "ep-1")) == Match("web", "rule 1")
    snapshot_facts = index.facts("snapshot", "snap-1")
    assert (snapshot_facts.project_name, snapshot_facts.org_id) == ("shop-eu", "org-1")
    assert owner_map.owner_of(snapshot_facts) == Match("data", "rule 2")


@pytest.mark.anyio
async def test_the_daemon_refuses_to_start_with_a_broken_owners_file(tmp_path: Path) -> None:
    from governor.daemon.daemon import Daemon
    from governor.runtime import Runtime

    (tmp_path / "owners.toml").write_text('[[rule]]\nowner = "ghost"\n', encoding="utf-8")
    config = tmp_path / "governor.toml"
    config.write_text('[owners]\nfile = "owners.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"owners\.toml:2: \[rule\.0\.owner\]"):
        await Daemon(Runtime.load(config)).run(once=True)
    assert not (tmp_path / "governor.db").exists()  # stopped before opening anything
