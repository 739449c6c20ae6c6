"""One self-contained HTML page of an audit (``audit --format html``) or a bill (``costs``).

Why a page: a cost report is something people open, look at and forward; a terminal table
is not. The page carries everything inline (CSS, a few lines of JS to sort the table, SVG
bar charts drawn here), loads nothing at view time (a Content-Security-Policy forbids it,
and allows only this page's own style and script by hash), and embeds the JSON report it
was drawn from, so every number on it is one of that document's. Every name from Neon is
HTML-escaped: a project called ``<script>`` is text, never markup.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from governor.report.rows import totals
from governor.store import StoredFinding

CHART_WIDTH = 760
BAR_HEIGHT = 22
LABEL_WIDTH = 260
VALUE_WIDTH = 170
CHART_ROWS = 15  # the largest; the rest are summed into one "others" bar

STYLE = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d9dee7;
  --bar: #2f6fdf; --high: #b42318; --medium: #b54708; --low: #175cd3; --bad: #b42318; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 24px; color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.muted, .note { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 170px; }
.card .figure { font-size: 22px; font-weight: 600; }
.incomplete { color: var(--bad); font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
td.num, th.num { text-align: right; white-space: nowrap; }
th[data-key] { cursor: pointer; user-select: none; white-space: nowrap; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
.id { color: var(--muted); font-size: 12px; display: block; word-break: break-all; }
.sev-high { color: var(--high); font-weight: 600; } .sev-medium { color: var(--medium); }
.sev-low { color: var(--low); }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  fill: var(--ink); }
svg rect.bar { fill: var(--bar); }
.charts { display: grid; grid-template-columns: 1fr; gap: 8px; }
"""

# Sorts the table by a header's data-key (click; again to reverse). A ``#sort=usd`` or
# ``#sort=-usd`` fragment opens the page sorted, so a sorted view can be linked.
SCRIPT = """
(function () {
  "use strict";
  function value(row, key, numeric) {
    var raw = row.getAttribute("data-" + key) || "";
    return numeric ? parseFloat(raw) || 0 : raw.toLowerCase();
  }
  function sortBy(header) {
    var table = header.closest("table");
    var body = table.tBodies[0];
    var key = header.getAttribute("data-key");
    var numeric = header.hasAttribute("data-numeric");
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, key, numeric), y = value(b, key, numeric);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("th[data-key]").forEach(function (other) {
      other.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    history.replaceState(null, "", "#sort=" + (ascending ? "" : "-") + key);
  }
  document.querySelectorAll("table.sortable th[data-key]").forEach(function (header) {
    header.addEventListener("click", function () { sortBy(header); });
  });
  var wanted = /^#sort=(-?)([a-z_]+)$/.exec(location.hash);
  if (wanted) {
    var header = document.querySelector('table.sortable th[data-key="' + wanted[2] + '"]');
    if (header) {
      header.click();
      if (wanted[1]) { header.click(); }
    }
  }
  document.documentElement.setAttribute("data-sortable", "ready");
})();
"""


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


# Nothing may load: no network, no file; only this page's own style and script (by hash).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"style-src '{_sha256(STYLE)}'; "
    f"script-src '{_sha256(SCRIPT)}'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def money(value: float | None) -> str:
    """Dollars as the text report shows them: ``$1,234.56``."""
    return "-" if value is None else f"${value:,.2f}"


def _e(value: object) -> str:
    """Text from anywhere (Neon's names above all) as HTML text or attribute value."""
    return escape(str(value), quote=True)


