"""Plans, outcomes and remediations for people (a table) and programs (JSON).

One row per resource: what would be sent, exactly; before → after; the policy; why; the
estimate; whether it drops connections or cannot be undone; and, for what will not be
done yet, why not. Every value from Neon passes ``printable`` (a hostile name cannot
move the cursor or rewrite the terminal).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from governor.model.changes import moves_text
from governor.remediate.execute import Outcome
from governor.remediate.plan import Plan, PlanItem
from governor.report.text import printable
from governor.store.remediations import RemediationRecord

STATUS_LABELS = {
    "act": "will act",
    "approved": "will act (approved)",
    "needs_approval": "needs approval",
    "waiting": "waiting",
    "capped": "capped",
    "refused": "refused",
    "needs_person": "needs a person",
    "done_already": "nothing to do",
    "in_progress": "in progress",
    "report_only": "report only",
    "held": "held until the evidence changes",
}


def _flags(item: PlanItem) -> str:  # "disruptive, irreversible, data protection" or "-"
    flags = []
    if item.disruptive:
        flags.append("disruptive")
    if item.irreversible:
        flags.append("irreversible")
    if item.change is not None and item.change.data_protection:
        flags.append("data protection")  # removes data or restore points: a person decides
    return ", ".join(flags) or "-"


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def plan_summary(plan: Plan) -> str:
    counts = plan.counts()
    order = [status for status in STATUS_LABELS if status in counts]
    parts = [f"{counts[status]} {STATUS_LABELS[status]}" for status in order]
    head = f"Plan at {plan.created_at.isoformat(timespec='seconds')}: "
    return head + (", ".join(parts) if parts else "nothing to do")


def render_plan_table(plan: Plan, *, width: int = 140, color: bool = False) -> str:
    """One line per resource, grouped by status in execution order (grep-friendly)."""
    _ = width, color  # lines are not wrapped: a terminal wraps them, a pipe keeps them whole
    lines = [plan_summary(plan)]
    lines.extend(f"Note: {note}" for note in plan.notes)
    for status, label in STATUS_LABELS.items():
        group = [item for item in plan.items if item.status == status]
        if not group:
            continue
        lines.append("")
        lines.append(f"{label.upper()} ({len(group)})")
        lines.extend(printable(plan_line(item)) for item in group)
    return "\n".join(lines) + "\n"


def plan_line(item: PlanItem) -> str:
    parts = [
        f"  {item.resource_type} {item.name}"
        + (f" ({item.resource_id})" if item.name != item.resource_id else ""),
        item.request or "(nothing sent)",
    ]
    moves = _moves(item)
    if moves:
        parts.append(moves)
    parts.append(f"policy {item.policy}")
    if item.estimate_usd is not None:
        parts.append(f"{_money(item.estimate_usd)}/month")
    flags = _flags(item)
    if flags != "-":
        parts.append(flags)
    parts.append(f"why: {item.why}")
    if item.notes:
        parts.append("; ".join(item.notes))
    if item.reason:
        parts.append(f"not now: {item.reason}" if not item.actionable else item.reason)
    return " | ".join(parts)


def _moves(item: PlanItem) -> str:
    """``field: before → after`` for what changes."""
    return "" if item.change is None else moves_text(item.change, item.before)


def render_outcomes(outcomes: Sequence[Outcome]) -> str:
    lines = []
    for outcome in outcomes:
        lines.append(
            printable(
                f"#{outcome.remediation_id} {outcome.state}: {outcome.change} on "
                f"{outcome.resource}: {outcome.reason}"
            )
        )
    return "\n".join(lines) + ("\n" if lines else "")


def remediation_json(record: RemediationRecord) -> dict[str, Any]:
    return {
        name: getattr(record, name)
        for name in record.__dataclass_fields__
        if name not in ("operations",)
    } | {
        "change": record.change.as_json(),
        "operations": [_operation_summary(op) for op in record.operations],
    }


def _operation_summary(operation: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("id", "action", "status", "error", "failures_count", "retry_at", "updated_at")
    return {key: operation.get(key) for key in keys if key in operation}


def render_remediations(records: Sequence[RemediationRecord], fmt: str, *, width: int) -> str:
    if fmt == "json":
        document = {"remediations": [remediation_json(record) for record in records]}
        return json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False)
    if not records:
        console.print("No remediations.", markup=False)
        return buffer.getvalue()
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    for name in ("id", "state", "resource", "change", "policy", "updated", "reason"):
        table.add_column(name, overflow="fold")
    for record in records:
        table.add_row(
            str(record.id),
            record.state,
            printable(f"{record.resource_type} {record.resource_name} ({record.resource_id})"),
            printable(record.change.kind),
            printable(record.policy),
            record.updated_at[:19],
            printable(record.reason or record.error or ""),
        )
    console.print(table)
    return buffer.getvalue()
