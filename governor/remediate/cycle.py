"""One remediation pass, shared by ``plan``, ``apply`` and the daemon.

plan (from an audit's findings, or a saved plan) → approval requests → notices → rows →
execute. Why one place: the plan the CLI prints, the plan a file saves and the plan the
daemon acts on are built by the same function, and every path into Neon goes through
the same executor (with its re-check, journal and guard).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from governor.config.remediation import RemediationSettings
from governor.pipeline.results import AuditResult
from governor.policy import Policy
from governor.policy.resources import SnapshotIndex
from governor.remediate.decisions import expire_if_due
from governor.remediate.errors import RemediationDisabled, RemediationError
from governor.remediate.execute import Executor, Outcome
from governor.remediate.plan import Plan, PlanContext, PlanItem, build_plan, by_priority
from governor.store import Store, exemptions, remediations
from governor.store.encoding import encode_time
from governor.store.remediations import ACTIVE_STATES, NewRemediation, RemediationRecord
from governor.sweep import Account

logger = logging.getLogger(__name__)
NOTICED_STATUSES = frozenset({"act", "approved", "needs_approval", "waiting", "capped"})
# how a resource's latest remediation ended when it may hold the plan (a "no", a refusal)
ENDED_STATES = ("rejected", "skipped", "failed")


def account_resolver(accounts: Sequence[Account]) -> Callable[[str | None], str]:
    """The plan's fallback for a resource its snapshot does not place: the config's
    organizations (a person's own decision resolves through ``decisions.account_for``)."""

    def account_of(org_id: str | None) -> str:
        for account in accounts:
            if org_id is not None and org_id in account.org_ids:
                return account.name
        open_ended = [account for account in accounts if not account.org_ids]
        if open_ended:
            return open_ended[0].name
        return accounts[0].name if accounts else "default"

    return account_of


async def plan_for(
    result: AuditResult,
    *,
    store: Store,
    policies: Sequence[Policy],
    settings: RemediationSettings,
    now: datetime,
    accounts: Sequence[Account] = (),
    max_actions: int | None = None,
) -> Plan:
    """The plan for an audit's findings, as of ``now``."""
    if result.snapshot is None:
        raise RemediationError("the audit kept no snapshot to plan from")
    active = await store.run(remediations.listed, states=ACTIVE_STATES)
    paused = await store.run(remediations.paused)
    kept_until = {
        (e.resource_type, e.resource_id): f"until {e.until[:16]} by {e.created_by} ({e.reason})"
        for e in await store.run(exemptions.listed, active_at=now)
    }
    wanted = [finding.id for finding in result.findings if finding.action.mutates]
    notices = await store.run(remediations.notices, wanted)
    ended = await store.run(remediations.latest_ended, ENDED_STATES)
    context = PlanContext(
        snapshot=result.snapshot,
        index=SnapshotIndex(result.snapshot),
        policies={policy.name: policy for policy in policies},
        settings=settings,
        now=now,
        active={(record.resource_type, record.resource_id): record for record in active},
        account_of=account_resolver(accounts),
        max_actions=max_actions,
        paused=paused is not None,
        exemptions=kept_until,
        kept=await store.run(
            exemptions.listed
        ),  # ended ones too: a "no" with an end (reject --until)
        notices=notices,
        ended={(record.resource_type, record.resource_id): record for record in ended},
    )
    return build_plan(result.findings, context)


@dataclass
class PassResult:
    plan: Plan
    reconciled: list[Outcome] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    requested: list[RemediationRecord] = field(default_factory=list)
    expired: list[RemediationRecord] = field(default_factory=list)
    # while paused: what this pass would have started or asked, held instead
    paused: bool = False
    held: list[PlanItem] = field(default_factory=list)
    not_asked: list[PlanItem] = field(default_factory=list)

    def held_summary(self) -> str:
        """One line for a paused pass: what it held (empty when nothing was held)."""
        if not self.paused:
            return ""
        asked = f", {len(self.not_asked)} approval request(s) not asked" if self.not_asked else ""
        return f"paused: {len(self.held)} change(s) held{asked} (neon-governor resume)"

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in [*self.reconciled, *self.outcomes] if o.state == "failed"]


