"""Reading an answer's body: bounded in size, inflated by us, decoded as strict JSON.

Why not ``response.read()`` and ``json.loads``: httpx inflates gzip without bound (1 MiB
on the wire can become 1 GiB in memory); ``json.loads`` accepts NaN and Infinity, turns
1e999 into inf, fails on numbers too long to convert with a bare ValueError and on deep
nesting with RecursionError. Here a body is read raw, inflated one step at a time, and
decoded into finite JSON no deeper than ``MAX_JSON_DEPTH``, with the API key scrubbed
from every string (so a server echoing it cannot put it in a snapshot or the store) and
lone surrogates replaced (so no later UTF-8 encoder fails on them).
Anything else is a ``BodyError``, which the request loop turns into a protocol error.
"""

from __future__ import annotations

import json
import math
import re
import sys
import zlib
from collections.abc import Iterator
from typing import Any, Protocol

import httpx

from governor.secrets import REDACTED

MIB = 1024 * 1024
# Decoded bytes of a successful answer: 10,000 branches (the largest page) are ~10 MiB.
MAX_BODY_BYTES = 64 * MIB
# An error answer only feeds a message; what lies beyond is dropped, not refused.
ERROR_BODY_BYTES = 64 * 1024
# Neon's objects nest fewer than 10 levels; a report or the store re-encodes what we keep.
MAX_JSON_DEPTH = 64
INFLATE_STEP = MIB  # the most one decompress call may produce
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyError(Exception):
    """A body that cannot be used; the message says why (its content only as a snippet)."""


class _Decompressor(Protocol):
    @property
    def unconsumed_tail(self) -> bytes: ...

    @property
    def eof(self) -> bool: ...

    def decompress(self, data: bytes, /, max_length: int = ...) -> bytes: ...


async def read_body(response: httpx.Response, limit: int, *, cut: bool = False) -> bytes:
    """The decoded body; past ``limit`` bytes it is cut there (``cut``) or a BodyError."""
    if response.is_stream_consumed:  # an in-process transport's answer, already in memory
        content = response.content
        return content if len(content) <= limit else _too_large(content, limit, cut)
    decompressor = _decompressor(response.headers.get("Content-Encoding", ""))
    body = bytearray()
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        pieces = _inflated(decompressor, chunk) if decompressor else iter((chunk,))
        for piece in pieces:
            body += piece
            if len(body) > limit:
                return _too_large(body, limit, cut)
        if received > limit:  # compressed data that inflates to (almost) nothing, forever
            return _too_large(body, limit, cut)
    if decompressor is not None and not decompressor.eof and not cut:
        raise BodyError("the compressed body ends early")
    return bytes(body)


def _too_large(body: bytes | bytearray, limit: int, cut: bool) -> bytes:
    if cut:
        return bytes(body[:limit])
    size = f"{limit // MIB} MiB" if limit >= MIB else f"{limit} bytes"
    raise BodyError(f"the body is larger than {size}")


def _decompressor(content_encoding: str) -> _Decompressor | None:
    codings = [
        coding.strip().lower()
        for coding in content_encoding.split(",")
        if coding.strip().lower() not in ("", "identity")
    ]
    if not codings:
        return None
    if codings in (["gzip"], ["x-gzip"]):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if codings == ["deflate"]:
        return _Deflate()
    raise BodyError(f"Content-Encoding {content_encoding!r} is not gzip, deflate or identity")


class _Deflate:
    """HTTP's deflate is zlib-wrapped, though some servers send it raw (as httpx allows)."""

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj()
        self._started = False

    @property
    def unconsumed_tail(self) -> bytes:
        return self._zlib.unconsumed_tail

    @property
    def eof(self) -> bool:
        return self._zlib.eof

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        if self._started:
            return self._zlib.decompress(data, max_length)
        self._started = True
        try:
            return self._zlib.decompress(data, max_length)
        except zlib.error:
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._zlib.decompress(data, max_length)


