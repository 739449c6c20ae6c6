"""Press a button on an approval message in a running fake Slack (``python -m
governor.fake_slack``), as a person in Slack would.

    python examples/fake_slack_click.py http://127.0.0.1:8099 12 approve
    python examples/fake_slack_click.py http://127.0.0.1:8099 12 reject --user U0BOB00002

It reads the fake's log (``/_fake/log``), finds the approval message of remediation 12,
and pushes the click (``/_fake/push``) to the governor's Socket Mode connection. The
governor decides, as it would for Slack: try ``--user U0MALLORY3`` to see a refusal.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from typing import Any

from governor.fake_slack import payloads
from governor.fake_slack.workspace import ALICE, Workspace

ACTIONS = {"approve": "neon_approve", "reject": "neon_reject"}


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def find_request(log: dict[str, Any], remediation_id: int, action_id: str) -> dict[str, Any]:
    """The newest message that asks about ``#remediation_id`` and has the button."""
    wanted = f"*Remediation*\n#{remediation_id}"
    for message in reversed(log["messages"]):
        blocks = message.get("blocks") or []
        fields = [f.get("text") for b in blocks for f in b.get("fields") or []]
        if wanted in fields and payloads.find_element(list(blocks), action_id) is not None:
            return dict(message)
    raise SystemExit(f"no approval message with a button for remediation #{remediation_id}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fake_slack_click.py")
    parser.add_argument("http_root", help="the fake's http_root, e.g. http://127.0.0.1:8099")
    parser.add_argument("remediation_id", type=int)
    parser.add_argument("action", choices=sorted(ACTIONS))
    parser.add_argument("--user", default=ALICE.id, help="who clicks (default: Alice)")
    args = parser.parse_args(argv)
    root = args.http_root.rstrip("/")
    action_id = ACTIONS[args.action]
    message = find_request(_get(f"{root}/_fake/log"), args.remediation_id, action_id)
    found = payloads.find_element(list(message["blocks"]), action_id)
    assert found is not None
    block_id, element = found
    workspace = Workspace()
    stamp = f"{time.time():.6f}"
    payload = payloads.block_actions(
        team_id=workspace.team_id,
        team_domain=workspace.team_domain,
        app_id=workspace.app_id,
        user_id=args.user,
        user_name=args.user.lower(),
        channel_id=message["channel"],
        channel_name=message["channel"],
        message=message,
        block_id=block_id,
        element=element,
        action_ts=stamp,
        trigger_id=f"{stamp}.click",
        response_url=f"{root}/_fake/no-response-url",
    )
    envelope_id = f"click-{args.remediation_id}-{stamp}"
    envelope = payloads.envelope(
        "interactive", payload, envelope_id=envelope_id, accepts_response_payload=False
    )
    answer = _post(f"{root}/_fake/push", envelope)
    if not answer.get("ok"):
        print(f"not delivered: {answer.get('error')}", file=sys.stderr)
        return 1
    print(f"clicked {args.action} on remediation #{args.remediation_id} as {args.user}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
