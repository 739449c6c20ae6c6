"""The one request loop: path checks, pacing, retries, deadlines, error mapping, decoding.

Retries, by what Neon documents as safe (spec ``GeneralError``): reads are retried on 423,
429, 5xx (incl. Cloudflare's 524) and transport errors; mutations only on 423, 429, 503 and
on connection errors raised before the request left (``ConnectError``, ``ConnectTimeout``,
``PoolTimeout``). A host name that does not resolve is not waited out (one attempt, two
on EAI_AGAIN): the error names the host at once. Those rules are ``RetryPolicy`` values
(``retry.py``); a caller may pass another per call. Each attempt carries a fresh
``X-Request-ID``; errors name the last one.

Why a deadline per attempt: httpx's timeout bounds each socket read, so a server trickling
its body a byte at a time holds a request for as long as it likes. Each attempt (send,
headers and body) must end within ``timeout_seconds``, else it is a ``ReadTimeout``,
retried like one. Bodies are read by ``body.py``, within a size cap.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit
from urllib.request import getproxies_environment, proxy_bypass

import httpx

from governor import __version__
from governor.neon import DEFAULT_API_URL
from governor.neon.answers import Answer, clock_skew_seconds, told
from governor.neon.body import ERROR_BODY_BYTES, MAX_BODY_BYTES, BodyError, read_body
from governor.neon.errors import NeonTransportError, NeonUsageError
from governor.neon.ids import fill_path
from governor.neon.pacing import Pacer, full_jitter_seconds, parse_retry_after
from governor.neon.paging import MAX_LISTING_ITEMS
from governor.neon.responses import ApiResponse
from governor.neon.retry import RetryPolicy, attempts_for, default_retry, dns_failure
from governor.neon.transport import NeonTransport

logger = logging.getLogger("governor.neon")
# httpx logs every request at INFO with its URL; our own lines say more and leak nothing.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

PROJECT_URL = "https://github.com/neon-governor/neon-governor"
USER_AGENT = f"neon-governor/{__version__} (+{PROJECT_URL})"


def _proxied(url: str) -> bool:
    """Whether the environment routes ``url`` through a proxy: then httpx's own transport,
    which honours it (``NeonTransport`` connects directly)."""
    parts = urlsplit(url)
    proxies = getproxies_environment()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not proxy_bypass(parts.hostname or "")


class _Cookies(httpx.Cookies):
    """httpx's cookie jar, reading an answer only when it sets a cookie: httpx wraps every
    answer in a urllib request and an email message to look (a tenth of its CPU per answer)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


@dataclass(frozen=True)
class _Call:
    method: str
    route: str  # "GET /projects/{project_id}": the pacer's per-route window
    path: str
    params: dict[str, str | int | bool] | None
    json: Any
    pacer: Pacer | None = None  # a budget of its own (the consumption endpoints'), else the key's


@dataclass(frozen=True)
class _Sent:
    attempt: int
    request_id: str
    answer: Answer | None = None
    failure: httpx.RequestError | None = None
    retry_after: float | None = None


