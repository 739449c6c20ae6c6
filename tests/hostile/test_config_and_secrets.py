"""Hostile config files, price tables and key files: one located error each, no traceback
and no hang (issue: hostile input, classes 1, 5, 6 and 7)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from governor.config import Config, ConfigError, load_config, parse_config
from governor.savings.prices import Prices
from governor.secrets import SecretError, read_secret


def config_error(text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(tomllib.loads(text), text=text, source="g.toml")
    return str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[neon]\nconcurrency = true\n", "g.toml:2: [neon.concurrency]"),
        ('[neon]\nrequests_per_minute = "700"\n', "g.toml:2: [neon.requests_per_minute]"),
        ("neon.concurrency = 1.5\n", "g.toml:1: [neon.concurrency]"),
        ('[neon]\napi_url = "not a url"\n', "api_url must be an http:// or https:// URL"),
        ('[neon]\napi_url = "ftp://host/api"\n', "api_url must be an http:// or https:// URL"),
        (
            '[[accounts]]\nname = "a"\napi_key_env = "A"\n[[accounts]]\nname = "b"\n'
            'requests_per_minute = 0\napi_key_env = "B"\n',
            "g.toml:6: [accounts.1.requests_per_minute]",
        ),
        ("[prices.plans.launch]\ncompute_per_cu_hour = inf\n", "finite number"),
        ("[prices.plans.launch]\ncompute_per_cu_hour = 1e24\n", "less than or equal to 100"),
    ],
)
def test_a_value_of_the_wrong_type_or_range_is_refused_with_its_line(
    text: str, expected: str
) -> None:
    assert expected in config_error(text)


def test_a_config_file_that_is_not_utf8_is_a_config_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_bytes(b'[neon]\napi_key_env = "K\xff"\n')
    with pytest.raises(ConfigError, match=r"g\.toml:2: not UTF-8 text"):
        load_config(path)


def test_an_empty_neon_api_url_is_a_config_error_not_an_outage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEON_API_URL", "")
    with pytest.raises(ConfigError, match="NEON_API_URL must be an http"):
        Config().effective_api_url()


def test_overriding_one_plan_keeps_the_other_plans_prices() -> None:
    prices = Prices.model_validate({"plans": {"launch": {"compute_per_cu_hour": 0.2}}})
    assert prices.plans["launch"].compute_per_cu_hour == 0.2
    assert prices.plans["launch"].storage_per_gb_month == 0.35
    assert prices.plans["scale"].compute_per_cu_hour == 0.222


def test_a_key_file_without_end_is_refused_after_64_kib(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="larger than 64 KiB"):
        read_secret("UNUSED", "/dev/zero")
    big = tmp_path / "big-key"
    big.write_text("k" * 70_000)
    with pytest.raises(SecretError, match="larger than 64 KiB"):
        read_secret("UNUSED", big)


def test_a_fifo_key_file_with_a_writer_that_never_stops_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "key-fifo"
    os.mkfifo(fifo)
    pid = os.fork()
    if pid == 0:  # the writer: as much as the reader takes, until it closes
        try:
            with open(fifo, "wb") as writer:
                while True:
                    writer.write(b"x" * 65536)
        finally:
            os._exit(0)
    try:
        with pytest.raises(SecretError, match="larger than 64 KiB"):
            read_secret("UNUSED", fifo)
    finally:
        os.waitpid(pid, 0)


def test_a_non_ascii_key_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEON_API_KEY", "napi_clé_secrète")
    with pytest.raises(SecretError) as raised:
        read_secret("NEON_API_KEY")
    assert "non-ASCII" in str(raised.value)
    assert "secrète" not in str(raised.value)


@pytest.mark.parametrize("name", ["napi_pasted_key-with.dots", "napi key with spaces", ""])
def test_a_key_pasted_in_place_of_the_variable_name_is_never_echoed(name: str) -> None:
    """``config check`` and ``doctor`` printed "environment variable <the key> is not set"."""
    with pytest.raises(SecretError) as raised:
        read_secret(name)
    message = str(raised.value)
    assert "is not a variable name" in message
    if name:
        assert name not in message
