"""The field catalog (used to catch typos in filters) agrees with Neon's OpenAPI definition."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from governor.policy.fields import API_FIELDS, DERIVED_FIELDS

SPEC = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "neon-openapi"
    / "openAPIDefinition.json"
)
SCHEMAS = {
    "project": ("Project", "ProjectListItem"),
    "branch": ("Branch",),
    "endpoint": ("Endpoint",),
    "api_key": ("ApiKeysListResponseItem", "OrgApiKeysListResponseItem"),
    "organization": ("Organization",),
    "snapshot": ("Snapshot",),
}


def _properties(schemas: dict[str, Any], name: str) -> set[str]:
    schema = schemas[name]
    found = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        if "$ref" in part:
            found |= _properties(schemas, part["$ref"].rsplit("/", 1)[-1])
        found |= set(part.get("properties", {}))
    return found


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip("the Neon OpenAPI definition is not checked out next to the repository")
    return json.loads(SPEC.read_text(encoding="utf-8"))["components"]["schemas"]


@pytest.mark.spec
@pytest.mark.parametrize("resource", sorted(SCHEMAS))
def test_every_api_field_in_the_spec_is_known(schemas: dict[str, Any], resource: str) -> None:
    spec_fields = set().union(*(_properties(schemas, name) for name in SCHEMAS[resource]))
    assert spec_fields <= API_FIELDS[resource]


@pytest.mark.spec
@pytest.mark.parametrize("resource", sorted(SCHEMAS))
def test_derived_fields_do_not_shadow_api_fields_by_accident(
    schemas: dict[str, Any], resource: str
) -> None:
    spec_fields = set().union(*(_properties(schemas, name) for name in SCHEMAS[resource]))
    shadowed = set(DERIVED_FIELDS[resource]) & spec_fields
    # a project's org_id is the API's own; the derived one is the same value. An
    # organization's plan is its billing plan id: the API's name cannot tell a legacy plan
    # from a usage-based one (governor.savings.billing_plan)
    assert shadowed <= {"org_id", "plan"}
    if "plan" in shadowed:
        assert resource == "organization"
