"""The plan: for every finding of a policy that acts, what would be done now, or why not yet.

Pure: findings, the snapshot's index, the policies, the store's remediations and notices
and a clock in; a ``Plan`` out. ``plan`` prints it, ``apply`` executes its ``actionable``
items (or a saved one's), the daemon does both. One item per resource: several findings
of acting policies on one compute merge into one PATCH (a report-mode finding adds nothing).
The order is the order of execution: children before parents, then policy order, then the
larger saving first; caps serve approved items first, then the rest in that order. Grace
counts from a finding's notice; a person's "no" and Neon's refusal hold until the evidence
changes, and a "no" given an end (an exemption: ``reject --until``, Slack's Keep) holds
whatever the evidence until that end, then no longer.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from governor.config.remediation import RemediationSettings
from governor.durations import format_duration
from governor.model.actions import Action, parse_action
from governor.model.changes import Change, propose
from governor.model.snapshot import ResourceType, Snapshot
from governor.policy.model import Policy
from governor.policy.operators import parse_timestamp
from governor.policy.resources import ResourceView, SnapshotIndex
from governor.remediate.guards import GuardContext, creator_checked_when_acting, refusal
from governor.savings.billing_plan import billing_plan
from governor.store.exemptions import Exemption
from governor.store.records import StoredFinding
from governor.store.remediations import RemediationRecord

ItemStatus = Literal[
    "act",  # will be done by this apply
    "approved",  # approved earlier; will be done by this apply
    "needs_approval",  # waits for a person (an approval request is open or will be)
    "waiting",  # grace period or maintenance window
    "capped",  # a per-run cap was reached
    "refused",  # a guard refuses it (excluded, default branch, incomplete sweep, ...)
    "needs_person",  # Neon would refuse the change as proposed
    "done_already",  # nothing left to do
    "in_progress",  # another remediation of the resource is under way
    "report_only",  # the policy's mode is report
    "held",  # a person said no, or Neon refused it: held until the evidence changes
]
ACTIONABLE: frozenset[str] = frozenset({"act", "approved"})


@dataclass(frozen=True)
class Source:
    """A finding an item was planned from, with the evidence it was planned on."""

    finding_id: int
    policy: str
    fingerprint: str
    action: Action  # the finding's concrete action; stored as its ``as_json``
    first_seen: str

    def as_json(self) -> dict[str, Any]:
        return {
            "finding_id": self.finding_id,
            "policy": self.policy,
            "fingerprint": self.fingerprint,
            "action": self.action.as_json(),
            "first_seen": self.first_seen,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Source:
        return cls(
            int(data["finding_id"]),
            str(data["policy"]),
            str(data["fingerprint"]),
            parse_action(data["action"]),
            str(data.get("first_seen", "")),
        )


@dataclass(frozen=True)
class PlanItem:
    account: str
    resource_type: str
    resource_id: str
    org_id: str | None
    project_id: str | None
    name: str
    sources: tuple[Source, ...]
    change: Change | None
    before: dict[str, Any]
    after: dict[str, Any]
    disruptive: bool
    irreversible: bool
    notes: tuple[str, ...]
    why: str
    estimate_usd: float | None
    mode: str
    status: ItemStatus
    reason: str = ""
    remediation_id: int | None = None
    scope: str | None = None  # API keys: personal, organization or project

    @property
    def policy(self) -> str:
        return ", ".join(source.policy for source in self.sources)

    @property
    def actionable(self) -> bool:
        return self.status in ACTIONABLE

    @property
    def request(self) -> str:
        if self.change is None:
            return ""
        return self.change.request(
            project_id=self.project_id, resource_id=self.resource_id, org_id=self.org_id
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "org_id": self.org_id,
            "project_id": self.project_id,
            "name": self.name,
            "sources": [source.as_json() for source in self.sources],
            "policy": self.policy,
            "change": None if self.change is None else self.change.as_json(),
            "request": self.request,
            "before": self.before,
            "after": self.after,
            "disruptive": self.disruptive,
            "irreversible": self.irreversible,
            "notes": list(self.notes),
            "why": self.why,
            "estimate_usd": self.estimate_usd,
            "mode": self.mode,
            "status": self.status,
            "reason": self.reason,
            "remediation_id": self.remediation_id,
            "scope": self.scope,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanItem:
        change = data.get("change")
        return cls(
            account=str(data["account"]),
            resource_type=str(data["resource_type"]),
            resource_id=str(data["resource_id"]),
            org_id=_optional_text(data.get("org_id")),
            project_id=_optional_text(data.get("project_id")),
            name=str(data["name"]),
            sources=tuple(Source.from_json(source) for source in data["sources"]),
            change=None if change is None else Change.from_json(change),
            before=dict(data["before"]),
            after=dict(data["after"]),
            disruptive=bool(data["disruptive"]),
            irreversible=bool(data["irreversible"]),
            notes=tuple(str(note) for note in data.get("notes", [])),
            why=str(data.get("why", "")),
            estimate_usd=data.get("estimate_usd"),
            mode=str(data["mode"]),
            status=data["status"],
            reason=str(data.get("reason", "")),
            remediation_id=data.get("remediation_id"),
            scope=_optional_text(data.get("scope")),
        )


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Plan:
    created_at: datetime
    enabled: bool
    paused: bool
    items: tuple[PlanItem, ...]
    complete: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def actionable(self) -> list[PlanItem]:
        return [item for item in self.items if item.actionable]

    def counts(self) -> dict[str, int]:
        return dict(Counter(item.status for item in self.items))


@dataclass(frozen=True)
class PlanContext:
    snapshot: Snapshot
    index: SnapshotIndex
    policies: Mapping[str, Policy]
    settings: RemediationSettings
    now: datetime
    active: Mapping[tuple[str, str], RemediationRecord] = field(default_factory=dict)
    account_of: Callable[[str | None], str] = lambda _org: "default"
    max_actions: int | None = None  # apply --max
    paused: bool = False
    # resources people kept (snoozed) and until when: (type, id) -> "until ... by ..."
    exemptions: Mapping[tuple[str, str], str] = field(default_factory=dict)
    # every exemption recorded, ended ones too (who, when, until): an active one keeps its
    # resource whatever the evidence; one made at or after a person's "no" is that "no"
    # with an end, so the "no" stops holding once it ends
    kept: Sequence[Exemption] = ()
    # when each finding's notice went out (finding id -> stored UTC text): grace counts
    # from the notice, never from first_seen (a month in report mode is not a notice)
    notices: Mapping[int, str] = field(default_factory=dict)
    # the latest remediation of each resource when it ended rejected, skipped or failed:
    # a person's "no" and Neon's refusal hold until the evidence changes
    ended: Mapping[tuple[str, str], RemediationRecord] = field(default_factory=dict)


def build_plan(findings: Sequence[StoredFinding], context: PlanContext) -> Plan:
    """The plan for ``findings`` (the open findings of the latest run)."""
    groups: dict[tuple[ResourceType, str], list[StoredFinding]] = defaultdict(list)
    for finding in findings:
        policy = context.policies.get(finding.policy)
        if policy is None or not finding.action.mutates or finding.status == "resolved":
            continue
        if finding.status == "suppressed":
            continue
        groups[(finding.resource_type, finding.resource_id)].append(finding)
    items = []
    for key, group in groups.items():
        view = context.index.view(*key)  # built for this resource alone: views are not kept
        if view is None:
            continue
        items.append(_item(group, view, context))
    ordered = sorted(items, key=lambda item: _order(item, context))
    capped = _without_doomed_computes(_apply_caps(ordered, context), context.index)
    notes = []
    if not context.settings.enabled:
        notes.append(
            "remediation is off: nothing will be changed in Neon until [remediation] "
            "enabled = true is set in the config"
        )
    if context.paused:
        notes.append("remediation is paused (neon-governor resume lifts it)")
    cap_note = _cap_note(capped, context)
    if cap_note:
        notes.append(cap_note)
    return Plan(
        created_at=context.now,
        enabled=context.settings.enabled,
        paused=context.paused,
        items=tuple(capped),
        complete=context.snapshot.complete,
        notes=tuple(notes),
    )


def _item(group: list[StoredFinding], view: ResourceView, context: PlanContext) -> PlanItem:
    # Only the findings of acting policies make the change: a report-mode finding on the
    # same compute is reported, never merged into a PATCH (it would act without authority).
    acting = [finding for finding in group if finding.mode != "report"]
    reported = [finding for finding in group if finding.mode == "report"]
    chosen = acting or group
    policies = [context.policies[finding.policy] for finding in chosen]
    actions: list[Action] = [finding.action for finding in chosen]
    modes = {finding.mode for finding in chosen}
    mode = "report" if not acting else "approve" if "approve" in modes else "auto"
    scope = view.values.get("scope") if view.resource_type == "api_key" else None
    sources = tuple(Source(f.id, f.policy, f.fingerprint, f.action, f.first_seen) for f in chosen)
    base = PlanItem(
        account=_account(view, context),
        resource_type=view.resource_type,
        resource_id=view.resource_id,
        org_id=view.org_id,
        project_id=view.project_id,
        name=view.name,
        sources=sources,
        change=None,
        before={},
        after={},
        disruptive=False,
        irreversible=False,
        notes=(),
        why="; ".join(finding.summary for finding in chosen),
        estimate_usd=_estimate(chosen),
        mode=mode,
        status="act",
        scope=str(scope) if scope is not None else None,
    )
    # the plan's limits: suspend timeouts (computes and project defaults), restore windows
    acting_on_plan = view.resource_type in ("endpoint", "project")
    plan = billing_plan_of(context.index, view) if acting_on_plan else None
    values = proposal_values(context.snapshot, view)
    try:
        proposal = propose(actions, values, now=context.now, scope=base.scope, plan=plan)
    except ValueError as error:  # two policies ask actions one request cannot hold
        names = ", ".join(sorted({finding.policy for finding in chosen}))
        return replace(base, status="needs_person", reason=f"{names}: {error}")
    notes = _honest_notes(proposal.notes, view)
    if acting and reported:
        names = ", ".join(sorted({finding.policy for finding in reported}))
        notes += (f"{names} (report mode) is only reported: no part of this change",)
    item = replace(
        base,
        change=proposal.change,
        before=proposal.before,
        after=proposal.after,
        notes=notes,
        disruptive=proposal.change is not None and proposal.change.disruptive,
        irreversible=proposal.change is not None and proposal.change.irreversible,
    )
    if proposal.change is None:
        status: ItemStatus = (
            "needs_person" if proposal.outcome == "needs_person" else "done_already"
        )
        return replace(item, status=status, reason=proposal.reason)
    decided, reason = decide(item, proposal.change, view, policies, context)
    return replace(item, status=decided, reason=reason, remediation_id=_active_id(item, context))


def proposal_values(snapshot: Snapshot, view: ResourceView) -> dict[str, Any]:
    """The resource's values as a change is proposed from: a branch's with its backup
    schedule as read (``backup_schedule``, and ``schedule`` as a revert compares it)."""
    if view.resource_type != "branch" or view.resource_id not in snapshot.backup_schedules:
        return view.values
    raw = snapshot.backup_schedules[view.resource_id]
    return {**view.values, "backup_schedule": raw, "schedule": raw.get("schedule")}


def billing_plan_of(index: SnapshotIndex, view: ResourceView) -> str | None:
    """The billing plan of the resource's organization (None: unknown), for Neon's rules.

    Read as the rate card reads it (``billing_plan``: the organization's ``plan``, its
    ``managed_by`` and the project owner's ``subscription_type``), so the suspend-timeout
    rules and the prices agree on which plan an organization is on.
    """
    org = index.organizations.get(view.org_id) if view.org_id else None
    project = index.projects.get(view.project_id) if view.project_id else None
    plan, _why = billing_plan(
        org.raw if org is not None else None, project.raw if project is not None else None
    )
    return plan


def _account(view: ResourceView, context: PlanContext) -> str:
    """The account whose sweep read the resource; the config's org mapping otherwise."""
    read_by = context.snapshot.read_by
    if read_by:
        key = f"key:{view.resource_id}" if view.resource_type == "api_key" else None
        found = read_by.get(key) if key else read_by.get(f"project:{view.project_id}")
        if found is not None:
            return found
    return context.account_of(view.org_id)


def _honest_notes(notes: tuple[str, ...], view: ResourceView) -> tuple[str, ...]:
    """A branch without a compute has no computes to disconnect: do not say it does."""
    if view.resource_type != "branch" or view.values.get("compute_count") != 0:
        return notes
    return tuple(note.replace("; its computes disconnect", "") for note in notes)


def decide(
    item: PlanItem,
    change: Change,
    view: ResourceView,
    policies: Sequence[Policy],
    context: PlanContext,
) -> tuple[ItemStatus, str]:
    """Whether ``item`` may be acted on now; the executor asks the same after re-reading."""
    guard = GuardContext(
        snapshot=context.snapshot,
        now=context.now,
        max_clock_skew=context.settings.max_clock_skew,
        self_key_id=context.settings.self_key_id,
    )
    refused = refusal(change, view, [policy.exclude for policy in policies], guard)
    if refused is not None:
        return "refused", refused
    active = context.active.get((item.resource_type, item.resource_id))
    if active is not None and active.state in ("executing", "waiting_operations"):
        return "in_progress", f"remediation {active.id} is {active.state}"
    if item.mode == "report":
        return "report_only", "the policy's mode is report"
    if change.personal_key and guard.user_id is None:
        # the plan cannot tell a key someone else created from the governor's own user's:
        # say the act-time check decides, never a plain "act"
        status, reason = _decide_further(item, change, policies, context, active)
        if status in ("act", "approved", "needs_approval"):
            check = "revoked " + creator_checked_when_acting(view.values.get("created_by"))
            return status, "; ".join(part for part in (reason, check) if part)
        return status, reason
    return _decide_further(item, change, policies, context, active)


def _decide_further(
    item: PlanItem,
    change: Change,
    policies: Sequence[Policy],
    context: PlanContext,
    active: RemediationRecord | None,
) -> tuple[ItemStatus, str]:
    """``decide`` past the guards and the report mode: snoozes, holds, waits, approvals."""
    key = (item.resource_type, item.resource_id)
    kept = [e for e in context.kept if (e.resource_type, e.resource_id) == key]
    exempt = _exempt(kept, context.now)
    if exempt is not None:
        return "waiting", exempt
    if not context.kept and key in context.exemptions:
        return "waiting", f"kept {context.exemptions[key]}"
    if active is None:
        ended = context.ended.get(key)
        held = None if ended is None else held_by(ended, item, change, kept=kept)
        if held is not None:
            return "held", held
    waiting = _waiting(item, change, policies, context)
    if waiting is not None:
        return "waiting", waiting
    gated = item.mode == "auto" and waits_for_a_person(change, context.settings)
    if item.mode == "approve" or gated:
        if active is not None and active.state == "approved":
            if _same_evidence(active, item):
                return "approved", f"approved by {active.decided_by} (remediation {active.id})"
            return "needs_approval", (
                f"remediation {active.id} was approved for other evidence or parameters; "
                "it will be skipped and approval asked again"
            )
        if active is not None and active.state == "awaiting_approval":
            return "needs_approval", (
                f"awaiting approval (remediation {active.id}: neon-governor approve {active.id})"
            )
        # no request (and so no id) exists before apply creates one
        if gated:
            return "needs_approval", (
                "a data-protection change waits for a person even in mode "
                "auto ([remediation] auto_data_protection = true lets it act): run apply to "
                "request approval"
            )
        return "needs_approval", "needs a person's approval: run apply to request it"
    return "act", ""


def waits_for_a_person(change: Change, settings: RemediationSettings) -> bool:
    """A change that removes data or restore points (snapshots, the restore window, a
    project) waits for a person in mode auto too. Irreversible changes that lose no data
    (a branch delete Neon recovers for 7 days, a key, a replica) act as before."""
    return change.data_protection and not settings.auto_data_protection


def rejected_by_a_person(record: RemediationRecord) -> bool:
    """Rejected while awaiting approval, or withdrawn by a person after approval.

    Read from the row's structure, never its reason's wording (any channel may word it):
    only a person rejects; a withdrawal is a skip that a person's decision made itself
    (``decided_at`` is the moment the row ended) before any executor held it (no owner).
    The governor's skips keep the approver's earlier ``decided_at``, or were claimed first.
    """
    if record.state == "rejected":
        return True
    return (
        record.state == "skipped"
        and bool(record.decided_by)
        and record.decided_at is not None
        and record.decided_at == record.finished_at
        and record.owner is None
    )


# Neon's refusals of the request itself; not auth (401/403: a key), gone (404), locked
# (423) or rate-limited (429), which say nothing about the change
_REFUSED = re.compile(r"HTTP (4(?!01|03|04|08|23|29)\d\d)\b")


def refused_by_neon(record: RemediationRecord) -> bool:
    return record.state == "failed" and bool(_REFUSED.search(record.error or ""))


def _exempt(kept: Sequence[Exemption], now: datetime) -> str | None:
    """The exemption keeping a resource now (the latest end), said with who, when, until."""
    active = [e for e in kept if _moment(e.until) > now]
    if not active:
        return None
    e = max(active, key=lambda e: _moment(e.until))
    return (
        f"exempt: kept until {e.until[:16]} by {e.created_by} at {e.created_at[:16]} "
        f"({e.reason}); planned again after it ends"
    )


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def held_by(
    record: RemediationRecord,
    item: PlanItem,
    change: Change,
    *,
    kept: Sequence[Exemption] = (),
) -> str | None:
    """Why ``item`` is not planned again after ``record`` ended (None: plan it).

    A person's "no" holds while the evidence is the same: the same findings (policy and
    fingerprint) asking the same change, unless an exemption of the resource was made at
    or after it (``kept``): then it was a "no" with an end, and that end has passed.
    Neon's refusal holds while the resource's values the change moves, the change and the
    policies' actions are the same.
    """
    when = (record.decided_at or record.finished_at or record.updated_at or "")[:16]
    if rejected_by_a_person(record):
        decided = record.decided_at or record.finished_at or record.updated_at
        if any(_moment(e.created_at) >= _moment(decided) for e in kept):
            return None
        if _fingerprints(record) != {(s.policy, s.fingerprint) for s in item.sources}:
            return None
        if _signature(record.change) != _signature(change):
            return None
        who = record.decided_by or "a person"
        verb = "rejected" if record.state == "rejected" else "approval withdrawn"
        return (
            f"{verb} by {who} at {when} (remediation {record.id}); "
            "asked again when the evidence changes"
        )
    if refused_by_neon(record):
        actions = {(s.get("policy"), _canonical(s.get("action"))) for s in record.findings}
        if actions != {(s.policy, _canonical(s.action.as_json())) for s in item.sources}:
            return None
        if record.before != item.before or _signature(record.change) != _signature(change):
            return None
        return (
            f"Neon refused it at {when} (remediation {record.id}: {record.error}); "
            "planned again when the resource or the policy changes"
        )
    return None


def _fingerprints(record: RemediationRecord) -> set[tuple[Any, Any]]:
    return {(s.get("policy"), s.get("fingerprint")) for s in record.findings}


def _signature(change: Change) -> str:
    """A change as evidence: an expiry is "now + N days", so its moment is left out."""
    fields = change.fields
    if "expires_at" in fields:
        fields["expires_at"] = "*"
    return _canonical({"kind": change.kind, "fields": fields})


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _waiting(
    item: PlanItem, change: Change, policies: Sequence[Policy], context: PlanContext
) -> str | None:
    now = context.now
    for source, policy in zip(item.sources, policies, strict=True):
        grace = policy.grace_period
        if grace <= timedelta(0):
            continue  # the notice goes out in this pass, before anything is acted on
        noticed = parse_timestamp(context.notices.get(source.finding_id))
        if noticed is None:
            return (
                f"grace period of {policy.name} ({format_duration(grace)}) starts when "
                "its notice goes out (the next apply sends it)"
            )
        until = noticed + grace
        if now < until:
            return (
                f"grace period of {policy.name} until {until.isoformat(timespec='seconds')} "
                f"(noticed {noticed.isoformat(timespec='seconds')})"
            )
    if change.disruptive:
        for policy in policies:
            window = policy.maintenance_window
            if window is not None and not window.contains(now):
                opening = window.next_opening(now).isoformat(timespec="minutes")
                return f"outside the window {window.text!r} of {policy.name}; next {opening}"
    return None


def _same_evidence(record: RemediationRecord, item: PlanItem) -> bool:
    """Whether ``record`` (approved) was decided on the evidence and change ``item`` has.

    Compared as the rejection hold compares: an expiry is "now + N days" and moves every
    pass, so its moment is left out (the approved row keeps and sends its own).
    """
    if item.change is None:
        return False
    now = {(s.policy, s.fingerprint) for s in item.sources}
    return _fingerprints(record) == now and _signature(record.change) == _signature(item.change)


def _active_id(item: PlanItem, context: PlanContext) -> int | None:
    active = context.active.get((item.resource_type, item.resource_id))
    return None if active is None else active.id


def _estimate(group: list[StoredFinding]) -> float | None:
    values = [f.estimate_usd for f in group if f.estimate_usd is not None]
    return sum(values) if values else None


def _depth(item: PlanItem, index: SnapshotIndex) -> int:
    depth, seen = 0, set()
    branch = index.branches.get(item.resource_id) if item.resource_type == "branch" else None
    while branch is not None and branch.parent_id and branch.id not in seen:
        seen.add(branch.id)
        depth += 1
        branch = index.branches.get(branch.parent_id)
    return depth


def _order(item: PlanItem, context: PlanContext) -> tuple[Any, ...]:
    names = list(context.policies)
    first_policy = min(names.index(source.policy) for source in item.sources)
    return (
        -_depth(item, context.index),  # children before parents
        first_policy,
        -(item.estimate_usd or 0.0),
        item.resource_type,
        item.resource_id,
    )


def _without_doomed_computes(items: list[PlanItem], index: SnapshotIndex) -> list[PlanItem]:
    """A compute whose branch this plan deletes goes with it: no PATCH (and no wake-up)."""
    deleted = {
        item.resource_id
        for item in items
        if item.actionable and item.change is not None and item.change.removes_branch
    }
    result = []
    for item in items:
        endpoint = (
            index.endpoints.get(item.resource_id) if item.resource_type == "endpoint" else None
        )
        if item.actionable and endpoint is not None and endpoint.branch_id in deleted:
            reason = f"its branch {endpoint.branch_id} is deleted by this plan"
            result.append(replace(item, status="done_already", reason=reason))
        else:
            result.append(item)
    return result


def by_priority(items: Sequence[PlanItem]) -> list[PlanItem]:
    """Who the caps serve first: what a person approved, then the rest in execution order.

    A person's approval is not starved by auto items (the execution order stays as is).
    """
    return sorted(items, key=lambda item: 0 if item.status == "approved" else 1)


def _apply_caps(items: list[PlanItem], context: PlanContext) -> list[PlanItem]:
    settings = context.settings
    cap = settings.max_actions_per_run if context.max_actions is None else context.max_actions
    per_policy: Counter[str] = Counter()
    deletes: Counter[str] = Counter()
    total = 0
    capped: dict[int, PlanItem] = {}
    for item in by_priority([item for item in items if item.actionable]):
        reason = None
        for source in item.sources:
            limit = context.policies[source.policy].limits.max_actions_per_run
            if limit is not None and per_policy[source.policy] >= limit:
                reason = f"{source.policy} acts on at most {limit} resources per run"
        if reason is None and item.change is not None and item.change.removes_branch:
            branches = context.index.branches_per_project[item.project_id or ""]
            allowed = math.floor(settings.max_branch_delete_share * branches)
            if deletes[item.project_id or ""] >= allowed:
                reason = (
                    f"at most {settings.max_branch_delete_share:g} of project "
                    f"{item.project_id}'s {branches} branches are deleted per run ({allowed})"
                )
        if reason is None and total >= cap:
            reason = f"at most {cap} actions per run (remediation.max_actions_per_run or --max)"
        if reason is not None:
            capped[id(item)] = replace(item, status="capped", reason=reason)
            continue
        total += 1
        for source in item.sources:
            per_policy[source.policy] += 1
        if item.change is not None and item.change.removes_branch:
            deletes[item.project_id or ""] += 1
    return [capped.get(id(item), item) for item in items]


def _cap_note(items: Sequence[PlanItem], context: PlanContext) -> str | None:
    """Say how the caps chose, when they cut something."""
    count = sum(1 for item in items if item.status == "capped")
    if not count:
        return None
    cap = (
        context.settings.max_actions_per_run if context.max_actions is None else context.max_actions
    )
    return (
        f"{count} capped until a later pass: at most {cap} actions per run, and the "
        "policies' and branch-deletion limits; approved items are served first, then the "
        "rest in execution order (children before parents, policy order, larger saving first)"
    )


def parse_sources(record: RemediationRecord) -> list[Source]:
    return [Source.from_json(source) for source in record.findings]


def source_actions(sources: Sequence[Source]) -> list[Action]:
    return [source.action for source in sources]
