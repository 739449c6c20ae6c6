"""``NeonTransport`` on real loopback sockets: TLS, the keep-alive pool, and every failure
as the httpx exception the request loop's retry rules expect (issue 21: the client's own
transport, so the CPU per answer stops bounding raised API limits)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from governor.neon.retry import dns_failure
from governor.neon.transport import _TIMED_OUT, NeonTransport
from tests.channels.harness import self_signed
from tests.neon.helpers import fast_client
from tests.neon.scripted_server import Reply, scripted_server

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
PROJECT = {"id": "wispy-bird-12345678", "name": "shop"}


@dataclass
class Served:
    port: int
    connections: int = 0  # accepted so far
    open_now: int = 0
    most_open: int = 0
    server_names: list[str | None] = field(default_factory=list)  # SNI, over TLS

    def url(self, path: str = "/x", scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request's head (its body read and dropped); None when the client hung up."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":", 1)[1]))
    return head


def answer(body: bytes = b'{"ok": true}', status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body
    )


@asynccontextmanager
async def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[Served]:
    """A loopback server running ``handler`` per connection, counting connections."""
    served = Served(0)
    if tls is not None:
        tls.sni_callback = lambda sock, name, context: served.server_names.append(name)

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.connections += 1
        served.open_now += 1
        served.most_open = max(served.most_open, served.open_now)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            served.open_now -= 1
            writer.close()

    server = await asyncio.start_server(counted, "127.0.0.1", 0, ssl=tls)
    served.port = server.sockets[0].getsockname()[1]
    try:
        yield served
    finally:
        server.close()


def keep_alive(served_body: bytes = b'{"ok": true}', extra: bytes = b"") -> Handler:
    """Answers every request on a connection until the client hangs up."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader) is not None:
            writer.write(answer(served_body, extra=extra))
            await writer.drain()

    return handler


def client_of(transport: NeonTransport, **timeouts: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=transport, timeout=httpx.Timeout(5.0, **timeouts), follow_redirects=False
    )


# -- TLS ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_answer_over_tls_is_read_when_the_certificate_is_trusted(
    tmp_path: Path,
) -> None:
    server_tls, client_tls = self_signed(tmp_path)
    transport = NeonTransport(verify=client_tls)
    async with (
        serving(keep_alive(b'{"tls": true}'), server_tls) as served,
        client_of(transport) as client,
    ):
        first = await client.get(served.url(scheme="https", host="localhost"))
        second = await client.get(served.url(scheme="https", host="localhost"))

    assert first.json() == {"tls": True}
    assert second.status_code == 200
    assert served.connections == 1  # the TLS connection was kept alive
    assert served.server_names == ["localhost"]  # SNI names the host


@pytest.mark.anyio
async def test_a_self_signed_certificate_is_refused_by_default(tmp_path: Path) -> None:
    server_tls, _ = self_signed(tmp_path)
    async with serving(keep_alive(), server_tls) as served, client_of(NeonTransport()) as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(served.url(scheme="https"))


@pytest.mark.anyio
async def test_verify_false_accepts_a_self_signed_certificate(tmp_path: Path) -> None:
    server_tls, _ = self_signed(tmp_path)
    transport = NeonTransport(verify=False)
    async with serving(keep_alive(), server_tls) as served, client_of(transport) as client:
        response = await client.get(served.url(scheme="https"))

    assert response.json() == {"ok": True}


# -- the pool ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_keep_alive_connection_carries_the_next_request() -> None:
    async with serving(keep_alive()) as served:
        transport = NeonTransport()
        async with client_of(transport) as client:
            for _ in range(5):
                assert (await client.get(served.url())).json() == {"ok": True}
            assert transport.open_connections == 1

    assert served.connections == 1


@pytest.mark.anyio
async def test_a_connection_the_server_closes_is_not_used_again() -> None:
    async with serving(keep_alive(extra=b"Connection: close\r\n")) as served:
        transport = NeonTransport()
        async with client_of(transport) as client:
            for _ in range(3):
                assert (await client.get(served.url())).status_code == 200
            assert transport.open_connections == 0

    assert served.connections == 3


@pytest.mark.anyio
async def test_no_more_than_max_connections_are_open_at_once() -> None:
    async with serving(keep_alive()) as served:
        transport = NeonTransport(max_connections=3)
        async with client_of(transport) as client:
            answers = await asyncio.gather(*(client.get(served.url()) for _ in range(40)))

    assert all(response.status_code == 200 for response in answers)
    assert served.most_open <= 3


@pytest.mark.anyio
async def test_a_body_left_unread_closes_its_connection_and_frees_its_slot() -> None:
    async with serving(keep_alive(b"x" * 100_000)) as served:
        transport = NeonTransport(max_connections=1)
        async with client_of(transport, pool=1.0) as client:
            async with client.stream("GET", served.url()) as response:
                async for _ in response.aiter_raw():
                    break  # the caller stops early (a body over its size cap)
            assert transport.open_connections == 0
            assert (await client.get(served.url())).status_code == 200

    assert served.connections == 2


@pytest.mark.anyio
async def test_a_request_waiting_for_a_busy_pool_ends_in_a_pool_timeout() -> None:
    async with serving(keep_alive()) as served:
        transport = NeonTransport(max_connections=1)
        async with client_of(transport, pool=0.05) as client:
            held = await client.send(client.build_request("GET", served.url()), stream=True)
            with pytest.raises(httpx.PoolTimeout):
                await client.get(served.url())
            await held.aclose()
            assert (await client.get(served.url())).status_code == 200


