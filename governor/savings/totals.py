"""Totals that count every dollar once.

Why: two findings can save the same cost (a stale branch whose compute never suspends is
found by ``stale-branches`` and by ``never-suspending-computes``); summing their estimates
counted that compute twice ($847 of the demo's $6,069). Each estimate lists the costs it
would save as ``CostPart``s keyed by the cost (``compute_floor:<endpoint>``...); a key seen
under several estimates is counted once, at its largest amount. An estimate without parts
counts whole, as its own cost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from governor.model.findings import Estimate
from governor.savings.money import cents, usd


@dataclass(frozen=True)
class Totals:
    monthly_usd: float  # every dollar once
    counted_twice_usd: float  # what plain summing would have added on top
    by_kind: dict[str, float] = field(default_factory=dict)  # counted once, per kind
    shared: dict[str, int] = field(default_factory=dict)  # part key -> estimates listing it
    shared_usd: dict[str, float] = field(default_factory=dict)  # part key -> its amount

    @property
    def note(self) -> str:
        """One sentence saying what was counted once, or "" when nothing was shared."""
        if not self.shared:
            return ""
        findings = max(self.shared.values())
        amount = sum(self.shared_usd.values())
        if len(self.shared) == 1:
            return f"{usd(amount)} appears under {findings} findings; counted once."
        return (
            f"{usd(amount)} in {len(self.shared)} costs appears under several findings "
            f"(up to {findings}); counted once."
        )


def count_once(estimates: Iterable[Estimate | None]) -> Totals:
    """The total of ``estimates`` with each cost part counted once (its largest amount)."""
    counter = CountOnce()
    for item in estimates:
        counter.add(item)
    return counter.totals()


class CountOnce:
    """``count_once`` one estimate at a time, so a caller going over findings it does not
    hold (a streamed run's, read back from disk) keeps only the cost keys, not the findings.
    """

    def __init__(self) -> None:
        self.best: dict[str, tuple[float, str]] = {}  # key -> (amount, kind)
        self.seen: dict[str, int] = {}
        self.whole: dict[str, float] = {}
        self.plain = 0.0

    def add(self, item: Estimate | None) -> None:
        if item is None:
            return
        whole, best, seen = self.whole, self.best, self.seen
        self.plain += item.monthly_usd
        if not item.parts:
            whole[item.kind] = whole.get(item.kind, 0.0) + item.monthly_usd
            return
        listed = sum(part.monthly_usd for part in item.parts)
        # Parts that do not add up to the amount (rounding, an unattributed remainder):
        # the remainder is this estimate's own.
        rest = item.monthly_usd - listed
        if abs(rest) >= 0.005:
            whole[item.kind] = whole.get(item.kind, 0.0) + rest
        for part in item.parts:
            seen[part.key] = seen.get(part.key, 0) + 1
            previous = best.get(part.key)
            if previous is None or part.monthly_usd > previous[0]:
                best[part.key] = (part.monthly_usd, item.kind)

    def totals(self) -> Totals:
        best = self.best
        by_kind = dict(self.whole)
        for amount, kind in best.values():
            by_kind[kind] = by_kind.get(kind, 0.0) + amount
        by_kind = {kind: cents(amount) for kind, amount in by_kind.items()}
        total = cents(sum(by_kind.values()))
        shared = {key: count for key, count in self.seen.items() if count > 1}
        return Totals(
            monthly_usd=total,
            counted_twice_usd=cents(max(0.0, self.plain - total)),
            by_kind=by_kind,
            shared=shared,
            shared_usd={key: best[key][0] for key in shared},
        )
