"""A "no" with an end the operator chose: ``reject ID --until DURATION|DATE``.

Before: a rejection held only until the finding's evidence changed (F4's first half); there
was no way to say "not for 30 days, whatever changes", and a Keep from Slack, once its
exemption ended, left the rejection it made holding for as long as the evidence stayed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from governor.remediate import decisions
from governor.remediate.errors import RemediationError
from governor.store import exemptions, remediations
from tests.remediate.harness import Rig, rig
from tests.remediate.test_commands import _listed, _pending, approving_cli  # noqa: F401
from tests.remediate.test_decisions_hold import _endpoint, _oversized
from tests.remediate.world import NEVER_SUSPENDS, OVERSIZED

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def _pass_keeps_it(r: Rig, until: str) -> None:
    passed = await r.apply()
    assert passed.requested == []
    item = next(i for i in passed.plan.items if i.resource_id == OVERSIZED)
    assert item.status == "waiting"
    assert item.reason.startswith(f"exempt: kept until {until} by cli:root at ")
    assert "rejected (remediation " in item.reason
    assert not [m for m in r.mutations(ok_only=False) if OVERSIZED in m[1]]


async def test_a_rejection_until_30d_holds_even_after_the_evidence_changes_then_is_planned_again(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, policies=_oversized("approve")) as r:
        [request] = (await r.apply()).requested
        until = decisions.parse_until("30d", now=r.now())
        rejected = await decisions.reject(
            r.store, request.id, actor="cli:root", reason="launch month", now=r.now(), until=until
        )
        assert rejected.state == "rejected"
        [exemption] = await r.store.run(exemptions.listed, active_at=r.now())
        assert (exemption.resource_type, exemption.resource_id) == ("endpoint", OVERSIZED)
        assert exemption.created_by == "cli:root"
        end = until.isoformat(timespec="minutes")[:16]
        await _pass_keeps_it(r, end)
        _endpoint(r, OVERSIZED)["autoscaling_limit_min_cu"] = 9  # new evidence: still kept
        await _pass_keeps_it(r, end)
        _endpoint(r, OVERSIZED)["autoscaling_limit_min_cu"] = 8  # the evidence it was rejected on
        r.clock.now += timedelta(days=29).total_seconds()
        await _pass_keeps_it(r, end)
        r.clock.now += timedelta(days=1, seconds=1).total_seconds()
        # ended: the "no" had this end, so it no longer holds even on the same evidence
        [again] = (await r.apply()).requested
        assert again.resource_id == OVERSIZED
        assert again.id != request.id


async def test_a_withdrawal_until_a_date_keeps_the_resource_until_that_date(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, policies=_oversized("approve")) as r:
        [request] = (await r.apply()).requested
        await decisions.approve(r.store, request.id, actor="cli:ops", now=r.now())
        until = decisions.parse_until("2026-12-05", now=r.now())
        assert until == datetime(2026, 12, 5, tzinfo=UTC)
        withdrawn = await decisions.reject(
            r.store, request.id, actor="cli:root", reason=None, now=r.now(), until=until
        )
        assert withdrawn.state == "skipped"
        plan = await r.plan()
        item = next(i for i in plan.items if i.resource_id == OVERSIZED)
        assert item.reason.startswith("exempt: kept until 2026-12-05T00:00 by cli:root at ")
        assert "approval withdrawn (remediation " in item.reason


async def test_an_until_that_is_not_a_future_end_is_refused_and_rejects_nothing(
    tmp_path: Path,
) -> None:
    for text, words in (
        ("yesterday", "neither a duration"),
        ("2026-01-01", "not in the future"),
        ("30", "neither a duration"),
    ):
        with pytest.raises(RemediationError, match=words):
            decisions.parse_until(text, now=NOW)
    async with rig(tmp_path, policies=_oversized("approve")) as r:
        [request] = (await r.apply()).requested
        with pytest.raises(RemediationError, match="not in the future"):
            await decisions.reject(
                r.store, request.id, actor="cli:root", reason=None, now=r.now(), until=r.now()
            )
        assert (await r.store.run(remediations.get, request.id)).state == "awaiting_approval"
        assert await r.store.run(exemptions.listed) == []


def test_cli_reject_until_exempts_the_resource_and_says_until_when(approving_cli: Any) -> None:  # noqa: F811
    pending = _pending(approving_cli)
    result = approving_cli("reject", str(pending["id"]), "--until", "2w", "--reason", "launch")
    assert result.exit_code == 0, result.stderr
    assert f"#{pending['id']} rejected by cli:" in result.stdout
    assert f"endpoint {NEVER_SUSPENDS} is exempt until " in result.stdout
    plan = approving_cli("plan")
    line = next(x for x in plan.stdout.splitlines() if NEVER_SUSPENDS in x)
    assert "exempt: kept until " in line
    bad = approving_cli("reject", str(pending["id"]), "--until", "soon")
    assert bad.exit_code == 2
    assert "--until 'soon' is neither a duration" in bad.stderr
    row = next(r for r in _listed(approving_cli) if r["id"] == pending["id"])
    assert row["state"] == "rejected"
