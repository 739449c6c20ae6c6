"""The simulator: authenticates, rate-limits, injects faults, advances time, dispatches.

Why two steps (``admit`` then ``answer``): latency must be slept outside the lock, in a
server thread or with ``asyncio.sleep`` in the in-process transport; everything random
is drawn in ``admit`` under the lock, so a seed gives the same faults for the same
request order. ``handle`` does both for synchronous callers.

Test controls (``/_simulator/...``, see governor.simulator.control) bypass all of it: no
key, no limits, no draws (so they never shift a seed's faults), not logged. Their
in-process twins are the public methods below.
"""

from __future__ import annotations

import dataclasses
import heapq
import random
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from governor.simulator import billing, branch_create, consumption, control, mutations, reads
from governor.simulator.access import Scope, bearer_token, scopes_of
from governor.simulator.context import Context, Handler, Tombstones
from governor.simulator.mutations import LOCKED_MESSAGE
from governor.simulator.operations import Faults, OperationBook
from governor.simulator.options import SimulatorOptions
from governor.simulator.paging import Query
from governor.simulator.ratelimit import SlidingWindowLimiter
from governor.simulator.request_log import JsonLinesFile, RequestRecord, request_body
from governor.simulator.responses import (
    CLOUDFLARE_524_PAGE,
    JSON_CONTENT_TYPE,
    ApiError,
    SimResponse,
    encode_json,
    general_error_body,
)
from governor.simulator.routes import MUTATING_METHODS, RouteMatch, match_route
from governor.simulator.stats import summarize
from governor.simulator.system_operations import start_system_operation
from governor.simulator.timestamps import format_precise_timestamp, parse_timestamp
from governor.simulator.usage import UsageLedger
from governor.simulator.world import World

if TYPE_CHECKING:
    import httpx

