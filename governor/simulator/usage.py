"""What Neon meters, hour by hour and branch by branch: the simulator's usage ledger.

Why segments: the world only changes through requests and operation effects, so between two
requests every branch's billing state (its computes' sizes and suspend settings, sizes,
retention) is constant. The ledger keeps, per branch, the spans over which that state held
and evaluates any timeframe on demand from them: history before the simulator started
comes from the initial state, a change (a suspend timeout set to 300, a lower floor, a
deleted branch) shows from the moment the ledger saw it, and nothing is stored per hour.

Values are kept in raw units: CU-seconds, byte-hours (storage), bytes (transfer) and
branch-hours (extra branches). ``served_value`` turns storage into the unit the simulator
serves (``SimulatorOptions.storage_unit``).

Activity is deterministic from the seed, the endpoint id and the hour:

- a compute that never suspends (``suspend_timeout_seconds`` -1, or fixed above 16 CU)
  bills every hour at least at its floor, more during business traffic;
- a "kept awake" compute (a poller: scale to zero on but never idle long enough) bills its
  floor every hour;
- a business-hours compute bills weekday hours 08-18 UTC on some days, above its floor;
- a compute idle (``current_state`` idle, ``last_active`` over a day old) when the ledger
  first saw it bills nothing after ``last_active``;
- a compute the world pins (``compute_activity``) bills exactly the CU given for each hour,
  so a test can fix its hours without depending on the draws.
"""

from __future__ import annotations

import zlib
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from governor.simulator.timestamps import parse_timestamp
from governor.simulator.world import ProjectState, World

HOUR = 3600.0
HOURS_PER_BILLING_MONTH = 744
SCALE_TO_ZERO_MAX_CU = 16.0
BUSINESS_HOURS = range(8, 18)
DORMANT_AFTER = timedelta(days=1)

COMPUTE_UNIT_SECONDS = "compute_unit_seconds"
ROOT_BRANCH_BYTES_MONTH = "root_branch_bytes_month"
CHILD_BRANCH_BYTES_MONTH = "child_branch_bytes_month"
INSTANT_RESTORE_BYTES_MONTH = "instant_restore_bytes_month"
SNAPSHOT_STORAGE_BYTES_MONTH = "snapshot_storage_bytes_month"
PUBLIC_NETWORK_TRANSFER_BYTES = "public_network_transfer_bytes"
PRIVATE_NETWORK_TRANSFER_BYTES = "private_network_transfer_bytes"
EXTRA_BRANCHES_MONTH = "extra_branches_month"
PROJECT_METRICS: tuple[str, ...] = (
    COMPUTE_UNIT_SECONDS,
    ROOT_BRANCH_BYTES_MONTH,
    CHILD_BRANCH_BYTES_MONTH,
    INSTANT_RESTORE_BYTES_MONTH,
    SNAPSHOT_STORAGE_BYTES_MONTH,
    PUBLIC_NETWORK_TRANSFER_BYTES,
    PRIVATE_NETWORK_TRANSFER_BYTES,
    EXTRA_BRANCHES_MONTH,
)
BRANCH_METRICS: tuple[str, ...] = tuple(
    name
    for name in PROJECT_METRICS
    if name not in (EXTRA_BRANCHES_MONTH, SNAPSHOT_STORAGE_BYTES_MONTH)
)
STORAGE_METRICS = frozenset(
    {
        ROOT_BRANCH_BYTES_MONTH,
        CHILD_BRANCH_BYTES_MONTH,
        INSTANT_RESTORE_BYTES_MONTH,
        SNAPSHOT_STORAGE_BYTES_MONTH,
    }
)
STORAGE_UNITS = ("byte_months", "byte_hours", "inconsistent")


def served_value(metric: str, raw: float, storage_unit: str) -> float:
    """``raw`` in the unit served: storage as byte-months (÷ 744), byte-hours, or (for
    calibration tests) ÷ 31, a unit whose ratio to ``logical_size`` fits neither."""
    if metric not in STORAGE_METRICS:
        return raw
    if storage_unit == "byte_hours":
        return raw
    if storage_unit == "inconsistent":
        return raw / 31
    return raw / HOURS_PER_BILLING_MONTH


