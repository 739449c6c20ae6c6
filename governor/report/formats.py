"""table | json | csv | markdown | html renderings of an audit result or a list of findings."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby, islice
from typing import TYPE_CHECKING, Any, TextIO, overload

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from governor.report.html import audit_page
from governor.report.rows import ROW_FIELDS, finding_row, sort_key, summary
from governor.report.text import csv_cell, printable
from governor.store import StoredFinding

if TYPE_CHECKING:
    from governor.pipeline.results import AuditResult

FORMATS = ("table", "json", "csv", "markdown")  # of every report; audit also has "html"
SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}


def render_audit(
    result: AuditResult,
    fmt: str,
    *,
    color: bool = False,
    width: int = 120,
    project_names: Mapping[str, str] | None = None,
) -> str:
    """The run's report as one string (``write_audit`` into a buffer)."""
    buffer = io.StringIO()
    write_audit(result, fmt, buffer, color=color, width=width, project_names=project_names)
    return buffer.getvalue()


def write_audit(
    result: AuditResult,
    fmt: str,
    stream: TextIO,
    *,
    color: bool = False,
    width: int = 120,
    project_names: Mapping[str, str] | None = None,
) -> None:
    """The run's report into ``stream``; project names default to those of the run.

    Why a stream: a streamed run's findings wait on disk (about 84,000 at 10,000 projects),
    and the JSON, CSV, table and Markdown reports read them back in order one at a time
    rather than holding every row and the whole text (hundreds of MB at that size). The
    HTML page is one document and is built whole.
    """
    findings = ordered(result.findings)
    names = result.run_names()
    if project_names is None:
        project_names = names.projects
    labels = ProjectLabels(project_names)
    if fmt == "json":
        _write_json_audit(stream, result, findings)
    elif fmt == "html":
        stream.write(
            audit_page(
                _audit_document(result, findings),
                findings,
                project_label=labels.text,
                org_names=names.organizations,
            )
        )
    elif fmt == "csv":
        _write_csv(stream, findings)
    elif fmt == "markdown":
        _write_markdown(
            stream, findings, header=_audit_header_lines(result), result=result, labels=labels
        )
    else:
        _write_table(
            stream,
            findings,
            header=_audit_header_lines(result),
            result=result,
            color=color,
            width=width,
            labels=labels,
        )


class _InOrder(Sequence[StoredFinding]):
    """``findings`` in report order, each read when asked for (nothing held but the order)."""

    def __init__(self, findings: Sequence[StoredFinding]) -> None:
        self._findings = findings
        self._order = sorted(range(len(findings)), key=lambda index: sort_key(findings[index]))

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, index: int) -> StoredFinding: ...
    @overload
    def __getitem__(self, index: slice) -> list[StoredFinding]: ...
    def __getitem__(self, index: int | slice) -> StoredFinding | list[StoredFinding]:
        if isinstance(index, slice):
            return [self._findings[position] for position in self._order[index]]
        return self._findings[self._order[index]]

    def __iter__(self) -> Iterator[StoredFinding]:
        findings = self._findings
        return (findings[position] for position in self._order)


def ordered(findings: Sequence[StoredFinding]) -> Sequence[StoredFinding]:
    """Report order (policy, severity, savings, name): a sorted list of findings held in
    memory, else a view that reads each one when its turn comes."""
    if isinstance(findings, list):
        return sorted(findings, key=sort_key)
    return _InOrder(findings)


def render_findings(
    findings: Sequence[StoredFinding],
    fmt: str,
    *,
    color: bool = False,
    width: int = 120,
    project_names: Mapping[str, str] | None = None,
) -> str:
    in_order = sorted(findings, key=sort_key)
    labels = ProjectLabels(project_names or {})
    if fmt == "json":
        return _json(
            {
                "findings": [finding_row(item) for item in in_order],
                "summary": summary(in_order, grouped=True),
            }
        )
    buffer = io.StringIO()
    if fmt == "csv":
        _write_csv(buffer, in_order)
    elif fmt == "markdown":
        _write_markdown(buffer, in_order, header=[], result=None, labels=labels)
    else:
        _write_table(
            buffer, in_order, header=[], result=None, color=color, width=width, labels=labels
        )
    return buffer.getvalue()


