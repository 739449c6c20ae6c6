"""The policy model: what one entry of a policy file may say, checked strictly.

Unknown keys are rejected and values are not coerced (``seconds: "300"`` is an error), so a
file means exactly what it says. Filters are parsed by ``governor.policy.filters``; when the
loader passes a ``filter_problems`` list in the validation context, filter problems are
collected there with their exact paths instead of being raised here.
"""

from __future__ import annotations

import fnmatch
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from governor.model.actions import Action, NoAction, ResizeAction
from governor.model.findings import Mode, Severity
from governor.model.snapshot import ResourceType
from governor.policy.fields import likely_typo
from governor.policy.filters import (
    FIELD_PATTERN,
    AllOf,
    AnyOf,
    Condition,
    Filter,
    Not,
    filter_fields,
    parse_filter,
    render_filter,
)
from governor.policy.value_types import Duration, Schedule, WindowText
from governor.policy.window import Window, parse_window
from governor.rules.compute import size_problems

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
FILTER_PROBLEMS = "filter_problems"  # validation-context key, see the module docstring
FILTER_SCHEMA_MARK = "x-filter"


def _filters(value: Any, info: ValidationInfo) -> Filter:
    if isinstance(value, Condition | AllOf | AnyOf | Not):
        return value
    resource = info.data.get("resource")
    parsed, problems = parse_filter(value, resource=resource)
    if not problems:
        return parsed
    collector = info.context.get(FILTER_PROBLEMS) if isinstance(info.context, dict) else None
    if isinstance(collector, list):
        collector.extend(problems)
        return parsed
    raise ValueError(
        "; ".join(
            ".".join(str(part) for part in ("filters", *problem.path)) + f": {problem.message}"
            for problem in problems
        )
    )


Filters = Annotated[
    Filter,
    PlainValidator(_filters),
    PlainSerializer(render_filter),
    WithJsonSchema({FILTER_SCHEMA_MARK: True}),  # json_schema.py puts the $ref here
]


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    max_actions_per_run: int | None = Field(
        default=None, ge=1, description="Act on at most this many resources per run."
    )


class Exclude(BaseModel):
    """Resources a policy never selects, whatever its filters say."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    names: list[str] = Field(
        default_factory=list,
        description="Resource names, exact or shell globs (computes without a name: their id).",
    )
    ids: list[Annotated[str, WithJsonSchema({"type": ["string", "integer"]})]] = Field(
        default_factory=list, description="Resource ids (API keys: their numeric id)."
    )
    projects: list[str] = Field(default_factory=list, description="Project ids.")
    organizations: list[str] = Field(default_factory=list, description="Organization ids.")

    @field_validator("ids", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [
                str(item) if isinstance(item, int) and not isinstance(item, bool) else item
                for item in value
            ]
        return value

    def excludes(
        self, *, name: str, resource_id: str, project_id: str | None, org_id: str | None
    ) -> bool:
        return (
            resource_id in self.ids
            or (project_id is not None and project_id in self.projects)
            or (org_id is not None and org_id in self.organizations)
            or any(fnmatch.fnmatchcase(name, pattern) for pattern in self.names)
        )


class Policy(BaseModel):
    """One policy: which resources of one type it selects and what it proposes for them."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(
        pattern=NAME_PATTERN,
        description="Unique across all loaded files: letters, digits, '-', '_', '.'.",
    )
    description: str = Field(default="", description="What the policy finds and why.")
    resource: ResourceType = Field(description="The resource type the policy looks at.")
    filters: Filters = Field(description="Which resources match (see the filter language).")
    action: Action = Field(
        default_factory=lambda: NoAction(type="none"),
        description="What to do about a match; must fit the resource type.",
    )
    mode: Mode = Field(
        default="report",
        description="report: findings only; approve: act after a person approves; auto: act.",
    )
    grace: Duration | None = Field(
        default=None, description="How long a finding must persist before anyone acts on it."
    )
    severity: Severity = Field(default="medium", description="How much a finding matters.")
    schedule: Schedule | None = Field(
        default=None, description="When the daemon evaluates it; default: every sweep."
    )
    window: WindowText | None = Field(
        default=None,
        description="When disruptive actions may run (days and hours, UTC), such as "
        "'Mon-Fri 02:00-05:00'; found outside it, they wait for the next opening.",
    )
    limits: Limits = Field(default_factory=Limits)
    exclude: Exclude = Field(default_factory=Exclude)
    evidence: list[Annotated[str, Field(pattern=FIELD_PATTERN)]] = Field(
        default_factory=list,
        description="More fields recorded with each finding without selecting by them, "
        "such as activations_30d (the sweep reads what they need, as for filters).",
    )
    _origin: str = PrivateAttr(default="")

    @field_validator("evidence")
    @classmethod
    def _evidence_known(cls, fields: list[str], info: ValidationInfo) -> list[str]:
        resource = info.data.get("resource")
        for field in fields:
            typo = likely_typo(resource, field.split(".", maxsplit=1)[0]) if resource else None
            if typo is not None:
                raise ValueError(f"unknown field {field!r}; did you mean {typo!r}?")
        return fields

    @property
    def named_fields(self) -> list[str]:
        """Every field the policy reads: its filters', then its evidence's, each once."""
        return list(dict.fromkeys([*filter_fields(self.filters), *self.evidence]))

    @model_validator(mode="after")
    def _action_fits_resource(self) -> Policy:
        action_type = self.action.type
        if self.resource not in self.action.fits:
            raise PydanticCustomError(
                "action_resource_mismatch",
                "action {action} does not fit resource {resource}; it applies to: {fits}",
                {
                    "action": action_type,
                    "resource": self.resource,
                    "fits": ", ".join(self.action.fits),
                },
            )
        action = self.action
        if isinstance(action, ResizeAction) and action.max_cu is not None:
            problems = size_problems(action.min_cu, action.max_cu)
            if problems:  # a policy's own numbers: stored findings are not re-judged here
                raise PydanticCustomError(
                    "resize_refused_by_neon",
                    "resize {low}-{high} CU is a pair Neon refuses: {why}",
                    {
                        "low": f"{action.min_cu:g}",
                        "high": f"{action.max_cu:g}",
                        "why": "; ".join(problems),
                    },
                )
        return self

    @property
    def origin(self) -> str:
        """Where the policy was defined (``FILE:LINE``), when it came from a file."""
        return self._origin

    @property
    def maintenance_window(self) -> Window | None:
        return None if self.window is None else parse_window(self.window)

    @property
    def grace_period(self) -> timedelta:
        return self.grace if self.grace is not None else timedelta(0)
