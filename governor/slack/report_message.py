"""The run report for Slack: one message per run, the full list as a CSV in its thread.

Why this shape: a channel reads the numbers and the few findings worth money first; the
rest would push the message past Slack's limits (50 blocks, ~13k characters), so they go
to the CSV and the message says how many. Pure: the caller posts it and uploads the CSV.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta

from governor.pipeline.results import AuditResult
from governor.report import links
from governor.report.links import ranked
from governor.report.text import csv_cell
from governor.savings.totals import count_once
from governor.slack.messages import (
    MAX_BLOCKS,
    MAX_FALLBACK_TEXT,
    MAX_FIELD_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    MAX_TOTAL_TEXT,
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
    text_length,
    utc,
)
from governor.store import StoredFinding
from governor.store.realized import Summary

OwnerMap = Mapping[tuple[str, str], str]
SEVERITY_ICONS = {
    "high": ":red_circle:",
    "medium": ":large_orange_circle:",
    "low": ":white_circle:",
}
TYPE_LABELS = {
    "project": "project",
    "branch": "branch",
    "endpoint": "compute",
    "api_key": "API key",
}
CSV_COLUMNS = (
    "policy",
    "severity",
    "resource_type",
    "resource_id",
    "name",
    "project_id",
    "org_id",
    "summary",
    "estimated_monthly_savings_usd",
    "estimate_kind",
    "first_seen",
    "owner",
    "exemption",
)
# A console URL this long is built from a hostile id, not a real page: no link then.
_INCOMPLETE_SHOWN = 5
_PENDING = ("planned", "approved", "executing", "waiting_operations")


def report_message(
    result: AuditResult,
    *,
    remediations: Mapping[str, int],
    owners: OwnerMap,
    exempted: OwnerMap,
    console_url: str = "https://console.neon.tech",
    top: int = 10,
) -> SlackMessage:
    """The report: header, numbers, up to ``top`` findings by estimate, "+N more".

    Fewer than ``top`` findings are shown when the blocks or the characters run out; the
    "+N more" line counts what was left out either way.
    """
    findings = ranked(result.findings)
    day = utc(result.finished_at).date().isoformat()
    warning = "" if result.complete else ":warning: "
    suffix = "" if result.complete else " (incomplete sweep)"
    blocks = [
        {
            "type": "header",
            "text": plain(f"{warning}Neon governance report — {day}{suffix}", MAX_HEADER_TEXT),
        }
    ]
    if not result.complete:
        blocks.append(section(_incomplete_text(result)))
    blocks.append(fields_section(_summary_fields(result, remediations)))
    if result.realized is not None and result.realized.kept:
        blocks.append(context(realized_line(result.realized)))
    blocks.append(context(_run_line(result)))
    blocks.append({"type": "divider"})
    if not findings:
        blocks.append(section("No findings in this run."))

    shown = 0
    reserve = 200  # the closing context line
    for finding in findings[: max(top, 0)]:
        line = finding_line(finding, owners=owners, exempted=exempted, console_url=console_url)
        if (
            len(blocks) + 2 > MAX_BLOCKS
            or text_length(blocks) + len(line) + reserve > MAX_TOTAL_TEXT
        ):
            break
        blocks.append(section(line, accessory=keep_select(f"keep:{finding.id}")))
        shown += 1
    more = len(findings) - shown
    if more:
        blocks.append(context(f"+{more} more (full list in the CSV in this thread)"))
    elif findings:
        blocks.append(context("Full list in the CSV in this thread"))
    return SlackMessage(text=_fallback(result, remediations, day), blocks=blocks)


def console_link(console_url: str, finding: StoredFinding) -> str | None:
    """The console page as a Slack link target: ``&``, ``<``, ``>`` and ``|`` would end the
    link and let the rest render as text of Neon's choosing."""
    url = links.console_link(finding, console_url)
    if url is None:
        return None
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def finding_line(
    finding: StoredFinding, *, owners: OwnerMap, exempted: OwnerMap, console_url: str
) -> str:
    """Two mrkdwn lines: what and where (linked), then why, estimate, owner, exemption."""
    name = safe(finding.name or finding.resource_id, 150)
    url = console_link(console_url, finding)
    title = f"*<{url}|{name}>*" if url else f"*{name}*"
    kind = TYPE_LABELS.get(finding.resource_type, safe(finding.resource_type, 30))
    head = [f"{SEVERITY_ICONS.get(finding.severity, ':white_circle:')} {title}", kind]
    if finding.name != finding.resource_id:
        head.append(code(finding.resource_id, 60))
    head.append(code(finding.policy, 60))
    detail = [safe(finding.summary, 300)]
    if finding.estimate_usd is not None:
        risk = finding.estimate_kind == "risk"
        detail.append("risk" if risk else f"~{money(finding.estimate_usd)}/mo")
    key = (finding.resource_type, finding.resource_id)
    owner = mention(owners.get(key))
    if owner:
        detail.append(f"owner {owner}")
    if key in exempted:
        detail.append(f"_exempt {safe(exempted[key], 200)}_")
    return " · ".join(head) + "\n" + " · ".join(detail)