class ProjectLabels:
    """How a report names a project: its name, with its id only where the name is not enough.

    Why: people know ``data-warehouse``, not ``holy-forest-23094932``; the id stays where the
    name is unknown (not swept) or shared by two projects.
    """

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = {project_id: name for project_id, name in names.items() if name}
        counts = Counter(self.names.values())
        self.shared = {name for name, count in counts.items() if count > 1}

    def parts(self, project_id: str | None) -> tuple[str, str | None]:
        """(what to show, the id to show beside it or None)."""
        if not project_id:
            return "-", None
        name = self.names.get(project_id)
        if name is None or name == project_id:
            return project_id, None
        return name, (project_id if name in self.shared else None)

    def text(self, project_id: str | None) -> str:
        """One line: ``name``, or ``name (id)`` where the name is shared."""
        shown, beside = self.parts(project_id)
        return f"{shown} ({beside})" if beside else shown


def _audit_summary(result: AuditResult, findings: Iterable[StoredFinding]) -> dict[str, Any]:
    document_summary = summary(findings, grouped=True)
    document_summary["resolved"] = len(result.resolved)
    document_summary["inventory"] = result.snapshot_counts
    return document_summary


def _audit_document(result: AuditResult, findings: Sequence[StoredFinding]) -> dict[str, Any]:
    document_summary = _audit_summary(result, findings)
    return {
        "run": {
            "id": result.run_id,
            "started_at": result.started_at.isoformat(),
            "finished_at": result.finished_at.isoformat(),
            "complete": result.complete,
            "requests": result.requests,
            "minimum_requests": result.minimum_requests,
            "policies": result.policies,
            "clock_skew_seconds": result.clock_skew_seconds,
        },
        "findings": [finding_row(item) for item in findings],
        "resolved": [finding_row(item) for item in sorted(result.resolved, key=sort_key)],
        "incomplete": [part.as_dict() for part in result.incomplete],
        "summary": document_summary,
        # estimated vs realized over the remediations measured from Neon's meters
        "realized_savings": None if result.realized is None else result.realized.as_json(),
    }


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def _write_json_audit(
    stream: TextIO, result: AuditResult, findings: Sequence[StoredFinding]
) -> None:
    """``_audit_document`` as ``_json`` writes it, one finding row at a time."""
    document = _audit_document(result, [])
    document["summary"] = _audit_summary(result, findings)
    stream.write("{\n")
    members = list(document.items())
    for position, (name, value) in enumerate(members):
        stream.write(f"  {json.dumps(name)}: ")
        if name == "findings":
            _write_json_rows(stream, findings)
        else:
            stream.write(json.dumps(value, indent=2).replace("\n", "\n  "))
        stream.write(",\n" if position < len(members) - 1 else "\n")
    stream.write("}\n")


def _write_json_rows(stream: TextIO, findings: Iterable[StoredFinding]) -> None:
    first = True
    for finding in findings:
        stream.write("[\n    " if first else ",\n    ")
        stream.write(json.dumps(finding_row(finding), indent=2).replace("\n", "\n    "))
        first = False
    stream.write("[]" if first else "\n  ]")


def _write_csv(stream: TextIO, findings: Iterable[StoredFinding]) -> None:
    writer = csv.DictWriter(stream, fieldnames=ROW_FIELDS, lineterminator="\n")
    writer.writeheader()
    for finding in findings:
        row = finding_row(finding)
        del row["estimate_parts"]  # JSON only: the CSV's columns stay as they were
        row["action"] = json.dumps(row["action"], sort_keys=True)
        writer.writerow({key: csv_cell(value) for key, value in row.items()})


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _audit_header_lines(result: AuditResult) -> list[str]:
    counts = result.snapshot_counts
    inventory = ", ".join(f"{value} {name.replace('_', ' ')}" for name, value in counts.items())
    state = "complete" if result.complete else "INCOMPLETE"
    lines = [
        f"Run {result.run_id}: sweep {state}, {result.requests} API requests, "
        f"{len(result.policies)} policies",
        f"Inventory: {inventory}",
    ]
    return lines


