"""The filter language: YAML data in, a validated tree of conditions out.

Shape, as a person would write it::

    filters:
      - default: false                      # field: value   is shorthand for eq
      - protected: {eq: false}
      - name: {glob: "preview/*", ne: "preview/keep"}   # several operators: all must hold
      - any:
          - last_activity: {older_than: 30d}
          - all: [{compute_count: 0}, {created_at: {older_than: 30d}}]
      - not: {current_state: archived}

A list means ``all``; a mapping with several keys also means ``all`` of them. Fields are
the API's names (dotted for nested ones) or derived ones (see ``governor.policy.fields``).
Every problem is collected with its path, so a file reports all its mistakes at once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from governor.durations import describe_type
from governor.model.snapshot import ResourceType
from governor.policy.fields import kind_problem, likely_typo
from governor.policy.operators import OPERATORS, Operator

Path = tuple[str | int, ...]
FIELD_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$"
_FIELD = re.compile(FIELD_PATTERN)
MAX_FILTER_PATH = 64  # keys and list places; real policies use fewer than 10

_RESOURCE_WORDS = {
    "project": "a project",
    "branch": "a branch",
    "endpoint": "an endpoint",
    "api_key": "an API key",
    "organization": "an organization",
    "snapshot": "a snapshot",
}


@dataclass(frozen=True)
class FilterProblem:
    path: Path  # relative to the filters key
    message: str
    at_key: bool = False  # the mapping key is wrong, not its value


@dataclass(frozen=True)
class Condition:
    field: str  # dotted path as written
    operator: Operator
    expected: Any  # the prepared value
    written: Any  # the value as written, to render the filter back

    @cached_property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.field.split("."))


@dataclass(frozen=True)
class AllOf:
    children: tuple[Filter, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    child: Filter


Filter = Condition | AllOf | AnyOf | Not


@dataclass
class _Parser:
    resource: ResourceType | None
    problems: list[FilterProblem] = field(default_factory=list)

    def problem(self, path: Path, message: str, *, at_key: bool = False) -> None:
        self.problems.append(FilterProblem(path, message, at_key))

    def node(self, data: Any, path: Path) -> Filter:
        if len(path) > MAX_FILTER_PATH:
            self.problem(path, f"filters nest deeper than {MAX_FILTER_PATH} levels; flatten them")
            return AllOf(())
        if isinstance(data, list):
            return AllOf(self.children(data, path, "a filter list"))
        if isinstance(data, dict):
            return self.mapping(data, path)
        self.problem(
            path,
            f"expected a condition such as {{protected: false}} or a list of them, "
            f"got {describe_type(data)}",
        )
        return AllOf(())

    def children(self, data: list[Any], path: Path, what: str) -> tuple[Filter, ...]:
        if not data:
            self.problem(path, f"{what} needs at least one filter")
        return tuple(self.node(item, (*path, index)) for index, item in enumerate(data))

    def mapping(self, data: dict[Any, Any], path: Path) -> Filter:
        if not data:
            self.problem(path, "an empty mapping selects nothing; write a condition")
        clauses = [self.clause(str(key), value, (*path, key)) for key, value in data.items()]
        return clauses[0] if len(clauses) == 1 else AllOf(tuple(clauses))

    def clause(self, key: str, value: Any, path: Path) -> Filter:
        if key in ("all", "any"):
            if not isinstance(value, list):
                self.problem(path, f"{key} takes a list of filters, got {describe_type(value)}")
                return AllOf(())
            children = self.children(value, path, key)
            return AllOf(children) if key == "all" else AnyOf(children)
        if key == "not":
            return Not(self.node(value, path))
        return self.field_clause(key, value, path)

    def field_clause(self, name: str, value: Any, path: Path) -> Filter:
        if not _FIELD.match(name):
            self.problem(
                path,
                f"{name!r} is not a field name (letters, digits and _, with dots between "
                "nested names)",
                at_key=True,
            )
        elif self.resource is not None:
            typo = likely_typo(self.resource, name.split(".", maxsplit=1)[0])
            if typo is not None:
                resource = _RESOURCE_WORDS[self.resource]
                message = f"unknown field {name!r} for {resource}; did you mean {typo!r}?"
                self.problem(path, message, at_key=True)
        if isinstance(value, dict):
            return self.operators(name, value, path)
        if isinstance(value, list):
            self.problem(
                path,
                "a list is ambiguous here: write {in: [...]} to match any of these values",
            )
            return AllOf(())
        return self.condition(name, "eq", value, path, shorthand=True)

    def operators(self, name: str, data: dict[Any, Any], path: Path) -> Filter:
        if not data:
            self.problem(path, f"no operator given; valid operators are {_valid_operators()}")
            return AllOf(())
        conditions = [
            self.condition(name, str(operator), value, (*path, operator))
            for operator, value in data.items()
        ]
        return conditions[0] if len(conditions) == 1 else AllOf(tuple(conditions))

    def condition(
        self, name: str, operator_name: str, value: Any, path: Path, *, shorthand: bool = False
    ) -> Filter:
        operator = OPERATORS.get(operator_name)
        if operator is None:
            self.problem(path, _unknown_operator(operator_name), at_key=True)
            return AllOf(())
        try:
            expected = operator.prepare(value)
        except ValueError as error:
            self.problem(path, str(error) if shorthand else f"{operator_name}: {error}")
            return AllOf(())
        mismatch = (
            None
            if self.resource is None
            else kind_problem(self.resource, name, operator_name, value)
        )
        if mismatch is not None:
            self.problem(path, mismatch)
            return AllOf(())
        return Condition(name, operator, expected, value)


def _valid_operators() -> str:
    return ", ".join(OPERATORS)


def _unknown_operator(name: str) -> str:
    close = difflib.get_close_matches(name, list(OPERATORS), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    nested = (
        "for a nested field write a dotted path such as settings.pg_settings; "
        if _FIELD.match(name) and not close
        else ""
    )
    return f"unknown operator {name!r}; {hint}{nested}valid operators are {_valid_operators()}"


def parse_filter(
    data: Any, *, resource: ResourceType | None = None
) -> tuple[Filter, list[FilterProblem]]:
    """Parse ``data`` (the ``filters`` value); problems are returned, not raised."""
    parser = _Parser(resource)
    if data is None or (isinstance(data, list | dict) and not data):
        parser.problem((), "filters are empty; a policy must say which resources it selects")
        return AllOf(()), parser.problems
    return parser.node(data, ()), parser.problems


def filter_fields(node: Filter) -> list[str]:
    """Every field the filter reads, in first-seen order."""
    seen: dict[str, None] = {}
    _collect(node, seen)
    return list(seen)


def _collect(node: Filter, seen: dict[str, None]) -> None:
    if isinstance(node, Condition):
        seen.setdefault(node.field, None)
    elif isinstance(node, Not):
        _collect(node.child, seen)
    else:
        for child in node.children:
            _collect(child, seen)


def render_filter(node: Filter) -> Any:
    """The filter back as plain data, in the long form (for dumps and the store)."""
    if isinstance(node, Condition):
        return {node.field: {node.operator.name: node.written}}
    if isinstance(node, Not):
        return {"not": render_filter(node.child)}
    key = "all" if isinstance(node, AllOf) else "any"
    return {key: [render_filter(child) for child in node.children]}
