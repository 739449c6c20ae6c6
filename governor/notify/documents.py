"""Channel-neutral documents for people: an owner's digest.

Why here, under every channel: the digest is composed once (``governor.digest``) and each
channel renders it its own way (Slack blocks, an HTML email with a text part, a signed
JSON document, an Adaptive Card). Nothing in it is a secret: contacts are named, and a
channel resolves the address or URL from the config when it sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DigestStatus = Literal["new", "open", "resolved"]


@dataclass(frozen=True)
class DigestItem:
    """One finding in a digest; ``usd`` is its own monthly figure (None: not priced)."""

    fingerprint: str
    policy: str
    severity: str
    resource_type: str
    resource_id: str
    name: str
    org_id: str | None
    project_id: str | None
    summary: str
    status: DigestStatus
    usd: float | None
    estimate_kind: str | None  # measured, estimated, quota, risk
    action: str  # what its policy would do (report, delete_branch, …)
    console_url: str | None = None
    # Slack's approval token of a remediation awaiting approval for this finding, if any
    # (a channel that takes clicks offers Approve with it; others print the CLI command)
    remediation_id: int | None = None
    approval_token: str | None = None
    finding_id: int | None = None  # the store's finding id: Slack's Keep select names it


@dataclass(frozen=True)
class Digest:
    """What one owner hears on one schedule: their open findings ranked by money (at most
    ``[digest] top``), what resolved since their last digest, and totals counted once."""

    owner: str
    created_at: str  # ISO-8601 UTC
    since: str | None  # the previous digest's created_at (None: the first)
    items: tuple[DigestItem, ...]  # ranked: new first? no: by usd descending, then name
    open_count: int  # open findings in all (items may be fewer: ``top``)
    new_count: int
    resolved_count: int
    total_usd: float  # open findings' monthly savings, each cost counted once
    counted_once_note: str | None = None  # "$X in N shared costs counted once", when any
    truncated: int = 0  # open findings not listed (beyond ``top``)
    mentions: tuple[str, ...] = field(default_factory=tuple)  # Slack user ids of the owner
