"""What every Web API method handler may touch: the workspace, the log, ids and URLs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from governor.fake_slack.ids import Ids
from governor.fake_slack.log import SlackLog
from governor.fake_slack.workspace import Workspace


@dataclass
class Context:
    workspace: Workspace
    log: SlackLog
    ids: Ids
    # The Web API host ("http://127.0.0.1:PORT"), known once the server is bound; the
    # upload URL and response_urls live there too.
    http_root: str
    # Hands out a fresh ws:// URL with a one-time ticket (apps.connections.open).
    issue_socket_url: Callable[[], str]
