"""Slack messages: valid Block Kit for any input, inert hostile names, the right controls.

Why property tests: the findings come from Neon, so their number and text are not ours to
bound. Every message is checked by slack_sdk's validators and by the fake Slack's limit
checker (the limits Slack enforces live), not only by the asserts written here.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from governor.fake_slack.blocks import problems
from governor.model.actions import parse_action
from governor.model.changes import Change
from governor.model.snapshot import IncompletePart
from governor.pipeline.results import AuditResult
from governor.slack.approval_message import approval_message, approval_status_message
from governor.slack.messages import SlackMessage, text_length
from governor.slack.report_message import findings_csv, report_message
from governor.store import StoredFinding
from governor.store.remediations import RemediationRecord

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
HOSTILE = "<!channel> <@U0BAD> <https://evil.example|Approve> & \x1b[2J\u202e\nx|y`z"


def finding(number: int, **changes: Any) -> StoredFinding:
    values: dict[str, Any] = {
        "id": number,
        "policy": "stale_branches",
        "resource_type": "branch",
        "resource_id": f"br-{number}",
        "org_id": "org-1",
        "project_id": "proj-1",
        "name": f"dev-{number}",
        "severity": "medium",
        "summary": "idle 45 days",
        "action": parse_action({"type": "none"}),
        "mode": "report",
        "status": "open",
        "first_seen": "2026-11-01T00:00:00.000000+00:00",
        "last_seen": "2026-11-27T09:00:00.000000+00:00",
        "status_changed_at": "2026-11-01T00:00:00.000000+00:00",
        "resolved_at": None,
        "reopened_at": None,
        "reopen_count": 0,
        "fingerprint": "f",
        "evidence": {},
        "estimate_usd": float(number),
        "estimate_method": "storage",
        "estimate_kind": "estimated",
        "first_run_id": 1,
        "last_run_id": 7,
        "resolved_run_id": None,
    }
    values.update(changes)
    return StoredFinding(**values)


def audit(findings: list[StoredFinding], **changes: Any) -> AuditResult:
    values: dict[str, Any] = {
        "run_id": 7,
        "started_at": NOW,
        "finished_at": NOW + timedelta(seconds=75),
        "complete": True,
        "requests": 10,
        "findings": findings,
        "resolved": [],
        "incomplete": [],
        "policies": ["stale_branches", "idle_computes"],
    }
    values.update(changes)
    return AuditResult(**values)


def record(**changes: Any) -> RemediationRecord:
    values: dict[str, Any] = {
        "id": 42,
        "run_id": 7,
        "reverts_id": None,
        "account": "acme",
        "policy": "stale_branches",
        "mode": "approve",
        "findings": [],
        "resource_type": "branch",
        "resource_id": "br-1",
        "org_id": "org-1",
        "project_id": "proj-1",
        "resource_name": "dev-old",
        "change": Change("delete_branch"),
        "before": {"name": "dev-old"},
        "after": {"deleted": True},
        "disruptive": False,
        "irreversible": True,
        "why": "idle 45 days",
        "estimate_usd": 3.5,
        "plan_hash": None,
        "state": "awaiting_approval",
        "reason": None,
        "created_at": "2026-11-27T09:00:00.000000+00:00",
        "updated_at": "2026-11-27T09:00:00.000000+00:00",
        "approval_expires_at": "2026-11-28T09:00:00.000000+00:00",
        "decided_by": None,
        "decided_at": None,
        "intent_at": None,
        "sent_at": None,
        "finished_at": None,
    }
    values.update(changes)
    return RemediationRecord(**values)


def report(findings: list[StoredFinding], **kwargs: Any) -> SlackMessage:
    kwargs.setdefault("remediations", {"succeeded": 3, "failed": 1, "awaiting_approval": 2})
    kwargs.setdefault("owners", {})
    kwargs.setdefault("exempted", {})
    result = kwargs.pop("result", None) or audit(findings)
    return report_message(result, **kwargs)


def approval(rec: RemediationRecord, **kwargs: Any) -> SlackMessage:
    kwargs.setdefault("approval_id", "apr_7f3c")
    kwargs.setdefault("expires_at", NOW + timedelta(days=1))
    kwargs.setdefault("owner", "U123")
    kwargs.setdefault("required", 2)
    kwargs.setdefault("votes", [])
    return approval_message(rec, **kwargs)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def assert_valid(message: SlackMessage) -> None:
    """slack_sdk's validators, the fake Slack's, and the limits neither checks."""
    blocks = message.blocks
    json.dumps(blocks)  # plain JSON
    assert 0 < len(blocks) <= 50
    assert problems(blocks) == []
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert len(block.get("fields", [])) <= 10
            assert all(len(field["text"]) <= 2000 for field in block.get("fields", []))
            assert len(block.get("text", {}).get("text", "")) <= 3000
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
    assert text_length(blocks) <= 13_000
    assert 0 < len(message.text) <= 1000
    for text in [message.text, *strings(blocks)]:
        assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in text.replace("\n", ""))


def finding_sections(message: SlackMessage) -> list[dict[str, Any]]:
    return [block for block in message.blocks if "accessory" in block]


def all_text(message: SlackMessage) -> str:
    return "\n".join([message.text, *strings(message.blocks)])


# -- report ---------------------------------------------------------------------------


def test_report_shows_the_numbers_and_the_top_findings_by_estimate() -> None:
    findings = [finding(n, first_run_id=7 if n % 5 == 0 else 1) for n in range(1, 26)]
    result = audit(findings, resolved=[finding(99)])
    message = report([], result=result)
    assert_valid(message)
    assert message.blocks[0]["text"]["text"] == "Neon governance report — 2026-11-27"
    fields = "\n".join(field["text"] for field in message.blocks[1]["fields"])
    assert "*Findings*\n25" in fields
    assert "*New in this run*\n5" in fields
    assert "*Resolved*\n1" in fields
    assert "$325.00/mo" in fields
    assert "3 done · 1 failed · 2 waiting for approval" in fields
    assert "`stale_branches`: 25" in fields
    assert "`idle_computes`: 0" in fields
    shown = finding_sections(message)
    assert len(shown) == 10
    assert "dev-25" in shown[0]["text"]["text"]  # the largest estimate first
    assert message.blocks[-1]["elements"][0]["text"] == (
        "+15 more (full list in the CSV in this thread)"
    )
    assert message.text.startswith("Neon governance report 2026-11-27: 25 findings (5 new")


def test_severity_breaks_ties_between_equal_estimates() -> None:
    message = report(
        [finding(1, estimate_usd=None), finding(2, estimate_usd=None, severity="high")]
    )
    shown = finding_sections(message)
    assert "dev-2" in shown[0]["text"]["text"]


def test_each_finding_links_to_its_console_page() -> None:
    findings = [
        finding(1, resource_type="project", resource_id="proj-1", name="acme"),
        finding(2),
        finding(3, resource_type="endpoint", resource_id="ep-3"),
        finding(4, resource_type="api_key", resource_id="77", project_id=None),
        finding(5, resource_id="br/5|x", project_id="p|<!here>"),
    ]
    message = report(findings, console_url="https://console.example/")
    text = all_text(message)
    assert "<https://console.example/app/projects/proj-1|acme>" in text
    assert "<https://console.example/app/projects/proj-1/branches/br-2|dev-2>" in text
    assert "<https://console.example/app/projects/proj-1/branches|dev-3>" in text
    assert "<https://console.example/app/settings/api-keys|dev-4>" in text
    assert "/app/projects/p%7C%3C%21here%3E/branches/br%2F5%7Cx|dev-5>" in text


def test_owner_exemption_and_snooze_control_on_each_line() -> None:
    key = ("branch", "br-1")
    message = report(
        [finding(1)],
        owners={key: "U123"},
        exempted={key: "until 2026-12-09 (<!here> demo)"},
    )
    line = finding_sections(message)[0]
    assert "owner <@U123>" in line["text"]["text"]
    assert "_exempt until 2026-12-09 (&lt;!here&gt; demo)_" in line["text"]["text"]
    select = line["accessory"]
    assert select["action_id"] == "neon_keep"
    assert [(o["text"]["text"], o["value"]) for o in select["options"]] == [
        ("Keep 7 days", "keep:1:7d"),
        ("Keep 30 days", "keep:1:30d"),
    ]


def test_an_owner_that_is_not_a_user_id_is_not_rendered_as_a_mention() -> None:
    message = report([finding(1)], owners={("branch", "br-1"): "!channel"})
    assert "<!channel>" not in all_text(message)
    assert "owner" not in finding_sections(message)[0]["text"]["text"]


def test_hostile_names_cannot_ping_link_or_break_lines() -> None:
    findings = [finding(1, name=HOSTILE, summary=HOSTILE, resource_id=HOSTILE, policy=HOSTILE)]
    message = report(findings)
    assert_valid(message)
    text = all_text(message)
    for raw in ("<!channel>", "<@U0BAD>", "<https://evil.example", "\x1b", "\u202e"):
        assert raw not in text
    assert "&lt;!channel&gt;" in text
    line = finding_sections(message)[0]["text"]["text"]
    assert line.count("\n") == 1  # the name's newline is shown, not obeyed


def test_an_incomplete_sweep_says_so_first() -> None:
    parts = [IncompletePart("branches", "HTTP 503 <!channel>", "org-1", f"p-{n}") for n in range(8)]
    message = report([finding(1)], result=audit([finding(1)], complete=False, incomplete=parts))
    assert_valid(message)
    assert "incomplete" in message.blocks[0]["text"]["text"]
    assert message.blocks[1]["text"]["text"].startswith(":warning: *Incomplete sweep*: 8 part(s)")
    assert "…and 3 more" in message.blocks[1]["text"]["text"]
    assert message.text.startswith("INCOMPLETE sweep (8 parts not read).")
    assert "<!channel>" not in all_text(message)


def test_no_findings() -> None:
    message = report([])
    assert_valid(message)
    assert any(b.get("text", {}).get("text") == "No findings in this run." for b in message.blocks)
    assert finding_sections(message) == []


def test_many_policies_stay_within_one_field() -> None:
    policies = [f"policy_{n}_{'x' * 60}" for n in range(200)]
    message = report([], result=audit([], policies=policies))
    assert_valid(message)
    assert "more policies" in message.blocks[1]["fields"][-1]["text"]


names = st.text(max_size=3000) | st.sampled_from([HOSTILE, "", "=cmd|' /C calc'!A0", "x" * 5000])


@st.composite
def hostile_findings(draw: st.DrawFn) -> list[StoredFinding]:
    count = draw(st.integers(min_value=0, max_value=120))
    name, summary, ident = draw(names), draw(names), draw(names)
    return [
        finding(
            n,
            name=name + str(n),
            summary=summary,
            resource_id=ident + str(n),
            project_id=draw(st.none() | st.just(ident)),
            resource_type=draw(st.sampled_from(["project", "branch", "endpoint", "api_key"])),
            severity=draw(st.sampled_from(["low", "medium", "high"])),
            estimate_usd=draw(st.none() | st.floats(0, 1e9)),
        )
        for n in range(count)
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    findings=hostile_findings(),
    top=st.integers(min_value=0, max_value=200),
    note=names,
    broken=st.integers(min_value=0, max_value=30),
)
def test_any_findings_make_a_valid_report(
    findings: list[StoredFinding], top: int, note: str, broken: int
) -> None:
    keys = {(f.resource_type, f.resource_id) for f in findings}
    parts = [IncompletePart("projects", note, note, note)] * broken
    result = audit(
        findings,
        complete=not parts,
        incomplete=parts,
        resolved=findings[:3],
        policies=[note + str(n) for n in range(broken * 10)],
    )
    message = report(
        findings,
        result=result,
        top=top,
        owners=dict.fromkeys(keys, "U123"),
        exempted=dict.fromkeys(keys, note),
        remediations={"succeeded": 1, note: 2},
    )
    assert_valid(message)
    shown = len(finding_sections(message))
    # never all cut: the longest line fits at least three times in the character budget
    assert min(top, len(findings), 3) <= shown <= min(top, len(findings))
    more = len(findings) - shown
    closing = message.blocks[-1]["elements"][0]["text"] if findings else ""
    if more:
        assert closing == f"+{more} more (full list in the CSV in this thread)"
    assert "<!channel>" not in all_text(message)


# -- CSV --------------------------------------------------------------------------------


def test_csv_has_every_finding_and_neutralises_formulas() -> None:
    findings = [finding(n) for n in range(1, 31)]
    findings.append(finding(31, name='=HYPERLINK("http://x")', summary="+1", resource_id="-2"))
    key = ("branch", "br-1")
    text = findings_csv(
        audit(findings), owners={key: "U123"}, exempted={key: "until 2026-12-09 (demo)"}
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 31
    assert list(rows[0]) == [
        "policy",
        "severity",
        "resource_type",
        "resource_id",
        "name",
        "project_id",
        "org_id",
        "summary",
        "estimated_monthly_savings_usd",
        "estimate_kind",
        "first_seen",
        "owner",
        "exemption",
    ]
    hostile = next(row for row in rows if row["resource_id"] == "'-2")
    assert hostile["name"] == '\'=HYPERLINK("http://x")'
    assert hostile["summary"] == "'+1"
    first = next(row for row in rows if row["resource_id"] == "br-1")
    assert (first["owner"], first["exemption"]) == ("U123", "until 2026-12-09 (demo)")
    # the report's order: largest estimate first
    assert [row["resource_id"] for row in rows[:2]] == ["'-2", "br-30"]


# -- approvals ----------------------------------------------------------------------------


def actions_block(message: SlackMessage) -> dict[str, Any]:
    (block,) = [block for block in message.blocks if block["type"] == "actions"]
    return block


def test_approval_buttons_carry_only_the_approval_id() -> None:
    message = approval(record(), votes=["U1"], required=2)
    assert_valid(message)
    block = actions_block(message)
    assert block["block_id"] == "approval:apr_7f3c:1"
    approve, reject, keep = block["elements"]
    assert (approve["action_id"], approve["style"], approve["value"]) == (
        "neon_approve",
        "primary",
        "apr_7f3c",
    )
    assert (reject["action_id"], reject["style"], reject["value"]) == (
        "neon_reject",
        "danger",
        "apr_7f3c",
    )
    assert keep["action_id"] == "neon_keep"
    assert [o["value"] for o in keep["options"]] == [
        "keep-remediation:42:7d",
        "keep-remediation:42:30d",
    ]
    confirm = approve["confirm"]["text"]["text"]
    assert "Delete branch" in confirm
    assert "dev-old" in confirm
    assert "cannot be undone" in confirm


def test_approval_shows_the_move_warnings_expiry_and_votes() -> None:
    rec = record(
        resource_type="endpoint",
        resource_id="ep-1",
        resource_name="ep-1",
        change=Change("update_endpoint", {"autoscaling_limit_max_cu": 2.0}),
        before={"autoscaling_limit_max_cu": 8.0},
        after={"autoscaling_limit_max_cu": 2.0},
        disruptive=True,
        irreversible=False,
    )
    expires = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    message = approval(rec, expires_at=expires, votes=["U1", "U2"], required=3)
    assert_valid(message)
    text = all_text(message)
    assert "autoscaling_limit_max_cu: 8 → 2" in text
    assert "restarts the compute; connections drop" in text
    assert "Irreversible" not in text
    assert "<!date^1795856400^{date_short_pretty} {time}|2026-11-28T09:00:00+00:00>" in text
    assert "Approvals: <@U1>, <@U2> (2 of 3)" in text
    assert "*Owner*\n<@U123>" in text
    assert "$3.50/mo" in text
    assert "`stale_branches`" in text
    assert (
        "The compute restarts" in actions_block(message)["elements"][0]["confirm"]["text"]["text"]
    )


def test_each_vote_gives_the_actions_a_new_block_id() -> None:
    ids = {actions_block(approval(record(), votes=votes))["block_id"] for votes in ([], ["U1"])}
    assert len(ids) == 2


def test_hostile_remediation_text_is_inert() -> None:
    rec = record(resource_name=HOSTILE * 50, why=HOSTILE * 500, resource_id=HOSTILE)
    message = approval(rec, votes=["<!channel>"], owner="<!here>")
    assert_valid(message)
    text = all_text(message)
    assert "<!channel>" not in text
    assert "<!here>" not in text
    assert "<https://evil.example" not in text


@settings(max_examples=40, deadline=None)
@given(
    name=names,
    why=names,
    approval_id=st.from_regex(r"[A-Za-z0-9_-]{1,80}", fullmatch=True),
    votes=st.integers(0, 30),
)
def test_any_remediation_makes_a_valid_approval(
    name: str, why: str, approval_id: str, votes: int
) -> None:
    rec = record(
        resource_name=name,
        why=why,
        change=Change("update_endpoint", {name: why}),
        before={name: name},
        after={name: why},
    )
    message = approval(rec, approval_id=approval_id, votes=[f"U{n}" for n in range(votes)])
    assert_valid(message)
    approve, reject, _ = actions_block(message)["elements"]
    assert approve["value"] == reject["value"] == approval_id
    status = approval_status_message(rec, status="failed", detail=why)
    assert_valid(status)


# -- status ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        ("running", "approved by <@U1>", ":hourglass_flowing_sand: *running* · approved by <@U1>"),
        ("done", "", ":white_check_mark: *done*"),
        ("failed", "Neon: <!channel> quota", ":x: *failed* · Neon: &lt;!channel&gt; quota"),
        ("rejected", "by <@U2>: not now", ":no_entry_sign: *rejected* · by <@U2>: not now"),
        ("expired", "", ":hourglass: *expired*"),
    ],
)
def test_status_replaces_the_controls(status: str, detail: str, expected: str) -> None:
    message = approval_status_message(record(), status=status, detail=detail)
    assert_valid(message)
    assert not [block for block in message.blocks if block["type"] == "actions"]
    last = message.blocks[-1]
    assert last["type"] == "context"
    assert last["elements"][0]["text"] == expected
    assert re.fullmatch(r"status:42:[0-9a-f]{12}", last["block_id"])
    assert message.text.startswith(f"Remediation #42 {status}: delete branch on branch dev-old")


def test_each_status_gets_a_new_block_id() -> None:
    ids = {
        approval_status_message(record(), status=status, detail="x").blocks[-1]["block_id"]
        for status in ("running", "done")
    }
    assert len(ids) == 2
