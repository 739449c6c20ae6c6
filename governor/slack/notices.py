"""Notices before acting, where people read them: one Slack message per pass.

Mark → notify → act (red-team 11): grace counts from a finding's notice, so the notice
must reach people, not only the log. One message per pass, not one per finding: the first
switch to auto can notice hundreds at once and would bury the channel. Through the
outbox: the message is in the store before a notice is recorded, so a grace never starts
on a notice that could be lost; Slack being down only delays its delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from governor.config.slack import SlackSettings
from governor.policy import Policy
from governor.remediate.plan import PlanItem
from governor.slack.messages import (
    MAX_FALLBACK_TEXT,
    MAX_SECTION_TEXT,
    SlackMessage,
    code,
    context,
    fit,
    plain,
    safe,
    section,
    utc,
)
from governor.slack.outbox import WEBHOOK_CHANNEL
from governor.store import Store
from governor.store import slack as slack_table

VIA = "slack"
MAX_LINES = 40  # one section per line would pass Slack's 50 blocks; the rest are counted


@dataclass(frozen=True)
class SlackNotices:
    """A ``NoticeSink`` for ``apply_plan``: queues the pass's new notices as one message
    in the report channel (or the webhook) and says they went to Slack."""

    store: Store
    settings: SlackSettings
    clock: Callable[[], datetime]
    policies: Mapping[str, Policy]

    async def __call__(self, notices: Sequence[tuple[PlanItem, str]]) -> str | None:
        channel = self.settings.channel or (WEBHOOK_CHANNEL if self.settings.webhook_url else None)
        if channel is None or not notices:
            return None
        now = self.clock()
        message = notice_message([item for item, _ in notices], now=now, policies=self.policies)
        await self.store.run(
            slack_table.enqueue,
            kind="post",
            channel=channel,
            payload={"text": message.text, "blocks": message.blocks},
            now=now,
            ref=f"notices:{utc(now).isoformat(timespec='seconds')}",
        )
        return VIA


def notice_message(
    items: Sequence[PlanItem], *, now: datetime, policies: Mapping[str, Policy]
) -> SlackMessage:
    """What will be done to which resource, by which policy, and when (grace from now)."""
    unique = list({(item.resource_type, item.resource_id): item for item in items}.values())
    lines = [_line(item, now, policies) for item in unique[:MAX_LINES]]
    more = len(unique) - len(lines)
    head = (
        f"{len(unique)} change(s) to Neon noticed. Each runs no sooner than said below: "
        "grace periods count from this notice."
    )
    blocks = [
        {"type": "header", "text": plain("Neon governor: changes coming", 150)},
        section(head),
    ]
    body = ""
    for line in lines:
        if len(body) + len(line) + 1 > MAX_SECTION_TEXT:
            blocks.append(section(body))
            body = ""
        body += line + "\n"
    if body:
        blocks.append(section(body.rstrip("\n")))
    footer = "To stop one: Keep it from the report, `neon-governor reject`, or `pause`."
    if more > 0:
        footer = f"And {more} more (see `neon-governor plan`). " + footer
    blocks.append(context(footer))
    text = f"Neon governor: {len(unique)} change(s) noticed; grace counts from now"
    return SlackMessage(text=fit(text, MAX_FALLBACK_TEXT), blocks=blocks)


def _line(item: PlanItem, now: datetime, policies: Mapping[str, Policy]) -> str:
    return (
        f"• {code(item.policy, 60)}: {safe(item.request, 120)} on {safe(item.resource_type, 20)} "
        f"*{safe(item.name, 120)}* ({code(item.resource_id, 80)}): {_when(item, now, policies)}"
    )


def _when(item: PlanItem, now: datetime, policies: Mapping[str, Policy]) -> str:
    if item.actionable:
        return "now"
    if item.status == "needs_approval":
        return "once an approver approves it"
    graces = [
        policies[source.policy].grace_period for source in item.sources if source.policy in policies
    ]
    grace = max(graces, default=timedelta(0))
    if grace > timedelta(0):
        due = utc(now) + grace
        return f"not before {due.strftime('%Y-%m-%d %H:%M')} UTC"
    return "later: " + safe(item.reason, 200)
