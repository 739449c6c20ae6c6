"""An owner's digest as one Slack message: totals, what changed, their findings by money.

Why one message with controls per item: the owner decides from where they read. Each
listed finding has the report's Keep select (``keep:<finding id>``, the existing keep
handler), and a finding whose remediation waits for an approver has Approve with that
request's own token (the existing approve handler checks who may, as for any click).
Pure and bounded: names from Neon pass ``safe``; items stop before Slack's 50 blocks or
~13k characters, and the footer counts what was left out.
"""

from __future__ import annotations

from typing import Any

from governor.notify.documents import Digest, DigestItem
from governor.slack.approval_message import APPROVE_ACTION
from governor.slack.messages import (
    MAX_BLOCKS,
    MAX_CONFIRM_TEXT,
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_TOTAL_TEXT,
    SlackMessage,
    code,
    context,
    fit,
    keep_select,
    money,
    plain,
    safe,
    section,
    text_length,
    user_list,
)
from governor.slack.report_message import SEVERITY_ICONS, TYPE_LABELS

MAX_RESOLVED_LINES = 20
_RESERVE = 400  # characters kept for the resolved list's head and the closing line


def digest_message(digest: Digest) -> SlackMessage:
    """Header, summary, then the open items (Keep, and Approve where one waits), then what
    resolved since the last digest, then "+N more"."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Neon digest for {digest.owner}", MAX_HEADER_TEXT)},
        section(_summary(digest)),
    ]
    if digest.counted_once_note:
        blocks.append(context(safe(digest.counted_once_note, 500)))
    blocks.append({"type": "divider"})
    open_items = [item for item in digest.items if item.status != "resolved"]
    resolved = [item for item in digest.items if item.status == "resolved"]
    resolved_text = _resolved(resolved, digest.resolved_count)
    if not open_items:
        blocks.append(section("No open findings: nothing of yours is wasting money."))
    shown = 0
    for item in open_items:
        item_blocks = _item_blocks(item)
        room = MAX_BLOCKS - 1 - (1 if resolved_text else 0)  # the footer, the resolved list
        length = text_length(blocks) + text_length(item_blocks) + len(resolved_text)
        if len(blocks) + len(item_blocks) > room or length + _RESERVE > MAX_TOTAL_TEXT:
            break
        blocks.extend(item_blocks)
        shown += 1
    if resolved_text:
        blocks.append(section(resolved_text))
    more = len(open_items) - shown + digest.truncated
    if more:
        blocks.append(
            context(
                f"+{more} more open finding(s) not listed: `neon-governor findings --status open`"
            )
        )
    return SlackMessage(text=fit(_fallback(digest), MAX_FALLBACK_TEXT), blocks=blocks)


def _summary(digest: Digest) -> str:
    since = f" since {digest.since[:10]}" if digest.since else " (first digest)"
    lines = [
        f"*{digest.open_count} open finding(s)* · ~{money(digest.total_usd)}/month to save",
        f"{digest.new_count} new, {digest.resolved_count} resolved{since}",
    ]
    if digest.mentions:
        lines.append(f"For {user_list(digest.mentions)}")
    return "\n".join(lines)


def _item_blocks(item: DigestItem) -> list[dict[str, Any]]:
    """One section; its Keep select as the accessory, or with Approve in an actions block."""
    line = item_line(item)
    keep = keep_select(f"keep:{item.finding_id}") if item.finding_id is not None else None
    if item.approval_token is None:
        return [section(line, accessory=keep)]
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": APPROVE_ACTION,
            "style": "primary",
            "value": item.approval_token,
            "text": plain("Approve", 75),
            "confirm": _confirm(item),
        }
    ]
    if keep is not None:
        elements.append(keep)
    return [
        section(line),
        {
            "type": "actions",
            "block_id": fit(f"digest:{item.approval_token}", 255),
            "elements": elements,
        },
    ]


def item_line(item: DigestItem) -> str:
    """What and where (linked to the console), then why and how much; all escaped."""
    name = safe(item.name or item.resource_id, 150)
    url = _link(item.console_url)
    title = f"*<{url}|{name}>*" if url else f"*{name}*"
    icon = ":new: " if item.status == "new" else ""
    severity = SEVERITY_ICONS.get(item.severity, ":white_circle:")
    kind = TYPE_LABELS.get(item.resource_type, safe(item.resource_type, 30))
    head = [f"{icon}{severity} {title}", kind]
    if item.name != item.resource_id:
        head.append(code(item.resource_id, 60))
    head.append(code(item.policy, 60))
    detail = [safe(item.summary, 300)]
    if item.usd is not None:
        detail.append("risk" if item.estimate_kind == "risk" else f"~{money(item.usd)}/mo")
    if item.remediation_id is not None:
        detail.append(f"remediation #{item.remediation_id} waits for approval")
    return " · ".join(head) + "\n" + " · ".join(detail)


def _resolved(items: list[DigestItem], count: int) -> str:
    if not count:
        return ""
    lines = [
        f"• {safe(item.name or item.resource_id, 120)} "
        f"({TYPE_LABELS.get(item.resource_type, safe(item.resource_type, 30))}, "
        f"{code(item.policy, 60)})"
        for item in items[:MAX_RESOLVED_LINES]
    ]
    rest = count - len(lines)
    if rest > 0:
        lines.append(f"+{rest} more")
    return fit(
        f":white_check_mark: *Resolved since the last digest ({count})*\n" + "\n".join(lines), 2900
    )


def _link(url: str | None) -> str | None:
    """A console URL made safe inside ``<url|text>``: nothing in it may end the link."""
    if not url or not url.startswith(("https://", "http://")):
        return None
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def _confirm(item: DigestItem) -> dict[str, Any]:
    """The dialog names the change and the resource; the server still checks everything."""
    text = (
        f"Approve remediation #{item.remediation_id} ({safe(item.action, 40)}) on "
        f"{safe(item.resource_type, 30)} *{safe(item.name or item.resource_id, 120)}*?"
    )
    return {
        "title": plain("Approve?", 100),
        "text": {"type": "mrkdwn", "text": fit(text, MAX_CONFIRM_TEXT)},
        "confirm": plain("Approve", 30),
        "deny": plain("Cancel", 30),
        "style": "primary",
    }


def _fallback(digest: Digest) -> str:
    return (
        f"Neon digest for {digest.owner}: {digest.open_count} open finding(s), "
        f"~{money(digest.total_usd)}/month; {digest.new_count} new, "
        f"{digest.resolved_count} resolved"
    )