HANDLERS: dict[str, Handler] = {
    "GET /auth": reads.auth_details,
    "GET /users/me/organizations": reads.list_organizations,
    "GET /organizations/{org_id}": reads.get_organization,
    "GET /organizations/{org_id}/api_keys": reads.list_org_api_keys,
    "GET /organizations/{org_id}/members": reads.list_org_members,
    "DELETE /organizations/{org_id}/api_keys/{key_id}": mutations.revoke_org_api_key,
    "GET /api_keys": reads.list_personal_api_keys,
    "DELETE /api_keys/{key_id}": mutations.revoke_personal_api_key,
    "GET /projects": reads.list_projects,
    "GET /projects/{project_id}": reads.get_project,
    "GET /projects/{project_id}/branches": reads.list_branches,
    "POST /projects/{project_id}/branches": branch_create.create_branch,
    "GET /projects/{project_id}/branches/{branch_id}": reads.get_branch,
    "PATCH /projects/{project_id}/branches/{branch_id}": mutations.update_branch,
    "DELETE /projects/{project_id}/branches/{branch_id}": mutations.delete_branch,
    "GET /projects/{project_id}/endpoints": reads.list_endpoints,
    "GET /projects/{project_id}/endpoints/{endpoint_id}": reads.get_endpoint,
    "PATCH /projects/{project_id}/endpoints/{endpoint_id}": mutations.update_endpoint,
    "POST /projects/{project_id}/endpoints/{endpoint_id}/suspend": mutations.suspend_endpoint,
    "POST /projects/{project_id}/endpoints/{endpoint_id}/start": mutations.start_endpoint,
    "PATCH /projects/{project_id}": mutations.update_project,
    "DELETE /projects/{project_id}": mutations.delete_project,
    "POST /projects/{project_id}/recover": mutations.recover_project,
    "DELETE /projects/{project_id}/snapshots/{snapshot_id}": mutations.delete_snapshot,
    "PUT /projects/{project_id}/branches/{branch_id}/backup_schedule": (
        mutations.put_backup_schedule
    ),
    "DELETE /projects/{project_id}/endpoints/{endpoint_id}": mutations.delete_endpoint,
    "GET /projects/{project_id}/operations": reads.list_operations,
    "GET /projects/{project_id}/operations/{operation_id}": reads.get_operation,
    "GET /projects/{project_id}/snapshots": reads.list_snapshots,
    "GET /projects/{project_id}/branches/{branch_id}/backup_schedule": reads.get_backup_schedule,
    "GET /organizations/{org_id}/billing/spending_limit": reads.get_spending_limit,
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Ticket:
    """A request admitted by ``admit``: either already answered, or to be dispatched."""

    at: float
    method: str
    path: str
    route: str
    match: RouteMatch | None
    scope: Scope | None
    key_label: str
    request_id: str
    query: Query
    body: bytes
    delay_seconds: float
    early: SimResponse | None = None
    time: str = ""
    raw_query: str = ""
    control: bool = False


class Simulator:
    def __init__(
        self,
        world: World,
        options: SimulatorOptions | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utc_now,
        request_log_path: Path | str | None = None,
    ) -> None:
        """``request_log_path``: also write every logged request there as a JSON line,
        flushed at once (truncated first); ``close`` closes it."""
        self.world = world
        self.options = options or SimulatorOptions()
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        seed = self.options.seed
        self._fault_rng = random.Random(seed)
        self._id_rng = random.Random(None if seed is None else f"{seed}:ids")
        operation_rng = random.Random(None if seed is None else f"{seed}:operations")
        self._limiter = SlidingWindowLimiter(
            self.options.requests_per_minute, self.options.requests_per_second_per_route
        )
        self._scopes = scopes_of(world)
        self.operations = OperationBook(
            self.options.operation_seconds,
            Faults(
                failure_fraction=self.options.operation_failure_fraction,
                retry_fraction=self.options.operation_retry_fraction,
                retry_failures=self.options.operation_retry_failures,
                retry_seconds=self.options.operation_retry_seconds,
            ),
            operation_rng,
            self._new_uuid,
        )
        self.tombstones = Tombstones()
        self._expiries: list[tuple[float, str, str, str]] = []
        for project_id, state in world.projects.items():
            for branch_id in state.branches:
                self._schedule_expiry(project_id, branch_id)
        self.request_log: list[RequestRecord] = []
        self.wake_ups: Counter[str] = Counter()  # endpoint id → wake-ups caused by a PATCH
        self._log_file = JsonLinesFile(request_log_path) if request_log_path else None
        self._refused_mutations = 0
        # What Neon meters (governor.simulator.usage), advanced on every dispatched request.
        self.usage = UsageLedger(world, seed, now())
        self._consumption_limiter = consumption.ConsumptionLimiter(
            self.options.consumption_requests_per_minute
        )
        self._handlers: dict[str, Handler] = {
            **HANDLERS,
            consumption.PROJECTS_ROUTE: lambda context: consumption.project_consumption(
                context, self.usage
            ),
            consumption.BRANCHES_ROUTE: lambda context: consumption.branch_consumption(
                context, self.usage
            ),
        }

    # ----- public entry points ------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: Query,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        raw_query: str | None = None,
    ) -> SimResponse:
        """Answer one request synchronously (sleeping any injected latency)."""
        ticket = self.admit(method, path, query, headers, body, raw_query=raw_query)
        if ticket.delay_seconds > 0:
            time.sleep(ticket.delay_seconds)
        return self.answer(ticket)

    def transport(self) -> httpx.AsyncBaseTransport:
        """An in-process httpx transport; any base URL ending in ``/api/v2`` works."""
        from governor.simulator.transport import SimulatorTransport

        return SimulatorTransport(self)

    def admit(
        self,
        method: str,
        path: str,
        query: Query,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        raw_query: str | None = None,
    ) -> Ticket:
        """Count the request, check the key and limits, draw faults: everything before state.

        ``raw_query`` is the query string as sent, for the log (else rebuilt from ``query``).
        """
        method = method.upper()
        path, _, in_path = path.partition("?")
        if raw_query is None:
            raw_query = in_path or urlencode(query, doseq=True)
        if control.is_control_path(path):
            return Ticket(
                0.0, method, path, "control", None, None, "", "", query, body, 0.0,
                raw_query=raw_query, control=True,
            )  # fmt: skip
        lowered = {name.lower(): value for name, value in headers.items()}
        with self._lock:
            at = self._clock()
            match = match_route(method, path)
            route = match.route if match else f"{method} (unmatched)"
            request_id = lowered.get("x-request-id") or str(self._new_uuid())
            token = bearer_token(lowered.get("authorization"))
            scope = self._scopes.get(token) if token else None
            label = scope.label if scope else ("anonymous" if token is None else "unknown")
            ticket = Ticket(
                at, method, path, route, match, scope, label, request_id, query, body, 0.0,
                time=format_precise_timestamp(self._now()), raw_query=raw_query,
            )  # fmt: skip
            low, high = self.options.latency_seconds
            latency = self._fault_rng.uniform(low, high) if high > 0 else 0.0
            fault_draw = self._fault_rng.random()
            lock_draw = self._fault_rng.random()
            if scope is None or token is None:
                message = "authentication required" if token is None else "invalid API key"
                ticket.early = self._error(401, message, "", request_id)
                return ticket
            if not self._limiter.admit(token, route, at):
                ticket.early = self._error(429, "too many requests", "", request_id)
                return ticket
            if route in consumption.ROUTES:
                wait = self._consumption_limiter.retry_after(token, at)
                if wait is not None:
                    refused = self._error(429, "too many consumption requests", "", request_id)
                    refused.headers["Retry-After"] = str(wait)
                    ticket.early = refused
                    return ticket
            ticket.delay_seconds = latency
            if method in MUTATING_METHODS and self._refused_mutations > 0:
                self._refused_mutations -= 1
                ticket.early = self._error(423, LOCKED_MESSAGE, "", request_id)
                return ticket
            ticket.early = self._fault(fault_draw, lock_draw, method, request_id)
            project_id = match.params.get("project_id") if match else None
            if ticket.early is None and project_id in self.options.unreadable_project_ids:
                message = f"project {project_id!r} is temporarily unavailable"
                ticket.early = self._error(503, message, "", request_id)
            return ticket

    def answer(self, ticket: Ticket) -> SimResponse:
        """Dispatch an admitted request against the live world and log it."""
        if ticket.control:
            return control.answer(self, ticket.method, ticket.path, ticket.query, ticket.body)
        with self._lock:
            response = ticket.early or self._dispatch(ticket)
            record = RequestRecord(
                at=ticket.at,
                key_label=ticket.key_label,
                method=ticket.method,
                route=ticket.route,
                path=ticket.path,
                status=response.status,
                time=ticket.time,
                query=ticket.raw_query,
                body=request_body(ticket.method, ticket.body),
                request_id=ticket.request_id,
            )
            self.request_log.append(record)
            if self._log_file is not None:
                self._log_file.write(record)
            return response

    # ----- test controls (in-process twins of /_simulator/...) ----------------------

    def logged_requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The request log from index ``since`` on, as JSON objects (see RequestRecord)."""
        with self._lock:
            return [record.to_json() for record in self.request_log[since:]]

    def start_system_operation(
        self,
        project_id: str,
        action: str = "check_availability",
        seconds: float = 2.0,
        *,
        endpoint_id: str | None = None,
        branch_id: str | None = None,
    ) -> dict[str, Any]:
        """Start an operation the governor did not ask for (see
        governor.simulator.system_operations): mutations of the project answer 423 until it
        finishes ``seconds`` later. LookupError for an unknown project, endpoint or branch;
        ValueError for a bad action or duration."""
        with self._lock:
            return start_system_operation(
                self.world,
                self.operations,
                project_id,
                action,
                seconds,
                endpoint_id=endpoint_id,
                branch_id=branch_id,
                clock_value=self._clock(),
                now=self._now(),
            )

    def set_fail_423(self, fraction: float) -> None:
        """Change the ``fail_423`` fraction from now on (seeded draws as before)."""
        with self._lock:
            self.options = dataclasses.replace(self.options, fail_423=fraction)

    def set_clock_skew(self, seconds: float) -> None:
        """Put the ``Date`` header of every answer ``seconds`` ahead of the real wall clock."""
        with self._lock:
            self.options = dataclasses.replace(self.options, clock_skew_seconds=float(seconds))

    def date_header(self) -> str:
        """The ``Date`` header of an answer: the real wall clock plus the configured skew
        (real, not ``now``: a client compares it with its own wall clock)."""
        return formatdate(time.time() + self.options.clock_skew_seconds, usegmt=True)

    def refuse_next_mutations(self, count: int) -> None:
        """Answer the next ``count`` mutating requests 423, whatever their route."""
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"count must be a non-negative integer, got {count!r}")
        with self._lock:
            self._refused_mutations = count

    def stats(self) -> dict[str, Any]:
        """What the server saw (``STATS``): requests by status and key, and wake-ups."""
        with self._lock:
            self.operations.advance(self._clock())
            return summarize(self.request_log, self.wake_ups)

    def bill(self, org_id: str, start: datetime, end: datetime) -> dict[str, Any]:
        """The organization's bill for [start, end) by project and line item, from the usage
        ledger and Neon's published formulas (governor.simulator.billing)."""
        with self._lock:
            if org_id not in self.world.organizations_by_id:
                raise LookupError(f"organization {org_id!r} not found")
            self.usage.advance(self.world, self._now(), project_ids=())
            plan = consumption.plan_of(self.world, org_id)
            return billing.bill(self.usage, org_id, plan, start, end)

    def set_workload(
        self, project_id: str, factor: float, *, except_branch_id: str | None = None
    ) -> list[str]:
        """Scale the compute and transfer of a project's branches (all but
        ``except_branch_id``) by ``factor`` from now on: workload drift. Returns the branch
        ids changed; LookupError for an unknown project or branch."""
        with self._lock:
            return self.usage.set_factor(
                self.world, self._now(), project_id, factor, except_branch=except_branch_id
            )

    def metered(
        self,
        start: datetime,
        end: datetime,
        *,
        branch_id: str | None = None,
        project_id: str | None = None,
    ) -> dict[str, float]:
        """Raw metered values over [start, end) of a branch (deleted ones too) or, without
        ``branch_id``, of a project: CU-seconds, byte-hours, bytes, branch-hours."""
        with self._lock:
            self.usage.advance(self.world, self._now(), project_ids=())
            low, high = start.timestamp(), end.timestamp()
            if branch_id is not None:
                if branch_id not in self.usage.segments:
                    raise LookupError(f"branch {branch_id!r} not found")
                return self.usage.branch_values(branch_id, low, high)
            if project_id is None or project_id not in self.usage.projects:
                raise LookupError(f"project {project_id!r} not found")
            return self.usage.project_values(project_id, low, high)

    def close(self) -> None:
        """Close the request log file, if any."""
        with self._lock:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    # ----- internals ----------------------------------------------------------------

    def _new_uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self._id_rng.getrandbits(128), version=4)

    def _fault(
        self, fault_draw: float, lock_draw: float, method: str, request_id: str
    ) -> SimResponse | None:
        options = self.options
        if fault_draw < options.fail_500:
            return self._error(500, "internal server error", "", request_id)
        if fault_draw < options.fail_500 + options.fail_503:
            return self._error(503, "service unavailable, please retry", "", request_id)
        if fault_draw < options.fail_500 + options.fail_503 + options.fail_524:
            ray_id = request_id.replace("-", "")[:16]
            return SimResponse(
                524,
                {"Content-Type": "text/html; charset=UTF-8", "X-Request-ID": request_id},
                CLOUDFLARE_524_PAGE.format(ray_id=ray_id).encode("utf-8"),
            )
        if method in MUTATING_METHODS and lock_draw < options.fail_423:
            return self._error(423, LOCKED_MESSAGE, "", request_id)
        return None

    def _error(self, status: int, message: str, code: str, request_id: str) -> SimResponse:
        return SimResponse(
            status,
            {"Content-Type": JSON_CONTENT_TYPE, "X-Request-ID": request_id},
            general_error_body(message, code, request_id),
        )

    def _dispatch(self, ticket: Ticket) -> SimResponse:
        if ticket.match is None:
            return self._error(
                404, f"no route {ticket.method} {ticket.path}", "", ticket.request_id
            )
        assert ticket.scope is not None
        now = self._now()
        clock_value = self._clock()
        # The state has been constant since the last request: bill it up to now first.
        self.usage.advance(self.world, now, project_ids=())
        # Only running operations' projects (not a scan of the world: one per request).
        touched = {
            pid for pid in self.operations.running_project_ids() if pid in self.world.projects
        }
        expiring = len(self._expiries)
        self.operations.advance(clock_value)
        self._expire_branches(now)
        context = Context(
            world=self.world,
            scope=ticket.scope,
            params=ticket.match.params,
            query=ticket.query,
            body=ticket.body,
            now=now,
            clock_value=clock_value,
            options=self.options,
            operations=self.operations,
            tombstones=self.tombstones,
            schedule_expiry=self._schedule_expiry,
            wake_ups=self.wake_ups,
        )
        try:
            status, payload = self._handlers[ticket.match.route](context)
        except ApiError as error:
            return self._error(error.status, error.message, error.code, ticket.request_id)
        except Exception as error:  # a simulator bug must answer, not kill the server thread
            detail = "".join(traceback.format_exception_only(error)).strip()
            return self._error(500, f"simulator error: {detail}", "", ticket.request_id)
        finally:
            # What this request (or a finished operation) changed bills from now on; a read
            # changes nothing (re-metering its project's branches was most of a read's time).
            if "project_id" in ticket.match.params and ticket.method in MUTATING_METHODS:
                touched.add(ticket.match.params["project_id"])
            everything = len(self._expiries) != expiring
            self.usage.advance(self.world, now, project_ids=None if everything else touched)
        headers = {"X-Request-ID": ticket.request_id}
        if payload is None:
            return SimResponse(status, headers, b"")
        headers["Content-Type"] = JSON_CONTENT_TYPE
        return SimResponse(status, headers, encode_json(payload))

    def _schedule_expiry(self, project_id: str, branch_id: str) -> None:
        state = self.world.project(project_id)
        branch = state.branches.get(branch_id) if state else None
        expires_at = branch.get("expires_at") if branch else None
        if not isinstance(expires_at, str):
            return
        try:
            moment = parse_timestamp(expires_at).timestamp()
        except ValueError:
            return
        heapq.heappush(self._expiries, (moment, project_id, branch_id, expires_at))

    def _expire_branches(self, now: datetime) -> None:
        """Delete branches whose ``expires_at`` passed, with their endpoints."""
        limit = now.timestamp()
        while self._expiries and self._expiries[0][0] <= limit:
            _, project_id, branch_id, expires_at = heapq.heappop(self._expiries)
            state = self.world.project(project_id)
            branch = state.branches.get(branch_id) if state else None
            if state is None or branch is None or branch.get("expires_at") != expires_at:
                continue  # deleted meanwhile, or its expiry changed (rescheduled then)
            if state.children_of(branch_id):
                continue  # child branches block automatic deletion
            mutations.remove_branch(state, branch_id, self.tombstones)