def _incomplete_lines(result: AuditResult | None) -> list[str]:
    if result is None or result.complete:
        return []
    lines = ["Unreadable parts of the account (their earlier findings are kept as they were):"]
    for part in result.incomplete:
        where = " ".join(
            f"{label} {value}"
            for label, value in (("org", part.org_id), ("project", part.project_id))
            if value
        )
        lines.append(f"  - {part.kind} {where}: {part.reason}".rstrip())
    return lines


# Rows per rich table: a policy with more findings prints several tables one after another,
# so a report of 80,000 findings never holds more than this many rows' cells.
TABLE_ROWS = 500


@dataclass
class _Group:
    """What a policy's heading says, gathered in one pass over findings not held."""

    resource_type: str
    mode: str
    action: str
    all_same: bool
    count: int = 0

    def describe(self, first_action: Any) -> str:
        return first_action.describe() if self.all_same else self.action


def _groups(findings: Iterable[StoredFinding]) -> dict[str, tuple[_Group, Any]]:
    """Per policy: its heading's facts and its first finding's action."""
    groups: dict[str, tuple[_Group, Any]] = {}
    for item in findings:
        known = groups.get(item.policy)
        if known is None:
            groups[item.policy] = (
                _Group(item.resource_type, item.mode, item.action.type, True, 1),
                item.action,
            )
            continue
        group, first = known
        group.count += 1
        if group.all_same and item.action != first:
            group.all_same = False
    return groups


