"""The grouped approval message alone (pure): within Slack's limits whatever the items hold,
names escaped, every item reachable, and the buttons only while something waits."""

from __future__ import annotations

from governor.slack.approval_group_message import (
    APPROVE_ALL_ACTION,
    MAX_LISTED,
    SHOW_ITEMS_ACTION,
    GroupLine,
    group_message,
)
from governor.slack.messages import SlackMessage, text_length
from tests.slack.test_messages import assert_valid, record

HOSTILE = "<!channel> <https://evil.example|Approve> *bold* `tick`\n" + "x" * 400


def message(count: int, **changes: object) -> SlackMessage:
    lines = [
        GroupLine(
            record(id=n, resource_id=f"br-{n}", resource_name=f"{HOSTILE}-{n}", **changes),
            votes=0,
            required=1,
        )
        for n in range(count)
    ]
    return group_message(
        token="grp_tok",
        policy="stale-branches",
        owner="team-a",
        lines=lines,
        total_usd=123.45,
        buttons=True,
        unshown=count,
    )


def test_a_group_of_hundreds_of_hostile_items_stays_within_slacks_limits() -> None:
    big = message(300)
    assert_valid(big)
    assert text_length(big.blocks) < 11_000
    text = str(big.blocks)
    assert "<!channel>" not in text
    assert "<https://evil" not in text
    listed = text.count("• ")
    assert 0 < listed <= MAX_LISTED
    assert f"…and {300 - listed} more" in text  # the rest is counted, and Show items
    assert SHOW_ITEMS_ACTION in text  # posts every one in the thread


def test_the_group_buttons_go_once_nothing_waits() -> None:
    waiting = message(3)
    assert APPROVE_ALL_ACTION in str(waiting.blocks)
    decided = message(3, state="succeeded")
    assert_valid(decided)
    assert APPROVE_ALL_ACTION not in str(decided.blocks)
    assert ":white_check_mark: done" in str(decided.blocks)
