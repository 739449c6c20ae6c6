"""The label sets of the finding and savings metrics, as keys ``Metrics`` takes.

Why only the keys here: telemetry imports nothing above it; the daemon turns findings into
these keys (governor/daemon/metric_labels.py). Bounded values only: policy, severity,
account, organization id; never a project or resource id.
"""

from __future__ import annotations

from typing import NamedTuple

UNKNOWN = "unknown"  # an organization (or its account) the daemon cannot name


class FindingKey(NamedTuple):
    policy: str
    severity: str
    account: str
    org: str


class SavingsKey(NamedTuple):
    policy: str
    account: str
    org: str
