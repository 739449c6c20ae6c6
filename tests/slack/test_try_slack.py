"""The README's "Try Slack locally" command works: ``make try-slack`` runs
examples/try_slack.py, which starts the simulator and the fake Slack, runs the daemon in
approve mode, presses Approve as an approver, and shows the outcome. Run here exactly as
the Makefile runs it (a fresh process), so the documented command cannot rot.

Before, trying Slack meant reading the fake's source for channel ids, user ids and tokens
and clicking from a Python REPL (newcomer trial, F5)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "try_slack.py"
PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")


def test_the_try_slack_command_approves_a_request_in_the_fake_slack_and_shows_it_done() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^try-slack:.*\n\t\$\(BIN\)/python examples/try_slack\.py$", makefile, re.M)
    env = {name: value for name, value in os.environ.items() if name not in PROXIES}

    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "governance report" in out  # the run's report in #neon-reports
    assert "Approval needed" in out  # the request in #neon-approvals
    assert 'Alice (U0ALICE001, an approver) presses "Approve' in out
    after = out.split("now reads:", 1)[1]
    assert "done" in after
    assert "running" not in after
    assert re.search(r"\n[1-9]\d* remediation\(s\) ran in the simulator after the click", out)