class NeonHttp:
    """The HTTP side of ``NeonClient``: one ``httpx.AsyncClient`` and the key's pacer.

    ``clock_skew_seconds``: how far the server's clock (its latest ``Date`` header) is
    ahead of ``wall_clock``; None until an answer carried one.
    """

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
        max_listing_items: int = MAX_LISTING_ITEMS,
        transport: httpx.AsyncBaseTransport | None = None,
        pacer: Pacer | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random_fraction: Callable[[], float] = random.random,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not api_key:
            raise ValueError("an API key is required")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.max_listing_items = max_listing_items
        self._timeout = timeout_seconds
        self._backoff_base = backoff_base_seconds
        self._backoff_cap = backoff_cap_seconds
        self._sleep = sleep
        self._random = random_fraction
        self._wall_clock = wall_clock
        self.clock_skew_seconds: float | None = None
        self.pacer = pacer or Pacer(
            requests_per_minute, requests_per_second_per_route, clock=clock, sleep=sleep
        )
        self.requests = 0  # every HTTP attempt, failed ones included
        self.rate_limited_responses = 0  # 429s received (each was retried or surfaced)
        if transport is None and not _proxied(self.base_url):
            transport = NeonTransport(max_connections=max_connections)
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",  # what body.py inflates
                "User-Agent": USER_AGENT,
            },
            timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            follow_redirects=False,
        )
        # What build_request would merge into each request, merged once: its URL joining
        # and header merging were half of httpx's CPU per request.
        self._headers = list(self._http.headers.raw)
        self._http._cookies = _Cookies()
        self._extensions = {"timeout": self._http.timeout.as_dict()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    @property
    def timeout_seconds(self) -> float:
        """Each attempt's deadline (the remediation journal bounds a send by it)."""
        return self._timeout

    @property
    def backoff_cap_seconds(self) -> float:
        """The longest wait between two attempts (a Retry-After is capped to it too)."""
        return self._backoff_cap

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

    async def request(
        self,
        method: str,
        route_template: str,
        path_params: Mapping[str, str | int] | None = None,
        *,
        params: Mapping[str, str | int | bool] | None = None,
        json: Any = None,
        retry: RetryPolicy | None = None,
        pacer: Pacer | None = None,
    ) -> ApiResponse:
        """Send one logical request, paced and retried by ``retry`` (None: by method).

        ``pacer``: a budget of the route's own, taken before the key's; it hears the 429s.

        Raises ``NeonUsageError`` before anything is sent when a path id is not of Neon's form.
        """
        method = method.upper()
        path = fill_path(route_template, path_params or {})
        call = _Call(
            method, f"{method} {route_template}", path, dict(params or {}) or None, json, pacer
        )
        policy = retry or default_retry(method)
        attempt = 1
        while True:
            sent = await self._send(call, attempt)
            if sent.answer is not None and 200 <= sent.answer.status < 300:
                return sent.answer.decoded(self._api_key)
            delay = self._retry_delay(call, sent, policy)  # raises when not retried
            if delay > 0:
                await self._sleep(delay)
            attempt += 1

    async def _send(self, call: _Call, attempt: int) -> _Sent:
        """One paced attempt within its deadline; the pacer hears how it went."""
        request_id = str(uuid.uuid4())
        try:
            request = httpx.Request(
                call.method,
                self.base_url + "/" + call.path.lstrip("/"),
                params=call.params,
                json=call.json,
                headers=[*self._headers, (b"X-Request-ID", request_id.encode())],
                cookies=self._http.cookies or None,  # what the API set, as build_request did
                extensions=self._extensions,
            )
        except httpx.InvalidURL as error:  # a query too long for a URL
            raise NeonUsageError(
                f"{call.method} {call.path}: {error}; nothing was sent",
                parameter="params",
                value=None,
            ) from None
        pacer = call.pacer or self.pacer
        own = await call.pacer.acquire(call.route) if call.pacer is not None else None
        try:
            permit = await self.pacer.acquire(call.route)
        except BaseException:
            if own is not None:
                pacer.done(own)
            raise
        self.requests += 1
        try:
            async with asyncio.timeout(self._timeout):
                response, content, body_problem = await self._exchange(request)
        except TimeoutError:
            late = httpx.ReadTimeout(
                f"no complete answer within {self._timeout:g} s", request=request
            )
            return _Sent(attempt, request_id, failure=late)
        except httpx.RequestError as error:
            return _Sent(attempt, request_id, failure=error)
        finally:
            self.pacer.done(permit)  # also when cancelled: the window must not leak
            if own is not None:
                pacer.done(own)
        skew = clock_skew_seconds(response.headers.get("Date"), self._wall_clock())
        if skew is not None:
            self.clock_skew_seconds = skew
        status = response.status_code
        logger.debug(
            "%s %s -> %d (request id %s, attempt %d)",
            call.method,
            call.path,
            status,
            request_id,
            attempt,
        )
        answer = Answer(response, content, body_problem, call.method, call.path, request_id)
        if status != 429:
            pacer.succeeded()
            return _Sent(attempt, request_id, answer)
        self.rate_limited_responses += 1
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            retry_after = min(retry_after, self._backoff_cap)
        released_at = own.released_at if own is not None else permit.released_at
        pacer.rate_limited(retry_after, released_at=released_at)
        return _Sent(attempt, request_id, answer, retry_after=retry_after)

    async def _exchange(self, request: httpx.Request) -> tuple[httpx.Response, bytes, str | None]:
        """The answer and its body: a 2xx body in full (or why not), an error's cut short."""
        response = await self._http.send(request, stream=True)
        try:
            ok = 200 <= response.status_code < 300
            limit = MAX_BODY_BYTES if ok else ERROR_BODY_BYTES
            try:
                return response, await read_body(response, limit, cut=not ok), None
            except BodyError as error:
                return response, b"", str(error)
        finally:
            await response.aclose()

    def _retry_delay(self, call: _Call, sent: _Sent, policy: RetryPolicy) -> float:
        """Seconds to sleep before the next attempt; raises the error when there is none."""
        if sent.failure is not None:
            problem, delay = self._failure_retry(call, sent, sent.failure, policy)
        else:
            assert sent.answer is not None
            problem, delay = self._status_retry(call, sent, sent.answer, policy)
        logger.warning(
            "%s %s: %s (request id %s), retrying in %.2f s (attempt %d of %d)",
            call.method,
            call.path,
            problem,
            sent.request_id,
            max(delay, (call.pacer or self.pacer).paused_seconds()),  # a Retry-After pauses it
            sent.attempt + 1,
            self.max_attempts,
        )
        return delay

    def _failure_retry(
        self, call: _Call, sent: _Sent, failure: httpx.RequestError, policy: RetryPolicy
    ) -> tuple[str, float]:
        kind = type(failure).__name__
        detail = told(str(failure), self._api_key)
        problem = f"{kind}: {detail}" if detail else kind
        dns = dns_failure(failure)
        if dns is not None:
            problem = self._dns_problem(dns)
        allowed = attempts_for(failure, self.max_attempts)
        if sent.attempt >= allowed or not policy.retries_failure(failure):
            after = f" (after {sent.attempt} attempts)" if sent.attempt > 1 else ""
            raise NeonTransportError(
                problem + after, method=call.method, path=call.path, request_id=sent.request_id
            ) from None
        return problem, self._backoff(sent.attempt)

    def _dns_problem(self, error: socket.gaierror) -> str:
        """What a resolver failure means, naming the host: not an outage to wait out."""
        host = urlsplit(self.base_url).hostname or self.base_url
        reason = told(str(error.strerror or error), self._api_key)
        return (
            f"cannot resolve the API host {host} ({reason}): check [neon] api_url or "
            "NEON_API_URL, and this machine's network and DNS"
        )

    def _status_retry(
        self, call: _Call, sent: _Sent, answer: Answer, policy: RetryPolicy
    ) -> tuple[str, float]:
        status = answer.status
        if sent.attempt >= self.max_attempts or not policy.retries_status(status):
            sent_org_id = "org_id" in (call.params or {}) or "{org_id}" in call.route
            raise answer.error(self._api_key, attempts=sent.attempt, sent_org_id=sent_org_id)
        # A Retry-After already pauses everyone in the pacer; no extra sleep here.
        delay = 0.0 if sent.retry_after else self._backoff(sent.attempt)
        return f"HTTP {status}", delay

    def _backoff(self, attempt: int) -> float:
        return full_jitter_seconds(
            attempt - 1, base=self._backoff_base, cap=self._backoff_cap, random=self._random
        )