async def expire_approvals(
    store: Store, *, now: datetime, actor: str = "governor"
) -> list[RemediationRecord]:
    expired = []
    for record in await store.run(remediations.listed, states=["awaiting_approval"]):
        moved = await expire_if_due(store, record, now=now, actor=actor)
        if moved is not None:
            expired.append(moved)
    return expired


async def apply_plan(
    plan: Plan,
    *,
    executor: Executor,
    run_id: int | None,
    plan_hash: str | None = None,
    max_actions: int | None = None,
    notice: Callable[[PlanItem], str] | None = None,
    announce: NoticeSink | None = None,
) -> PassResult:
    """Request approvals, send notices, then execute the plan's actionable items.

    While remediation is paused nothing new is asked, noticed or started, on every path
    (the CLI and the daemon alike): the result's ``held`` and ``not_asked`` say what
    waits for ``resume``. Raises RemediationDisabled (changing nothing) unless enabled.
    """
    settings, store, clock = executor.settings, executor.store, executor.clock
    if not settings.enabled:
        raise RemediationDisabled()
    result = PassResult(plan)
    result.expired = await expire_approvals(store, now=clock(), actor=executor.actor)
    actionable = plan.actionable
    if max_actions is not None:
        # approved items first, as the plan's caps serve them; then in execution order
        kept = {id(item) for item in by_priority(actionable)[:max_actions]}
        actionable = [item for item in actionable if id(item) in kept]
    asking = [item for item in plan.items if item.status == "needs_approval"]
    if await store.run(remediations.paused) is not None:
        return _held(result, actionable, asking)
    for item in asking:
        requested = await _request_approval(item, executor, run_id, plan_hash)
        if requested is not None:
            result.requested.append(requested)
    await _send_notices(plan.items, store, clock, notice or describe_notice, announce)
    if await store.run(remediations.paused) is not None:  # paused while this pass asked
        return _held(result, actionable, [])
    rows = []
    for item in actionable:
        record = await _row_for(item, executor, run_id, plan_hash)
        if record is not None:
            rows.append(record)
    result.outcomes = await executor.run(rows)
    return result


def _held(result: PassResult, actionable: list[PlanItem], asking: list[PlanItem]) -> PassResult:
    """A paused pass: nothing started (the executor checks again before each mutation)."""
    result.paused, result.held, result.not_asked = True, list(actionable), list(asking)
    if result.held or result.not_asked:
        logger.info("remediation %s", result.held_summary())
    return result


async def _request_approval(
    item: PlanItem, executor: Executor, run_id: int | None, plan_hash: str | None
) -> RemediationRecord | None:
    store, now = executor.store, executor.clock()
    active = await store.run(remediations.active_for, item.resource_type, item.resource_id)
    if active is not None and active.state == "approved":
        # approved for other evidence or parameters: that approval no longer applies
        await store.run(
            remediations.move,
            active.id,
            expected=["approved"],
            to="skipped",
            now=now,
            actor=executor.actor,
            reason="the finding's evidence or the planned change differs from what was approved",
        )
    elif active is not None:
        return None
    ttl = executor.settings.approval_ttl
    record, created = await store.run(
        remediations.add,
        new_remediation(item, "awaiting_approval", run_id, plan_hash, expires=now + ttl),
        now=now,
    )
    return record if created else None


