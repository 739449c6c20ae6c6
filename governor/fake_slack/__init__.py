"""A loopback fake of Slack (Web API + Socket Mode) for testing the Slack integration
with the real slack_sdk clients, offline. Imports nothing else from ``governor``.

    with FakeSlack() as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.base_url)
        socket = SocketModeClient(app_token=fake.app_token, web_client=client)
"""

from governor.fake_slack.fake import FakeSlack
from governor.fake_slack.faults import DownMode, Failure, Faults
from governor.fake_slack.log import (
    Ack,
    Call,
    Connection,
    Delivery,
    Ephemeral,
    Message,
    MessageVersion,
    ResponseUrlPost,
    SlackLog,
    UploadedFile,
)
from governor.fake_slack.socket_mode import NoConnection
from governor.fake_slack.workspace import Channel, User, Usergroup, Workspace

__all__ = [
    "Ack",
    "Call",
    "Channel",
    "Connection",
    "Delivery",
    "DownMode",
    "Ephemeral",
    "Failure",
    "FakeSlack",
    "Faults",
    "Message",
    "MessageVersion",
    "NoConnection",
    "ResponseUrlPost",
    "SlackLog",
    "UploadedFile",
    "User",
    "Usergroup",
    "Workspace",
]
