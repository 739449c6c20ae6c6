"""The README's policy table and the engine agree: every shipped policy is a row with its
resource, action and mode, and every field a shipped policy reads is named in its row and
known to ``policies validate`` (the field registry) for that resource."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from governor.policy import Policy, load_policies, shipped_policies_path
from governor.policy.fields import known_fields
from governor.policy.filters import AllOf, AnyOf, Condition, Filter, Not

README = Path(__file__).resolve().parents[2] / "README.md"
_CODE = re.compile(r"`([^`]+)`")
_NAME = re.compile(r"^[a-z_][a-z0-9_.]*$")


def table_rows() -> dict[str, list[str]]:
    """The policy table's rows by policy name: resource, selects, action, mode."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Policies") :]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


def written_values(node: Filter) -> set[str]:
    """The string values the filters compare with (``read_only``, ``archived``, ...)."""
    if isinstance(node, Condition):
        values = node.written if isinstance(node.written, list) else [node.written]
        return {value for value in values if isinstance(value, str)}
    if isinstance(node, Not):
        return written_values(node.child)
    assert isinstance(node, AllOf | AnyOf)
    return set().union(*(written_values(child) for child in node.children))


@pytest.fixture(scope="module")
def shipped() -> list[Policy]:
    return load_policies([shipped_policies_path()])


def test_every_shipped_policy_is_a_row_of_the_readme_table(shipped: list[Policy]) -> None:
    assert sorted(table_rows()) == sorted(policy.name for policy in shipped)


def test_each_row_says_the_policy_s_resource_action_and_mode(shipped: list[Policy]) -> None:
    rows = table_rows()
    for policy in shipped:
        resource, _selects, action, mode = rows[policy.name]
        assert resource == policy.resource, policy.name
        assert _CODE.findall(action)[0] == policy.action.type, policy.name
        assert mode == f"`{policy.mode}`", policy.name


def test_every_field_a_shipped_policy_reads_is_named_in_its_row(shipped: list[Policy]) -> None:
    rows = table_rows()
    for policy in shipped:
        named = set(_CODE.findall(rows[policy.name][1]))
        missing = [field for field in policy.named_fields if field not in named]
        assert not missing, f"{policy.name}: README row does not name {missing}"


def test_every_field_the_table_names_is_known_for_its_resource(shipped: list[Policy]) -> None:
    rows = table_rows()
    by_name: dict[str, Any] = {policy.name: policy for policy in shipped}
    for name, (resource, selects, _action, _mode) in rows.items():
        policy = by_name[name]
        values = written_values(policy.filters)
        for token in _CODE.findall(selects):
            if not _NAME.match(token) or token in values:
                continue  # a value the filters compare with, or a name pattern
            assert token.split(".")[0] in known_fields(policy.resource), (
                f"{name}: README names {token!r}, which policies validate does not know for "
                f"{resource}"
            )