async def _row_for(
    item: PlanItem, executor: Executor, run_id: int | None, plan_hash: str | None
) -> RemediationRecord | None:
    store, now = executor.store, executor.clock()
    active = await store.run(remediations.active_for, item.resource_type, item.resource_id)
    if item.status == "approved":
        if active is None or active.state != "approved":
            return None
        return active
    if active is not None and active.state == "planned":
        if _same_plan(active, item):
            return active  # left by a pass that stopped before executing it (pause, crash)
        await store.run(
            remediations.move,
            active.id,
            expected=["planned"],
            to="skipped",
            now=now,
            actor=executor.actor,
            reason="superseded by a newer plan for the same resource",
        )
    elif active is not None:
        return None  # something else is under way for this resource
    record, created = await store.run(
        remediations.add, new_remediation(item, "planned", run_id, plan_hash), now=now
    )
    return record if created else None


def _same_plan(record: RemediationRecord, item: PlanItem) -> bool:
    planned = [(s.get("policy"), s.get("fingerprint")) for s in record.findings]
    now = [(source.policy, source.fingerprint) for source in item.sources]
    return planned == now and record.change == item.change and record.before == item.before


def new_remediation(
    item: PlanItem,
    state: str,
    run_id: int | None,
    plan_hash: str | None,
    *,
    expires: datetime | None = None,
) -> NewRemediation:
    if item.change is None:
        raise RemediationError(f"{item.resource_type} {item.resource_id}: no change planned")
    return NewRemediation(
        account=item.account,
        policy=item.policy,
        mode=item.mode,
        findings=[source.as_json() for source in item.sources],
        resource_type=item.resource_type,
        resource_id=item.resource_id,
        org_id=item.org_id,
        project_id=item.project_id,
        resource_name=item.name,
        change=item.change,
        before=item.before,
        after=item.after,
        disruptive=item.disruptive,
        irreversible=item.irreversible,
        why=item.why,
        estimate_usd=item.estimate_usd,
        state=state,  # type: ignore[arg-type]
        run_id=run_id,
        plan_hash=plan_hash,
        approval_expires_at=None if expires is None else encode_time(expires, what="expires"),
    )


async def _send_notices(
    items: Sequence[PlanItem],
    store: Store,
    clock: Callable[[], datetime],
    describe: Callable[[PlanItem], str],
    announce: NoticeSink | None = None,
) -> None:
    """Mark → notify → act: a finding is acted on only after its notice went out (to
    ``announce``, one message for the pass, when given; always to the log)."""
    wanted = {
        source.finding_id: item
        for item in items
        if item.status in NOTICED_STATUSES and item.change is not None
        for source in item.sources
    }
    already = await store.run(remediations.notices, wanted)
    new = [(finding_id, item) for finding_id, item in wanted.items() if finding_id not in already]
    texts = {finding_id: describe(item) for finding_id, item in new}
    via = "log"
    if announce is not None and new:
        try:  # queued before any notice is recorded: a grace never starts on a lost one
            via = await announce([(item, texts[finding_id]) for finding_id, item in new]) or via
        except Exception:
            logger.exception("the notices could not be queued for Slack; they go to the log")
    sent: Counter[str] = Counter()
    for finding_id, item in new:
        text = texts[finding_id]
        await store.run(
            remediations.record_notice, finding_id, now=clock(), via=via, details={"text": text}
        )
        sent["due now" if item.actionable else "due later"] += 1
    if sent:
        # one line for the pass, at info: each notice's text is on the audit log
        logger.info(
            "notices: %d finding(s) noticed (%s) via %s; grace periods count from now; "
            "each notice is on the audit log",
            sum(sent.values()),
            ", ".join(f"{count} {what}" for what, count in sorted(sent.items())),
            via,
        )


# Delivers a pass's new notices where people read them (Slack's outbox); returns where
# they went ("slack"), or None when nowhere but the log.
NoticeSink = Callable[[Sequence[tuple[PlanItem, str]]], Awaitable[str | None]]


def describe_notice(item: PlanItem) -> str:
    when = "now" if item.actionable else f"once due ({item.reason})"
    return (
        f"{item.policy}: {item.request} on {item.resource_type} {item.name} "
        f"({item.resource_id}) {when}: {item.why}"
    )
