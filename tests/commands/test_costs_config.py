"""The [consumption] section: defaults, and one clear line for each bad value."""

from __future__ import annotations

from datetime import timedelta

import pytest

from governor.config import ConfigError, parse_config


def test_consumption_is_read_by_default_at_30_a_minute_and_kept_400_days() -> None:
    settings = parse_config({}).consumption
    assert (settings.enabled, settings.requests_per_minute, settings.keep) == (
        True,
        30,
        timedelta(days=400),
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"requests_per_minute": 0}, "[consumption.requests_per_minute]"),
        ({"keep": "7d"}, "at least 35d"),
        ({"keep": "soon"}, "[consumption.keep]"),
        ({"enabled": "yes"}, "[consumption.enabled]"),
        ({"budget": 3}, "[consumption.budget]"),
    ],
)
def test_a_bad_consumption_setting_is_one_line_naming_the_key(
    section: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({"consumption": section})
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
