"""The reports of a streamed audit (findings read back from disk, one at a time) say what
the reports of the same audit held in memory say, in every format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from governor.report import formats
from governor.report.formats import render_audit
from governor.simulator import SimulatorOptions
from tests.conftest import ServedSimulator
from tests.pipeline.test_streamed_audit import audited, world_with_an_awake_stale_branch

Serve = Callable[..., ServedSimulator]
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)


def without_run_ids(document: dict) -> dict:
    """The findings, their summary and what was unread: the run's own row differs (its id,
    its times, the server's clock skew measured by each run)."""
    return {key: value for key, value in document.items() if key != "run"}


@pytest.mark.anyio
async def test_a_streamed_audit_reports_what_an_in_memory_one_does_in_every_format(
    served_simulator: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, stale_branch = world_with_an_awake_stale_branch()
    _simulator, base_url = served_simulator(world, NO_LIMITS)
    held = await audited(base_url, tmp_path / "held.db", keep=True)
    streamed = await audited(base_url, tmp_path / "streamed.db", keep=False)
    assert isinstance(held.findings, list)
    assert not isinstance(streamed.findings, list)  # read back from disk
    # a policy's findings print in several tables: the rows are all there all the same
    monkeypatch.setattr(formats, "TABLE_ROWS", 7)

    both = {
        fmt: (render_audit(held, fmt, width=200), render_audit(streamed, fmt, width=200))
        for fmt in ("json", "csv", "markdown", "table")
    }
    held_json, streamed_json = (json.loads(text) for text in both["json"])
    assert without_run_ids(held_json) == without_run_ids(streamed_json)
    assert json.loads(render_audit(held, "json")) == held_json  # valid, and the same document
    assert both["csv"][0] == both["csv"][1]
    assert both["markdown"][0].split("\n")[4:] == both["markdown"][1].split("\n")[4:]
    ids = {row["resource_id"] for row in held_json["findings"]}
    assert stale_branch in ids
    assert len(held_json["findings"]) > 7 * 3
    for text in (*both["table"], *both["markdown"]):
        assert all(resource_id in text for resource_id in ids)
        assert "Total: " in text or "findings, estimated savings" in text
