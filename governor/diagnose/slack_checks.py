"""Slack, checked for real: ``doctor``'s lines and the daemon's health probe.

Why real calls: a stub said "ok" to a revoked token, and the daemon then stayed healthy
while every report failed. ``auth.test`` proves the bot token, ``conversations.info``
says whether the bot is a member of each configured channel (``is_member``; a private
channel it is not in is ``channel_not_found``), and ``apps.connections.open`` proves the
app token can open Socket Mode. No message is posted; tokens never appear in a line.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from governor.config.slack import SlackSettings
from governor.diagnose.doctor import Check, failed, ok, skipped
from governor.secrets import SecretError
from governor.slack.service import app_token, bot_token, web_client
from governor.slack.token_check import UNREACHABLE, api_error


def _channels(settings: SlackSettings) -> dict[str, str]:
    """Each configured channel once, with the key that names it."""
    named: dict[str, str] = {}
    for key in ("channel", "approvals_channel"):
        value = getattr(settings, key, None)
        if isinstance(value, str) and value not in named:
            named[value] = key
    return named


async def slack_checks(settings: SlackSettings) -> list[Check]:
    """``slack`` (the bot token), ``slack-channel`` (one per channel), ``slack-app``."""
    if not settings.configured:
        return [skipped("slack", "[slack] has no channel or webhook_url: Slack is off")]
    if settings.channel is None:
        return [
            skipped(
                "slack",
                "webhook_url only (reports, no buttons): not posted to, a check would "
                "post a message",
            )
        ]
    try:
        token = bot_token(settings)
    except SecretError as error:
        return [
            failed("slack", f"no bot token: {error}", f"export {settings.bot_token_env}=xoxb-...")
        ]
    web = web_client(settings, token)
    try:
        auth = await web.auth_test()
    except SlackApiError as error:
        return [
            failed(
                "slack",
                f"Slack refused the bot token: {api_error(error)}",
                f"the token in {settings.bot_token_env} is wrong or revoked: copy the "
                "Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page",
            )
        ]
    except UNREACHABLE as error:
        return [
            failed(
                "slack",
                f"cannot reach Slack at {settings.api_url}: {type(error).__name__}",
                "check the network, a proxy, or [slack] api_url",
            )
        ]
    bot, team = str(auth.get("user", "?")), str(auth.get("team_id", "?"))
    checks = [ok("slack", f"bot token accepted: @{bot} in workspace {team}")]
    if settings.team_id is not None and settings.team_id != team:
        checks[0] = failed(
            "slack",
            f"the bot token belongs to workspace {team}, [slack] team_id is {settings.team_id}",
            "use the token of the workspace named in team_id, or correct team_id",
        )
    for channel, key in _channels(settings).items():
        checks.append(await _channel_check(web, channel, key, bot))
    checks.append(await _app_check(settings))
    return checks


async def _channel_check(web: AsyncWebClient, channel: str, key: str, bot: str) -> Check:
    try:
        answer = await web.conversations_info(channel=channel)
    except SlackApiError as error:
        code = api_error(error)
        if code == "not_in_channel":
            return failed(
                "slack-channel",
                f"{key} {channel}: the bot is not a member",
                f"invite it: /invite @{bot} in that channel",
            )
        if code == "channel_not_found":
            return failed(
                "slack-channel",
                f"{key} {channel}: no such channel (or a private one the bot is not in)",
                "use the channel id from the channel's details, and invite the bot",
            )
        return failed(
            "slack-channel",
            f"{key} {channel}: Slack answered {code}",
            "the bot needs the channels:read scope (groups:read for private channels); "
            "see examples/slack-app-manifest.yaml",
        )
    except UNREACHABLE as error:
        return failed(
            "slack-channel", f"{key} {channel}: {type(error).__name__}", "check the network"
        )
    found = answer.get("channel") or {}
    if not found.get("is_member"):
        return failed(
            "slack-channel",
            f"{key} {channel}: the bot is not a member",
            f"invite it: /invite @{bot} in that channel",
        )
    if found.get("is_archived"):
        return failed(
            "slack-channel",
            f"{key} {channel}: the channel is archived",
            "unarchive it, or configure another channel",
        )
    return ok("slack-channel", f"{key} {channel}: the bot is a member")


async def _app_check(settings: SlackSettings) -> Check:
    try:
        token = app_token(settings)
    except SecretError as error:
        return skipped(
            "slack-app", f"no app token ({error}): approval buttons and /neon-governor are off"
        )
    try:
        await web_client(settings, token).apps_connections_open(app_token=token)
    except SlackApiError as error:
        return failed(
            "slack-app",
            f"Slack refused the app token for Socket Mode: {api_error(error)}",
            f"{settings.app_token_env} must be an app-level token (xapp-...) with "
            "connections:write, and Socket Mode must be on",
        )
    except UNREACHABLE as error:
        return failed("slack-app", f"cannot reach Slack: {type(error).__name__}", "check network")
    return ok("slack-app", "the app token opens a Socket Mode connection")
