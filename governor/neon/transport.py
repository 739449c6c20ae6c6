"""A lean HTTP/1.1 transport for httpx: asyncio sockets, h11, a keep-alive pool per host.

Why not httpx's own (httpcore over anyio): at raised API limits the client's CPU, not the
limit, set the pace. At 10,000 projects and 60,000 requests/min two thirds of the client's
time went to httpcore/anyio: the pool re-assigning every queued request to every connection
on each change (it grows with the connection count), socket-state checks through anyio's
typed attributes on each reuse, a sniffio lookup per lock. This transport does the same
work once per request: an idle connection is taken from a list, the request is written in
one ``write``, the answer parsed by h11 (the parser httpcore uses, with its 100 KiB cap on
a status line and headers). What it leaves out: HTTP/2, proxies (Neon's API is reached
directly; with ``HTTPS_PROXY`` or the like set, ``NeonHttp`` keeps httpx's transport) and
client certificates.

Errors are httpx's, as its transport raises them, so the request loop's retry rules hold:
``ConnectError`` (refused, unresolvable, TLS verification; the resolver's ``gaierror`` is
its ``__cause__``), ``ConnectTimeout``, ``PoolTimeout``, ``WriteTimeout``, ``ReadTimeout``,
``ReadError``/``WriteError`` (the socket failed mid-answer), ``RemoteProtocolError``
(garbage, a closed connection before or within an answer), ``LocalProtocolError``.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import h11
import httpx

# httpcore's cap on a status line plus headers: a longer head is a RemoteProtocolError.
MAX_HEAD_BYTES = 100 * 1024
# Past this much unread data the socket is not read (a body larger than the caller's cap
# stops arriving while the caller decides to stop).
READ_BUFFER_BYTES = 256 * 1024
KEEPALIVE_SECONDS = 5.0  # httpx's default: an idle connection older than this is closed
DEFAULT_PORTS = {b"http": 80, b"https": 443}

_TIMED_OUT = object()
Origin = tuple[bytes, bytes, int]


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_result(_TIMED_OUT)


async def _wait(waiter: asyncio.Future[Any], timeout: float | None) -> Any:
    """``waiter``'s result, or ``_TIMED_OUT`` after ``timeout`` seconds (None: no limit).

    A timer handle per wait, not ``asyncio.timeout``: this is on every read's path.
    """
    if timeout is None:
        return await waiter
    handle = asyncio.get_running_loop().call_later(timeout, _expire, waiter)
    try:
        return await waiter
    finally:
        handle.cancel()


def _connect_problem(error: OSError) -> str:
    """What went wrong, as the system says it (asyncio's "Connect call failed" hides it)."""
    if type(error) in (OSError, ConnectionRefusedError) and error.errno:
        return f"[Errno {error.errno}] {os.strerror(error.errno)}"
    return str(error) or type(error).__name__


class _Connection(asyncio.Protocol):
    """One socket: bytes in a list until read, h11's state for the exchange on it."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.transport: asyncio.Transport | None = None
        self.expires_at = 0.0
        self._chunks: list[bytes] = []
        self._size = 0
        self._eof = False
        self._lost: BaseException | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._waiter: asyncio.Future[Any] | None = None
        self._drained: asyncio.Future[Any] | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        if self._size > READ_BUFFER_BYTES and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # close our side too: the connection cannot carry another exchange

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = exc
        self._wake()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- use ---------------------------------------------------------------------------------

    def reusable(self, now: float) -> bool:
        """Idle, open, silent since its last answer, and not past its keep-alive."""
        return (
            not self._eof
            and not self._chunks
            and now < self.expires_at
            and self.h11.our_state is h11.IDLE
            and self.h11.their_state is h11.IDLE
        )

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the socket at once (an answer left half read; a cancelled exchange)."""
        if self.transport is not None:
            self.transport.abort()
        self._eof = True

    async def write(self, data: bytes, timeout: float | None) -> None:
        assert self.transport is not None
        if self._eof:
            raise httpx.WriteError("the connection was closed before the request was written")
        self.transport.write(data)
        while self._writing_paused and not self._eof:
            self._drained = asyncio.get_running_loop().create_future()
            if await _wait(self._drained, timeout) is _TIMED_OUT:
                raise httpx.WriteTimeout(f"the request was not written within {timeout:g} s")
        if self._lost is not None:
            raise httpx.WriteError(str(self._lost) or type(self._lost).__name__)

    async def _read(self, timeout: float | None) -> bytes:
        """The bytes received so far, waiting for some; b"" at the end of the stream."""
        if not self._chunks and not self._eof:
            self._waiter = asyncio.get_running_loop().create_future()
            if await _wait(self._waiter, timeout) is _TIMED_OUT:
                raise httpx.ReadTimeout(f"no data within {timeout:g} s")
        if not self._chunks:
            if self._lost is not None:
                raise httpx.ReadError(str(self._lost) or type(self._lost).__name__)
            return b""
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks = []
        self._size = 0
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    async def next_event(self, timeout: float | None) -> Any:
        """h11's next event of the answer, reading as needed; its errors as httpx's."""
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as error:
                raise httpx.RemoteProtocolError(str(error)) from None
            if event is not h11.NEED_DATA:
                return event
            data = await self._read(timeout)
            if not data:
                if self.h11.their_state is h11.SEND_RESPONSE:
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response."
                    )
                if self.h11.they_are_waiting_for_100_continue:  # pragma: no cover
                    raise httpx.RemoteProtocolError("Server disconnected")
            try:
                self.h11.receive_data(data)
            except RuntimeError:  # data after the end of the stream: cannot happen twice
                raise httpx.RemoteProtocolError("Server disconnected mid-answer") from None


