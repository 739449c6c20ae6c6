"""The fake Slack's fixtures: the two-account test approves and keeps from Slack too."""

from tests.fake_slack.fixtures import fake_slack, slack_web_client

__all__ = ["fake_slack", "slack_web_client"]
