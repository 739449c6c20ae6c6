"""The comparison operators of the filter language: how each checks its value at load time
and tests a field at evaluation time.

Why three outcomes: a test on a missing value answers ``None`` (unknown), never False, so
that ``not`` cannot turn "we could not tell" into a match. Only ``present`` and ``absent``
look at missing values, and they always answer True or False.
"""

from __future__ import annotations

import fnmatch
import math
import operator as python_operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import re2

from governor.durations import describe_type, parse_duration
from governor.model.timestamps import parse_timestamp

# RE2 matches in time linear in the text: a policy's regex can never hang an audit
# (Python's re backtracks: ^(a+)+$ against 35 a's and a b takes minutes). It refuses
# backreferences and lookaround, which is what makes that guarantee possible.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
Outcome = bool | None  # None: unknown (the value is missing or cannot be compared)
Scalar = str | int | float | bool


@dataclass(frozen=True)
class Operator:
    name: str
    description: str
    prepare: Callable[[Any], Any]  # raises ValueError with a readable reason
    test: Callable[[Any, Any, datetime], Outcome]  # field value (not missing), prepared, now
    sees_missing: bool = False  # True: ``test`` also gets missing values (as None)


def kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "other"


def _scalar(value: Any) -> tuple[str, Scalar]:
    if value is None:
        raise ValueError("null never matches; write {absent: true} to select a missing value")
    if kind_of(value) == "other":
        raise ValueError(f"expected a string, number or boolean, got {describe_type(value)}")
    return (kind_of(value), value)


def _prepare_in(value: Any) -> frozenset[tuple[str, Scalar]]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"expected a non-empty list of values, got {describe_type(value)}")
    return frozenset(_scalar(item) for item in value)


def _prepare_ordered(value: Any) -> tuple[str, float | datetime]:
    if kind_of(value) == "number":
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        return ("number", value)
    if isinstance(value, str):
        moment = _timestamp_literal(value)
        if moment is not None:
            return ("time", moment)
    raise ValueError(
        f"expected a number or a timestamp such as 2026-01-31T00:00:00Z, got {value!r}"
    )


def _timestamp_literal(text: str) -> datetime | None:
    moment = parse_timestamp(text)
    if moment is None:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return moment


def _prepare_string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {describe_type(value)}")
    return value


def _prepare_regex(value: Any) -> re2._Regexp[str]:
    text = _prepare_string(value)
    try:
        return re2.compile(text, _RE2_OPTIONS)
    except re2.error as error:
        reason = error.args[0] if error.args else error
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        reason = str(reason).split(": ", 1)[0]  # RE2 repeats the pattern after a colon
        raise ValueError(
            f"invalid regular expression {text!r}: {reason} (RE2 syntax: no backreferences "
            "or lookaround, so matching can never hang)"
        ) from None


def _prepare_flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {describe_type(value)}")
    return value


def _prepare_duration(value: Any) -> timedelta:
    return parse_duration(value)


def _equal(value: Any, expected: tuple[str, Scalar]) -> bool:
    return (kind_of(value), value) == expected


def _compare(value: Any, expected: tuple[str, float | datetime]) -> tuple[Any, Any] | None:
    kind, bound = expected
    if kind == "number":
        if kind_of(value) != "number":
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return None  # NaN and infinities compare as nothing: unknown, never a match
        return (value, bound)  # no float(): a 400-digit integer still compares
    moment = parse_timestamp(value)
    return (moment, bound) if moment is not None else None


def _ordered(check: Callable[[Any, Any], bool]) -> Callable[[Any, Any, datetime], Outcome]:
    def test(value: Any, expected: Any, _now: datetime) -> Outcome:
        pair = _compare(value, expected)
        return None if pair is None else check(*pair)

    return test


def _age(value: Any, now: datetime) -> timedelta | None:
    moment = parse_timestamp(value)
    return None if moment is None else now - moment


def _older_than(value: Any, duration: timedelta, now: datetime) -> Outcome:
    age = _age(value, now)
    return None if age is None else age > duration


def _newer_than(value: Any, duration: timedelta, now: datetime) -> Outcome:
    age = _age(value, now)
    return None if age is None else age < duration


def _glob(value: Any, pattern: str, _now: datetime) -> Outcome:
    return fnmatch.fnmatchcase(value, pattern) if isinstance(value, str) else None


def _regex(value: Any, pattern: re2._Regexp[str], _now: datetime) -> Outcome:
    return pattern.search(value) is not None if isinstance(value, str) else None


def _eq(value: Any, expected: tuple[str, Scalar], _now: datetime) -> Outcome:
    return _equal(value, expected)


def _ne(value: Any, expected: tuple[str, Scalar], _now: datetime) -> Outcome:
    return not _equal(value, expected)


def _in(value: Any, expected: frozenset[tuple[str, Scalar]], _now: datetime) -> Outcome:
    return (kind_of(value), value) in expected


def _present(value: Any, flag: bool, _now: datetime) -> Outcome:
    return (value is not None) == flag


def _absent(value: Any, flag: bool, _now: datetime) -> Outcome:
    return (value is None) == flag


_ORDERED_TEXT = "{} this number or timestamp (e.g. 8, or 2026-01-31T00:00:00Z)."
OPERATORS: dict[str, Operator] = {
    operator.name: operator
    for operator in (
        Operator("eq", "Equal to this value (a string never equals a number or a boolean).",
                 _scalar, _eq),
        Operator("ne", "Present and not equal to this value.", _scalar, _ne),
        Operator("in", "Equal to one of these values.", _prepare_in, _in),
        Operator("gt", _ORDERED_TEXT.format("Greater than"), _prepare_ordered,
                 _ordered(python_operator.gt)),
        Operator("gte", _ORDERED_TEXT.format("At least"), _prepare_ordered,
                 _ordered(python_operator.ge)),
        Operator("lt", _ORDERED_TEXT.format("Less than"), _prepare_ordered,
                 _ordered(python_operator.lt)),
        Operator("lte", _ORDERED_TEXT.format("At most"), _prepare_ordered,
                 _ordered(python_operator.le)),
        Operator("glob", "A string matching this shell pattern (*, ?, [abc]); case-sensitive.",
                 _prepare_string, _glob),
        Operator("regex", "A string in which this regular expression finds a match (anchor "
                 "with ^ and $).", _prepare_regex, _regex),
        Operator("present", "true: the field exists and is not null; false: the opposite.",
                 _prepare_flag, _present, sees_missing=True),
        Operator("absent", "true: the field is missing or null; false: the opposite.",
                 _prepare_flag, _absent, sees_missing=True),
        Operator("older_than", "A timestamp more than this long before now (e.g. 30d).",
                 _prepare_duration, _older_than),
        Operator("newer_than", "A timestamp less than this long before now (e.g. 6h).",
                 _prepare_duration, _newer_than),
    )
}  # fmt: skip
