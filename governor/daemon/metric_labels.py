"""The ``account`` and ``org`` labels of the daemon's finding, savings and sweep metrics.

Why in the daemon and pure: the daemon knows which account read each organization only from the
sweep (``Snapshot.read_by``, or the single configured account); these functions turn open
findings and a sweep's incomplete parts into bounded label sets (policy, severity,
account, organization id; never a project or resource id) so every dashboard sum is right.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from governor.model.findings import Estimate
from governor.observability.labels import UNKNOWN, FindingKey, SavingsKey
from governor.savings.money import cents


class FindingLike(Protocol):
    @property
    def policy(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def org_id(self) -> str | None: ...
    @property
    def estimate(self) -> Estimate | None: ...


class PartLike(Protocol):
    @property
    def org_id(self) -> str | None: ...


@dataclass(frozen=True)
class AccountOf:
    """Which configured account an organization belongs to, as the latest sweeps saw it.

    With one account every organization is its; with several, an organization no sweep
    attributed yet is ``unknown`` rather than guessed.
    """

    names: Sequence[str]
    orgs: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, org_id: str | None) -> str:
        if org_id is not None and org_id in self.orgs:
            return self.orgs[org_id]
        return self.names[0] if len(self.names) == 1 else UNKNOWN


def finding_counts(findings: Iterable[FindingLike], account_of: AccountOf) -> Counter[FindingKey]:
    return Counter(
        FindingKey(f.policy, str(f.severity), account_of(f.org_id), f.org_id or UNKNOWN)
        for f in findings
    )


def savings_split(
    findings: Iterable[FindingLike], account_of: AccountOf
) -> dict[SavingsKey, float]:
    """Each (policy, account, org)'s estimated monthly savings, every cost counted once.

    Why a split and not a total per label: a dashboard sums the series, so the sum must be
    ``count_once``'s total. A cost part listed by several findings (a stale branch's
    always-on compute is also a never-suspending compute) goes, at its largest amount, to
    the first finding listing that amount in (policy, org) order; the others show 0 for
    it. An estimate without parts, and the rest of one whose parts do not add up, is its
    finding's own. Every label with an open finding has a series, 0 when it saves nothing.
    """
    ordered = sorted(findings, key=lambda f: (f.policy, f.org_id or "", str(f.severity)))
    totals: dict[SavingsKey, float] = defaultdict(float)
    best: dict[str, tuple[float, SavingsKey]] = {}
    for finding in ordered:
        key = SavingsKey(finding.policy, account_of(finding.org_id), finding.org_id or UNKNOWN)
        totals[key] += 0.0
        estimate = finding.estimate
        if estimate is None:
            continue
        if not estimate.parts:
            totals[key] += estimate.monthly_usd
            continue
        rest = estimate.monthly_usd - sum(part.monthly_usd for part in estimate.parts)
        if abs(rest) >= 0.005:
            totals[key] += rest
        for part in estimate.parts:
            previous = best.get(part.key)
            if previous is None or part.monthly_usd > previous[0]:
                best[part.key] = (part.monthly_usd, key)
    for amount, key in best.values():
        totals[key] += amount
    return {key: cents(amount) for key, amount in totals.items()}


def incomplete_by_account(
    parts: Iterable[PartLike], names: Sequence[str], account_of: AccountOf
) -> dict[str, int]:
    """Incomplete parts of a sweep per account; a part no account can be named for (the
    organization list itself, or an organization not attributed) counts for every one."""
    counts = dict.fromkeys(names, 0)
    for part in parts:
        owner = account_of(part.org_id) if part.org_id is not None else None
        if owner in counts:
            counts[owner] += 1
            continue
        for name in counts:
            counts[name] += 1
    return counts
