"""The shipped systemd units verify offline and keep their hardening (systemd-analyze)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def _copy_with_real_binary(tmp_path: Path, name: str) -> Path:
    """verify insists that ExecStart's binary exists: point it at this venv's script."""
    script = Path(sys.executable).parent / "neon-governor"
    text = (UNITS / name).read_text()
    text = text.replace("/opt/neon-governor/bin/neon-governor", str(script))
    target = tmp_path / name
    target.write_text(text)
    return target


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=60, check=False)


def test_audit_service_and_timer_verify_without_warnings(tmp_path: Path) -> None:
    service = _copy_with_real_binary(tmp_path, "neon-governor-audit.service")
    timer = _copy_with_real_binary(tmp_path, "neon-governor-audit.timer")
    result = _analyze("verify", "--man=no", "--recursive-errors=yes", str(service), str(timer))
    assert result.returncode == 0, result.stderr
    unexpected = [
        line
        for line in result.stderr.splitlines()
        # a container without systemd as PID 1 cannot resolve these; they are not unit errors
        if line and not re.search(r"(Failed to|not running|No such file|bus)", line)
    ]
    assert unexpected == []


def test_audit_service_exposure_stays_low(tmp_path: Path) -> None:
    service = _copy_with_real_binary(tmp_path, "neon-governor-audit.service")
    result = _analyze("security", "--offline=true", "--threshold=20", str(service))
    assert result.returncode == 0, result.stdout[-2000:]


def test_audit_service_never_carries_a_secret_in_its_environment() -> None:
    settings = [
        line
        for line in (UNITS / "neon-governor-audit.service").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert not [line for line in settings if line.startswith(("Environment=", "EnvironmentFile="))]
    assert "LoadCredential=neon-api-key:/etc/credstore/neon-governor.neon-api-key" in settings
