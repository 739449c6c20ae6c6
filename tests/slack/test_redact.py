"""What slack_sdk logs at debug level, as our filter lets it through."""

from __future__ import annotations

import logging

import pytest

from governor.slack.redact import redact, sdk_logger


@pytest.mark.parametrize(
    ("logged", "secret"),
    [
        ("{'ok': True, 'url': 'wss://x/link/?ticket=abc123-def&app_id=A1'}", "abc123-def"),
        ('{"type": "button", "value": "tok_SECRET-1", "text": "Approve"}', "tok_SECRET-1"),
        ('data: \'{"actions": [{"value": "tok_SECRET-2"}]}\'', "tok_SECRET-2"),
        ("'block_id': 'approval:tok_SECRET-3:0'", "tok_SECRET-3"),
        ("url: https://hooks.slack.com/services/T1/B1/whsecret, body", "whsecret"),
        ("Authorization: Bearer xoxb-1-2-secretbot", "xoxb-1-2-secretbot"),
        ("app token xapp-1-A1-secretapp", "xapp-1-A1-secretapp"),
    ],
)
def test_slack_sdk_debug_lines_lose_tickets_button_values_webhook_paths_and_tokens(
    logged: str, secret: str
) -> None:
    assert secret not in redact(logged)
    assert "[REDACTED]" in redact(logged)


def test_the_sdk_loggers_filter_rewrites_records_before_any_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sdk_logger("web").debug("Received: %s", {"url": "wss://x/?ticket=T0P-SECRET"})
    assert "T0P-SECRET" not in caplog.text
    assert "ticket=[REDACTED]" in caplog.text
