"""Start-up: ``--help`` lists every command without importing the heavy stacks, and a host
that does not resolve fails at once.

Why: importing every command module pulled in the Slack SDK, aiohttp, httpx, APScheduler and
sqlite-utils, so ``neon-governor --help`` took over a second (issue 20). The figures are in
BENCHMARKS.md (``make bench``); here only what is imported is checked, never a duration.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from governor.cli import COMMANDS, app, load_commands

HEAVY = ("slack_sdk", "aiohttp", "apscheduler", "httpx", "sqlite_utils")
SERVING = ("slack_sdk", "aiohttp", "apscheduler")  # Slack, the HTTP server, the scheduler


def _imported_by(args: list[str]) -> set[str]:
    """The top-level packages imported by running ``neon-governor ARGS`` in a fresh process."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from governor.cli import app
        try:
            app({args!r}, prog_name="neon-governor")
        except SystemExit:
            pass
        print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})), file=sys.stderr)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], [], ["--version"]])
def test_help_imports_none_of_the_slack_http_scheduler_or_store_stacks(args: list[str]) -> None:
    assert _imported_by(args).isdisjoint(HEAVY), sorted(_imported_by(args) & set(HEAVY))


@pytest.mark.parametrize("args", [["policies", "--help"], ["policies", "validate"]])
def test_policies_validate_imports_neither_slack_nor_aiohttp_nor_the_scheduler(
    args: list[str],
) -> None:
    """httpx and sqlite-utils still load here: the error classes exit_codes maps live in
    packages (governor.sweep, governor.store) whose __init__ imports the client and store."""
    assert _imported_by(args).isdisjoint(SERVING), sorted(_imported_by(args) & set(SERVING))


def test_a_command_still_imports_what_it_needs_when_it_runs() -> None:
    """The other side: the lazy table hands over to the real command (here ``run --help``)."""
    assert "apscheduler" in _imported_by(["run", "--help"])


def test_listed_help_is_the_first_paragraph_of_the_commands_own_help() -> None:
    for name, lazy in COMMANDS.items():
        real = load_commands(lazy.module)[name]
        own = (real.short_help or real.help or "").split("\n\n")[0]
        assert lazy.help == own, f"cli.COMMANDS[{name!r}].help differs from {lazy.module}"


def test_every_command_a_module_registers_is_listed() -> None:
    for module in {lazy.module for lazy in COMMANDS.values()}:
        missing = set(load_commands(module)) - set(COMMANDS)
        assert not missing, f"{module} registers {sorted(missing)}: add them to cli.COMMANDS"


def test_an_audit_against_a_host_that_does_not_resolve_tries_each_read_once(
    tmp_path: Path,
) -> None:
    """A typo in the API URL is not an outage to wait out: no retries (it was 8 attempts
    over 34 s), exit 3, and the message names the host, never the key. RFC 6761: a name
    under .invalid never resolves, so this needs no network."""
    key = "neon-key-that-must-not-show"
    result = CliRunner().invoke(
        app,
        ["audit", "--db", str(tmp_path / "g.db"), "--format", "json", "--no-consumption"],
        env={"NEON_API_URL": "https://console.neon-governor.invalid/api/v2", "NEON_API_KEY": key},
    )
    assert result.exit_code == 3, result.output
    if "cannot resolve" not in result.stderr:
        pytest.skip(f"this machine's resolver did not answer for .invalid: {result.stderr}")
    report = json.loads(result.stdout)
    parts = report["incomplete"]
    assert parts
    assert report["run"]["requests"] == len(parts)  # one attempt per read, no retry
    assert "cannot resolve the API host console.neon-governor.invalid" in result.stderr
    assert key not in result.stdout + result.stderr
