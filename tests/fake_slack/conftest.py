"""The fake Slack's fixtures, for the tests in this package."""

from tests.fake_slack.fixtures import fake_slack, slack_web_client

__all__ = ["fake_slack", "slack_web_client"]
