"""Property-based: whatever a policy file or a config file holds, loading it either works or
raises the one error type that becomes a located message and exit 2; never anything else."""

from __future__ import annotations

import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governor.config import ConfigError, parse_config
from governor.policy import PolicyError, load_policies

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["30d", "9999999999d", "^(a+)+$", "(a)\\1", "br-1", "*", "=x", "\x1b[2J"]),
)
KEYS = st.sampled_from(
    [
        "name", "resource", "filters", "action", "mode", "severity", "type", "min_cu",
        "max_cu", "seconds", "after", "not", "all", "any", "regex", "glob", "older_than",
        "eq", "in", "gt", "exclude", "names", "schedule", "limits", "grace", "branch",
        "last_activity", "protected", "default",
    ]
)  # fmt: skip
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(KEYS | st.text(max_size=8), children, max_size=5),
    ),
    max_leaves=40,
)


@SETTINGS
@given(st.lists(documents, min_size=1, max_size=3))
def test_any_policy_structure_loads_or_raises_a_policy_error(data: list[Any]) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    _load_text(text)


@SETTINGS
@given(st.text(max_size=400))
def test_any_policy_text_loads_or_raises_a_policy_error(text: str) -> None:
    _load_text(text)


def _load_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.yaml"
        path.write_text(text, encoding="utf-8")
        policies: list[Any] = []
        error = failure_of(PolicyError, lambda: policies.extend(load_policies([path])))
    if error is not None:
        assert str(error).startswith(str(path)), "every problem names the file"
    else:
        assert all(policy.name for policy in policies)


def failure_of(expected: type[Exception], action: Callable[[], object]) -> Exception | None:
    """The ``expected`` error ``action`` raised, or None; any other exception propagates."""
    try:
        action()
    except expected as error:
        return error
    return None


CONFIG_KEYS = st.sampled_from(
    [
        "neon", "store", "policies", "prices", "accounts", "api_url", "api_key_env",
        "api_key_file", "requests_per_minute", "concurrency", "timeout_seconds", "path",
        "paths", "plans", "launch", "compute_per_cu_hour", "name", "organizations",
        "max_attempts", "default_plan", "busy_timeout_seconds",
    ]
)  # fmt: skip
config_values = st.recursive(
    scalars.filter(lambda value: value is not None),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(CONFIG_KEYS, children, max_size=4)
    ),
    max_leaves=25,
)


@SETTINGS
@given(st.dictionaries(CONFIG_KEYS, config_values, max_size=5))
def test_any_config_structure_parses_or_raises_a_config_error(data: dict[str, Any]) -> None:
    error = failure_of(ConfigError, lambda: parse_config(data, text="", source="g.toml"))
    assert error is None or str(error).startswith("g.toml")


@SETTINGS
@given(st.text(max_size=300))
def test_any_config_text_is_toml_or_not_and_never_crashes_the_parser(text: str) -> None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    error = failure_of(ConfigError, lambda: parse_config(data, text=text, source="g.toml"))
    assert error is None or str(error).startswith("g.toml")
