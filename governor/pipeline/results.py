"""What a run produced, as the report, the notifier and the exit code read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from governor.model.findings import SEVERITY_ORDER
from governor.model.snapshot import IncompletePart, Snapshot
from governor.store import StoredFinding
from governor.store.realized import Summary


@dataclass(frozen=True)
class RunNames:
    """The names a report shows for the run's projects and organizations, by id: what a
    streamed run keeps of its snapshot (``run_audit(keep_snapshot=False)``)."""

    projects: dict[str, str] = field(default_factory=dict)
    organizations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, snapshot: Snapshot) -> RunNames:
        return cls(
            {project.id: project.name for project in snapshot.projects},
            {org.id: org.name for org in snapshot.organizations},
        )


@dataclass(frozen=True)
class AuditResult:
    run_id: int
    started_at: datetime
    finished_at: datetime
    complete: bool
    requests: int
    # matched in this run; a streamed run's are on disk (``SpooledFindings``), read in turn
    findings: Sequence[StoredFinding]
    resolved: list[StoredFinding]  # stopped matching in this run
    incomplete: list[IncompletePart]
    policies: list[str]
    snapshot_counts: dict[str, int] = field(default_factory=dict)
    reused_snapshot: bool = False
    # the fewest requests that could have read what the sweep saw (0 when reused)
    minimum_requests: int = 0
    # seconds the API's clock (its Date header) is ahead of ours; None when unknown
    clock_skew_seconds: float | None = None
    # estimated vs realized over the remediations measured from Neon's meters (None: the
    # store could not say); the measurement pass runs at the end of every audit
    realized: Summary | None = None
    # what was judged, for the daemon to reuse while fresh (not part of any report)
    snapshot: Snapshot | None = field(default=None, repr=False, compare=False)
    # the names reports show, when no snapshot is kept (None: read them from ``snapshot``)
    names: RunNames | None = field(default=None, repr=False, compare=False)

    def run_names(self) -> RunNames:
        """Project and organization names by id, from ``names`` or the snapshot."""
        if self.names is not None:
            return self.names
        return RunNames.of(self.snapshot) if self.snapshot is not None else RunNames()

    def failing(self, fail_on: str) -> bool:
        """Whether an open finding is at or above ``fail_on`` (``none`` never fails).

        A yes or no, not a list: a streamed run's findings are read back from disk, and a
        list of every open one was most of the CLI's peak at 10,000 projects."""
        if fail_on == "none":
            return False
        threshold = SEVERITY_ORDER[fail_on]
        return any(
            finding.status == "open" and SEVERITY_ORDER.get(finding.severity, 0) >= threshold
            for finding in self.findings
        )
