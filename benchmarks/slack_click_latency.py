"""Benchmark: how long an approver's click takes to show its outcome while 100 messages wait.

Issue 19's target: "an approver's click shows its outcome within 3 s while 100 other
messages are queued". Each run starts the Neon simulator and the fake Slack on loopback
and the real daemon (outbox at Slack's one post a second per channel, Socket Mode), as
``examples/try_slack.py`` does; once the approval request is posted, 100 posts are queued
in its channel, then Alice presses Approve. Printed per run: seconds from the click to the
message's first change ("approved, running") and to its outcome ("done"), and how many
of the 100 queued posts went out before each. Exit status 1 when an outcome took > 3 s.

    .venv/bin/python benchmarks/slack_click_latency.py
    .venv/bin/python benchmarks/slack_click_latency.py --runs 5 --queued 200

Times are wall-clock on this machine, polled from the fake's log every 10 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from governor.daemon.daemon import Daemon
from governor.fake_slack import FakeSlack
from governor.fake_slack.log import SlackLog
from governor.fake_slack.workspace import ALICE, APPROVALS
from governor.runtime import Runtime
from governor.simulator import Simulator, SimulatorOptions, World, serve
from governor.store import Store
from governor.store import slack as slack_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from try_slack import NEON_KEY, NEON_KEY_ENV, config_text, ready

TARGET_SECONDS = 3.0
BULK_TEXT = "queued bulk message"


def _bulk_posted(log: SlackLog) -> int:
    return sum(1 for m in log.messages(APPROVALS.id) if m.text.startswith(BULK_TEXT))


async def _until(log: SlackLog, check: Callable[[SlackLog], bool], what: str) -> float:
    """Seconds (monotonic) at which ``check(log)`` first held, polled every 10 ms."""
    end = time.monotonic() + 120
    while time.monotonic() < end:
        if check(log):
            return time.monotonic()
        await asyncio.sleep(0.01)
    raise TimeoutError(f"no {what} within 120 s")


async def one_run(folder: Path, queued: int, seed: int) -> tuple[float, int, float, int]:
    world = World.generate(seed=seed, orgs=1, projects=4, branches=12, now=datetime.now(UTC))
    simulator = Simulator(world, SimulatorOptions(seed=seed, operation_seconds=(0.1, 0.3)))
    with serve(simulator, port=0) as neon_url, FakeSlack() as slack:
        config = folder / "governor.toml"
        config.write_text(config_text(folder, neon_url, slack))
        os.environ[NEON_KEY_ENV] = NEON_KEY
        os.environ["SLACK_BOT_TOKEN"] = slack.bot_token
        os.environ["SLACK_APP_TOKEN"] = slack.app_token
        runtime = Runtime.load(config)
        daemon = Daemon(runtime)
        task = asyncio.create_task(daemon.run())
        try:
            message, action_id = await asyncio.to_thread(
                slack.log.wait_for, ready, timeout=120, what="the report and a request"
            )
            with Store.open(runtime.store_path()) as store:
                for number in range(queued):
                    await store.run(
                        slack_table.enqueue,
                        kind="post",
                        channel=APPROVALS.id,
                        payload={"text": f"{BULK_TEXT} {number}"},
                        now=datetime.now(UTC),
                        ref="bench",
                    )
            original = str(message.blocks)
            clicked = time.monotonic()
            await asyncio.to_thread(
                slack.click, channel=APPROVALS.id, ts=message.ts, action_id=action_id, user=ALICE.id
            )

            def blocks(log: SlackLog) -> str:
                found = log.find_message(APPROVALS.id, message.ts)
                return str(found.blocks).lower() if found is not None else ""

            first = await _until(slack.log, lambda log: blocks(log) != original.lower(), "update")
            before_first = _bulk_posted(slack.log)
            done = await _until(
                slack.log,
                lambda log: "done" in blocks(log) and "running" not in blocks(log),
                "outcome",
            )
            before_done = _bulk_posted(slack.log)
        finally:
            daemon.stop.set()
            await asyncio.wait_for(task, timeout=60)
    return first - clicked, before_first, done - clicked, before_done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queued", type=int, default=100, help="bulk posts queued at the click")
    args = parser.parse_args()
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        os.environ.pop(name, None)
    print(f"slack click latency: {args.queued} posts queued in the clicked message's channel")
    worst = 0.0
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="neon-governor-bench-") as folder:
            first, before_first, done, before_done = asyncio.run(
                one_run(Path(folder), args.queued, seed=7)
            )
        worst = max(worst, done)
        print(
            f"  run {run}: first change {first:.2f} s ({before_first} queued posts before it), "
            f"outcome {done:.2f} s ({before_done} before it)"
        )
    verdict = "meets" if worst <= TARGET_SECONDS else "MISSES"
    print(f"  worst outcome {worst:.2f} s: {verdict} the {TARGET_SECONDS:.0f} s target")
    return 0 if worst <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
