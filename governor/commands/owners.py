"""`neon-governor owners`: who owns what, as ``[owners]`` says, from the store.

No API call: the resources are the latest view the store keeps (the last runs' sweeps),
matched against the config's owner map as it is now, so a rule can be checked before the
next audit. Shows each owner's resources with the rule that gave them, their open
findings and savings, what matched no rule (it went to the default owner) and the rules
that matched nothing (a typo, or a project since deleted).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from governor.commands.common import ConfigOption, DbOption, counted, fail, handled, write_output
from governor.config.owner_checks import rule_label
from governor.config.owners import OwnerContact, OwnerRule
from governor.owners.facts import FactsIndex
from governor.owners.inventory import OwnedResource, OwnersInventory, owners_inventory
from governor.owners.match import OwnerMap
from governor.report.text import printable
from governor.runtime import Runtime
from governor.store import history
from governor.store import resources as resource_rows
from governor.store.records import RunRecord

UNOWNED_LABEL = "(unowned)"


class OwnersFormat(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("owners")(owners)


def owners(
    config_path: ConfigOption = None,
    db: DbOption = None,
    output_format: Annotated[
        OwnersFormat, typer.Option("--format", help="Output format.")
    ] = OwnersFormat.text,
) -> None:
    """Show who owns what ([owners]) and what matched no rule; reads the store only."""
    with handled():
        runtime = Runtime.load(config_path)
        owner_map = runtime.owner_map()
        path = runtime.store_path(db)
        if not path.is_file():
            fail(f"no store at {path}: run `neon-governor audit` first, or pass --db")
        with runtime.open_store(db, read_only=True) as store:
            latest = store.call(history.latest_runs, 1)
            index = FactsIndex.of_resources(store.call(resource_rows.listed))
            findings = store.call(history.findings, "open")
    inventory = owners_inventory(owner_map, index, findings)
    run = latest[0] if latest else None
    if output_format == OwnersFormat.json:
        write_output(json.dumps(owners_json(owner_map, inventory, run), indent=2) + "\n", None)
    else:
        write_output(render_text(owner_map, inventory, run), None)


def _conditions(rule: OwnerRule) -> dict[str, Any]:
    """The conditions a rule gives (empty lists and maps left out)."""
    data = rule.model_dump(exclude={"owner"})
    return {key: value for key, value in data.items() if value}


def _contacts(owner: OwnerContact | None) -> dict[str, Any]:
    """Where the owner reads; never a secret (a Teams URL is only said to be set)."""
    if owner is None:
        return {}
    return {
        "slack_channel": owner.slack_channel,
        "slack_users": list(owner.slack_users),
        "emails": list(owner.emails),
        "webhook": owner.webhook,
        "teams": owner.teams_webhook_env is not None or owner.teams_webhook_file is not None,
        "approve_own": owner.approve_own,
    }


def _resource_json(owned: OwnedResource) -> dict[str, Any]:
    facts = owned.facts
    return {
        "type": facts.resource_type,
        "id": facts.resource_id,
        "name": facts.name,
        "org_id": facts.org_id,
        "project_id": facts.project_id,
        "rule": owned.rule,
    }


def owners_json(
    owner_map: OwnerMap, inventory: OwnersInventory, run: RunRecord | None
) -> dict[str, Any]:
    return {
        "configured": owner_map.configured,
        "default": inventory.default,
        "run": None if run is None else {"id": run.id, "started_at": run.started_at},
        "owners": [
            {
                "name": share.name,
                "default": share.name is not None and share.name == inventory.default,
                "contacts": _contacts(
                    None if share.name is None else owner_map.contact(share.name)
                ),
                "resources": [_resource_json(owned) for owned in share.resources],
                "findings": len(share.findings),
                "monthly_usd": round(share.monthly_usd, 2),
            }
            for share in inventory.shares
        ],
        "unmatched": [_resource_json(owned) for owned in inventory.unmatched],
        "rules_matching_nothing": [
            {
                "rule": rule_label(index),
                "owner": owner_map.rules[index].owner,
                "conditions": _conditions(owner_map.rules[index]),
            }
            for index in inventory.idle_rules
        ],
    }


def _cell(value: object) -> str:
    return "-" if value is None else printable(str(value))


def _resource_lines(resources: list[OwnedResource], *, rule: bool) -> list[str]:
    rows = [
        (
            owned.facts.resource_type,
            _cell(owned.facts.resource_id),
            _cell(owned.facts.name),
            owned.rule,
        )
        for owned in resources
    ]
    if not rows:
        return ["  (none)"]
    width_type = max(len(row[0]) for row in rows)
    width_id = max(len(row[1]) for row in rows)
    width_name = max(len(row[2]) for row in rows)
    lines = []
    for kind, identifier, name, matched in rows:
        line = f"  {kind:<{width_type}}  {identifier:<{width_id}}  "
        line += f"{name:<{width_name}}  {matched}" if rule else name
        lines.append(line.rstrip())
    return lines


def render_text(owner_map: OwnerMap, inventory: OwnersInventory, run: RunRecord | None) -> str:
    if run is None:
        lines = ["No run in the store yet: run `neon-governor audit` first."]
    else:
        lines = [f"Resources as of run {run.id} ({run.started_at[:16].replace('T', ' ')} UTC)."]
    if not owner_map.configured:
        lines.append("No [owners] in the config: every resource is unowned.")
    for share in inventory.shares:
        name = UNOWNED_LABEL if share.name is None else printable(share.name)
        note = (
            " (default owner)" if share.name is not None and share.name == inventory.default else ""
        )
        lines += [
            "",
            f"{name}{note}: {counted(len(share.resources), 'resource')}, "
            f"{counted(len(share.findings), 'open finding')}, "
            f"${share.monthly_usd:,.2f}/month",
            *_resource_lines(share.resources, rule=True),
        ]
    went = (
        f"went to default {printable(inventory.default)}"
        if inventory.default is not None
        else "unowned: no default owner"
    )
    lines += [
        "",
        f"Matched no rule ({went}): {counted(len(inventory.unmatched), 'resource')}",
        *_resource_lines(inventory.unmatched, rule=False),
        "",
        f"Rules that matched nothing: {len(inventory.idle_rules)}",
    ]
    for index in inventory.idle_rules:
        rule = owner_map.rules[index]
        conditions = json.dumps(_conditions(rule), ensure_ascii=False)
        lines.append(
            f"  {rule_label(index)} (owner {printable(rule.owner)}): {printable(conditions)}"
        )
    return "\n".join(lines) + "\n"
