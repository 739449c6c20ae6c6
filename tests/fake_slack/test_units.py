"""The pieces without a server: Block Kit limits, timestamps, faults, payload builders."""

from __future__ import annotations

import pytest

from governor.fake_slack import blocks, payloads
from governor.fake_slack.faults import Faults
from governor.fake_slack.ids import Ids, ts_key


def button(**fields: object) -> dict[str, object]:
    return {"type": "button", "text": {"type": "plain_text", "text": "Go"}, **fields}


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "/blocks/0/text/text",
        ),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "/blocks/0/text/type"),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "/blocks/0/fields",
        ),
        ([{"type": "section"}], "/blocks/0"),
        (
            [{"type": "actions", "elements": [button(action_id=f"a{n}") for n in range(26)]}],
            "/blocks/0/elements",
        ),
        (
            [{"type": "actions", "elements": [button(value="v" * 2001)]}],
            "/blocks/0/elements/0/value",
        ),
        ([{"type": "actions", "elements": [button(style="green")]}], "/blocks/0/elements/0/style"),
        (
            [{"type": "actions", "elements": [button(action_id="a"), button(action_id="a")]}],
            "/blocks/0/elements/1/action_id",
        ),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            "/blocks/0/elements",
        ),
        (
            [{"type": "divider", "block_id": "b"}, {"type": "divider", "block_id": "b"}],
            "/blocks/1/block_id",
        ),
        ([{"type": "carousel"}], "/blocks/0/type"),
    ],
)
def test_each_limit_is_reported_where_it_is_broken(given: list[object], problem: str) -> None:
    found = blocks.problems(given)
    assert len(found) == 1
    assert found[0].endswith(f"[json-pointer:{problem}]")


def test_timestamps_stay_unique_on_a_frozen_clock() -> None:
    ids = Ids(now=lambda: 1_700_000_000.0)
    stamps = [ids.ts() for _ in range(3)]
    assert stamps == ["1700000000.000000", "1700000000.000001", "1700000000.000002"]
    assert ts_key("1700000000.5") == (1_700_000_000, 500_000)
    with pytest.raises(ValueError, match="not a Slack timestamp"):
        ts_key("soon")


def test_faults_count_down_and_the_first_scheduled_wins() -> None:
    faults = Faults()
    faults.fail("chat.update", "edit_window_closed", times=1)
    faults.fail("*", "fatal_error", times=2)
    assert [getattr(faults.take("chat.update"), "error", None) for _ in range(4)] == [
        "edit_window_closed",
        "fatal_error",
        "fatal_error",
        None,
    ]
    with pytest.raises(ValueError, match="at least 1"):
        faults.fail("auth.test", "x", times=0)


def test_a_redelivery_is_a_copy_with_the_retry_fields() -> None:
    original = payloads.envelope(
        "interactive", {"type": "block_actions"}, envelope_id="e-1", accepts_response_payload=False
    )
    again = payloads.redelivery(original, attempt=2, reason="timeout")
    assert again == {**original, "retry_attempt": 2, "retry_reason": "timeout"}
    assert "retry_attempt" not in original


def test_find_element_looks_in_actions_and_accessories() -> None:
    message_blocks = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "x"},
            "accessory": button(action_id="acc"),
        },
        {"type": "actions", "block_id": "b2", "elements": [button(action_id="act")]},
    ]
    assert payloads.find_element(message_blocks, "act") == ("b2", button(action_id="act"))
    assert payloads.find_element(message_blocks, "acc") == ("block0", button(action_id="acc"))
    assert payloads.find_element(message_blocks, "none") is None
