"""The approval message for one remediation, and the same message once it is decided.

Why it says so much: the person clicking Approve sees nothing else, so the message names
the resource, the exact move (before → after), whether it drops connections or cannot be
undone, why, and until when the request stands. Buttons carry the opaque approval id
only; the server looks everything else up again (a click proves who, never what).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from governor.model.changes import value_text
from governor.slack.messages import (
    MAX_CONFIRM_TEXT,
    MAX_FALLBACK_TEXT,
    SlackMessage,
    code,
    context,
    fields_section,
    fit,
    keep_select,
    mention,
    money,
    plain,
    safe,
    section,
    user_list,
    utc,
)
from governor.store.remediations import RemediationRecord

APPROVE_ACTION = "neon_approve"
REJECT_ACTION = "neon_reject"
STATUS_ICONS = {
    "approved": ":hourglass_flowing_sand:",
    "running": ":hourglass_flowing_sand:",
    "done": ":white_check_mark:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "skipped": ":fast_forward:",
    "expired": ":hourglass:",
    "rejected": ":no_entry_sign:",
    "withdrawn": ":no_entry_sign:",
}
DISRUPTIVE = ":warning: *Disruptive*: restarts the compute; connections drop."
IRREVERSIBLE = ":no_entry: *Irreversible*: this cannot be undone."
# A user mention as ``escape`` leaves it; the only mrkdwn a status detail may keep.
_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{1,31})&gt;")


def approval_message(
    record: RemediationRecord,
    *,
    approval_id: str,
    expires_at: datetime,
    owner: str | None,
    required: int,
    votes: Sequence[str],
    buttons: bool = True,
) -> SlackMessage:
    """The request with Approve / Reject / Keep controls.

    The actions block_id changes with each vote, as Slack asks of an updated message.
    Without ``buttons`` (nobody may approve this class from Slack) the message says how
    to decide from the CLI instead: a button that refuses everyone would only mislead.
    """
    moment = utc(expires_at)
    expires = (
        f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|"
        f"{moment.isoformat(timespec='seconds')}>"
    )
    approvals = (
        f"{user_list(votes)} ({len(votes)} of {required})"
        if votes
        else f"none yet (0 of {required})"
    )
    blocks = _body(record, owner)
    text = f"Approval needed: {_what(record, 300)} (expires {moment:%Y-%m-%d %H:%M} UTC)"
    if not buttons:
        blocks.append(context(f"Expires {expires}"))
        blocks.append(section(cli_hint(record.id)))
        return SlackMessage(text=fit(text, MAX_FALLBACK_TEXT), blocks=blocks)
    blocks.append(context(f"Expires {expires}", f"Approvals: {approvals}"))
    blocks.append(
        {
            "type": "actions",
            "block_id": fit(f"approval:{approval_id}:{len(votes)}", 255),
            "elements": [
                {
                    "type": "button",
                    "action_id": APPROVE_ACTION,
                    "style": "primary",
                    "value": approval_id,
                    "text": plain("Approve", 75),
                    "confirm": _confirm(record),
                },
                {
                    "type": "button",
                    "action_id": REJECT_ACTION,
                    "style": "danger",
                    "value": approval_id,
                    "text": plain("Reject", 75),
                },
                keep_select(f"keep-remediation:{record.id}"),
            ],
        }
    )
    return SlackMessage(text=fit(text, MAX_FALLBACK_TEXT), blocks=blocks)


def cli_hint(remediation_id: int) -> str:
    """How to decide a request nobody may decide from Slack."""
    return (
        "No one is configured to approve this kind of change from Slack (`[slack] approvers`"
        " / `destructive_approvers`). Decide on the governor's host: "
        f"`neon-governor approve {remediation_id}` or `neon-governor reject {remediation_id}`."
    )


def approval_status_message(record: RemediationRecord, *, status: str, detail: str) -> SlackMessage:
    """The request once decided: the controls replaced by one status line.

    ``detail`` may hold Neon's error text, so it is escaped; user mentions (``<@U…>``)
    in it are the only mrkdwn kept, so "approved by <@U1>" still names the person.
    """
    icon = STATUS_ICONS.get(status, ":information_source:")
    line = f"{icon} *{safe(status, 40)}*"
    if detail:
        line += f" · {_keep_mentions(detail)}"
    digest = hashlib.sha256(f"{status}\0{detail}".encode()).hexdigest()[:12]
    blocks = _body(record, None)
    blocks.append(context(fit(line, 2900), block_id=f"status:{record.id}:{digest}"))
    text = f"Remediation #{record.id} {safe(status, 40)}: {_what(record, 300)}"
    return SlackMessage(text=fit(text, MAX_FALLBACK_TEXT), blocks=blocks)


def _body(record: RemediationRecord, owner: str | None) -> list[dict[str, Any]]:
    """What both versions show: the resource and move, the warnings, the reason."""
    title = record.change.title
    where = f" in project {code(record.project_id, 60)}" if record.project_id else ""
    head = (
        f"*{title}*: {safe(record.resource_type, 30)} *{_name(record, 200)}* "
        f"({code(record.resource_id, 80)}){where}"
    )
    flags = ((record.disruptive, DISRUPTIVE), (record.irreversible, IRREVERSIBLE))
    warnings = [text for flag, text in flags if flag]
    blocks: list[dict[str, Any]] = [
        section("\n".join([head, *warnings])),
        fields_section(
            [
                f"*Change*\n{moves(record)}",
                f"*Policy*\n{code(record.policy, 100)}",
                f"*Estimate*\n{money(record.estimate_usd)}/mo",
                f"*Owner*\n{mention(owner) or 'unknown'}",
                f"*Remediation*\n#{record.id}",
            ]
        ),
        section(f"*Why*\n{safe(record.why or '-', 2000)}"),
    ]
    return blocks


def moves(record: RemediationRecord) -> str:
    """``field: before → after`` for what changes, escaped (values come from Neon)."""
    moves = record.change.moves(record.before) or [
        (name, record.before.get(name), value) for name, value in record.after.items()
    ]
    lines = [
        (f"{safe(name, 60)}: " if name else "") + f"{_value(old)} → {_value(new)}"
        for name, old, new in moves[:10]
    ]
    return fit("\n".join(lines) or "-", 1900)


def _value(value: Any) -> str:
    return safe(value_text(value), 100)


def _name(record: RemediationRecord, limit: int) -> str:
    return safe(record.resource_name or record.resource_id, limit)


def _what(record: RemediationRecord, limit: int) -> str:
    title = record.change.title
    return fit(
        f"{title.lower()} on {safe(record.resource_type, 30)} {_name(record, 100)}",
        limit,
    )


def _confirm(record: RemediationRecord) -> dict[str, Any]:
    """The dialog names the action and the resource; it is UX, the server still checks."""
    title = record.change.title
    text = f"{title} on {safe(record.resource_type, 30)} *{_name(record, 120)}*?"
    if record.irreversible:
        text += " This cannot be undone."
    elif record.disruptive:
        text += " The compute restarts; connections drop."
    return {
        "title": plain(f"{title}?", 100),
        "text": {"type": "mrkdwn", "text": fit(text, MAX_CONFIRM_TEXT)},
        "confirm": plain("Approve", 30),
        "deny": plain("Cancel", 30),
        "style": "danger" if record.irreversible or record.disruptive else "primary",
    }


def _keep_mentions(detail: str) -> str:
    """``detail`` escaped, then its well-formed user mentions restored."""
    escaped = safe(detail, 2000)
    return _MENTION.sub(lambda match: f"<@{match.group(1)}>", escaped)