@dataclass(frozen=True)
class ComputeLoad:
    """One compute's billing state: size, how it behaves, and its deterministic draws."""

    endpoint_id: str
    min_cu: float
    max_cu: float
    mode: str  # "always_on" | "kept_awake" | "business" | "pinned" | "off"
    quiet_since: float | None  # epoch seconds: bills nothing from then (idle when first seen)
    duty: float  # share of business hours with traffic
    peak: float  # traffic load as a share of max_cu
    # "pinned": (CU of an hour not listed, ((hour start epoch, CU), ...)), from the world
    pinned: tuple[float, tuple[tuple[float, float], ...]] | None = None


@dataclass(frozen=True)
class BranchMeter:
    """A branch's billing state between two changes (raw units per hour)."""

    org_id: str
    project_id: str
    branch_id: str
    root: bool
    created: float
    logical_size: float
    child_bytes: float
    restore_bytes: float
    computes: tuple[ComputeLoad, ...]
    factor: float
    transfer_per_cu_second: float
    private_share: float


@dataclass
class Segment:
    start: float
    end: float | None
    meter: BranchMeter


@dataclass
class ProjectRecord:
    """A project as the ledger knows it; kept after the project is gone (it still bills)."""

    org_id: str
    project_id: str
    created: float
    snapshot_spans: list[tuple[float, float | None, float]] = field(default_factory=list)


def _unit(*parts: object) -> float:
    """A deterministic draw in [0, 1) from ``parts``."""
    return zlib.crc32(":".join(str(part) for part in parts).encode()) / 2**32


def _epoch(text: Any, default: float) -> float:
    if not isinstance(text, str):
        return default
    try:
        return parse_timestamp(text).timestamp()
    except ValueError:
        return default


def _number(value: Any, default: float = 0.0) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default


