"""One answer as received, and what it means: decoded data, or an error that is safe to keep.

Why apart from the request loop: whatever a server says may end up on stderr, in the JSON
report and in the store, and a misbehaving server may echo the key back. So every word is
redacted first and cut second (cutting first can leave a prefix of the key in view), a
request id must look like one, and an error body is decoded as strictly as any other.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx

from governor.neon.body import BodyError, decode_json
from governor.neon.errors import (
    SNIPPET_CHARS,
    NeonApiError,
    NeonProtocolError,
    auth_hint,
    error_class_for,
    snippet,
)
from governor.neon.responses import ApiResponse
from governor.secrets import redact

MESSAGE_CHARS = 300  # an error message from the server, once redacted
CODE_CHARS = 64
# Neon's request ids are UUIDs; anything else plausible is kept, anything odd replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")


def told(text: str, secret: str, limit: int = SNIPPET_CHARS) -> str:
    """Server-provided ``text``: the key (and any bearer token) redacted, then cut short."""
    return snippet(redact(text, [secret]), limit)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status and headers, and its body read within its cap (or why not)."""

    response: httpx.Response
    content: bytes
    body_problem: str | None  # why a 2xx body cannot be used (too large, not inflatable)
    method: str
    path: str
    request_id: str  # ours, sent as X-Request-ID

    @property
    def status(self) -> int:
        return self.response.status_code

    def decoded(self, secret: str) -> ApiResponse:
        """A 2xx answer's data, or a ``NeonProtocolError`` saying why there is none."""
        if self.body_problem is not None:
            raise self._protocol_error(told(self.body_problem, secret))
        if self.status == 204 or not self.content:
            return ApiResponse(self.status, None, self.method, self.path, self.request_id)
        try:
            data = decode_json(self.content, secret)
        except BodyError as error:
            raise self._protocol_error(str(error)) from None
        except ValueError:
            content_type = self.response.headers.get("Content-Type", "no content type")
            text = told(text_of(self.response, self.content), secret)
            raise self._protocol_error(
                f"expected a JSON body, got {told(content_type, secret)}: {text}"
            ) from None
        return ApiResponse(self.status, data, self.method, self.path, self.request_id)

    def _protocol_error(self, problem: str) -> NeonProtocolError:
        return NeonProtocolError(
            self.status, problem, request_id=self.request_id, method=self.method, path=self.path
        )

    def error(self, secret: str, *, attempts: int, sent_org_id: bool) -> NeonApiError:
        """The error an error answer stands for, in the server's words, made safe."""
        details = _error_details(self.response, self.content, self.request_id, secret)
        message = details.message
        error_class = error_class_for(self.status)
        if 300 <= self.status < 400:
            message = f"unexpected redirect ({message})"
            error_class = NeonProtocolError
        return error_class(
            self.status,
            message,
            code=details.code,
            request_id=details.request_id,
            method=self.method,
            path=self.path,
            attempts=attempts,
            hint=hint(self.status, message, sent_org_id=sent_org_id),
        )


@dataclass(frozen=True)
class _ErrorDetails:
    message: str
    code: str
    request_id: str


def _error_details(
    response: httpx.Response, content: bytes, request_id: str, secret: str
) -> _ErrorDetails:
    """Message, code and request id of an error answer, JSON (``GeneralError``) or not;
    ``request_id`` (ours) unless the server gave a plausible one of its own."""
    try:
        body = decode_json(content, secret) if content else None
    except (BodyError, ValueError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        code = body.get("code") or ""
        return _ErrorDetails(
            told(body["message"], secret, MESSAGE_CHARS),
            told(code if isinstance(code, str) else json.dumps(code), secret, CODE_CHARS),
            _request_id(body.get("request_id"), request_id, secret),
        )
    if content:
        content_type = response.headers.get("Content-Type", "")
        kind = "HTML error page" if "html" in content_type.lower() else "non-JSON body"
        return _ErrorDetails(f"{kind}: {told(text_of(response, content), secret)}", "", request_id)
    return _ErrorDetails(told(response.reason_phrase, secret) or "no body", "", request_id)


def text_of(response: httpx.Response, content: bytes) -> str:
    """``content`` as text for a snippet, whatever its bytes."""
    encoding = response.charset_encoding or "utf-8"
    try:
        return content.decode(encoding, errors="replace")
    except (LookupError, UnicodeError):  # unknown, not text ("zlib"), or strict ("idna")
        return content.decode("utf-8", errors="replace")


def _request_id(value: object, ours: str, secret: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and REQUEST_ID.fullmatch(value) and secret not in value:
        return value
    return ours


def hint(status: int, message: str, *, sent_org_id: bool) -> str:
    if status in (401, 403):
        return auth_hint(status)  # scope-neutral: the sweep knows the key's scope, we do not
    if status == 400 and "org_id" in message and not sent_org_id:
        return "A personal key must name the organization: pass org_id"
    return ""


def clock_skew_seconds(date_header: str | None, wall_now: float) -> float | None:
    """How far the server's clock (its ``Date`` header) is ahead of ours; None: no Date."""
    if not date_header:
        return None
    try:
        moment = parsedate_to_datetime(date_header)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        skew = moment.timestamp() - wall_now
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return skew if math.isfinite(skew) else None
