"""The fake Slack's fixtures, for the digest's Slack tests."""

from tests.fake_slack.fixtures import fake_slack, slack_web_client

__all__ = ["fake_slack", "slack_web_client"]
