"""``[neon] budget_share``: the governor leaves part of the account's budget to others."""

from __future__ import annotations

from pathlib import Path

import pytest

from governor.config import AccountSettings, load_config
from governor.runtime import Runtime, shared_budget


def runtime_with(tmp_path: Path, neon: str) -> Runtime:
    path = tmp_path / "governor.toml"
    path.write_text(f"[neon]\n{neon}\n")
    return Runtime(load_config(path), path)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("neon", "per_minute", "per_route"),
    [
        ("", 700, 40),
        ("budget_share = 0.5", 350, 20),
        ("budget_share = 0.25\nrequests_per_minute = 6000", 1500, 10),
    ],
)
async def test_the_pacer_gets_the_configured_share_of_both_budgets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, neon: str, per_minute: int, per_route: int
) -> None:
    monkeypatch.setenv("NEON_API_KEY", "sim-personal-key")
    runtime = runtime_with(tmp_path, neon)
    account = AccountSettings(name="main", api_key_env="NEON_API_KEY")

    async with runtime.client(account) as client:
        assert client.pacer.requests_per_minute == per_minute
        assert client.pacer.requests_per_second_per_route == per_route


def test_a_tiny_share_still_leaves_one_request() -> None:
    assert shared_budget(40, 0.001) == 1
    assert shared_budget(700, 1.0) == 700
