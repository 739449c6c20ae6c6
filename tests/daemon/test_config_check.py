"""`neon-governor config check` and examples/config.toml: defaults filled in, key sources
shown and keys never, located errors with exit 2."""

from __future__ import annotations

import json
import logging
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.config import Config, load_config

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "config.toml"
KEY = "napi_super_secret_value_123"


def check(cfg: Path | None, *args: str, **env: str | None) -> Any:
    command = ["config", "check", *args]
    if cfg is not None:
        command += ["--config", str(cfg)]
    return runner.invoke(app, command, env={"NEON_API_URL": None, **env})


def test_the_example_loads_covers_every_section_and_is_the_defaults() -> None:
    config = load_config(EXAMPLE)
    defaults = Config()
    # the loader only records where relative token files start (the example's folder)
    located = defaults.slack.located(EXAMPLE.expanduser().absolute().parent)
    assert config == defaults.model_copy(update={"slack": located})
    text = EXAMPLE.read_text()
    headers = set(re.findall(r"^#?\s*\[\[?([a-z_]+)", text, flags=re.MULTILINE))
    assert set(Config.model_fields) <= headers
    # lists of tables ([[accounts]], [[webhooks]]) are commented examples: none by default
    assert set(tomllib.loads(text)) == set(Config.model_fields) - {"accounts", "webhooks"}


def test_json_is_the_effective_config_with_key_sources(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[[accounts]]\nname = "prod"\napi_key_env = "PROD_KEY"\nrequests_per_minute = 500\n'
        '[[accounts]]\nname = "stage"\napi_key_file = "stage-key"\n'
    )
    result = check(cfg, "--format", "json", PROD_KEY=KEY, CREDENTIALS_DIRECTORY=None)
    assert result.exit_code == 2, result.stderr  # stage's key is missing: printed, then exit 2
    assert "account 'stage'" in result.stderr
    data = json.loads(result.stdout)
    assert set(data) == set(Config.model_fields)
    # relative paths resolved against the config file's folder, as the governor uses them
    assert data["store"] == {"path": str(tmp_path / "governor.db"), "busy_timeout_seconds": 5.0}
    assert data["daemon"]["max_sweep_age"] == "26h"
    prod, stage = data["accounts"]
    assert prod["key_source"] == "environment variable PROD_KEY (found)"
    assert prod["requests_per_minute"] == 500
    assert stage["key_source"] == "file or credential 'stage-key' (not found)"
    assert stage["requests_per_minute"] == 700  # [neon]'s, filled in
    assert KEY not in result.stdout


def test_toml_output_shows_defaults_and_never_the_key(tmp_path: Path) -> None:
    result = check(None, NEON_API_KEY=KEY, NEON_API_URL="http://127.0.0.1:1/api/v2")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert 'api_url = "http://127.0.0.1:1/api/v2"' in out  # the environment applied
    assert "[prices.plans.scale]" in out
    assert "# key: environment variable NEON_API_KEY (found)" in out
    assert 'listen = "127.0.0.1:9464"' in out
    assert KEY not in out


def test_a_key_pasted_in_place_of_a_variable_name_is_masked(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[neon]\napi_key_env = "{KEY}-with.dots"\n')
    for fmt in ("toml", "json"):
        result = check(cfg, "--format", fmt)
        assert result.exit_code == 2, result.stderr  # no such variable: no key
        assert KEY not in result.stdout
        assert KEY not in result.stderr
        assert "is this the key itself?" in result.stdout


def test_credentials_in_the_api_url_are_masked(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[neon]\napi_url = "https://user:hunter2@neon.example/api/v2"\n')
    result = check(cfg, "--offline")
    assert result.exit_code == 0
    assert "hunter2" not in result.stdout
    assert 'api_url = "https://[REDACTED]@neon.example/api/v2"' in result.stdout


def test_a_bad_config_is_exit_2_with_file_line_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[store]\npath = "x.db"\n\n[log]\nlevel = "loud"\n')
    result = check(cfg)
    assert result.exit_code == 2
    assert f"{cfg}:5: [log.level]" in result.stderr
    assert result.stdout == ""


def test_a_garbage_metrics_address_is_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[metrics]\nlisten = "9464"\n')
    result = check(cfg)
    assert result.exit_code == 2
    assert "[metrics.listen]" in result.stderr
    assert "not host:port" in result.stderr


def test_config_check_refuses_a_policy_schedule_that_never_fires_with_its_place(
    tmp_path: Path,
) -> None:
    (tmp_path / "p.yaml").write_text(
        '- name: feb-31\n  resource: branch\n  schedule: "0 0 31 2 *"\n'
        "  filters:\n    - default: false\n"
    )
    cfg = tmp_path / "c.toml"
    cfg.write_text('[policies]\npaths = ["p.yaml"]\n')
    result = check(cfg, "--offline")
    assert result.exit_code == 2
    assert "p.yaml:3:13: [0].schedule: '0 0 31 2 *' never fires" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_config_that_still_sets_the_removed_fallback_channel_loads_and_says_to_delete_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An upgrade must not stop the daemon over a key that never did anything."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[slack]\nchannel = "C0123ABCDEF"\nfallback_channel = "C0123ABCDEF"\n')
    with caplog.at_level(logging.WARNING, logger="governor.config"):
        result = check(cfg, "--format", "json", NEON_API_KEY=KEY)
    assert result.exit_code == 0, result.stderr
    assert "fallback_channel" not in result.stdout
    [warning] = [r.getMessage() for r in caplog.records if "fallback_channel" in r.getMessage()]
    assert warning.startswith("[slack] fallback_channel was removed and is ignored")
    assert warning.endswith("delete it from the config")
