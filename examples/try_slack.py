"""Try the Slack integration on this machine, in one command (``make try-slack``)::

    python examples/try_slack.py

It starts the bundled Neon simulator and the bundled fake Slack on loopback (nothing
leaves the machine; no Slack workspace or Neon account is needed), runs the daemon with
``examples/fake-slack-policies`` (``mode: approve``), waits for its report and its approval
request, presses **Approve** as Alice (an approver), and prints what each channel shows,
before and after. The daemon, the outbox and the Socket Mode connection are the real ones;
only Slack and Neon are simulated. Everything stops at the end; the store is temporary.

To keep the pieces running and click yourself, see the README's "Try Slack locally".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from governor.daemon.daemon import Daemon
from governor.fake_slack import FakeSlack, payloads
from governor.fake_slack.log import Message, SlackLog
from governor.fake_slack.workspace import ALICE, APPROVALS, REPORTS
from governor.runtime import Runtime
from governor.simulator import Simulator, SimulatorOptions, World, serve
from governor.store import Store, remediations

POLICIES = Path(__file__).resolve().parent / "fake-slack-policies"
NEON_KEY_ENV = "TRY_SLACK_NEON_KEY"
NEON_KEY = "sim-personal-key"  # the simulator's own token, not a secret
# The buttons of an approval request: the grouped message's, then a single item's.
APPROVE_BUTTONS = ("neon_approve_all", "neon_approve")
WAIT_SECONDS = 120.0


def config_text(folder: Path, neon_url: str, slack: FakeSlack) -> str:
    return f"""\
[neon]
api_url = "{neon_url}"
api_key_env = "{NEON_KEY_ENV}"
[store]
path = "{folder / "governor.db"}"
[policies]
paths = ["{POLICIES}"]
[remediation]
enabled = true
[slack]
api_url = "{slack.base_url}"
channel = "{REPORTS.id}"
approvals_channel = "{APPROVALS.id}"
approvers = ["{ALICE.id}"]
approval_ttl = "1h"
report = "always"
[daemon]
jitter = "0s"
[metrics]
listen = ""
"""


def first_line(message: Message) -> str:
    text = " ".join(message.text.split())
    return text if len(text) <= 110 else text[:107] + "..."


def approve_button(log: SlackLog) -> tuple[Message, str] | None:
    for message in log.messages(APPROVALS.id):
        for action_id in APPROVE_BUTTONS:
            if payloads.find_element(list(message.blocks), action_id) is not None:
                return message, action_id
    return None


def ready(log: SlackLog) -> tuple[Message, str] | None:
    """The approval request with its button, once the run's report is posted too."""
    reported = any("governance report" in m.text for m in log.messages(REPORTS.id))
    return approve_button(log) if reported else None


def block_lines(message: Message) -> list[str]:
    """What a reader sees of a message's sections and context lines, plainly."""
    lines: list[str] = []
    for block in message.blocks:
        texts = [block.get("text")] if block.get("type") == "section" else []
        if block.get("type") == "context":
            texts = list(block.get("elements") or [])
        for text in texts:
            if isinstance(text, dict) and isinstance(text.get("text"), str):
                lines.extend(line for line in text["text"].splitlines() if line.strip())
    return lines


def show(log: SlackLog, say: Callable[[str], None]) -> None:
    for channel in (REPORTS, APPROVALS):
        for message in log.messages(channel.id):
            where = f"#{channel.name}" + (" (thread)" if message.is_reply else "")
            say(f"  {where:<26} {first_line(message)}")


async def session(config: Path, slack: FakeSlack, say: Callable[[str], None]) -> int:
    runtime = Runtime.load(config)
    daemon = Daemon(runtime)
    task = asyncio.create_task(daemon.run())
    try:
        say("The daemon sweeps the simulated account and posts to the fake Slack...")
        message, action_id = await asyncio.to_thread(
            slack.log.wait_for, ready, timeout=WAIT_SECONDS, what="the report and a request"
        )
        show(slack.log, say)
        label = "Approve all" if action_id == "neon_approve_all" else "Approve"
        say(f'\nAlice ({ALICE.id}, an approver) presses "{label}" in #{APPROVALS.name}...')
        envelope = await asyncio.to_thread(
            slack.click, channel=APPROVALS.id, ts=message.ts, action_id=action_id, user=ALICE.id
        )
        await asyncio.to_thread(slack.wait_for_ack, envelope)

        def decided(log: SlackLog) -> Message | None:
            now = log.find_message(APPROVALS.id, message.ts)
            shown = str(now.blocks).lower() if now is not None else ""
            return now if "done" in shown and "running" not in shown else None

        after = await asyncio.to_thread(
            slack.log.wait_for, decided, timeout=WAIT_SECONDS, what="the outcome on the message"
        )
        say(f"The request in #{APPROVALS.name} now reads:")
        for line in block_lines(after)[:12]:
            say(f"  | {line}")
    finally:
        daemon.stop.set()
        await asyncio.wait_for(task, timeout=60)
    with Store.open(runtime.store_path()) as store:
        done = store.call(remediations.listed, states=["succeeded"])
    say(f"\n{len(done)} remediation(s) ran in the simulator after the click:")
    for record in done:
        say(f"  #{record.id} {record.change.kind} on {record.resource_type} {record.resource_id}")
    return 0 if done else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="try_slack.py", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated account")
    args = parser.parse_args(argv)
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        os.environ.pop(name, None)  # slack_sdk would send loopback calls to a proxy
    world = World.generate(seed=args.seed, orgs=1, projects=4, branches=12, now=datetime.now(UTC))
    simulator = Simulator(world, SimulatorOptions(seed=args.seed, operation_seconds=(0.1, 0.3)))

    def say(line: str) -> None:
        print(line, flush=True)

    with (
        tempfile.TemporaryDirectory(prefix="neon-governor-try-slack-") as folder,
        serve(simulator, port=0) as neon_url,
        FakeSlack() as slack,
    ):
        config = Path(folder) / "governor.toml"
        config.write_text(config_text(Path(folder), neon_url, slack))
        os.environ[NEON_KEY_ENV] = NEON_KEY
        os.environ["SLACK_BOT_TOKEN"] = slack.bot_token
        os.environ["SLACK_APP_TOKEN"] = slack.app_token
        say(f"Neon simulator at {neon_url}; fake Slack at {slack.http_root}")
        return asyncio.run(session(config, slack, say))


if __name__ == "__main__":
    sys.exit(main())
