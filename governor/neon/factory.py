"""Building the one ``NeonClient`` a command or the daemon uses, from the config."""

from __future__ import annotations

import httpx

from governor.config import Config
from governor.neon.client import NeonClient
from governor.secrets import read_secret


def client_from_config(
    config: Config, *, transport: httpx.AsyncBaseTransport | None = None
) -> NeonClient:
    """A client with the config's URL, limits and key; raises ``SecretError`` without a key.

    Create one per process and share it: its pacer is the key's whole rate budget.
    """
    settings = config.neon
    api_key = read_secret(settings.api_key_env, settings.api_key_file)
    return NeonClient(
        api_key,
        base_url=config.effective_api_url(),
        requests_per_minute=settings.requests_per_minute,
        requests_per_second_per_route=settings.requests_per_second_per_route,
        timeout_seconds=settings.timeout_seconds,
        max_attempts=settings.max_attempts,
        backoff_cap_seconds=settings.backoff_cap_seconds,
        max_connections=settings.concurrency,
        transport=transport,
    )
