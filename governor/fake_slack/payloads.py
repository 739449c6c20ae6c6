"""Socket Mode frames as Slack sends them: hello, disconnect, block_actions, slash commands.

Why hand-built from the documented fields: these are what the integration's security
checks read (user.id, team.id, channel.id, container.message_ts, actions[0].value), so
they carry every one of them, in Slack's shapes (slash-command values are strings, as
they come from a form). A test can change any field to forge a click.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from governor.fake_slack.log import JsonDict


def hello(*, app_id: str, num_connections: int) -> JsonDict:
    return {
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {
            "host": "applink-fake-1",
            "build_number": 1,
            "approximate_connection_time": 18060,
        },
        "connection_info": {"app_id": app_id},
    }


def disconnect(reason: str = "refresh_requested") -> JsonDict:
    """Reasons Slack uses: "warning", "refresh_requested", "link_disabled",
    "too_many_websockets"."""
    return {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake-1"}}


def envelope(
    kind: str, payload: JsonDict, *, envelope_id: str, accepts_response_payload: bool
) -> JsonDict:
    return {
        "envelope_id": envelope_id,
        "payload": payload,
        "type": kind,
        "accepts_response_payload": accepts_response_payload,
    }


def redelivery(original: Mapping[str, Any], *, attempt: int, reason: str) -> JsonDict:
    """The same envelope again (same envelope_id), as Slack retries an unacked one."""
    again = copy.deepcopy(dict(original))
    again["retry_attempt"] = attempt
    again["retry_reason"] = reason
    return again


def block_actions(
    *,
    team_id: str,
    team_domain: str,
    app_id: str,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    message: Mapping[str, Any],
    block_id: str,
    element: Mapping[str, Any],
    action_ts: str,
    trigger_id: str,
    response_url: str,
    value: str | None = None,
) -> JsonDict:
    """A click on ``element`` (a button) in ``message`` (as the Web API renders it)."""
    action: JsonDict = {
        "action_id": element.get("action_id"),
        "block_id": block_id,
        "text": copy.deepcopy(element.get("text")),
        "value": value if value is not None else element.get("value"),
        "type": element.get("type", "button"),
        "action_ts": action_ts,
    }
    if "style" in element:
        action["style"] = element["style"]
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": app_id,
        "token": "fake-verification-token",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": copy.deepcopy(dict(message)),
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def slash_command(
    *,
    command: str,
    text: str,
    team_id: str,
    team_domain: str,
    app_id: str,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    trigger_id: str,
    response_url: str,
) -> JsonDict:
    return {
        "token": "fake-verification-token",
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def find_element(blocks: list[Any], action_id: str) -> tuple[str, JsonDict] | None:
    """(block_id, element) of the interactive element with ``action_id`` in a message."""
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                # Slack gives every block a block_id; a missing one gets a generated id.
                return str(block.get("block_id") or f"block{index}"), element
    return None
