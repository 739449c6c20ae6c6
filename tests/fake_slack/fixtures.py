"""Fixtures for tests that talk to the fake Slack through the real slack_sdk clients.

Use them from another test package with, in its conftest.py::

    from tests.fake_slack.fixtures import fake_slack, slack_web_client  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from governor.fake_slack import FakeSlack

# slack_sdk reads these itself and ignores NO_PROXY: loopback calls would go to a proxy.
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")


@pytest.fixture
def fake_slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    """A started FakeSlack with the default workspace; stopped when the test ends."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack_web_client(fake_slack: FakeSlack) -> WebClient:
    """A real WebClient with the bot token, pointed at the fake (default retry handlers)."""
    return WebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url, timeout=10)
