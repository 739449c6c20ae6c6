"""What a click or a slash command becomes: parsed strictly, authorized once, recorded always.

Why strict parsing: payloads come from the network; a missing or odd field is refused
(and logged), never guessed. Every path ends in ``authorize`` and in the audit log with
who, when, what and why, accepted or refused. Replies are ephemeral, through the outbox.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from governor.config.owners import OwnerContact
from governor.config.slack import SlackSettings
from governor.remediate import decisions
from governor.remediate.errors import RemediationError
from governor.remediate.execute import Executor
from governor.slack.approval_group_message import (
    APPROVE_ALL_ACTION,
    REJECT_ALL_ACTION,
    SHOW_ITEMS_ACTION,
)
from governor.slack.approvals import SlackApprovals
from governor.slack.authorize import (
    Actor,
    GroupMembers,
    Verdict,
    authorize,
    counts_as_approver,
    is_approver,
    is_destructive,
)
from governor.store import Store, approval_groups, digests, history, remediations
from governor.store import slack as slack_table
from governor.store.errors import StoreError
from governor.store.remediations import ACTIVE_STATES, RemediationRecord
from governor.store.slack import ApprovalMessage

logger = logging.getLogger("governor.slack.interactions")
MAX_TEXT = 500
KEEP_DAYS = {"7d": 7, "30d": 30}
SLASH_COMMAND = "/neon-governor"


class InteractionError(ValueError):
    """A payload that cannot be what Slack sends."""


def bounded(value: object, limit: int = 64) -> str:
    """``value`` as the audit log may hold it: printable ASCII only (control characters,
    newlines and the rest escaped, so a forged id cannot rewrite a terminal or a log
    line), and at most ``limit`` characters, marked when cut."""
    text = value if isinstance(value, str) else ("" if value is None else repr(value))
    escaped = ascii(text[: limit * 2])[1:-1]
    if len(escaped) > limit or len(text) > limit * 2:
        return escaped[: max(limit - 3, 0)] + "..."
    return escaped


@dataclass(frozen=True)
class Interaction:
    kind: Literal["block_actions", "slash_command"]
    actor: Actor
    action_id: str = ""
    value: str = ""
    text: str = ""


def _text(data: Mapping[str, Any], key: str, *, limit: int = 64) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InteractionError(f"{key!r} is missing or malformed")
    return value


def _object(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise InteractionError(f"{key!r} is missing or not an object")
    return value


def parse(envelope_type: str, payload: Any) -> Interaction:
    """An ``Interaction`` from a Socket Mode envelope's payload (InteractionError if not)."""
    if not isinstance(payload, Mapping):
        raise InteractionError("the payload is not an object")
    if envelope_type == "interactive":
        if payload.get("type") != "block_actions":
            raise InteractionError(f"unsupported interaction {payload.get('type')!r}")
        user = _object(payload, "user")
        team = _object(payload, "team")
        channel = _object(payload, "channel")
        container = (
            payload.get("container") if isinstance(payload.get("container"), Mapping) else {}
        )
        message = payload.get("message") if isinstance(payload.get("message"), Mapping) else {}
        actions = payload.get("actions")
        if (
            not isinstance(actions, list)
            or len(actions) != 1
            or not isinstance(actions[0], Mapping)
        ):
            raise InteractionError("expected exactly one action")
        action = actions[0]
        value = action.get("value")
        selected = action.get("selected_option")
        if value is None and isinstance(selected, Mapping):
            value = selected.get("value")
        if not isinstance(value, str) or len(value) > 200:
            raise InteractionError("the action has no value")
        ts = (container or {}).get("message_ts") or (message or {}).get("ts")
        return Interaction(
            kind="block_actions",
            actor=Actor(
                user_id=_text(user, "id"),
                team_id=_text(team, "id"),
                channel_id=_text(channel, "id"),
                message_ts=str(ts) if isinstance(ts, str) and len(ts) <= 32 else None,
            ),
            action_id=_text(action, "action_id", limit=255),
            value=value,
        )
    if envelope_type == "slash_commands":
        if payload.get("command") != SLASH_COMMAND:
            raise InteractionError(f"unknown command {payload.get('command')!r}")
        text = payload.get("text", "")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise InteractionError("the command text is malformed")
        return Interaction(
            kind="slash_command",
            actor=Actor(
                user_id=_text(payload, "user_id"),
                team_id=_text(payload, "team_id"),
                channel_id=_text(payload, "channel_id"),
            ),
            text=text.strip(),
        )
    raise InteractionError(f"unsupported envelope type {envelope_type!r}")