class _Body(httpx.AsyncByteStream):
    """An answer's body as h11 hands it over; the connection goes back to the pool at its
    end, or is dropped when the body is left unread."""

    def __init__(self, pool: NeonTransport, connection: _Connection, timeout: float | None) -> None:
        self._pool = pool
        self._connection: _Connection | None = connection
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        try:
            while True:
                event = await connection.next_event(self._timeout)
                kind = type(event)
                if kind is h11.Data:
                    yield bytes(event.data)
                elif kind is h11.EndOfMessage:
                    self._done(reusable=True)
                    return
                else:  # ConnectionClosed mid-body is raised by h11; anything else is odd
                    raise httpx.RemoteProtocolError(f"unexpected {kind.__name__} in a body")
        except BaseException:
            self._done(reusable=False)
            raise

    def _done(self, *, reusable: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._pool.release(connection, reusable=reusable)

    async def aclose(self) -> None:
        self._done(reusable=False)


class NeonTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio with a keep-alive pool of at most ``max_connections`` sockets.

    ``verify``: as httpx's (True: certifi's roots, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``;
    False: no verification; or an ``ssl.SSLContext``). Timeouts come from the request's
    ``timeout`` extension, which ``httpx.AsyncClient`` sets from its ``timeout=``.
    """

    def __init__(
        self,
        *,
        max_connections: int = 16,
        verify: ssl.SSLContext | bool = True,
        keepalive_seconds: float = KEEPALIVE_SECONDS,
        clock: Any = time.monotonic,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._max = max_connections
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._keepalive = keepalive_seconds
        self._clock = clock
        self._open = 0  # connections counted against the limit: idle, in use, or connecting
        self._idle: dict[Origin, list[_Connection]] = {}
        self._waiters: deque[tuple[Origin, asyncio.Future[Any]]] = deque()
        self._closed = False

    @property
    def open_connections(self) -> int:
        return self._open

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            context = httpx.create_ssl_context(verify=self._verify)
            context.set_alpn_protocols(["http/1.1"])
            self._ssl = context
        return self._ssl

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        scheme = url.raw_scheme
        if scheme not in DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme.decode()!r}")
        host = url.raw_host
        origin = (scheme, host, url.port or DEFAULT_PORTS[scheme])
        timeouts = request.extensions.get("timeout") or {}
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        connection = await self._acquire(origin, timeouts)
        try:
            return await self._exchange(connection, request, body, timeouts)
        except BaseException:
            self.release(connection, reusable=False)
            raise

    async def _exchange(
        self,
        connection: _Connection,
        request: httpx.Request,
        body: bytes,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        conn = connection.h11
        try:
            head = conn.send(
                h11.Request(
                    method=request.method, target=request.url.raw_path, headers=request.headers.raw
                )
            )
            data = conn.send(h11.Data(data=body)) if body else b""
            end = conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError as error:
            raise httpx.LocalProtocolError(str(error)) from None
        await connection.write(
            b"".join((head or b"", data or b"", end or b"")), timeouts.get("write")
        )
        read_timeout = timeouts.get("read")
        while True:
            event = await connection.next_event(read_timeout)
            if type(event) is h11.Response:
                break
            if type(event) is not h11.InformationalResponse:
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__}")
        return httpx.Response(
            status_code=event.status_code,
            headers=event.headers.raw_items(),
            stream=_Body(self, connection, read_timeout),
            extensions={
                "http_version": b"HTTP/" + event.http_version,
                "reason_phrase": event.reason,
            },
        )

    # -- the pool ---------------------------------------------------------------------------

    async def _acquire(self, origin: Origin, timeouts: dict[str, float | None]) -> _Connection:
        idle = self._idle.get(origin)
        if idle:
            now = self._clock()
            while idle:
                connection = idle.pop()
                if connection.reusable(now):
                    return connection
                self._drop(connection)
        if self._open < self._max:
            self._open += 1
        elif not self._close_an_idle_one():
            slot = asyncio.get_running_loop().create_future()
            self._waiters.append((origin, slot))
            try:
                given = await _wait(slot, timeouts.get("pool"))
            except BaseException:
                if slot.done() and not slot.cancelled() and slot.result() is not _TIMED_OUT:
                    self._hand_back(slot.result())
                raise
            if given is _TIMED_OUT:
                if (origin, slot) in self._waiters:  # a release may have passed it over
                    self._waiters.remove((origin, slot))
                raise httpx.PoolTimeout("no connection was free in time")
            if isinstance(given, _Connection):
                return given
        # A slot of our own is counted in _open from here.
        try:
            return await self._connect(origin, timeouts.get("connect"))
        except BaseException:
            self._hand_back(None)
            raise

    def _close_an_idle_one(self) -> bool:
        """At the limit, an idle socket to another host gives way (the slot stays counted)."""
        for connections in self._idle.values():
            if connections:
                connections.pop(0).close()
                return True
        return False

    async def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        name = host.decode("ascii")
        loop = asyncio.get_running_loop()
        connection = _Connection(origin)
        tls = self._ssl_context() if scheme == b"https" else None
        try:
            async with asyncio.timeout(timeout):
                await loop.create_connection(
                    lambda: connection,
                    name,
                    port,
                    ssl=tls,
                    server_hostname=name if tls is not None else None,
                )
        except TimeoutError:
            connection.abort()
            raise httpx.ConnectTimeout(
                f"no connection to {name}:{port} within {timeout:g} s"
            ) from None
        except OSError as error:  # refused, unreachable, unresolvable, TLS refused
            connection.abort()
            raise httpx.ConnectError(_connect_problem(error)) from error
        return connection  # asyncio sets TCP_NODELAY on TCP sockets

    def release(self, connection: _Connection, *, reusable: bool) -> None:
        """Back to the pool after an answer read to its end, else closed; wakes a waiter."""
        if reusable and not self._closed:
            try:
                connection.h11.start_next_cycle()
            except h11.LocalProtocolError:  # the server said Connection: close
                reusable = False
        if reusable and not self._closed:
            connection.expires_at = self._clock() + self._keepalive
            self._hand_back(connection)
        else:
            connection.abort()
            self._hand_back(None)

    def _hand_back(self, connection: _Connection | None) -> None:
        """A slot (with its idle ``connection``, or None: closed) to the first waiter,
        else to the pool."""
        while self._waiters:
            origin, slot = self._waiters.popleft()
            if slot.done():
                continue
            if connection is not None and connection.origin != origin:
                connection.close()
                connection = None
            slot.set_result(connection)
            return
        if connection is not None:
            self._idle.setdefault(connection.origin, []).append(connection)
        else:
            self._open -= 1

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self._open -= 1

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                self._drop(connection)
        self._idle.clear()