class UsageLedger:
    """Per branch and hour, what Neon meters; advanced to ``now`` on every request."""

    def __init__(self, world: World, seed: int | None, now: datetime) -> None:
        self.seed = 0 if seed is None else seed
        self.segments: dict[str, list[Segment]] = {}  # branch id → spans, oldest first
        self.projects: dict[str, ProjectRecord] = {}
        self.characters: dict[str, tuple[str, float | None]] = {}  # endpoint → first sight
        self.factors: dict[str, float] = {}  # branch id → workload factor
        self.project_branches: dict[str, list[str]] = {}  # project id → branch ids ever seen
        self.now = now.timestamp()
        self.advance(world, now, initial=True)

    # ----- recording ------------------------------------------------------------------

    def advance(
        self,
        world: World,
        now: datetime,
        *,
        initial: bool = False,
        project_ids: Iterable[str] | None = None,
    ) -> None:
        """Close the spans whose state changed (or whose branch is gone) at ``now`` and
        open spans for the current state; ``initial`` opens them at creation instead.

        ``project_ids``: only these projects can have changed (None: any); a project gone
        from the world closes its spans.
        """
        moment = max(now.timestamp(), self.now)
        self.now = moment
        wanted = list(world.projects) if project_ids is None else list(project_ids)
        for project_id in wanted:
            state = world.projects.get(project_id)
            seen: set[str] = set()
            if state is not None:
                record = self._project_record(state, moment)
                self._record_snapshots(state, record, moment, initial)
                for branch_id, branch in state.branches.items():
                    seen.add(branch_id)
                    self._record_branch(state, branch, moment, initial)
            for branch_id in self.project_branches.get(project_id, ()):
                spans = self.segments[branch_id]
                if branch_id not in seen and spans[-1].end is None:
                    spans[-1].end = moment
        if project_ids is None:
            for project_id in set(self.projects) - set(world.projects):
                self.advance(world, now, project_ids=[project_id])

    def _record_branch(
        self, state: ProjectState, branch: dict[str, Any], moment: float, initial: bool
    ) -> None:
        meter = self._meter(state, branch, moment)
        spans = self.segments.get(meter.branch_id)
        if spans is None:
            spans = self.segments[meter.branch_id] = []
            self.project_branches.setdefault(state.project_id, []).append(meter.branch_id)
        if spans and spans[-1].end is None:
            if spans[-1].meter == meter:
                return
            spans[-1].end = moment
        start = min(meter.created, moment) if initial or not spans else moment
        spans.append(Segment(start, None, meter))

    def set_factor(
        self,
        world: World,
        now: datetime,
        project_id: str,
        factor: float,
        *,
        except_branch: str | None = None,
    ) -> list[str]:
        """Scale the compute (and transfer) of a project's branches from ``now`` on."""
        if not factor >= 0:
            raise ValueError(f"factor must be a non-negative number, got {factor!r}")
        state = world.project(project_id)
        if state is None:
            raise LookupError(f"project {project_id!r} not found")
        if except_branch is not None and except_branch not in state.branches:
            raise LookupError(f"branch {except_branch!r} not found in project {project_id!r}")
        self.advance(world, now, project_ids=[project_id])
        changed = [branch_id for branch_id in state.branches if branch_id != except_branch]
        for branch_id in changed:
            self.factors[branch_id] = factor
        self.advance(world, now, project_ids=[project_id])
        return changed

    def _project_record(self, state: ProjectState, moment: float) -> ProjectRecord:
        record = self.projects.get(state.project_id)
        if record is None:
            created = min(_epoch(state.project.get("created_at"), moment), moment)
            record = ProjectRecord(state.org_id, state.project_id, created)
            self.projects[state.project_id] = record
        return record

    def _record_snapshots(
        self, state: ProjectState, record: ProjectRecord, moment: float, initial: bool
    ) -> None:
        """Snapshot storage, when the world has snapshots (``full_size``, else ``diff_size``)."""
        snapshots: Any = getattr(state, "snapshots", None) or state.project.get("snapshots")
        items = snapshots.values() if isinstance(snapshots, dict) else snapshots or ()
        total = sum(
            _number(item.get("full_size")) or _number(item.get("diff_size"))
            for item in items
            if isinstance(item, dict)
        )
        spans = record.snapshot_spans
        if spans and spans[-1][1] is None:
            if spans[-1][2] == total:
                return
            spans[-1] = (spans[-1][0], moment, spans[-1][2])
        if total or spans:
            spans.append((record.created if initial else moment, None, total))

    def _meter(self, state: ProjectState, branch: dict[str, Any], moment: float) -> BranchMeter:
        branch_id = str(branch["id"])
        project = state.project
        root = not branch.get("parent_id")
        created = min(_epoch(branch.get("created_at"), moment), moment)
        logical = _number(branch.get("logical_size"))
        changes = logical * (0.02 + 0.5 * _unit(self.seed, branch_id, "changes"))
        restore = 0.0
        if root:
            written_per_second = _number(branch.get("written_data_bytes")) / (30 * 86400)
            retention = _number(project.get("history_retention_seconds"), 86400.0)
            restore = written_per_second * retention
        computes = tuple(
            self._load(endpoint, moment, state.compute_activity.get(str(endpoint["id"])))
            for endpoint in state.endpoints_of(branch_id)
        )
        return BranchMeter(
            org_id=state.org_id,
            project_id=state.project_id,
            branch_id=branch_id,
            root=root,
            created=created,
            logical_size=logical,
            child_bytes=0.0 if root else min(changes, logical),
            restore_bytes=restore,
            computes=computes,
            factor=self.factors.get(branch_id, 1.0),
            transfer_per_cu_second=2_000 + 48_000 * _unit(self.seed, branch_id, "egress"),
            private_share=0.2 if _unit(self.seed, state.project_id, "private") < 0.15 else 0.0,
        )

    def _load(
        self, endpoint: dict[str, Any], moment: float, activity: dict[str, Any] | None = None
    ) -> ComputeLoad:
        endpoint_id = str(endpoint["id"])
        timeout = endpoint.get("suspend_timeout_seconds")
        low = _number(endpoint.get("autoscaling_limit_min_cu"), 0.25)
        high = max(_number(endpoint.get("autoscaling_limit_max_cu"), low), low)
        character = self.characters.get(endpoint_id)
        if character is None:
            last_active = _epoch(endpoint.get("last_active"), moment)
            if endpoint.get("current_state") == "idle" and last_active < moment - 86400:
                character = ("dormant", last_active)
            elif timeout != -1 and _unit(self.seed, endpoint_id, "poller") < 0.25:
                character = ("poller", None)
            else:
                character = ("business", None)
            self.characters[endpoint_id] = character
        kind, quiet_since = character
        never_suspends = timeout == -1 or low > SCALE_TO_ZERO_MAX_CU
        pinned = None
        if activity is not None:
            hours = activity.get("hours") or {}
            pinned = (
                _number(activity.get("cu")),
                tuple(sorted((_epoch(hour, 0.0), _number(cu)) for hour, cu in hours.items())),
            )
        if endpoint.get("disabled"):
            mode = "off"
        elif pinned is not None:
            mode = "pinned"
        elif never_suspends and kind != "dormant":
            mode = "always_on"
        elif kind == "poller":
            mode = "kept_awake"
        else:
            mode = "business"
        return ComputeLoad(
            endpoint_id=endpoint_id,
            min_cu=low,
            max_cu=high,
            mode=mode,
            quiet_since=quiet_since,
            duty=0.4 + 0.5 * _unit(self.seed, endpoint_id, "duty"),
            peak=0.2 + 0.5 * _unit(self.seed, endpoint_id, "peak"),
            pinned=pinned,
        )

    # ----- reading --------------------------------------------------------------------

    def branch_values(self, branch_id: str, start: float, end: float) -> dict[str, float]:
        """Raw metered values of one branch over [start, end) (clipped to the ledger's now)."""
        values = dict.fromkeys(BRANCH_METRICS, 0.0)
        for span in self.segments.get(branch_id, ()):
            low = max(span.start, start, span.meter.created)
            high = min(self.now if span.end is None else span.end, end, self.now)
            if high > low:
                _add_span(values, span.meter, low, high, self.seed)
        return values

    def branch_series(self, branch_id: str, edges: list[float]) -> list[dict[str, float]]:
        """``branch_values`` for each bucket between consecutive ``edges``, in one pass."""
        out = [dict.fromkeys(BRANCH_METRICS, 0.0) for _ in edges[1:]]
        self._accumulate(branch_id, edges, out)
        return out

    def project_series(self, project_id: str, edges: list[float]) -> list[dict[str, float]]:
        """``project_values`` for each bucket between consecutive ``edges``, in one pass."""
        out = [dict.fromkeys(PROJECT_METRICS, 0.0) for _ in edges[1:]]
        for branch_id in self.project_branches.get(project_id, ()):
            self._accumulate(branch_id, edges, out)
            for span in self.segments[branch_id]:
                if not span.meter.root:
                    for index, seconds in self._overlaps(span.start, span.end, span.meter, edges):
                        out[index][EXTRA_BRANCHES_MONTH] += seconds / HOUR
        record = self.projects.get(project_id)
        for span_start, span_end, size in record.snapshot_spans if record else ():
            for index, seconds in self._overlaps(span_start, span_end, None, edges):
                out[index][SNAPSHOT_STORAGE_BYTES_MONTH] += size * seconds / HOUR
        return out

    def _accumulate(self, branch_id: str, edges: list[float], out: list[dict[str, float]]) -> None:
        for span in self.segments.get(branch_id, ()):
            for index, low, high in self._pieces(span.start, span.end, span.meter, edges):
                _add_span(out[index], span.meter, low, high, self.seed)

    def _pieces(
        self, start: float, end: float | None, meter: BranchMeter | None, edges: list[float]
    ) -> Iterable[tuple[int, float, float]]:
        """(bucket index, low, high) of a span's overlap with each bucket it meets."""
        low = max(start, edges[0], meter.created if meter else start)
        high = min(self.now if end is None else end, edges[-1], self.now)
        index = max(0, bisect_right(edges, low) - 1)
        while high > low and index < len(edges) - 1 and edges[index] < high:
            begin, finish = max(low, edges[index]), min(high, edges[index + 1])
            if finish > begin:
                yield index, begin, finish
            index += 1

    def _overlaps(
        self, start: float, end: float | None, meter: BranchMeter | None, edges: list[float]
    ) -> Iterable[tuple[int, float]]:
        for index, low, high in self._pieces(start, end, meter, edges):
            yield index, high - low

    def child_branch_hours(self, project_id: str, start: float, end: float) -> float:
        """Branch-hours of all the project's child branches over [start, end)."""
        total = 0.0
        for branch_id in self.project_branches.get(project_id, ()):
            for span in self.segments[branch_id]:
                if span.meter.root:
                    continue
                low = max(span.start, start, span.meter.created)
                high = min(self.now if span.end is None else span.end, end, self.now)
                if high > low:
                    total += (high - low) / HOUR
        return total

    def snapshot_byte_hours(self, project_id: str, start: float, end: float) -> float:
        record = self.projects.get(project_id)
        total = 0.0
        for span_start, span_end, size in record.snapshot_spans if record else ():
            low = max(span_start, start)
            high = min(self.now if span_end is None else span_end, end, self.now)
            if high > low:
                total += size * (high - low) / HOUR
        return total

    def project_values(self, project_id: str, start: float, end: float) -> dict[str, float]:
        values = dict.fromkeys(PROJECT_METRICS, 0.0)
        for branch_id in self.branches_of(project_id, include_deleted=True):
            for name, value in self.branch_values(branch_id, start, end).items():
                values[name] += value
        values[EXTRA_BRANCHES_MONTH] = self.child_branch_hours(project_id, start, end)
        values[SNAPSHOT_STORAGE_BYTES_MONTH] = self.snapshot_byte_hours(project_id, start, end)
        return values

    def branches_of(self, project_id: str, *, include_deleted: bool) -> list[str]:
        return [
            branch_id
            for branch_id in self.project_branches.get(project_id, ())
            if include_deleted or self.segments[branch_id][-1].end is None
        ]

    def org_projects(self, org_id: str) -> list[ProjectRecord]:
        return [record for record in self.projects.values() if record.org_id == org_id]

    def project_of_branch(self, branch_id: str) -> str | None:
        spans = self.segments.get(branch_id)
        return spans[-1].meter.project_id if spans else None