def findings_csv(result: AuditResult, *, owners: OwnerMap, exempted: OwnerMap) -> str:
    """Every finding of the run, one row each, in the report's order; formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for finding in ranked(result.findings):
        key = (finding.resource_type, finding.resource_id)
        row = (
            finding.policy,
            finding.severity,
            finding.resource_type,
            finding.resource_id,
            finding.name,
            finding.project_id or "",
            finding.org_id or "",
            finding.summary,
            "" if finding.estimate_usd is None else f"{finding.estimate_usd:.2f}",
            finding.estimate_kind or "",
            finding.first_seen,
            owners.get(key, ""),
            exempted.get(key, ""),
        )
        writer.writerow([csv_cell(value) for value in row])
    return buffer.getvalue()


def _summary_fields(result: AuditResult, remediations: Mapping[str, int]) -> list[str]:
    findings = result.findings
    new = sum(1 for finding in findings if finding.first_run_id == result.run_id)
    totals = count_once(finding.estimate for finding in findings)
    once = f"\n_{totals.note}_" if totals.note else ""
    return [
        f"*Findings*\n{len(findings)}",
        f"*New in this run*\n{new}",
        f"*Resolved*\n{len(result.resolved)}",
        f"*Est. monthly savings*\n{money(totals.monthly_usd)}/mo{once}",
        f"*Remediations*\n{_remediation_counts(remediations)}",
        "*By policy*\n" + _by_policy(result),
    ]


def realized_line(total: Summary) -> str:
    """Estimated vs realized, from the remediations measured after they succeeded."""
    return (
        f"Realized savings (Neon's meters): {money(total.realized_usd)}/mo of "
        f"{money(total.estimated_usd)}/mo estimated over {total.measured} measured "
        f"remediations ({total.drifted} with workload drift); {total.waiting} waiting, "
        f"{total.no_data} without data"
    )


def _by_policy(result: AuditResult) -> str:
    counts = Counter(finding.policy for finding in result.findings)
    for policy in result.policies:
        counts.setdefault(policy, 0)
    lines: list[str] = []
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    for number, (policy, count) in enumerate(ordered):
        line = f"{code(policy, 80)}: {count}"
        rest = len(ordered) - number
        if sum(len(item) + 1 for item in lines) + len(line) + 40 > MAX_FIELD_TEXT:
            lines.append(f"+{rest} more policies")
            break
        lines.append(line)
    return "\n".join(lines) or "none"


def _remediation_counts(remediations: Mapping[str, int]) -> str:
    parts = [
        f"{remediations.get('succeeded', 0)} done",
        f"{remediations.get('failed', 0)} failed",
        f"{remediations.get('awaiting_approval', 0)} waiting for approval",
    ]
    pending = sum(remediations.get(state, 0) for state in _PENDING)
    if pending:
        parts.append(f"{pending} in progress")
    known = {"succeeded", "failed", "awaiting_approval", *_PENDING}
    for state, count in sorted(remediations.items()):
        if state not in known and count:
            parts.append(f"{count} {safe(state.replace('_', ' '), 40)}")
    return fit(" · ".join(parts), MAX_FIELD_TEXT - 20)


def _incomplete_text(result: AuditResult) -> str:
    parts = result.incomplete
    lines = [
        f":warning: *Incomplete sweep*: {len(parts) or 'some'} part(s) of the account could "
        "not be read. Findings there are missing from this report, and none there were "
        "marked resolved."
    ]
    for part in parts[:_INCOMPLETE_SHOWN]:
        where = ", ".join(
            f"{label} {code(value, 60)}"
            for label, value in (("org", part.org_id), ("project", part.project_id))
            if value
        )
        lines.append(
            f"• {safe(part.kind, 30)}{f' ({where})' if where else ''}: {safe(part.reason, 200)}"
        )
    if len(parts) > _INCOMPLETE_SHOWN:
        lines.append(f"…and {len(parts) - _INCOMPLETE_SHOWN} more")
    return fit("\n".join(lines), MAX_SECTION_TEXT)


def _run_line(result: AuditResult) -> str:
    started = utc(result.started_at).isoformat(timespec="seconds")
    took = _duration(utc(result.finished_at) - utc(result.started_at))
    return (
        f"Run {result.run_id} · started {started} · took {took} · {len(result.policies)} policies"
    )


def _duration(duration: timedelta) -> str:
    seconds = max(int(duration.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _fallback(result: AuditResult, remediations: Mapping[str, int], day: str) -> str:
    """The notification line: the numbers only (no Neon text, nothing to escape wrongly)."""
    findings = result.findings
    new = sum(1 for finding in findings if finding.first_run_id == result.run_id)
    savings = count_once(finding.estimate for finding in findings).monthly_usd
    text = (
        f"Neon governance report {day}: {len(findings)} findings ({new} new, "
        f"{len(result.resolved)} resolved), est. {money(savings)}/mo; remediations "
        f"{remediations.get('succeeded', 0)} done, {remediations.get('failed', 0)} failed, "
        f"{remediations.get('awaiting_approval', 0)} waiting"
    )
    if not result.complete:
        text = f"INCOMPLETE sweep ({len(result.incomplete)} parts not read). {text}"
    return fit(text, MAX_FALLBACK_TEXT)
