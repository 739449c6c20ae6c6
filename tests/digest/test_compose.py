"""Composing one owner's digest: ranking, top, totals counted once, what changed."""

from __future__ import annotations

from datetime import UTC, datetime

from governor.digest.compose import Approval, Previous, compose, console_link, is_worth_sending
from tests.digest.factories import stored

NOW = datetime(2026, 11, 8, 9, 0, tzinfo=UTC)


def test_items_are_ranked_by_money_with_unpriced_last_then_by_name() -> None:
    findings = [
        stored("br-a", usd=None, name="zeta"),
        stored("br-b", usd=5.0, name="beta"),
        stored("br-c", usd=50.0, name="gamma"),
        stored("br-d", usd=5.0, name="alpha"),
        stored("br-e", usd=None, name="alpha"),
    ]
    digest = compose("team", findings, [], None, now=NOW, top=25)
    assert [item.name for item in digest.items] == ["gamma", "alpha", "beta", "alpha", "zeta"]
    assert [item.usd for item in digest.items] == [50.0, 5.0, 5.0, None, None]


def test_top_truncates_the_list_but_not_the_counts_or_total() -> None:
    findings = [stored(f"br-{n}", usd=float(n), finding_id=n) for n in range(1, 6)]
    digest = compose("team", findings, [], None, now=NOW, top=2)
    assert [item.resource_id for item in digest.items] == ["br-5", "br-4"]
    assert digest.truncated == 3
    assert digest.open_count == 5
    assert digest.total_usd == 15.0


def test_a_cost_two_findings_share_is_counted_once_in_the_total() -> None:
    shared = (("compute_floor:ep-1", 40.0),)
    findings = [
        stored("br-1", usd=40.0, parts=shared, policy="stale-branches"),
        stored("ep-1", usd=40.0, parts=shared, policy="never-suspending-computes"),
    ]
    digest = compose("team", findings, [], None, now=NOW, top=25)
    assert digest.total_usd == 40.0
    assert digest.counted_once_note is not None
    assert "counted once" in digest.counted_once_note


def test_first_digest_counts_every_open_finding_as_new() -> None:
    digest = compose("team", [stored("br-1"), stored("br-2")], [], None, now=NOW, top=25)
    assert digest.since is None
    assert digest.new_count == 2
    assert {item.status for item in digest.items} == {"new"}


def test_new_and_resolved_are_measured_against_the_previous_digest() -> None:
    previous = Previous("2026-11-01T09:00:00.000000+00:00", frozenset({"fp-br-1", "fp-br-2"}))
    open_now = [stored("br-1", usd=3.0), stored("br-3", usd=1.0)]
    closed = [
        stored("br-2", status="resolved"),
        stored("br-9", status="resolved"),  # never in a digest of this owner: not news
    ]
    digest = compose("team", open_now, closed, previous, now=NOW, top=25)
    assert digest.since == previous.created_at
    assert (digest.new_count, digest.resolved_count) == (1, 1)
    assert [(item.resource_id, item.status) for item in digest.items] == [
        ("br-1", "open"),
        ("br-3", "new"),
        ("br-2", "resolved"),
    ]
    assert digest.open_count == 2  # resolved items are listed, not counted as open


def test_an_item_carries_its_approval_token_its_finding_id_and_a_console_link() -> None:
    finding = stored("br-1", finding_id=42)
    approvals = {finding.key: Approval(7, "tok-abc")}
    digest = compose(
        "team", [finding], [], None, now=NOW, top=25, approvals=approvals, mentions=["U1"]
    )
    item = digest.items[0]
    assert (item.remediation_id, item.approval_token, item.finding_id) == (7, "tok-abc", 42)
    assert item.console_url == "https://console.neon.tech/app/projects/pr-1/branches/br-1"
    assert digest.mentions == ("U1",)


def test_console_link_percent_encodes_a_hostile_id() -> None:
    link = console_link(stored("br|<x>&y", project_id="pr/1"))
    assert link == "https://console.neon.tech/app/projects/pr%2F1/branches/br%7C%3Cx%3E%26y"


def test_nothing_new_nor_resolved_is_not_worth_sending_unless_first_or_asked() -> None:
    previous = Previous("2026-11-01T09:00:00.000000+00:00", frozenset({"fp-br-1"}))
    quiet = compose("team", [stored("br-1")], [], previous, now=NOW, top=25)
    assert not is_worth_sending(quiet, first=False, when_empty=False)
    assert is_worth_sending(quiet, first=False, when_empty=True)
    assert is_worth_sending(quiet, first=True, when_empty=False)
    changed = compose("team", [], [stored("br-1", status="resolved")], previous, now=NOW, top=25)
    assert is_worth_sending(changed, first=False, when_empty=False)
