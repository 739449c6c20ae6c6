"""A pause holds every path: the daemon's pass asks nothing and starts nothing either.

Why: the CLI ``apply`` stopped asking while paused, but the daemon's pass (``apply_plan``
after each sweep) still created approval requests and noticed findings, so a paused
governor kept posting "approve this?" to Slack.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from governor.config import Config
from governor.daemon.jobs import JobContext
from governor.daemon.remediation import DaemonRemediation
from governor.observability.metrics import Metrics
from governor.remediate import decisions
from governor.runtime import Runtime
from governor.store import remediations
from governor.sweep import Account
from tests.remediate.harness import rig, shipped

pytestmark = pytest.mark.anyio


async def test_a_paused_daemon_pass_creates_no_approval_request_and_says_what_it_held(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        await decisions.set_paused(r.store, True, actor="bob", reason="incident", now=r.now())
        runtime = Runtime(Config().model_copy(update={"remediation": r.settings}), clock=r.now)
        context = JobContext(
            runtime, r.policies, r.store, [Account("default", r.client)], Metrics()
        )
        audit = await r.audit()
        outcomes = await DaemonRemediation(context).after_audit(audit)
        assert outcomes == []
        assert await r.store.run(remediations.listed) == []  # nothing asked, nothing planned
        assert r.mutations(ok_only=False) == []
        passed = await r.apply()  # the same pass as the session runs it: what was held
        assert passed.paused
        assert passed.requested == []
        assert len(passed.not_asked) >= 3  # each would have been an approval request
        assert passed.held_summary().startswith("paused: 0 change(s) held, ")
        assert await r.store.run(remediations.listed) == []
        notices = await r.store.run(remediations.notices, [f.id for f in audit.findings])
        assert notices == {}  # a notice starts a grace period: none while paused


async def test_resume_after_a_paused_pass_asks_what_was_held(tmp_path: Path) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        await decisions.set_paused(r.store, True, actor="bob", reason="incident", now=r.now())
        held = await r.apply()
        await decisions.set_paused(r.store, False, actor="bob", reason="over", now=r.now())
        resumed = await r.apply()
        assert not resumed.paused
        assert len(resumed.requested) == len(held.not_asked)