def _inflated(decompressor: _Decompressor, data: bytes) -> Iterator[bytes]:
    """``data`` inflated at most ``INFLATE_STEP`` bytes at a time, so a bomb stops early."""
    try:
        while True:
            piece = decompressor.decompress(data, INFLATE_STEP)
            if piece:
                yield piece
            data = decompressor.unconsumed_tail
            if not data and len(piece) < INFLATE_STEP:
                return
    except zlib.error as error:
        raise BodyError(f"the body cannot be decompressed ({error})") from None


# -- JSON ---------------------------------------------------------------------------------


class _NotJson(ValueError):
    """A value JSON does not have, refused while decoding."""


def _no_constant(name: str) -> Any:
    raise _NotJson(f"the body holds {name}, which JSON does not allow")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise _NotJson(f"the body holds {shown}, a number too large for a float")
    return value


def decode_json(content: bytes, secret: str) -> Any:
    """``content`` as JSON with ``secret`` scrubbed; raises BodyError (never a snippet of it).

    A plain syntax error raises ``json.JSONDecodeError`` (or ``UnicodeDecodeError``) for
    the caller, which knows how to show the content safely.
    """
    try:
        data = json.loads(content, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise BodyError(f"the body nests deeper than {MAX_JSON_DEPTH} levels") from None
    except _NotJson as error:
        raise BodyError(str(error)) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise
    except ValueError:  # int("9" * 5000): Python's limit on integer digits
        limit = sys.get_int_max_str_digits()
        raise BodyError(f"the body holds a number of more than {limit} digits") from None
    if _plain(content, secret):
        _check_depth(content)
        return data
    return _checked(data, secret)


_RAW_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")  # U+D800-DFFF as (surrogatepass) UTF-8
_OPENING = frozenset(b"[{")


def _plain(content: bytes, secret: str) -> bool:
    """Whether no string of ``content`` can hold ``secret`` or a lone surrogate, read from
    the bytes: UTF-8 with no escape at all, so each decoded string (key or value) is a
    piece of ``content`` as it stands. Then the walk over every string (most of the CPU
    of a large answer) is not needed; anything else takes it."""
    return (
        b"\\" not in content
        and b"\x00" not in content  # UTF-16/32 (json.loads detects them) hold NULs
        and secret.encode("utf-8", "surrogatepass") not in content
        and (b"\xed" not in content or _RAW_SURROGATE.search(content) is None)
    )


def _check_depth(content: bytes) -> None:
    """``_checked``'s depth rule on a ``_plain`` body: brackets outside its strings (each
    string of a ``_plain`` body runs from a quote to the next)."""
    if content.count(b"[") + content.count(b"{") <= MAX_JSON_DEPTH:
        return
    outside = b"".join(content.translate(None, _NOT_STRUCTURE).split(b'"')[::2])
    depth = 0
    for byte in outside:
        if byte in _OPENING:
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise BodyError(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
        else:
            depth -= 1


_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'[]{}"')


def _checked(data: Any, secret: str) -> Any:
    """``data`` no deeper than ``MAX_JSON_DEPTH``, every string ``_clean``."""
    if isinstance(data, str):
        return _clean(data, secret)
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BodyError(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, dict):
            for key in [key for key in node if _unclean(key, secret)]:
                node[_clean(key, secret)] = node.pop(key)
            pairs: Any = node.items()
        elif isinstance(node, list):
            pairs = enumerate(node)
        else:
            continue
        for key, value in pairs:
            if isinstance(value, str):
                if _unclean(value, secret):
                    node[key] = _clean(value, secret)
            elif isinstance(value, dict | list):
                stack.append((value, depth + 1))
    return data


def _unclean(text: str, secret: str) -> bool:
    return secret in text or (not text.isascii() and _LONE_SURROGATE.search(text) is not None)


def _clean(text: str, secret: str) -> str:
    """``text`` without ``secret``, and without lone surrogates (JSON's ``"\\ud800"``), which
    no UTF-8 encoder (the store's, a terminal's) accepts."""
    return _LONE_SURROGATE.sub("\ufffd", text.replace(secret, REDACTED))