def _chunks(items: Iterable[StoredFinding], size: int) -> Iterator[list[StoredFinding]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _write_table(
    stream: TextIO,
    findings: Sequence[StoredFinding],
    *,
    header: list[str],
    result: AuditResult | None,
    color: bool,
    width: int,
    labels: ProjectLabels,
) -> None:
    # markup=False: a name like "[/]" from the API is text, not a rich tag.
    console = Console(
        file=stream,
        width=width,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        markup=False,
    )
    for line in header:
        console.print(printable(line))
    if header:
        console.print()
    if not findings:
        console.print("No findings.")
    overall = summary(findings, grouped=True)
    groups = _groups(findings)
    for policy, items in groupby(findings, key=lambda item: item.policy):
        group, first_action = groups[policy]
        total = overall["by_policy"][policy]["estimated_monthly_savings_usd"]
        console.print(
            Text.assemble(
                (printable(policy), "bold"),
                f"  {group.resource_type} → {group.describe(first_action)}, mode {group.mode}: ",
                f"{group.count} finding{'s' if group.count != 1 else ''}, ",
                (f"{_money(total)}/month", "bold green"),
            )
        )
        for chunk in _chunks(items, TABLE_ROWS):
            console.print(_findings_table(chunk, labels, width))
    console.print(
        Text.assemble(
            ("Total: ", "bold"),
            f"{overall['findings']} findings "
            f"({overall['by_severity'].get('high', 0)} high, "
            f"{overall['by_severity'].get('medium', 0)} medium, "
            f"{overall['by_severity'].get('low', 0)} low), estimated savings ",
            (f"{_money(overall['estimated_monthly_savings_usd'])}/month", "bold green"),
            f" ({note})" if (note := overall["counted_once"]["note"]) else "",
        )
    )
    if result is not None and result.resolved:
        console.print(f"Resolved since the last run: {len(result.resolved)}")
    for line in _incomplete_lines(result):
        console.print(printable(line), style="bold red" if color else "", soft_wrap=True)


# What the fixed columns other than project and resource take, gaps included; "why" wants
# at least WHY_MIN_WIDTH. Below that, "first seen" goes first, so ids are never cut.
FIXED_COLUMNS_WIDTH = 8 + 2 + 10 + 2 + 2 + 2
FIRST_SEEN_WIDTH = 10 + 2
WHY_MIN_WIDTH = 24


def _findings_table(items: Sequence[StoredFinding], labels: ProjectLabels, width: int) -> Table:
    """One policy's findings. Ids and names are never wrapped or cut (a split id cannot be
    copied); "why" folds into what is left, and "first seen" is dropped when too narrow."""
    projects = [_named(*labels.parts(item.project_id)) for item in items]
    resources = [
        _named(item.name, item.resource_id if item.name != item.resource_id else None)
        for item in items
    ]
    widest = max(_widest(projects), len("project")) + max(_widest(resources), len("resource"))
    first_seen = widest + FIXED_COLUMNS_WIDTH + FIRST_SEEN_WIDTH + WHY_MIN_WIDTH <= width
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    table.add_column("severity", no_wrap=True)
    table.add_column("project", no_wrap=True, min_width=_widest(projects))
    table.add_column("resource", no_wrap=True, min_width=_widest(resources))
    table.add_column("why", overflow="fold", ratio=3)
    table.add_column("$/month", justify="right", no_wrap=True)
    if first_seen:
        table.add_column("first seen", no_wrap=True)
    for item, project, resource in zip(items, projects, resources, strict=True):
        savings = (
            "risk" if item.estimate_kind == "risk" else _money(item.estimated_monthly_savings_usd)
        )
        cells: list[Text | str] = [
            Text(item.severity, style=SEVERITY_STYLE.get(item.severity, "")),
            project,
            resource,
            Text(printable(item.summary)),
            savings,
        ]
        table.add_row(*cells, *([item.first_seen[:10]] if first_seen else []))
    return table


def _widest(cells: Sequence[Text]) -> int:
    return max((len(line) for cell in cells for line in cell.plain.split("\n")), default=0)


def _named(name: str, beside: str | None) -> Text:
    """A name, and the id under it (dim) when the name alone does not say which."""
    text = Text(printable(name))
    if beside:
        text.append(f"\n{printable(beside)}", style="dim")
    return text


def _write_markdown(
    stream: TextIO,
    findings: Sequence[StoredFinding],
    *,
    header: list[str],
    result: AuditResult | None,
    labels: ProjectLabels,
) -> None:
    lines = (
        ["# neon-governor audit", ""] if result is not None else ["# neon-governor findings", ""]
    )
    lines += [f"{printable(line)}  " for line in header]
    if header:
        lines.append("")
    overall = summary(findings, grouped=True)
    lines.append(
        f"**{overall['findings']} findings, estimated savings "
        f"{_money(overall['estimated_monthly_savings_usd'])}/month.**"
        + (f" {note}" if (note := overall["counted_once"]["note"]) else "")
    )
    lines.append("")
    groups = _groups(findings)
    for policy, items in groupby(findings, key=lambda item: item.policy):
        group, first_action = groups[policy]
        total = overall["by_policy"][policy]["estimated_monthly_savings_usd"]
        lines.append(f"## {policy} ({group.count}, {_money(total)}/month)")
        lines.append("")
        lines.append(f"Action: `{group.describe(first_action)}`, mode `{group.mode}`.")
        lines.append("")
        lines.append("| severity | project | resource | why | $/month | first seen | status |")
        lines.append("|---|---|---|---|---:|---|---|")
        for item in items:
            resource = item.name
            if item.name != item.resource_id:
                resource = f"{item.name} ({item.resource_id})"
            cells = [
                item.severity,
                labels.text(item.project_id),
                resource,
                item.summary,
                "risk"
                if item.estimate_kind == "risk"
                else _money(item.estimated_monthly_savings_usd),
                item.first_seen[:10],
                item.status,
            ]
            lines.append("| " + " | ".join(_md_cell(cell) for cell in cells) + " |")
            if len(lines) >= TABLE_ROWS:
                stream.write("\n".join(lines) + "\n")
                lines = []
        lines.append("")
    if result is not None and result.resolved:
        lines.append(f"Resolved since the last run: {len(result.resolved)}.")
        lines.append("")
    incomplete = _incomplete_lines(result)
    if incomplete:
        lines.append(f"**{incomplete[0]}**")
        lines.extend(f"- {printable(line.strip()[2:])}" for line in incomplete[1:])
        lines.append("")
    stream.write("\n".join(lines))


def _md_cell(value: str) -> str:
    return printable(value.replace("\n", " ")).replace("|", "\\|")