def _data_json(document: Mapping[str, Any]) -> str:
    """The JSON report inside a ``<script type="application/json">``: no ``<``, ``>`` or
    ``&`` survives, so no name can close the element or start markup."""
    text = json.dumps(document, indent=None, sort_keys=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass(frozen=True)
class Bar:
    key: str  # what the bar is (policy name, org id ...): a data attribute, for tests/scripts
    label: str
    usd: float
    detail: str = ""  # after the amount, e.g. "3 findings"


def bar_chart(title: str, bars: Sequence[Bar], *, chart_id: str) -> str:
    """A horizontal bar chart as inline SVG, largest first; beyond ``CHART_ROWS`` bars the
    rest become one "others" bar, so a thousand projects stay a readable chart."""
    ordered = sorted(bars, key=lambda bar: (-bar.usd, bar.label))
    if len(ordered) > CHART_ROWS:
        rest = ordered[CHART_ROWS - 1 :]
        others = Bar("", f"{len(rest)} others", sum(bar.usd for bar in rest))
        ordered = [*ordered[: CHART_ROWS - 1], others]
    if not ordered:
        return f'<figure id="{_e(chart_id)}"><figcaption>{_e(title)}</figcaption>' + (
            '<p class="muted">Nothing to show.</p></figure>'
        )
    top = max((bar.usd for bar in ordered), default=0.0) or 1.0
    room = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = BAR_HEIGHT * len(ordered) + 4
    parts = [
        f'<figure id="{_e(chart_id)}"><figcaption><strong>{_e(title)}</strong></figcaption>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" role="img" aria-label="{_e(title)}">',
    ]
    for index, bar in enumerate(ordered):
        y = index * BAR_HEIGHT + 2
        width = max(1.0, room * max(bar.usd, 0.0) / top) if bar.usd > 0 else 0.0
        label = bar.label if len(bar.label) <= 36 else bar.label[:35] + "\u2026"
        value = money(bar.usd) + (f" \u00b7 {bar.detail}" if bar.detail else "")
        parts.append(
            f'<g class="row" data-key="{_e(bar.key)}" data-usd="{bar.usd:.6f}">'
            f"<title>{_e(bar.label)}: {_e(value)}</title>"
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{_e(label)}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" '
            f'height="{BAR_HEIGHT - 6}"></rect>'
            f'<text class="value" x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 15}">'
            f"{_e(value)}</text></g>"
        )
    parts.append("</svg></figure>")
    return "".join(parts)


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    numeric: bool = False


def sortable_table(
    table_id: str,
    columns: Sequence[Column],
    rows: Iterable[tuple[Mapping[str, str], Sequence[str]]],
) -> str:
    """A table sorted by clicking a header. ``rows``: (sort values by column key, cells as
    HTML already escaped); each sort value becomes a ``data-<key>`` attribute."""
    head = "".join(
        f'<th data-key="{column.key}"{" data-numeric" if column.numeric else ""}'
        f'{" class=num" if column.numeric else ""} scope="col">{_e(column.title)}</th>'
        for column in columns
    )
    body = []
    for values, cells in rows:
        attributes = "".join(f' data-{key}="{_e(value)}"' for key, value in values.items())
        tds = "".join(
            f'<td class="num">{cell}</td>' if column.numeric else f"<td>{cell}</td>"
            for column, cell in zip(columns, cells, strict=True)
        )
        body.append(f"<tr{attributes}>{tds}</tr>")
    return (
        f'<table id="{_e(table_id)}" class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def page(title: str, body: str, document: Mapping[str, Any]) -> str:
    """The whole file: CSP, inline style and script, the body, the JSON it was drawn from."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n"
        f'<script type="application/json" id="report-data">{_data_json(document)}</script>\n'
        f"<script>{SCRIPT}</script>\n</body></html>\n"
    )


def _card(label: str, figure: str, *, figure_id: str, note: str = "", data: str = "") -> str:
    extra = f'<div class="note">{note}</div>' if note else ""
    return (
        f'<div class="card"><div class="muted">{_e(label)}</div>'
        f'<div class="figure" id="{figure_id}"{data}>{figure}</div>{extra}</div>'
    )


def _named(name: str, item_id: str | None) -> str:
    """A name, and its id under it when the name alone does not say which."""
    shown = f"<span>{_e(name)}</span>"
    return shown + (f'<span class="id">{_e(item_id)}</span>' if item_id else "")


# ----- the audit ------------------------------------------------------------------------


def audit_page(
    document: Mapping[str, Any],
    findings: Sequence[StoredFinding],
    *,
    project_label: Callable[[str | None], str],
    org_names: Mapping[str, str],
) -> str:
    """The audit report: ``document`` is the JSON report (``audit --format json``) and
    ``findings`` the same findings in the same order (for the count-once group totals)."""
    run = document["run"]
    overall = document["summary"]
    rows = document["findings"]
    if len(rows) != len(findings):
        raise ValueError("the findings and the document's rows differ")

    def org_label(org_id: str | None) -> str:
        if not org_id:
            return "(no organization)"
        name = org_names.get(org_id)
        return f"{name} ({org_id})" if name and name != org_id else org_id

    def project_or_none(project_id: str | None) -> str:
        return project_label(project_id) if project_id else "(no project)"

    state = "complete" if run["complete"] else "INCOMPLETE"
    severity = overall["by_severity"]
    kinds = ", ".join(
        f"{_e(kind)} {money(usd)}" for kind, usd in overall["by_estimate_kind"].items()
    )
    counted_once = overall["counted_once"]["note"]
    cards = [
        _card(
            "Estimated savings (counted once)",
            f"{money(overall['estimated_monthly_savings_usd'])}/month",
            figure_id="total-savings",
            data=f' data-usd="{overall["estimated_monthly_savings_usd"]:.6f}"',
            note=_e(counted_once) if counted_once else "each cost counted once",
        ),
        _card(
            "Findings",
            str(overall["findings"]),
            figure_id="findings-count",
            note=f"{severity.get('high', 0)} high, {severity.get('medium', 0)} medium, "
            f"{severity.get('low', 0)} low",
        ),
        _card("By estimate kind", kinds or "-", figure_id="estimate-kinds"),
        _card(
            "Sweep",
            state,
            figure_id="sweep-state",
            note=f"{run['requests']} API requests, {len(run['policies'])} policies",
        ),
    ]
    realized = document.get("realized_savings")
    if realized and realized.get("kept"):
        cards.append(
            _card(
                "Realized savings (measured)",
                f"{money(realized['realized_monthly_usd'])}/month",
                figure_id="realized-savings",
                note=f"of {money(realized['estimated_monthly_usd'])} estimated; "
                f"{realized['measured']} of {realized['kept']} measured, "
                f"{realized['waiting']} waiting",
            )
        )
    if overall.get("resolved"):
        cards.append(
            _card("Resolved since last run", str(overall["resolved"]), figure_id="resolved")
        )

    by_policy = [
        Bar(policy, policy, entry["estimated_monthly_savings_usd"], _findings(entry["findings"]))
        for policy, entry in overall["by_policy"].items()
    ]
    by_org = _grouped(findings, lambda item: item.org_id or "", org_label)
    by_project = _grouped(findings, lambda item: item.project_id or "", project_or_none)
    charts = "".join(
        [
            bar_chart("Savings by policy ($/month)", by_policy, chart_id="chart-policy"),
            bar_chart("Savings by organization ($/month)", by_org, chart_id="chart-org"),
            bar_chart("Savings by project ($/month)", by_project, chart_id="chart-project"),
        ]
    )
    table = sortable_table(
        "findings",
        [
            Column("severity", "severity"),
            Column("policy", "policy"),
            Column("org", "organization"),
            Column("project", "project"),
            Column("resource", "resource"),
            Column("why", "why"),
            Column("usd", "$/month", numeric=True),
            Column("kind", "estimate"),
            Column("status", "status"),
            Column("first_seen", "first seen"),
        ],
        (_finding_row(row, project_label, org_names) for row in rows),
    )
    started = str(run["started_at"])[:19].replace("T", " ")
    body = "\n".join(
        [
            "<header><h1>neon-governor audit</h1>",
            f'<p class="muted">Run {_e(run["id"])}, {_e(started)} UTC</p></header>',
            f'<section class="cards">{"".join(cards)}</section>',
            f'<section><h2>Savings</h2><div class="charts">{charts}</div></section>',
            f"<section><h2>Findings ({len(rows)})</h2>",
            '<p class="muted">Click a column header to sort.</p>',
            f'<div class="scroll">{table}</div>'
            if rows
            else '<p id="no-findings">No findings.</p>',
            "</section>",
            _coverage(document),
        ]
    )
    return page("neon-governor audit", body, document)


def _findings(count: int) -> str:
    return f"{count} finding{'' if count == 1 else 's'}"


def _grouped(
    findings: Sequence[StoredFinding],
    key: Callable[[StoredFinding], str],
    label: Callable[[str | None], str],
) -> list[Bar]:
    """One bar per group, its savings counted once within the group."""
    groups: dict[str, list[StoredFinding]] = {}
    for finding in findings:
        groups.setdefault(key(finding), []).append(finding)
    return [
        Bar(group, label(group or None), totals(items).monthly_usd, _findings(len(items)))
        for group, items in groups.items()
    ]


def _finding_row(
    row: Mapping[str, Any],
    project_label: Callable[[str | None], str],
    org_names: Mapping[str, str],
) -> tuple[dict[str, str], list[str]]:
    usd = float(row["estimated_monthly_savings_usd"])
    org_id = row["org_id"] or ""
    org_name = org_names.get(org_id) or org_id or "-"
    kind = str(row.get("estimate_kind") or "")
    shown_usd = "risk" if kind == "risk" else money(usd)
    resource_id = row["resource_id"] if row["name"] != row["resource_id"] else None
    order = {"high": "3", "medium": "2", "low": "1"}
    values = {
        "severity": order.get(row["severity"], "0"),
        "policy": row["policy"],
        "org": org_name,
        "project": project_label(row["project_id"]),
        "resource": row["name"],
        "why": row["summary"],
        "usd": f"{usd:.6f}",
        "kind": kind,
        "status": row["status"],
        "first_seen": row["first_seen"],
    }
    cells = [
        f'<span class="sev-{_e(row["severity"])}">{_e(row["severity"])}</span>',
        _e(row["policy"]),
        _named(org_name, org_id if org_name != org_id else None),
        _e(project_label(row["project_id"])),
        _named(row["name"], resource_id),
        _e(row["summary"]),
        shown_usd,
        _e(kind),
        _e(row["status"]),
        _e(str(row["first_seen"])[:10]),
    ]
    return values, cells


def _coverage(document: Mapping[str, Any]) -> str:
    run = document["run"]
    inventory = document["summary"].get("inventory") or {}
    counts = ", ".join(f"{value} {_e(name.replace('_', ' '))}" for name, value in inventory.items())
    state = (
        '<span id="coverage-state">complete</span>'
        if run["complete"]
        else '<span id="coverage-state" class="incomplete">INCOMPLETE</span>'
    )
    items = [
        f"<li>Sweep: {state}; {run['requests']} API requests"
        f" (at least {run['minimum_requests']} needed).</li>",
        f"<li>Inventory: {counts or '-'}.</li>",
        f"<li>Policies ({len(run['policies'])}): {_e(', '.join(run['policies']))}.</li>",
    ]
    if run.get("clock_skew_seconds") is not None:
        items.append(f"<li>Neon's clock ahead of ours by {run['clock_skew_seconds']:.1f} s.</li>")
    parts = document.get("incomplete") or []
    unread = ""
    if parts:
        unread = (
            '<p class="incomplete">Unreadable parts of the account (their earlier findings '
            'are kept as they were):</p><table id="incomplete"><thead><tr><th>part</th>'
            "<th>organization</th><th>project</th><th>reason</th></tr></thead><tbody>"
            + "".join(
                f"<tr><td>{_e(part['kind'])}</td><td>{_e(part['org_id'] or '-')}</td>"
                f"<td>{_e(part['project_id'] or '-')}</td><td>{_e(part['reason'])}</td></tr>"
                for part in parts
            )
            + "</tbody></table>"
        )
    return f'<section id="coverage"><h2>Coverage</h2><ul>{"".join(items)}</ul>{unread}</section>'


# ----- the bill ---------------------------------------------------------------------------


def costs_page(document: Mapping[str, Any]) -> str:
    """The bill (``costs --format json``'s document) as a page: totals, charts by
    organization, project and line item, the lines table, and each bill's coverage."""
    bills = document["organizations"]
    so_far = sum(bill["so_far_usd"] for bill in bills)
    projected = sum(bill["projected_usd"] for bill in bills)
    cards = [
        _card(
            "Projected this billing period",
            money(projected),
            figure_id="total-projected",
            data=f' data-usd="{projected:.6f}"',
        ),
        _card("So far", money(so_far), figure_id="total-so-far", data=f' data-usd="{so_far:.6f}"'),
        _card("Organizations", str(len(bills)), figure_id="org-count"),
    ]
    by_org = [Bar(bill["org_id"], bill["org_id"], bill["projected_usd"]) for bill in bills]
    by_project = [
        Bar(project["project_id"], project["project_id"], project["projected_usd"])
        for bill in bills
        for project in bill["projects"]
    ]
    lines: dict[str, float] = {}
    rows = []
    for bill in bills:
        for project in bill["projects"]:
            for line, entry in project["lines"].items():
                lines[line] = lines.get(line, 0.0) + (entry["projected_usd"] or 0.0)
                rows.append(_bill_row(bill, project["project_id"], line, entry))
    by_line = [Bar(line, line.replace("_", " "), usd) for line, usd in lines.items()]
    charts = "".join(
        [
            bar_chart("Projected by organization ($)", by_org, chart_id="chart-org"),
            bar_chart("Projected by project ($)", by_project, chart_id="chart-project"),
            bar_chart("Projected by line item ($)", by_line, chart_id="chart-line"),
        ]
    )
    table = sortable_table(
        "lines",
        [
            Column("org", "organization"),
            Column("project", "project"),
            Column("line", "line item"),
            Column("quantity", "quantity", numeric=True),
            Column("unit", "unit"),
            Column("so_far", "so far", numeric=True),
            Column("projected", "projected", numeric=True),
            Column("note", "note"),
        ],
        rows,
    )
    coverage = "".join(
        f'<li data-org="{_e(bill["org_id"])}">{_e(bill["org_id"])} '
        f"({_e(bill['plan'] or 'unknown plan')}): {_e(bill['kind'])}, coverage "
        f"{_e(bill['coverage'])}, period {_e(bill['period_start'][:10])} to "
        f"{_e(bill['period_end'][:10])}, rate card of {_e(', '.join(bill['rate_card_dates']))}"
        + "".join(f'<br><span class="muted">{_e(note)}</span>' for note in bill["notes"])
        + "</li>"
        for bill in bills
    )
    excluded = _e(", ".join(bills[0]["exclusions"])) if bills else "-"
    body = "\n".join(
        [
            "<header><h1>Neon costs this billing period</h1>",
            f'<p class="muted">As of {_e(str(document["as_of"])[:16].replace("T", " "))} UTC; '
            "dollars are estimates of Neon's invoice.</p></header>",
            f'<section class="cards">{"".join(cards)}</section>',
            f'<section><h2>Costs</h2><div class="charts">{charts}</div></section>',
            f"<section><h2>Line items ({len(rows)})</h2>",
            '<p class="muted">Click a column header to sort.</p>',
            f'<div class="scroll">{table}</div>',
            "</section>",
            f'<section id="coverage"><h2>Coverage</h2><ul>{coverage}</ul>',
            f"<p>Excluded: {excluded}.</p></section>",
        ]
    )
    return page("Neon costs", body, document)


def _bill_row(
    bill: Mapping[str, Any], project_id: str, line: str, entry: Mapping[str, Any]
) -> tuple[dict[str, str], list[str]]:
    quantity = entry["quantity"]
    values = {
        "org": bill["org_id"],
        "project": project_id,
        "line": line,
        "quantity": "0" if quantity is None else f"{quantity}",
        "unit": entry["unit"] or "",
        "so_far": f"{entry['so_far_usd'] or 0.0:.6f}",
        "projected": f"{entry['projected_usd'] or 0.0:.6f}",
        "note": entry["note"] or "",
    }
    cells = [
        _e(bill["org_id"]),
        _e(project_id),
        _e(line.replace("_", " ")),
        "-" if quantity is None else f"{quantity:,.4g}",
        _e(entry["unit"] or ""),
        money(entry["so_far_usd"]) if entry["so_far_usd"] is not None else "refused",
        money(entry["projected_usd"]) if entry["projected_usd"] is not None else "refused",
        _e(entry["note"] or ""),
    ]
    return values, cells
