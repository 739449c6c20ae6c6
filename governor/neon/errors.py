"""What can go wrong talking to Neon, as exceptions a caller can act on.

Why a hierarchy: the sweep marks a part incomplete on any ``NeonError``, the CLI maps
``NeonAuthError`` to exit 2, and remediation waits out a ``NeonLocked``. Every message names
the method, path and ``X-Request-ID`` (what Neon support asks for) and never the API key.
A ``NeonUsageError`` means nothing was sent.
"""

from __future__ import annotations

from typing import Self

SNIPPET_CHARS = 200


class NeonError(Exception):
    """Base of every error raised by the Neon client."""


class NeonUsageError(NeonError, ValueError):
    """Refused before anything was sent: a path id not of Neon's form (``..`` and the like).

    Why both bases: a ``NeonError``, so a sweep records the part as unreadable and goes on
    when a broken or hostile answer hands it such an id; a ``ValueError``, because the input
    is at fault, not Neon. Never a ``NeonApiError``: no request left, nothing to retry.
    """

    def __init__(self, message: str, *, parameter: str, value: object) -> None:
        self.parameter = parameter
        self.value = value
        super().__init__(message)


class NeonTransportError(NeonError):
    """No HTTP answer: connection refused or reset, DNS failure, timeout."""

    def __init__(self, message: str, *, method: str, path: str, request_id: str) -> None:
        self.method = method
        self.path = path
        self.request_id = request_id
        super().__init__(f"{method} {path} failed (request id {request_id}): {message}")


class NeonApiError(NeonError):
    """Neon answered with an error status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "",
        request_id: str,
        method: str,
        path: str,
        attempts: int = 1,
        hint: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.method = method
        self.path = path
        self.attempts = attempts
        self.hint = hint
        text = f"{method} {path}: HTTP {status}"
        if code:
            text += f" {code}"
        text += f": {message} (request id {request_id}"
        if attempts > 1:
            text += f", after {attempts} attempts"
        text += ")"
        if hint:
            text += f". {hint}"
        super().__init__(text)

    def with_hint(self, hint: str) -> Self:
        """A copy with another hint: a caller may learn more than the client (the key's scope)."""
        return type(self)(
            self.status,
            self.message,
            code=self.code,
            request_id=self.request_id,
            method=self.method,
            path=self.path,
            attempts=self.attempts,
            hint=hint,
        )


class NeonAuthError(NeonApiError):
    """401 or 403: the key is invalid, or its scope does not allow the request."""


class NeonNotFound(NeonApiError):
    """404: the object does not exist, or the key cannot see it."""


class NeonLocked(NeonApiError):
    """423: the project has running operations; retries were spent."""


class NeonRateLimited(NeonApiError):
    """429: the account's rate limit; retries were spent."""


class NeonServerError(NeonApiError):
    """5xx (including Cloudflare's 524 HTML page)."""


class NeonProtocolError(NeonApiError):
    """An answer the client cannot use: HTML, malformed JSON, or required fields missing."""


def error_class_for(status: int) -> type[NeonApiError]:
    if status in (401, 403):
        return NeonAuthError
    if status == 404:
        return NeonNotFound
    if status == 423:
        return NeonLocked
    if status == 429:
        return NeonRateLimited
    if status >= 500:
        return NeonServerError
    return NeonApiError


_SCOPE_LIMITS = {
    "personal": (
        "a personal key acts as its user: it sees only organizations and projects the user "
        "belongs to, and organization-admin actions need an admin user"
    ),
    "organization": (
        "an organization key covers only its own organization: it cannot list other "
        "organizations or personal API keys"
    ),
    "project": (
        "a project-scoped key covers only its one project: it cannot list organizations or "
        "API keys, or perform destructive project operations"
    ),
}


def auth_hint(status: int, key_scope: str | None = None) -> str:
    """What a 401/403 means for a key of ``key_scope`` (personal, organization, project).

    The client does not know the scope (the sweep finds it out) and passes None.
    """
    if status == 401:
        return "The API key is missing, invalid or revoked; check the key the config points to"
    if key_scope in _SCOPE_LIMITS:
        return f"The key in use is a {key_scope} key; {_SCOPE_LIMITS[key_scope]}"
    return (
        "The key's scope is not known yet (personal, organization or project); it does not "
        "allow this request"
    )


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """A short single-line excerpt of a body for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
