"""A host name that does not resolve fails at once, naming the host (it was retried 8 times,
34 s, as ``ConnectError: [Errno -2] Name or service not known (after 8 attempts)``)."""

from __future__ import annotations

import socket

import httpx
import pytest

from governor.neon.errors import NeonTransportError
from tests.neon.helpers import fast_client
from tests.neon.virtual_time import SteppingClock

# RFC 6761: names under .invalid never resolve, so no network is needed to fail.
UNRESOLVABLE_URL = "https://neon-governor-test.invalid/api/v2"


class ResolverFailing(httpx.AsyncBaseTransport):
    """Every attempt fails as httpx reports a resolver error: a ConnectError from a gaierror."""

    def __init__(self, errno: int) -> None:
        self.errno = errno
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        cause = socket.gaierror(self.errno, "resolver says no")
        raise httpx.ConnectError(f"[Errno {self.errno}] resolver says no", request=request) from (
            cause
        )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("errno", "attempts"),
    [(socket.EAI_NONAME, 1), (socket.EAI_AGAIN, 2)],
)
async def test_a_dns_failure_is_not_retried_eight_times(errno: int, attempts: int) -> None:
    clock = SteppingClock()
    transport = ResolverFailing(errno)
    client = fast_client(
        UNRESOLVABLE_URL, max_attempts=8, transport=transport, clock=clock, sleep=clock.sleep
    )
    async with client:
        with pytest.raises(NeonTransportError) as raised:
            await client.list_organizations()
    assert transport.attempts == attempts
    message = str(raised.value)
    assert "cannot resolve the API host neon-governor-test.invalid" in message
    assert "NEON_API_URL" in message


@pytest.mark.anyio
async def test_other_connect_errors_are_still_retried() -> None:
    class Refusing(httpx.AsyncBaseTransport):
        attempts = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            Refusing.attempts += 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    clock = SteppingClock()
    client = fast_client(
        UNRESOLVABLE_URL, max_attempts=4, transport=Refusing(), clock=clock, sleep=clock.sleep
    )
    async with client:
        with pytest.raises(NeonTransportError, match="after 4 attempts"):
            await client.list_organizations()
    assert Refusing.attempts == 4


@pytest.mark.anyio
async def test_an_unresolvable_host_fails_after_one_or_two_attempts_naming_the_host() -> None:
    """Through the real resolver; bounded whether or not one answers (3 s per attempt, 3 at
    most, no real backoff sleeps)."""
    clock = SteppingClock()
    client = fast_client(
        UNRESOLVABLE_URL, max_attempts=3, timeout_seconds=3.0, clock=clock, sleep=clock.sleep
    )
    async with client:
        with pytest.raises(NeonTransportError) as raised:
            await client.list_organizations()
    message = str(raised.value)
    if "cannot resolve" not in message:
        pytest.skip(f"this machine's resolver did not answer for .invalid: {message}")
    assert "neon-governor-test.invalid" in message
    assert client.requests <= 2