def _add_span(
    values: dict[str, float], meter: BranchMeter, low: float, high: float, seed: int
) -> None:
    hours = (high - low) / HOUR
    if meter.root:
        values[ROOT_BRANCH_BYTES_MONTH] += meter.logical_size * hours
        values[INSTANT_RESTORE_BYTES_MONTH] += meter.restore_bytes * hours
    else:
        values[CHILD_BRANCH_BYTES_MONTH] += meter.child_bytes * hours
    compute = sum(_compute_seconds(load, low, high, seed) for load in meter.computes)
    compute *= meter.factor
    values[COMPUTE_UNIT_SECONDS] += compute
    egress = compute * meter.transfer_per_cu_second
    values[PUBLIC_NETWORK_TRANSFER_BYTES] += egress
    values[PRIVATE_NETWORK_TRANSFER_BYTES] += egress * meter.private_share


def _compute_seconds(load: ComputeLoad, low: float, high: float, seed: int) -> float:
    """CU-seconds of one compute over [low, high), hour by hour."""
    if load.mode == "off":
        return 0.0
    if load.quiet_since is not None and load.mode != "pinned":
        high = min(high, load.quiet_since)
    total = 0.0
    hour = int(low // HOUR)
    while hour * HOUR < high:
        begin = max(low, hour * HOUR)
        finish = min(high, (hour + 1) * HOUR)
        if finish > begin:
            total += _hourly_cu(load, hour, seed) * (finish - begin)
        hour += 1
    return total


def _hourly_cu(load: ComputeLoad, hour: int, seed: int) -> float:
    """The compute's average size (CU) during one hour."""
    if load.pinned is not None and load.mode == "pinned":
        default, hours = load.pinned
        return _pinned_hours(hours).get(hour * HOUR, default)
    floor = load.min_cu if load.mode in ("always_on", "kept_awake") else 0.0
    day, hour_of_day = divmod(hour, 24)
    busy_hour = (day + 3) % 7 < 5 and hour_of_day in BUSINESS_HOURS  # 1970-01-01: a Thursday
    if busy_hour and _unit(seed, load.endpoint_id, hour, "busy") < load.duty:
        traffic = load.max_cu * load.peak * (0.5 + _unit(seed, load.endpoint_id, hour, "load"))
        return min(load.max_cu, max(load.min_cu, traffic))
    return floor


@lru_cache(maxsize=4096)
def _pinned_hours(hours: tuple[tuple[float, float], ...]) -> dict[float, float]:
    return dict(hours)


def hour_floor(moment: float) -> float:
    return (moment // HOUR) * HOUR


def iter_hours(start: float, end: float) -> Iterable[float]:
    hour = hour_floor(start)
    while hour < end:
        yield hour
        hour += HOUR
