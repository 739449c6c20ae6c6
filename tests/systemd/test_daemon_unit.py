"""systemd/neon-governor.service: verifies offline, exposure <= 2.0, secrets only as credentials."""

from __future__ import annotations

from pathlib import Path

from tests.systemd.test_units import UNITS, _analyze, _copy_with_real_binary, pytestmark

__all__ = ["pytestmark"]  # skipped where systemd-analyze is missing, like the audit unit
SERVICE = "neon-governor.service"


def settings() -> list[str]:
    return [
        line
        for line in (UNITS / SERVICE).read_text().splitlines()
        if line and not line.startswith("#")
    ]


def test_the_daemon_unit_verifies_without_warnings(tmp_path: Path) -> None:
    service = _copy_with_real_binary(tmp_path, SERVICE)
    result = _analyze("verify", "--man=no", "--recursive-errors=yes", str(service))
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if SERVICE in line] == []


def test_the_daemon_unit_exposure_stays_low(tmp_path: Path) -> None:
    service = _copy_with_real_binary(tmp_path, SERVICE)
    result = _analyze("security", "--offline=true", "--threshold=20", str(service))
    assert result.returncode == 0, result.stdout[-2000:]


def test_the_daemon_unit_notifies_restarts_and_keeps_secrets_out_of_its_environment() -> None:
    lines = settings()
    assert "Type=notify" in lines
    assert "Restart=on-failure" in lines
    assert any(line.startswith("WatchdogSec=") for line in lines)
    assert "LoadCredential=neon-api-key:/etc/credstore/neon-governor.neon-api-key" in lines
    assert not [line for line in lines if line.startswith(("Environment=", "EnvironmentFile="))]
    # a missing credential file fails the unit: optional Slack tokens stay commented out
    assert not [line for line in lines if "slack" in line.lower()]
    start = next(line for line in lines if line.startswith("ExecStart="))
    assert start.endswith("run --config ${CONFIGURATION_DIRECTORY}/config.toml")
