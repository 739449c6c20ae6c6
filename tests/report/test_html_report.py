"""``audit --format html`` and ``costs --format html`` in a real browser (headless Chromium).

Why a browser: the page's promises are about what a person sees when they open it (the JSON
report's numbers, a table that sorts on a click, nothing loaded from the network, no name
run as markup), and only a browser can tell. Each test loads the file with ``--dump-dom``
(the DOM after the page's script ran) and reads Chromium's console log from stderr; the
screenshot is kept under ``.artifacts/html-report/`` (printed) for a person to look at.
Generous timeouts, no timing asserts: the machine may be busy.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.report.html import audit_page, money
from governor.simulator import Simulator, SimulatorOptions, World, serve
from governor.simulator.generate import generate_world_data
from tests.conftest import WORLD_NOW
from tests.tools import require_tool

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "html-report"
# A project name that would run, or load, if any name reached the page as markup.
HOSTILE_NAME = (
    "<script>document.body.dataset.pwned='script'</script>"
    "<img src=x onerror=\"document.body.dataset.pwned='img'\">&amp;"
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--enable-logging=stderr",
    "--v=0",
)
runner = CliRunner()


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def content(self) -> str:
        return "".join(self.text) + "".join(child.content() for child in self.children)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            node
            for node in self.walk()
            if (tag is None or node.tag == tag)
            and all(node.attrs.get(key) == value for key, value in attrs.items())
        ]

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        (found,) = self.find(tag, **attrs)
        return found


VOID = {"meta", "br", "img", "input", "link", "hr"}


class TreeBuilder(HTMLParser):
    """The dumped DOM as a tree (Chromium writes it well-formed; void tags have no end)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {key: value or "" for key, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text.append(data)


def parse(dom: str) -> Node:
    builder = TreeBuilder()
    builder.feed(dom)
    return builder.root


@dataclass
class Rendered:
    dom: Node
    raw: str
    console: list[str]


def chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run with its own profile; stderr carries the console log."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    done = subprocess.run(
        [require_tool("chromium"), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def render(tmp_path: Path, page: Path, fragment: str = "") -> Rendered:
    done = chromium(tmp_path, page.as_uri() + fragment, "--dump-dom")
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return Rendered(parse(done.stdout), done.stdout, console)


def _fast_config(folder: Path) -> Path:
    config = folder / "fast.toml"
    config.write_text(
        "[neon]\nrequests_per_minute = 60000\nrequests_per_second_per_route = 1000\n"
        "[consumption]\nrequests_per_minute = 60000\n"
    )
    return config


def hostile_world() -> World:
    data = generate_world_data(seed=3, orgs=2, projects=6, branches=40, now=WORLD_NOW)
    data["organizations"][0]["projects"][0]["name"] = HOSTILE_NAME
    return World.from_dict(data)


@dataclass
class Reports:
    folder: Path
    audit_json: dict[str, Any]
    audit_html: Path
    costs_json: dict[str, Any]
    costs_html: Path


def _options(config: Path, fmt: str, out: Path) -> list[str]:
    return ["--config", str(config), "--format", fmt, "--output", str(out)]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    """One simulated account audited and priced twice each: JSON, then HTML (same world,
    same clock, so the same findings and bill)."""
    folder = tmp_path_factory.mktemp("html-report")
    simulator = Simulator(
        hostile_world(),
        SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None),
        now=lambda: WORLD_NOW,
    )
    config = _fast_config(folder)
    with serve(simulator) as base_url:
        env = {"NEON_API_URL": base_url, "NEON_API_KEY": "sim-personal-key"}
        for command, fmt in (("audit", "json"), ("audit", "html")):
            out = folder / f"{command}.{fmt}"
            result = runner.invoke(
                app,
                [command, "--db", str(folder / "g.db"), *_options(config, fmt, out)],
                env=env,
            )
            assert result.exit_code == 1, result.stderr  # findings
        with mock.patch("governor.commands.costs.utc_now", return_value=WORLD_NOW):
            for fmt in ("json", "html"):
                out = folder / f"costs.{fmt}"
                result = runner.invoke(
                    app,
                    ["costs", "--db", str(folder / "c.db"), *_options(config, fmt, out)],
                    env=env,
                )
                assert result.exit_code == 0, result.stderr
    return Reports(
        folder,
        json.loads((folder / "audit.json").read_text(encoding="utf-8")),
        folder / "audit.html",
        json.loads((folder / "costs.json").read_text(encoding="utf-8")),
        folder / "costs.html",
    )


def _chart(dom: Node, chart_id: str) -> dict[str, str]:
    """A chart's bars: key -> the amount text shown beside the bar."""
    chart = dom.one(id=chart_id)
    return {
        row.attrs["data-key"]: row.one(**{"class": "value"}).content()
        for row in chart.find(**{"class": "row"})
    }


def _once(findings: list[dict[str, Any]]) -> float:
    """The JSON rows' savings with each cost (``estimate_parts``) counted once."""
    best: dict[str, float] = {}
    own = 0.0
    for finding in findings:
        parts = finding["estimate_parts"]
        rest = finding["estimated_monthly_savings_usd"] - sum(p["monthly_usd"] for p in parts)
        own += rest if not parts or abs(rest) >= 0.005 else 0.0
        for part in parts:
            best[part["cost"]] = max(best.get(part["cost"], 0.0), part["monthly_usd"])
    return own + sum(best.values())


def test_the_audit_page_shows_the_json_reports_numbers_in_a_browser(
    reports: Reports, tmp_path: Path
) -> None:
    shown = render(tmp_path, reports.audit_html)
    report = reports.audit_json
    summary = report["summary"]
    assert shown.console == []  # no script error, no blocked load, nothing logged
    assert shown.dom.one(tag="html").attrs.get("data-sortable") == "ready"  # the script ran
    total = shown.dom.one(id="total-savings")
    assert total.content() == f"{money(summary['estimated_monthly_savings_usd'])}/month"
    assert shown.dom.one(id="findings-count").content() == str(len(report["findings"]))
    rows = shown.dom.one(id="findings").find(tag="tr")[1:]  # the header row aside
    assert len(rows) == len(report["findings"])
    assert sorted(float(row.attrs["data-usd"]) for row in rows) == pytest.approx(
        sorted(finding["estimated_monthly_savings_usd"] for finding in report["findings"])
    )
    by_policy = _chart(shown.dom, "chart-policy")
    assert set(by_policy) == set(summary["by_policy"])
    for policy, entry in summary["by_policy"].items():
        count = entry["findings"]
        expected = f"{money(entry['estimated_monthly_savings_usd'])} \u00b7 {count} finding"
        assert by_policy[policy] == expected + ("" if count == 1 else "s")
    # The organization and project charts count each shared cost once within a bar.
    for chart, key in (("chart-org", "org_id"), ("chart-project", "project_id")):
        groups: dict[str, list[dict[str, Any]]] = {}
        for finding in report["findings"]:
            groups.setdefault(finding[key] or "", []).append(finding)
        bars = {
            row.attrs["data-key"]: float(row.attrs["data-usd"])
            for row in shown.dom.one(id=chart).find(**{"class": "row"})
        }
        assert bars == {
            group: pytest.approx(_once(items), abs=0.011) for group, items in groups.items()
        }
    state = "complete" if report["run"]["complete"] else "INCOMPLETE"
    assert shown.dom.one(id="coverage-state").content() == state
    assert f"{report['run']['requests']} API requests" in shown.dom.one(id="coverage").content()
    # The page carries the document it was drawn from; its numbers are the JSON report's.
    embedded = json.loads(shown.dom.one(id="report-data").content())
    assert embedded["summary"] == summary
    assert len(embedded["findings"]) == len(report["findings"])


def test_clicking_a_column_header_sorts_the_findings_table(
    reports: Reports, tmp_path: Path
) -> None:
    """``#sort=-usd`` makes the page click the $/month header twice (descending), through
    the same click handler a person uses."""
    for fragment, key, descending in (
        ("#sort=-usd", "usd", True),
        ("#sort=policy", "policy", False),
    ):
        shown = render(tmp_path, reports.audit_html, fragment)
        assert shown.console == []
        table = shown.dom.one(id="findings")
        header = table.one(tag="th", **{"data-key": key})
        assert header.attrs.get("aria-sort") == ("descending" if descending else "ascending")
        values: list[Any] = [row.attrs[f"data-{key}"] for row in table.find(tag="tr")[1:]]
        if key == "usd":
            values = [float(value) for value in values]
        else:
            values = [value.lower() for value in values]
        assert values == sorted(values, reverse=descending)
        assert values != sorted(values, reverse=not descending)  # the order did change


def test_a_project_named_like_markup_is_shown_as_text_and_never_runs(
    reports: Reports, tmp_path: Path
) -> None:
    raw = reports.audit_html.read_text(encoding="utf-8")
    assert "<script>document" not in raw
    assert "<img" not in raw
    shown = render(tmp_path, reports.audit_html)
    assert shown.console == []  # not even a blocked image load
    body = shown.dom.one(tag="body")
    assert "data-pwned" not in body.attrs
    assert len(shown.dom.find(tag="script")) == 2  # the page's data and its script
    assert not shown.dom.find(tag="img")
    cells = [row.content() for row in shown.dom.one(id="findings").find(tag="td")]
    assert HOSTILE_NAME in cells  # shown whole, as text


def test_the_page_loads_nothing_from_anywhere(reports: Reports) -> None:
    for page in (reports.audit_html, reports.costs_html):
        raw = page.read_text(encoding="utf-8")
        policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', raw)
        assert policy is not None
        assert "default-src 'none'" in policy.group(1)
        assert "unsafe-inline" not in policy.group(1)
        # no attribute or style that fetches (URLs in text, such as a bill's note, are text)
        fetching = {"src", "srcset", "href", "action", "poster", "data"}
        for node in parse(raw).walk():
            assert not fetching & set(node.attrs), node.tag
            assert node.tag not in {"img", "link", "iframe", "object", "embed", "image"}
        assert "url(" not in raw
        assert "@import" not in raw


def test_the_costs_page_shows_the_json_bills_numbers_in_a_browser(
    reports: Reports, tmp_path: Path
) -> None:
    shown = render(tmp_path, reports.costs_html)
    bills = reports.costs_json["organizations"]
    assert bills
    assert shown.console == []
    projected = sum(bill["projected_usd"] for bill in bills)
    assert shown.dom.one(id="total-projected").content() == money(projected)
    by_org = _chart(shown.dom, "chart-org")
    assert by_org == {bill["org_id"]: money(bill["projected_usd"]) for bill in bills}
    lines = shown.dom.one(id="lines").find(tag="tr")[1:]
    assert len(lines) == sum(len(p["lines"]) for bill in bills for p in bill["projects"])


def test_a_screenshot_of_the_audit_page_is_kept_as_an_artifact(
    reports: Reports, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, page in (("audit", reports.audit_html), ("costs", reports.costs_html)):
        shot = tmp_path / f"{name}.png"
        chromium(tmp_path, page.as_uri(), f"--screenshot={shot}", "--window-size=1280,2000")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        shutil.copyfile(shot, ARTIFACTS / shot.name)
        shutil.copyfile(page, ARTIFACTS / page.name)
    print(f"html report screenshots and pages: {ARTIFACTS}")


def _empty_audit(**extra: Any) -> dict[str, Any]:
    run = {
        "id": 7,
        "started_at": "2026-11-27T12:00:00+00:00",
        "finished_at": "2026-11-27T12:00:05+00:00",
        "complete": False,
        "requests": 3,
        "minimum_requests": 3,
        "policies": ["stale-branches"],
        "clock_skew_seconds": None,
    }
    summary = {
        "findings": 0,
        "estimated_monthly_savings_usd": 0.0,
        "by_policy": {},
        "by_severity": {"high": 0, "medium": 0, "low": 0},
        "by_estimate_kind": {},
        "counted_once": {"shared_costs": 0, "not_counted_again_usd": 0.0, "note": ""},
        "resolved": 0,
        "inventory": {"organizations": 1},
    }
    document = {
        "run": run,
        "findings": [],
        "resolved": [],
        "incomplete": [
            {"kind": "branches", "org_id": "org-1", "project_id": HOSTILE_NAME, "reason": "503"}
        ],
        "summary": summary,
        "realized_savings": None,
    }
    document.update(extra)
    return document


def test_an_incomplete_run_says_which_parts_were_not_read_and_measured_savings_show() -> None:
    realized = {
        "kept": 3, "measured": 2, "waiting": 1, "no_data": 0, "drifted": 0,
        "estimated_monthly_usd": 40.0, "realized_monthly_usd": 31.5, "counted_once": 0,
    }  # fmt: skip
    page = parse(
        audit_page(
            _empty_audit(realized_savings=realized),
            [],
            project_label=lambda project_id: project_id or "-",
            org_names={},
        )
    )
    assert page.one(id="coverage-state").content() == "INCOMPLETE"
    cells = [cell.content() for cell in page.one(id="incomplete").find(tag="td")]
    assert cells == ["branches", "org-1", HOSTILE_NAME, "503"]  # the name as text
    assert page.one(id="realized-savings").content() == "$31.50/month"
    assert page.one(id="no-findings").content() == "No findings."
