"""Is the bot token refused? The one call both ``doctor`` and the daemon's health probe make.

Why in ``slack/``: the daemon's probe needs it, and the daemon sits below the diagnostics.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

# What Slack answers when the token itself is refused: no retry can help, a person must.
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
UNREACHABLE = (SlackClientError, OSError, TimeoutError)


def api_error(error: SlackApiError) -> str:
    code = error.response.get("error") if error.response is not None else None
    return str(code or f"HTTP {error.response.status_code}")


async def auth_problem(web: AsyncWebClient) -> str | None:
    """Why Slack refuses the bot token, or None (accepted, or Slack could not be reached:
    an outage is the outbox's to wait out, not a reason to call the token bad)."""
    try:
        await web.auth_test()
    except SlackApiError as error:
        code = api_error(error)
        return f"Slack refused the bot token: {code}" if code in AUTH_ERRORS else None
    except UNREACHABLE:
        return None
    return None
