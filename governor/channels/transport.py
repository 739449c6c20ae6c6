"""What the senders of webhook, email and Teams share: errors, secrets, one HTTP POST.

Why an error with ``permanent`` and ``retry_after``: the outbox decides retries in one
place (``governor.channels.outbox``); each transport only says what the server meant.
A 4xx other than 408 and 429 is permanent (the same request would be refused again); a
429 waits ``Retry-After``; the rest (5xx, timeouts, refused connections) backs off.
Secrets are read at send time, never stored, and scrubbed from every error text.
"""

from __future__ import annotations

import email.utils
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from governor.config.slack import LOOPBACK_HOSTS
from governor.secrets import SecretError, read_secret, redact

MAX_RETRY_AFTER = 3600.0
DEFAULT_RETRY_AFTER = 30.0


class DeliveryError(Exception):
    """A send that did not arrive; the message names the destination, never a secret."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


def named_secret(what: str, env: str | None, file: str | None, config_dir: Path | None) -> str:
    """The secret ``what`` needs, from ``file`` (relative to the config's folder) or ``env``.

    Raises ``SecretError`` whose message says where it looked (the env var's name, the
    file), never the value.
    """
    if file:
        try:
            return read_secret("", file, relative_to=config_dir)
        except SecretError as error:
            raise SecretError(f"{what}: {error}") from None
    if not env:
        raise SecretError(f"{what}: no env var or file is configured for it")
    value = os.environ.get(env)
    if value is None or value.strip() == "":
        raise SecretError(f"{what}: environment variable {env} is not set")
    try:
        return read_secret(env)
    except SecretError as error:
        raise SecretError(f"{what}: {error}") from None


def checked_url(what: str, url: str) -> str:
    """``url`` when it is https (http only to loopback): a URL read from a secret is
    checked when it is used, as the config's are when read."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS:
        return url
    raise DeliveryError(
        f"{what}: the URL must be https:// (http:// only to loopback)", permanent=True
    )


async def post(
    client: httpx.AsyncClient,
    what: str,
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    secrets: tuple[str, ...] = (),
) -> None:
    """POST ``body``; returns on 2xx, else raises ``DeliveryError`` saying what it meant."""
    hidden = (url, *secrets)
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as error:
        reason = redact(f"{type(error).__name__}: {error}", hidden)
        raise DeliveryError(f"{what}: {reason}") from None
    status = response.status_code
    if 200 <= status < 300:
        return
    said = redact(response.text[:200], hidden).replace("\n", " ")
    message = f"{what} answered HTTP {status}" + (f": {said}" if said.strip() else "")
    if status == 429:
        raise DeliveryError(message, retry_after=retry_after(response.headers.get("retry-after")))
    permanent = 300 <= status < 500 and status != 408
    raise DeliveryError(message, permanent=permanent)


def retry_after(value: str | None, *, now: datetime | None = None) -> float:
    """Seconds to wait for a ``Retry-After`` header (seconds or an HTTP date), bounded."""
    if value is None or value.strip() == "":
        return DEFAULT_RETRY_AFTER
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)
