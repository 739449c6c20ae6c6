"""The Neon API v2 client: paced, retrying, typed, and quiet about the key.

Why our own: the official Python package neither paginates, paces, retries nor waits
for operations (notes/neon-api.md §11). One ``NeonClient`` per API key holds the key's
``Pacer``; share it between every task and organization of a sweep.

Retries, by what Neon documents as safe (spec ``GeneralError``): reads are retried on 423,
429, 5xx (incl. Cloudflare's 524) and transport errors; mutations only on 423, 429, 503 and
on connection errors raised before the request left (``ConnectError``, ``ConnectTimeout``,
``PoolTimeout``). Each attempt carries a fresh ``X-Request-ID``; errors name the last one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from enum import Enum
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote

import httpx

from governor import __version__
from governor.config import DEFAULT_API_URL
from governor.inventory import KeyScope
from governor.neon.errors import (
    NeonApiError,
    NeonProtocolError,
    NeonTransportError,
    auth_hint,
    error_class_for,
    snippet,
)
from governor.neon.models import (
    ApiKey,
    Branch,
    Endpoint,
    Operation,
    Organization,
    Project,
)
from governor.neon.pacing import Pacer, full_jitter_seconds, parse_retry_after
from governor.neon.responses import (
    ApiResponse,
    Mutation,
    ProjectsPage,
    mutation_of,
    next_cursor,
)
from governor.secrets import redact

logger = logging.getLogger("governor.neon")
# httpx logs every request at INFO with its URL; our own lines say more and leak nothing.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

PROJECT_URL = "https://github.com/neon-governor/neon-governor"
USER_AGENT = f"neon-governor/{__version__} (+{PROJECT_URL})"
PROJECTS_PAGE_SIZE = 400  # the spec's maximum; the default of 10 truncates listings
BRANCHES_PAGE_SIZE = 1000  # the spec allows 1..10000
OPERATIONS_PAGE_SIZE = 1000  # the spec's maximum

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRIED_READ_STATUSES = frozenset({423, 429, 500, 502, 503, 504, 524})
RETRIED_MUTATION_STATUSES = frozenset({423, 429, 503})
# Raised before any byte of the request was sent: safe to retry even a mutation.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET


class NeonClient:
    """An async Neon API client; use as ``async with NeonClient(key) as client``."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_API_URL,
        requests_per_minute: int = 700,
        requests_per_second_per_route: int = 40,
        timeout_seconds: float = 30.0,
        max_attempts: int = 8,
        max_connections: int = 16,
        backoff_base_seconds: float = 0.5,
        backoff_cap_seconds: float = 30.0,
        max_retry_after_seconds: float = 300.0,
        key_scope: KeyScope | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        pacer: Pacer | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        if not api_key:
            raise ValueError("an API key is required")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.key_scope: KeyScope | None = key_scope
        self._backoff_base = backoff_base_seconds
        self._backoff_cap = backoff_cap_seconds
        self._max_retry_after = max_retry_after_seconds
        self._sleep = sleep
        self._random = random_fraction
        self.pacer = pacer or Pacer(
            requests_per_minute, requests_per_second_per_route, clock=clock, sleep=sleep
        )
        self.requests = 0  # every HTTP attempt, failed ones included
        self.rate_limited_responses = 0  # 429s received (each was retried or surfaced)
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"NeonClient(base_url={self.base_url!r}, key_scope={self.key_scope!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the one generic request -------------------------------------------------------

    async def request(
        self,
        method: str,
        route_template: str,
        path_params: Mapping[str, str | int] | None = None,
        *,
        params: Mapping[str, str | int | bool] | None = None,
        json: Any = None,
    ) -> ApiResponse:
        """Send one logical request: paced, retried by the rules above, errors mapped."""
        method = method.upper()
        path = _fill(route_template, path_params or {})
        route = f"{method} {route_template}"
        is_read = method in READ_METHODS
        attempt = 0
        while True:
            attempt += 1
            request_id = str(uuid.uuid4())
            permit = await self.pacer.acquire(route)
            self.requests += 1
            failure: httpx.RequestError | None = None
            try:
                response = await self._http.request(
                    method,
                    path.lstrip("/"),
                    params=dict(params) if params else None,
                    json=json,
                    headers={"X-Request-ID": request_id},
                )
            except httpx.RequestError as error:
                failure = error
            finally:
                self.pacer.done(permit)  # also when cancelled: the window must not leak
            if failure is not None:
                problem = self._describe_transport_error(failure)
                if (
                    is_read or isinstance(failure, NOT_SENT_ERRORS)
                ) and attempt < self.max_attempts:
                    delay = self._backoff(attempt)
                    self._log_retry(method, path, problem, request_id, attempt=attempt, delay=delay)
                    await self._sleep(delay)
                    continue
                raise NeonTransportError(
                    problem + (f" (after {attempt} attempts)" if attempt > 1 else ""),
                    method=method,
                    path=path,
                    request_id=request_id,
                ) from None
            status = response.status_code
            logger.debug(
                "%s %s -> %d (request id %s, attempt %d)", method, path, status, request_id, attempt
            )
            retry_after: float | None = None
            if status == 429:
                self.rate_limited_responses += 1
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None:
                    retry_after = min(retry_after, self._max_retry_after)
                self.pacer.rate_limited(retry_after, released_at=permit.released_at)
            else:
                self.pacer.succeeded()
            if 200 <= status < 300:
                return self._decoded(response, method, path, request_id)
            retried = RETRIED_READ_STATUSES if is_read else RETRIED_MUTATION_STATUSES
            if status in retried and attempt < self.max_attempts:
                # Retry-After already pauses everyone in the pacer; no extra sleep here.
                delay = 0.0 if retry_after is not None else self._backoff(attempt)
                self._log_retry(
                    method, path, f"HTTP {status}", request_id, attempt=attempt, delay=delay
                )
                if delay > 0:
                    await self._sleep(delay)
                continue
            raise self._api_error(response, method, path, request_id, attempt)

    def _backoff(self, attempt: int) -> float:
        return full_jitter_seconds(
            attempt - 1, base=self._backoff_base, cap=self._backoff_cap, random=self._random
        )

    def _log_retry(
        self, method: str, path: str, problem: str, request_id: str, *, attempt: int, delay: float
    ) -> None:
        logger.warning(
            "%s %s: %s (request id %s), retrying in %.2f s (attempt %d of %d)",
            method,
            path,
            problem,
            request_id,
            delay,
            attempt + 1,
            self.max_attempts,
        )

    def _describe_transport_error(self, error: httpx.RequestError) -> str:
        kind = type(error).__name__
        detail = redact(str(error), [self._api_key])
        return f"{kind}: {detail}" if detail else kind

    def _decoded(
        self, response: httpx.Response, method: str, path: str, request_id: str
    ) -> ApiResponse:
        status = response.status_code
        if status == 204 or not response.content:
            return ApiResponse(status, None, method, path, request_id)
        try:
            data = json.loads(response.content)
        except ValueError:
            raise NeonProtocolError(
                status,
                "expected a JSON body, got "
                f"{response.headers.get('Content-Type', 'no content type')}: "
                + snippet(redact(response.text, [self._api_key])),
                request_id=request_id,
                method=method,
                path=path,
            ) from None
        return ApiResponse(status, data, method, path, request_id)

    def _api_error(
        self, response: httpx.Response, method: str, path: str, request_id: str, attempts: int
    ) -> NeonApiError:
        status = response.status_code
        code = ""
        try:
            body = json.loads(response.content) if response.content else None
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            message = body["message"]
            code = str(body.get("code") or "")
            request_id = str(body.get("request_id") or request_id)
        elif response.content:
            content_type = response.headers.get("Content-Type", "")
            kind = "HTML error page" if "html" in content_type.lower() else "non-JSON body"
            message = f"{kind}: {snippet(response.text)}"
        else:
            message = response.reason_phrase or "no body"
        hint = ""
        if status in (401, 403):
            hint = auth_hint(status, self.key_scope)
        elif status == 400 and "org_id" in message:
            hint = "A personal key must name the organization: pass org_id"
        elif 300 <= status < 400:
            message = f"unexpected redirect ({message})"
        error_class = error_class_for(status)
        if 300 <= status < 400:
            error_class = NeonProtocolError
        return error_class(
            status,
            redact(message, [self._api_key]),
            code=redact(code, [self._api_key]),
            request_id=request_id,
            method=method,
            path=path,
            attempts=attempts,
            hint=hint,
        )

    # -- reads -------------------------------------------------------------------------

    async def list_organizations(self) -> list[Organization]:
        response = await self.request("GET", "/users/me/organizations")
        items = response.field_array("organizations")
        return response.models(Organization, items, "organizations")

    async def get_organization(self, org_id: str) -> Organization:
        response = await self.request("GET", "/organizations/{org_id}", {"org_id": org_id})
        return response.model(Organization, response.object(), "organization")

    async def iter_project_pages(
        self, org_id: str | None = None, *, page_size: int = PROJECTS_PAGE_SIZE
    ) -> AsyncIterator[ProjectsPage]:
        """Project pages, streamed; ``pagination.cursor`` is on every page, the last included."""
        cursor: str | None = None
        seen_cursors: set[str] = set()
        while True:
            params: dict[str, str | int | bool] = {"limit": page_size}
            if org_id:
                params["org_id"] = org_id
            if cursor:
                params["cursor"] = cursor
            response = await self.request("GET", "/projects", params=params)
            items = response.field_array("projects")
            body = response.object()
            unavailable = body.get("unavailable_project_ids") or []
            if not isinstance(unavailable, list) or not all(
                isinstance(project_id, str) for project_id in unavailable
            ):
                raise response.protocol_error("'unavailable_project_ids' is not a list of ids")
            yield ProjectsPage(response.models(Project, items, "projects"), list(unavailable))
            # Unavailable projects may take places on the page: only a page short of both
            # is the last one (one extra, empty page costs less than a missed project).
            if len(items) + len(unavailable) < page_size:
                return
            cursor = next_cursor(response, body, "cursor", seen_cursors, len(items))

    async def iter_projects(
        self, org_id: str | None = None, *, page_size: int = PROJECTS_PAGE_SIZE
    ) -> AsyncIterator[Project]:
        async for page in self.iter_project_pages(org_id, page_size=page_size):
            for project in page.projects:
                yield project

    async def get_project(self, project_id: str) -> Project:
        response = await self.request("GET", "/projects/{project_id}", {"project_id": project_id})
        return response.model(Project, response.field_object("project"), "project")

    async def iter_branch_pages(
        self, project_id: str, *, page_size: int = BRANCHES_PAGE_SIZE
    ) -> AsyncIterator[list[Branch]]:
        """Branch pages, oldest first: created_at does not move while we page (updated_at does)."""
        cursor: str | None = None
        seen_cursors: set[str] = set()
        seen_ids: set[str] = set()
        while True:
            params: dict[str, str | int | bool] = {
                "limit": page_size,
                "sort_by": "created_at",
                "sort_order": "asc",
            }
            if cursor:
                params["cursor"] = cursor
            response = await self.request(
                "GET", "/projects/{project_id}/branches", {"project_id": project_id}, params=params
            )
            items = response.field_array("branches")
            branches = response.models(Branch, items, "branches")
            fresh = [branch for branch in branches if branch.id not in seen_ids]
            seen_ids.update(branch.id for branch in fresh)
            yield fresh
            if len(items) < page_size:
                return
            body = response.object()
            pagination = body.get("pagination")
            if not isinstance(pagination, dict) or not pagination.get("next"):
                return  # CursorPagination.next is optional: absent means the last page
            cursor = next_cursor(response, body, "next", seen_cursors, len(items))

    async def iter_branches(
        self, project_id: str, *, page_size: int = BRANCHES_PAGE_SIZE
    ) -> AsyncIterator[Branch]:
        async for page in self.iter_branch_pages(project_id, page_size=page_size):
            for branch in page:
                yield branch

    async def get_branch(self, project_id: str, branch_id: str) -> Branch:
        response = await self.request(
            "GET",
            "/projects/{project_id}/branches/{branch_id}",
            {"project_id": project_id, "branch_id": branch_id},
        )
        return response.model(Branch, response.field_object("branch"), "branch")

    async def list_endpoints(self, project_id: str) -> list[Endpoint]:
        response = await self.request(
            "GET", "/projects/{project_id}/endpoints", {"project_id": project_id}
        )
        return response.models(Endpoint, response.field_array("endpoints"), "endpoints")

    async def get_endpoint(self, project_id: str, endpoint_id: str) -> Endpoint:
        response = await self.request(
            "GET",
            "/projects/{project_id}/endpoints/{endpoint_id}",
            {"project_id": project_id, "endpoint_id": endpoint_id},
        )
        return response.model(Endpoint, response.field_object("endpoint"), "endpoint")

    async def list_personal_api_keys(self) -> list[ApiKey]:
        response = await self.request("GET", "/api_keys")
        return response.models(ApiKey, response.array(), "api_keys")

    async def list_org_api_keys(self, org_id: str) -> list[ApiKey]:
        response = await self.request("GET", "/organizations/{org_id}/api_keys", {"org_id": org_id})
        return response.models(ApiKey, response.array(), "api_keys")

    async def get_operation(self, project_id: str, operation_id: str) -> Operation:
        response = await self.request(
            "GET",
            "/projects/{project_id}/operations/{operation_id}",
            {"project_id": project_id, "operation_id": operation_id},
        )
        return response.model(Operation, response.field_object("operation"), "operation")

    async def iter_operations(
        self, project_id: str, *, page_size: int = OPERATIONS_PAGE_SIZE
    ) -> AsyncIterator[Operation]:
        cursor: str | None = None
        seen_cursors: set[str] = set()
        while True:
            params: dict[str, str | int | bool] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            response = await self.request(
                "GET",
                "/projects/{project_id}/operations",
                {"project_id": project_id},
                params=params,
            )
            items = response.field_array("operations")
            for operation in response.models(Operation, items, "operations"):
                yield operation
            if len(items) < page_size:
                return
            cursor = next_cursor(response, response.object(), "cursor", seen_cursors, len(items))

    # -- mutations ---------------------------------------------------------------------

    async def update_branch(
        self,
        project_id: str,
        branch_id: str,
        *,
        name: str | _Unset = UNSET,
        protected: bool | _Unset = UNSET,
        expires_at: datetime | _Unset | None = UNSET,
    ) -> Mutation[Branch]:
        """PATCH a branch; ``expires_at=None`` removes its expiry."""
        changes: dict[str, Any] = {}
        if name is not UNSET:
            changes["name"] = name
        if protected is not UNSET:
            changes["protected"] = protected
        if expires_at is not UNSET:
            changes["expires_at"] = None if expires_at is None else rfc3339_seconds(expires_at)
        if not changes:
            raise ValueError("update_branch needs at least one change")
        response = await self.request(
            "PATCH",
            "/projects/{project_id}/branches/{branch_id}",
            {"project_id": project_id, "branch_id": branch_id},
            json={"branch": changes},
        )
        return mutation_of(response, Branch, "branch")

    async def delete_branch(self, project_id: str, branch_id: str) -> Mutation[Branch]:
        """DELETE a branch; a 204 (already deleted) gives ``resource=None``."""
        response = await self.request(
            "DELETE",
            "/projects/{project_id}/branches/{branch_id}",
            {"project_id": project_id, "branch_id": branch_id},
        )
        return mutation_of(response, Branch, "branch")

    async def update_endpoint(
        self,
        project_id: str,
        endpoint_id: str,
        *,
        autoscaling_limit_min_cu: float | None = None,
        autoscaling_limit_max_cu: float | None = None,
        suspend_timeout_seconds: int | None = None,
        disabled: bool | None = None,
    ) -> Mutation[Endpoint]:
        """PATCH a compute's size, scale-to-zero timeout or disabled flag (None: unchanged)."""
        changes: dict[str, Any] = {
            key: value
            for key, value in (
                ("autoscaling_limit_min_cu", autoscaling_limit_min_cu),
                ("autoscaling_limit_max_cu", autoscaling_limit_max_cu),
                ("suspend_timeout_seconds", suspend_timeout_seconds),
                ("disabled", disabled),
            )
            if value is not None
        }
        if not changes:
            raise ValueError("update_endpoint needs at least one change")
        response = await self.request(
            "PATCH",
            "/projects/{project_id}/endpoints/{endpoint_id}",
            {"project_id": project_id, "endpoint_id": endpoint_id},
            json={"endpoint": changes},
        )
        return mutation_of(response, Endpoint, "endpoint")

    async def suspend_endpoint(self, project_id: str, endpoint_id: str) -> Mutation[Endpoint]:
        return await self._endpoint_action(project_id, endpoint_id, "suspend")

    async def start_endpoint(self, project_id: str, endpoint_id: str) -> Mutation[Endpoint]:
        return await self._endpoint_action(project_id, endpoint_id, "start")

    async def _endpoint_action(
        self, project_id: str, endpoint_id: str, action: Literal["suspend", "start"]
    ) -> Mutation[Endpoint]:
        response = await self.request(
            "POST",
            f"/projects/{{project_id}}/endpoints/{{endpoint_id}}/{action}",
            {"project_id": project_id, "endpoint_id": endpoint_id},
        )
        return mutation_of(response, Endpoint, "endpoint")

    async def revoke_personal_api_key(self, key_id: int) -> Mutation[ApiKey]:
        response = await self.request("DELETE", "/api_keys/{key_id}", {"key_id": key_id})
        return Mutation(response.model(ApiKey, response.object(), "api_key"), [], response.status)

    async def revoke_org_api_key(self, org_id: str, key_id: int) -> Mutation[ApiKey]:
        response = await self.request(
            "DELETE",
            "/organizations/{org_id}/api_keys/{key_id}",
            {"org_id": org_id, "key_id": key_id},
        )
        return Mutation(response.model(ApiKey, response.object(), "api_key"), [], response.status)


def rfc3339_seconds(moment: datetime) -> str:
    """RFC 3339 in UTC with second precision, as Neon wants ``expires_at``."""
    if moment.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fill(route_template: str, path_params: Mapping[str, str | int]) -> str:
    values: dict[str, str] = {}
    for name, value in path_params.items():
        text = str(value)
        if not text:
            raise ValueError(f"path parameter {name} is empty")
        values[name] = quote(text, safe="")
    try:
        return route_template.format_map(values)
    except KeyError as error:
        raise ValueError(f"{route_template}: path parameter {error} is missing") from None