@pytest.mark.anyio
async def test_a_cancelled_exchange_frees_its_slot() -> None:
    arrived = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        arrived.set()
        await reader.read()  # never answers

    async with serving(silent) as served:
        transport = NeonTransport(max_connections=1)
        async with client_of(transport) as client:
            task = asyncio.ensure_future(client.get(served.url()))
            await arrived.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert transport.open_connections == 0


# -- failures as httpx's exceptions ------------------------------------------------------------


@pytest.mark.anyio
async def test_a_server_that_never_answers_is_a_read_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()

    async with serving(silent) as served:
        transport = NeonTransport()
        async with client_of(transport, read=0.05) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(served.url())
        assert transport.open_connections == 0


@pytest.mark.anyio
async def test_a_server_that_stops_reading_is_a_write_timeout() -> None:
    async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)  # reads nothing: the client's writes back up

    async with serving(deaf) as served, client_of(NeonTransport(), write=0.05) as client:
        with pytest.raises(httpx.WriteTimeout):
            await client.post(served.url(), content=b"x" * (64 * 1024 * 1024))


@pytest.mark.anyio
async def test_a_connection_never_accepted_is_a_connect_timeout() -> None:
    # A listener with a full accept queue: Linux drops further SYNs, the connect hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    port = listener.getsockname()[1]
    try:
        for _ in range(4):  # fill the queue (its length is the backlog plus one)
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        async with client_of(NeonTransport(), connect=0.2) as client:
            with pytest.raises(httpx.ConnectTimeout):
                await client.get(f"http://127.0.0.1:{port}/x")
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.mark.anyio
async def test_a_refused_connection_is_a_connect_error() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    async with client_of(NeonTransport()) as client:
        with pytest.raises(httpx.ConnectError, match="refused"):
            await client.get(f"http://127.0.0.1:{port}/x")


@pytest.mark.anyio
async def test_a_host_that_does_not_resolve_is_a_connect_error_from_the_resolver() -> None:
    async with client_of(NeonTransport()) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get("http://no-such-host.invalid/x")

    assert dns_failure(caught.value) is not None  # the retry rules fail fast on it


def replying(raw: bytes, *, close: bool = True) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(raw)
        await writer.drain()
        if not close:
            await reader.read()

    return handler


@pytest.mark.anyio
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"garbage\r\n\r\n", id="not-http"),
        pytest.param(b"", id="closed-before-answering"),
        pytest.param(answer(b'{"ok": true}')[:-3], id="body-cut-short"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (200 * 1024) + b"\r\n\r\n", id="huge-head"
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Length: 5\r\n\r\n", id="two-lengths"
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad-chunk"
        ),
    ],
)
async def test_protocol_garbage_is_a_remote_protocol_error(raw: bytes) -> None:
    async with serving(replying(raw)) as served:
        transport = NeonTransport()
        async with client_of(transport) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(served.url())
        assert transport.open_connections == 0


@pytest.mark.anyio
async def test_a_chunked_gzip_body_reaches_the_caller_raw() -> None:
    packed = gzip.compress(b'{"project": {"id": "wispy-bird-12345678"}}')
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (packed[:7], packed[7:]))
    raw = (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )
    async with (
        serving(replying(raw, close=False)) as served,
        client_of(NeonTransport()) as client,
        client.stream("GET", served.url()) as response,
    ):
        wire = b"".join([chunk async for chunk in response.aiter_raw()])

    assert wire == packed  # body.py inflates it, within its cap


# -- the client's default -------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_proxy_in_the_environment_is_still_used(monkeypatch: pytest.MonkeyPatch) -> None:
    project = b'{"project": {"id": "wispy-bird-12345678", "name": "shop"}}'
    async with serving(keep_alive(project)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with fast_client("http://neon.invalid/api/v2") as client:
            await client.get_project("wispy-bird-12345678")

    assert proxy.connections == 1  # through the proxy, though neon.invalid resolves nowhere


@pytest.mark.anyio
async def test_a_cookie_the_api_sets_is_sent_back_on_the_next_request() -> None:
    # The client builds each request itself (not by httpx's build_request): the jar's
    # cookies must still go out, as a load balancer's affinity cookie would expect.
    answer_with_cookie = Reply(200, {"project": PROJECT}, {"Set-Cookie": "lb=node-7; Path=/"})
    with scripted_server() as server:
        server.script("GET", f"/projects/{PROJECT['id']}", [answer_with_cookie])
        async with fast_client(server.base_url) as client:
            await client.get_project(PROJECT["id"])
            await client.get_project(PROJECT["id"])

    assert "Cookie" not in server.received[0].headers
    assert server.received[1].headers.get("Cookie") == "lb=node-7"


@pytest.mark.anyio
async def test_a_pool_wait_timing_out_as_a_connection_is_released_is_a_pool_timeout() -> None:
    # The wait's timer fires, then a release passes the expired waiter over before the
    # waiting task runs again: the task must still end in PoolTimeout (not a ValueError).
    async with serving(keep_alive()) as served:
        transport = NeonTransport(max_connections=1)
        async with client_of(transport, pool=60.0) as client:
            held = await client.send(client.build_request("GET", served.url()), stream=True)
            waiting = asyncio.ensure_future(client.get(served.url()))
            while not transport._waiters:
                await asyncio.sleep(0)
            _, slot = transport._waiters[0]
            slot.set_result(_TIMED_OUT)  # what the timer does when the pool wait ends
            await held.aclose()  # the release that passes the expired waiter over
            with pytest.raises(httpx.PoolTimeout):
                await waiting
            assert (await client.get(served.url())).status_code == 200