RunApproved = Callable[[RemediationRecord], Awaitable[None]]
CLICK = 1  # outbox priority of a click's feedback: sent before any bulk post waiting


UpdateApproval = Callable[[RemediationRecord, str, str], Awaitable[None]]


@dataclass(frozen=True)
class Decision:
    """What one click did to one request: ``kind`` for a group's summary, ``text`` for a
    single click's reply, ``run`` the request approved (run once the reply is queued)."""

    kind: Literal["approved", "voted", "rejected", "withdrawn", "refused"]
    text: str
    reason: str = ""
    run: RemediationRecord | None = None


@dataclass
class InteractionHandler:
    store: Store
    settings: SlackSettings
    clock: Callable[[], datetime]
    team_id: str | None
    group_members: GroupMembers
    run_approved: RunApproved
    update_approval: UpdateApproval
    # What a keep uses to move a branch's own expiry in Neon (None: it exempts instead).
    executor: Executor | None = None
    # Grouped requests (Approve all, Reject all, Show items); None: those clicks refused.
    approvals: SlackApprovals | None = None
    # ``[owners]`` contacts: approve_own users decide their owner's reversible changes.
    owners: Sequence[OwnerContact] = ()
    # Called after click feedback is enqueued (priority 1): wakes the outbox sender.
    wake: Callable[[], None] | None = None

    async def handle(self, interaction: Interaction) -> str:
        """Decide, record, and reply (ephemerally); returns the reply text. What the click
        approved runs after the reply is queued, so the clicker hears at once."""
        to_run: list[RemediationRecord] = []
        try:
            reply = await self._dispatch(interaction, to_run)
        except (RemediationError, StoreError, InteractionError) as error:
            reply = f"Nothing changed: {error}"
            await self._record(interaction, "refused", str(error))
        await self._reply(interaction, reply)
        if to_run:
            await self._run(to_run)
        return reply

    async def _run(self, records: list[RemediationRecord]) -> None:
        """Run what a click approved. Several (Approve all): one executor run, one project
        at a time as a pass runs them, and each group message re-rendered once for all
        their outcomes, not once per item."""
        try:
            if len(records) > 1 and self.executor is not None and self.approvals is not None:
                await self.approvals.outcomes(await self.executor.run(records))
                return
            for record in records:
                await self.run_approved(record)
        except (RemediationError, StoreError) as error:
            logger.warning("approved remediations did not all run: %s", error)

    async def _dispatch(self, interaction: Interaction, to_run: list[RemediationRecord]) -> str:
        if interaction.kind == "slash_command":
            return await self._command(interaction)
        if interaction.action_id in ("neon_approve", "neon_reject"):
            return await self._decide(interaction, to_run)
        if interaction.action_id in (APPROVE_ALL_ACTION, REJECT_ALL_ACTION):
            return await self._decide_group(interaction, to_run)
        if interaction.action_id == SHOW_ITEMS_ACTION:
            return await self._show_items(interaction)
        if interaction.action_id == "neon_keep":
            return await self._keep(interaction)
        await self._record(interaction, "refused", "unknown action")
        return "Unknown action; nothing changed."

    async def _check(
        self,
        action: Any,
        interaction: Interaction,
        *,
        remediation_id: int | None = None,
        **context: Any,
    ) -> Verdict:
        verdict = await authorize(
            action,
            interaction.actor,
            settings=self.settings,
            team_id=self.team_id,
            now=self.clock(),
            group_members=self.group_members,
            **context,
        )
        await self._record(
            interaction,
            "accepted" if verdict.allowed else "refused",
            verdict.reason,
            action,
            remediation_id=remediation_id,
        )
        return verdict

    async def _contact(self, record: RemediationRecord | None) -> OwnerContact | None:
        """The ``[owners]`` entry owning the record's resource (its findings' owned_by)."""
        if record is None or not self.owners:
            return None
        owned_by = await self.store.run(approval_groups.owner_of, record)
        return next((c for c in self.owners if c.name == owned_by), None)

    # Approve / reject -----------------------------------------------------------------

    async def _decide(self, interaction: Interaction, to_run: list[RemediationRecord]) -> str:
        approval = await self.store.run(slack_table.approval_by_token, interaction.value)
        record = None
        if approval is not None:
            record = await self.store.run(remediations.get, approval.remediation_id)
            item = await self.store.run(approval_groups.item_for, approval.remediation_id)
            if item is not None:
                # an item of a group is decided one by one on its own message in the thread
                approval = dataclasses.replace(approval, channel=item.item_channel, ts=item.item_ts)
            approval = await self._digest_binding(interaction, approval)
        action: Literal["approve", "reject"] = (
            "approve" if interaction.action_id == "neon_approve" else "reject"
        )
        decision = await self._decide_item(interaction, action, record, approval)
        if decision.run is not None:
            to_run.append(decision.run)
        return decision.text

    async def _digest_binding(
        self, interaction: Interaction, approval: ApprovalMessage
    ) -> ApprovalMessage:
        """A click on an owner's digest that carries this request's Approve button is bound
        to that digest message, as a click on the request's own message is."""
        actor = interaction.actor
        if (actor.channel_id, actor.message_ts) == (approval.channel, approval.ts):
            return approval
        if actor.channel_id is None or actor.message_ts is None:
            return approval
        if await self.store.run(
            digests.posted_with_approval,
            channel=actor.channel_id,
            ts=actor.message_ts,
            token=approval.token,
        ):
            return dataclasses.replace(approval, channel=actor.channel_id, ts=actor.message_ts)
        return approval

    async def _decide_item(
        self,
        interaction: Interaction,
        action: Literal["approve", "reject"],
        record: RemediationRecord | None,
        approval: ApprovalMessage | None,
        *,
        regroup: bool = True,
    ) -> Decision:
        """One request decided by one click: the checks, the vote or the move, the message.
        A single click and each item of "Approve all" / "Reject all" go through here."""
        votes = (
            tuple(await self.store.run(slack_table.votes, record.id)) if record is not None else ()
        )
        contact = await self._contact(record)
        verdict = await self._check(
            action,
            interaction,
            remediation_id=record.id if record is not None else None,
            record=record,
            approval=approval,
            owner=approval.owner if approval else None,
            votes=votes,
            owner_contact=contact,
        )
        if not verdict.allowed or record is None:
            return Decision("refused", f"Not accepted: {verdict.reason}.", verdict.reason)
        user = interaction.actor.user_id
        actor = f"slack:{user}"
        now = self.clock()
        if action == "reject":
            rejected = await decisions.reject(
                self.store, record.id, actor=actor, reason="rejected in Slack", now=now
            )
            # an approval that landed between the check and the move is withdrawn instead
            # (skipped): the message says which, not "rejected" for both
            said: Literal["withdrawn", "rejected"] = (
                "withdrawn" if rejected.state == "skipped" else "rejected"
            )
            await self._update(rejected, said, f"{said} by <@{user}>", regroup=regroup)
            return Decision(said, f"{said.capitalize()} remediation {record.id}.")
        if not await self.store.run(slack_table.vote, record.id, user, now=now):
            # two clicks raced past the check: the store keeps one vote per person
            why = "a second vote by the same person"
            await self._record(interaction, "refused", why, remediation_id=record.id)
            return Decision("refused", "You already approved it; another approver must too.", why)
        voted = [  # earlier votes count only while their voter may still approve it
            voter
            for voter in await self.store.run(slack_table.votes, record.id)
            if await counts_as_approver(
                voter, record, self.settings, members=self.group_members, owner_contact=contact
            )
        ]
        required = self.settings.required_for(is_destructive(record), record.change.kind)
        if len(voted) < required:
            await self._update(
                record, "waiting", f"{len(voted)} of {required} approvals: "
                + ", ".join(f"<@{v}>" for v in voted), regroup=regroup,
            )  # fmt: skip
            return Decision("voted", f"Your approval is recorded ({len(voted)} of {required}).")
        approved = await decisions.approve(self.store, record.id, actor=actor, now=now)
        who = ", ".join(f"<@{v}>" for v in voted)
        await self._update(approved, "approved", f"approved by {who}, running", regroup=regroup)
        return Decision("approved", f"Approved remediation {record.id}; it runs now.", run=approved)

    async def _update(
        self, record: RemediationRecord, status: str, detail: str, *, regroup: bool
    ) -> None:
        """The decided request's message(s), as click feedback. Within a group click each
        item's thread message only (the group message is re-rendered once at the end)."""
        if not regroup and self.approvals is not None:
            await self.approvals.update(record, status, detail, priority=CLICK, regroup=False)
        else:
            await self.update_approval(record, status, detail)

    async def _decide_group(self, interaction: Interaction, to_run: list[RemediationRecord]) -> str:
        """Approve all / Reject all: every waiting item through ``_decide_item``, as if its
        own button were clicked; irreversible items are approved this way only by someone
        who may approve them and when one approval suffices (else left for the thread)."""
        action: Literal["approve", "reject"] = (
            "approve" if interaction.action_id == APPROVE_ALL_ACTION else "reject"
        )
        group = await self.store.run(approval_groups.by_token, interaction.value)
        if group is None or self.approvals is None:
            verdict = await self._check(action, interaction)  # no record: refused, audited
            return f"Not accepted: {verdict.reason}."
        state = await self.store.run(approval_groups.state, group.id)
        outcomes: Counter[str] = Counter()
        refusals: Counter[str] = Counter()
        left: list[int] = []
        user = interaction.actor.user_id
        for record in state.records:
            if record.state != "awaiting_approval":
                outcomes["decided"] += 1
                continue
            if action == "approve" and is_destructive(record):
                may = await is_approver(
                    user, self.settings, irreversible=True, members=self.group_members
                )
                if not may or self.settings.required_for(True, record.change.kind) != 1:
                    left.append(record.id)
                    continue
            approval = await self.store.run(slack_table.approval_for, record.id)
            try:
                decision = await self._decide_item(
                    interaction, action, record, approval, regroup=False
                )
            except (RemediationError, StoreError) as error:
                await self._record(interaction, "refused", str(error), remediation_id=record.id)
                decision = Decision("refused", str(error), str(error))
            outcomes[decision.kind] += 1
            if decision.kind == "refused":
                refusals[decision.reason] += 1
            if decision.run is not None:
                to_run.append(decision.run)
        await self.approvals.render_group(group.id, priority=CLICK)
        return _group_summary(action, outcomes, refusals, left)

    async def _show_items(self, interaction: Interaction) -> str:
        """Each item's own message in the group's thread, once, for per-item decisions."""
        group = await self.store.run(approval_groups.by_token, interaction.value)
        verdict = await self._check(
            "show", interaction, posted_in=(group.channel, group.ts) if group else None
        )
        if not verdict.allowed or group is None or self.approvals is None:
            reason = verdict.reason if not verdict.allowed else "grouped requests are off"
            return f"Not accepted: {reason}."
        posted = await self.approvals.show_items(group.id, priority=CLICK)
        if not posted:
            return "Every item is in the thread already."
        return f"Posted {len(posted)} item(s) in the thread: decide each one there."

    # Keep (snooze) --------------------------------------------------------------------

    async def _keep(self, interaction: Interaction) -> str:
        parts = interaction.value.split(":")
        if len(parts) != 3 or parts[2] not in KEEP_DAYS or not parts[1].isdigit():
            raise InteractionError("not a keep request")
        kind, number, period = parts[0], int(parts[1]), KEEP_DAYS[parts[2]]
        resource: tuple[str, str, str]
        if kind == "keep":
            finding = await self.store.run(history.finding, number)
            resource = (str(finding.resource_type), finding.resource_id, finding.name)
        elif kind == "keep-remediation":
            target = await self.store.run(remediations.get, number)
            resource = (target.resource_type, target.resource_id, target.resource_name)
        else:
            raise InteractionError("not a keep request")
        active = await self.store.run(remediations.active_for, resource[0], resource[1])
        approval = await self.store.run(slack_table.approval_for, active.id) if active else None
        verdict = await self._check("keep", interaction, owner=approval.owner if approval else None)
        if not verdict.allowed:
            return f"Not accepted: {verdict.reason}."
        now, user = self.clock(), interaction.actor.user_id
        kept = await decisions.keep(
            self.store,
            resource[0],
            resource[1],
            until=now + timedelta(days=period),
            actor=f"slack:{user}",
            reason=f"kept {period} days from Slack",
            now=now,
            executor=self.executor,
        )
        if kept.ended is not None:
            await self.update_approval(kept.ended, "kept", f"kept by <@{user}> for {period} days")
        return kept.text

    # Slash command --------------------------------------------------------------------

    async def _command(self, interaction: Interaction) -> str:
        word, _, rest = interaction.text.partition(" ")
        word = word.lower() or "status"
        if word not in ("status", "pause", "resume", "plan"):
            await self._record(interaction, "refused", f"unknown subcommand {word!r}")
            return "Usage: /neon-governor status | pause [reason] | resume | plan"
        verdict = await self._check(word, interaction)
        if not verdict.allowed:
            return f"Not accepted: {verdict.reason}."
        actor, now = f"slack:{interaction.actor.user_id}", self.clock()
        if word == "pause":
            await decisions.set_paused(
                self.store, True, actor=actor, reason=rest.strip()[:200] or None, now=now
            )
            return "Remediation paused: no mutation is sent until resumed."
        if word == "resume":
            await decisions.set_paused(self.store, False, actor=actor, reason=None, now=now)
            return "Remediation resumed."
        return await self._summary(plan=word == "plan")

    async def _summary(self, *, plan: bool) -> str:
        """Where remediation stands. Awaiting items are not under way (nothing runs them
        until someone decides), and ``plan`` lists what is pending, not a new plan."""
        paused = await self.store.run(remediations.paused)
        records = await self.store.run(remediations.listed, states=ACTIVE_STATES)
        counts = {state: sum(r.state == state for r in records) for state in ACTIVE_STATES}
        parts = [
            f"{counts['awaiting_approval']} awaiting approval",
            f"{counts['planned'] + counts['approved']} waiting for the next pass",
            f"{counts['executing'] + counts['waiting_operations']} running",
        ]
        lines = [
            "Remediation is PAUSED" + (f" ({paused.reason})" if paused and paused.reason else "")
            if paused
            else "Remediation is not paused",
            "Remediations: " + ", ".join(parts) if records else "No remediation is pending",
        ]
        if plan:
            if records:
                lines.append(
                    "Pending remediations (not a new plan: `neon-governor plan` on the "
                    "governor's host plans afresh):"
                )
            lines.extend(
                f"• #{r.id} {r.state}: {r.change.kind} {r.resource_type} {r.resource_name}"
                for r in records[:20]
            )
            if len(records) > 20:
                lines.append(f"+{len(records) - 20} more")
        return "\n".join(lines)

    # Recording and replying -----------------------------------------------------------

    async def _record(
        self,
        interaction: Interaction,
        outcome: str,
        reason: str,
        action: str | None = None,
        *,
        remediation_id: int | None = None,
    ) -> None:
        actor = interaction.actor
        subject = {} if remediation_id is None else {"remediation": remediation_id}
        await self.store.run(
            slack_table.record_interaction,
            now=self.clock(),
            actor=f"slack:{bounded(actor.user_id) or '?'}",
            event=f"slack_{outcome}",
            subject=f"slack:{interaction.kind}",
            details={
                "action": bounded(
                    action or interaction.action_id or interaction.text.split(" ")[0], 100
                ),
                "value": bounded(interaction.value, 200),
                "team": bounded(actor.team_id),
                "channel": bounded(actor.channel_id),
                "message_ts": bounded(actor.message_ts, 32),
                "reason": bounded(reason, 300),
                **subject,
            },
        )

    async def refused_envelope(
        self, envelope_type: str, envelope_id: str, payload: Any, reason: str
    ) -> None:
        """An envelope ``parse`` refused, on the audit log like every other refusal: who
        it claims to come from and its ids, bounded and escaped (they are the attacker's)."""
        data = payload if isinstance(payload, Mapping) else {}
        user = data.get("user")
        user_id = user.get("id") if isinstance(user, Mapping) else data.get("user_id")
        team = data.get("team")
        team_id = team.get("id") if isinstance(team, Mapping) else data.get("team_id")
        await self.store.run(
            slack_table.record_interaction,
            now=self.clock(),
            actor=f"slack:{bounded(user_id) or '?'}",
            event="slack_refused",
            subject=f"slack:{bounded(envelope_type, 32) or '?'}",
            details={
                "envelope_id": bounded(envelope_id, 80),
                "team": bounded(team_id),
                "reason": bounded(reason, 300),
            },
        )

    async def _reply(self, interaction: Interaction, text: str) -> None:
        channel = interaction.actor.channel_id
        if not channel:
            return
        await self.store.run(
            slack_table.enqueue,
            kind="ephemeral",
            channel=channel,
            payload={"user": interaction.actor.user_id, "text": text},
            now=self.clock(),
            ref=f"reply:{interaction.actor.user_id}",
            priority=CLICK,
        )
        if self.wake is not None:
            self.wake()


def _group_summary(
    action: str, outcomes: Counter[str], refusals: Counter[str], left: Sequence[int]
) -> str:
    """One ephemeral for a group click: what happened to how many, and why not."""
    parts = []
    if action == "approve":
        parts.append(f"approved {outcomes['approved']}")
        if outcomes["voted"]:
            parts.append(f"needs more votes {outcomes['voted']} (your vote is recorded)")
    else:
        parts.append(f"rejected {outcomes['rejected']}")
        if outcomes["withdrawn"]:
            parts.append(f"withdrawn {outcomes['withdrawn']}")
    if refusals:
        why = "; ".join(f"{reason} ({count})" for reason, count in refusals.most_common(3))
        parts.append(f"refused {sum(refusals.values())}: {why}")
    if left:
        numbers = ", ".join(f"#{number}" for number in left[:10])
        more = f" and {len(left) - 10} more" if len(left) > 10 else ""
        parts.append(
            f"left {len(left)} irreversible for a per-item decision ({numbers}{more}): "
            "Show items, then decide each in the thread"
        )
    if outcomes["decided"]:
        parts.append(f"{outcomes['decided']} already decided")
    verb = "Approve all" if action == "approve" else "Reject all"
    return f"{verb}: " + ", ".join(parts) + "."
