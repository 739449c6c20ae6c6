"""The grouped approval request: one message per policy and owner per run.

Why grouped: a first run against a large account asks for dozens of changes at once, and
one message each floods the channel (80 messages, one a second). The group message lists
the items compactly, with "Approve all" / "Reject all" (each item still decided on its own,
by the same checks as a click on it) and "Show items", which posts each item's own
approval message in the thread for per-item choices. Buttons carry the group's opaque
token only; the server looks the items up again. Pure: the caller reads the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governor.slack.approval_message import moves
from governor.slack.messages import (
    MAX_CONFIRM_TEXT,
    MAX_FALLBACK_TEXT,
    MAX_SECTION_TEXT,
    MAX_TOTAL_TEXT,
    SlackMessage,
    code,
    context,
    fit,
    money,
    plain,
    safe,
    section,
    utc,
)
from governor.store.remediations import RemediationRecord

APPROVE_ALL_ACTION = "neon_approve_all"
REJECT_ALL_ACTION = "neon_reject_all"
SHOW_ITEMS_ACTION = "neon_show_items"
MAX_LISTED = 40  # items listed in the message; the rest are reachable through Show items
_LINE_LIMIT = 400
_TEXT_BUDGET = MAX_TOTAL_TEXT - 2500  # room for the header, the context and the buttons
_STATES = {
    "awaiting_approval": ":hourglass_flowing_sand: waiting",
    "approved": ":arrow_forward: approved, running",
    "executing": ":arrow_forward: running",
    "waiting_operations": ":arrow_forward: running",
    "succeeded": ":white_check_mark: done",
    "failed": ":x: failed",
    "rejected": ":no_entry_sign: rejected",
    "skipped": ":fast_forward: skipped",
    "expired": ":hourglass: expired",
    "planned": ":spiral_note_pad: planned",
}


@dataclass(frozen=True)
class GroupLine:
    """One item as the group message shows it: the record, its votes and what it needs."""

    record: RemediationRecord
    votes: int
    required: int


def group_message(
    *,
    token: str,
    policy: str,
    owner: str | None,
    lines: Sequence[GroupLine],
    total_usd: float | None,
    buttons: bool,
    unshown: int,
) -> SlackMessage:
    """The group with its items' current states; buttons while any item waits.

    ``buttons``: someone may approve some item from Slack (else the CLI hint). ``unshown``:
    items whose own message is not in the thread yet (Show items posts them once).
    """
    waiting = [line for line in lines if line.record.state == "awaiting_approval"]
    irreversible = sum(line.record.irreversible for line in lines)
    disruptive = sum(line.record.disruptive for line in lines)
    who = f"owner *{safe(owner, 80)}*" if owner else "no owner"
    head = f"*Approval needed: {len(lines)} changes* · policy {code(policy, 100)} · {who}"
    if total_usd is not None:
        head += f"\nEstimated savings: *{money(total_usd)}/mo* (each cost counted once)"
    marks = []
    if disruptive:
        marks.append(f":warning: {disruptive} disruptive (computes restart; connections drop)")
    if irreversible and waiting:
        marks.append(
            f":no_entry: {irreversible} irreversible: approved one by one in the thread"
            " (Approve all leaves them unless one approval of yours suffices)"
        )
    elif irreversible:
        marks.append(f":no_entry: {irreversible} irreversible")
    blocks: list[dict[str, Any]] = [section("\n".join([head, *marks]))]
    blocks.extend(_item_sections(lines))
    listed = min(len(lines), MAX_LISTED)
    notes = []
    if len(lines) > listed or _over_budget(lines):
        notes.append("Show items posts every one in the thread.")
    expiry = _earliest_expiry(waiting)
    if expiry is not None:
        moment = utc(expiry)
        notes.append(
            f"Expires <!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|"
            f"{moment.isoformat(timespec='seconds')}>"
        )
    if waiting:
        notes.append(f"{len(waiting)} of {len(lines)} still waiting")
    else:
        notes.append("Every item is decided")
    blocks.append(context(*notes))
    elements: list[dict[str, Any]] = []
    if waiting and buttons:
        elements += [
            _button("Approve all", APPROVE_ALL_ACTION, token, "primary", _confirm(lines, True)),
            _button("Reject all", REJECT_ALL_ACTION, token, "danger", _confirm(lines, False)),
        ]
    elif waiting:
        blocks.append(
            section(
                "No one is configured to approve these from Slack (`[slack] approvers`). "
                "Decide on the governor's host: `neon-governor approve <id>` / `reject <id>`."
            )
        )
    if unshown:
        elements.append(_button("Show items", SHOW_ITEMS_ACTION, token, None, None))
    if elements:
        state = "|".join(f"{line.record.id}:{line.record.state}:{line.votes}" for line in lines)
        digest = hashlib.sha256(f"{state}|{unshown}".encode()).hexdigest()[:12]
        blocks.append({"type": "actions", "block_id": f"group:{digest}", "elements": elements})
    text = (
        f"Approval needed: {len(lines)} changes by policy {safe(policy, 100)}"
        + (f" for {safe(owner, 80)}" if owner else "")
        + f" ({len(waiting)} waiting)"
    )
    return SlackMessage(text=fit(text, MAX_FALLBACK_TEXT), blocks=blocks)


def item_line(line: GroupLine) -> str:
    """``• name (id) change: before → after  marks — status``, escaped and bounded."""
    record = line.record
    name = safe(record.resource_name or record.resource_id, 80)
    change = fit(moves(record).replace("\n", "; "), 160)
    marks = "".join(
        mark
        for flag, mark in (
            (record.disruptive, " :warning:"),
            (record.irreversible, " :no_entry: irreversible"),
        )
        if flag
    )
    status = _STATES.get(record.state, safe(record.state, 30))
    if record.state == "awaiting_approval" and line.required > 1:
        status += f" ({line.votes} of {line.required})"
    text = (
        f"• *{name}* ({code(record.resource_id, 60)}) {safe(record.change.title.lower(), 40)}"
        f": {change}{marks} — {status} · #{record.id}"
    )
    return fit(text, _LINE_LIMIT)


def _item_sections(lines: Sequence[GroupLine]) -> list[dict[str, Any]]:
    """The first items as sections of whole lines, within Slack's per-message text
    budget; the caller says the rest are reachable through Show items."""
    sections: list[dict[str, Any]] = []
    current: list[str] = []
    size = used = 0
    for line in lines[:MAX_LISTED]:
        text = item_line(line)
        if used + len(text) > _TEXT_BUDGET:
            break
        if size + len(text) + 1 > MAX_SECTION_TEXT - 100:
            sections.append(section("\n".join(current)))
            current, size = [], 0
        current.append(text)
        size += len(text) + 1
        used += len(text) + 1
    if current:
        sections.append(section("\n".join(current)))
    shown = sum(len(block["text"]["text"].split("\n")) for block in sections)
    if shown < len(lines):
        sections.append(context(f"…and {len(lines) - shown} more"))
    return sections


def _over_budget(lines: Sequence[GroupLine]) -> bool:
    return sum(len(item_line(line)) + 1 for line in lines[:MAX_LISTED]) > _TEXT_BUDGET


def _earliest_expiry(waiting: Sequence[GroupLine]) -> datetime | None:
    times = [
        datetime.fromisoformat(line.record.approval_expires_at)
        for line in waiting
        if line.record.approval_expires_at is not None
    ]
    return min(times) if times else None


def _button(
    label: str, action_id: str, token: str, style: str | None, confirm: dict[str, Any] | None
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "value": token,
        "text": plain(label, 75),
    }
    if style is not None:
        button["style"] = style
    if confirm is not None:
        button["confirm"] = confirm
    return button


def _confirm(lines: Sequence[GroupLine], approve: bool) -> dict[str, Any]:
    """The dialog says how many and what Approve all does with the irreversible ones."""
    waiting = [line for line in lines if line.record.state == "awaiting_approval"]
    verb = "Approve" if approve else "Reject"
    text = f"{verb} the {len(waiting)} waiting changes? Each is checked as if you clicked it alone."
    if approve and any(line.record.irreversible for line in waiting):
        text += " Irreversible ones stay for a per-item decision unless one approval suffices."
    if approve and any(line.record.disruptive for line in waiting):
        text += " Disruptive ones restart their compute."
    return {
        "title": plain(f"{verb} all?", 100),
        "text": {"type": "mrkdwn", "text": fit(text, MAX_CONFIRM_TEXT)},
        "confirm": plain(f"{verb} all", 30),
        "deny": plain("Cancel", 30),
        "style": "primary" if approve else "danger",
    }
