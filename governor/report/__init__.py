"""Rendering of audit results and stored findings: pure functions from data to text.

Why apart from the commands: the CLI, the daemon's Slack reports and tests all render the
same rows; the JSON row is the contract every other format is derived from.
"""

from __future__ import annotations

from governor.report.formats import FORMATS, render_audit, render_findings, write_audit
from governor.report.rows import finding_row, summary

__all__ = [
    "FORMATS",
    "finding_row",
    "render_audit",
    "render_findings",
    "summary",
    "write_audit",
]
