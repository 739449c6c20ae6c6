"""What a person does in Slack, as the envelope Slack then sends: a click, a slash command.

Why built from the log: a click is on a message the app really posted, so the payload
carries that message as it stands now (after any chat.update), the block_id and value
of the button pressed, and a response_url that works. Unknown users or channels are
allowed on purpose: forged and cross-workspace clicks are what security tests send.
"""

from __future__ import annotations

from governor.fake_slack import chat, payloads
from governor.fake_slack.context import Context
from governor.fake_slack.log import JsonDict
from governor.fake_slack.response_urls import ResponseUrls, Target


def click(
    ctx: Context,
    responses: ResponseUrls,
    *,
    channel: str,
    ts: str,
    action_id: str,
    user: str,
    value: str | None,
    team_id: str | None,
) -> JsonDict:
    """LookupError when there is no such message or no such button on it."""
    message = ctx.log.find_message(channel, ts)
    if message is None:
        raise LookupError(f"no message {ts} in {channel}")
    found = payloads.find_element(list(message.blocks), action_id)
    if found is None:
        raise LookupError(f"message {ts} has no element with action_id {action_id!r}")
    block_id, element = found
    workspace = ctx.workspace
    clicker = workspace.user(user)
    known = workspace.channel(channel)
    payload = payloads.block_actions(
        team_id=team_id or workspace.team_id,
        team_domain=workspace.team_domain,
        app_id=workspace.app_id,
        user_id=user,
        user_name=clicker.name if clicker else user.lower(),
        channel_id=channel,
        channel_name=known.name if known else channel,
        message=chat.render(ctx, message),
        block_id=block_id,
        element=element,
        action_ts=ctx.ids.ts(),
        trigger_id=ctx.ids.trigger_id(),
        response_url=responses.issue("actions", Target(channel, user, ts)),
        value=value,
    )
    return payloads.envelope(
        "interactive", payload, envelope_id=ctx.ids.envelope_id(), accepts_response_payload=False
    )


def slash_command(
    ctx: Context, responses: ResponseUrls, *, command: str, text: str, user: str, channel: str
) -> JsonDict:
    workspace = ctx.workspace
    who = workspace.user(user)
    where = workspace.channel(channel)
    payload = payloads.slash_command(
        command=command,
        text=text,
        team_id=workspace.team_id,
        team_domain=workspace.team_domain,
        app_id=workspace.app_id,
        user_id=user,
        user_name=who.name if who else user.lower(),
        channel_id=channel,
        channel_name=where.name if where else channel,
        trigger_id=ctx.ids.trigger_id(),
        response_url=responses.issue("commands", Target(channel, user, None)),
    )
    return payloads.envelope(
        "slash_commands", payload, envelope_id=ctx.ids.envelope_id(), accepts_response_payload=True
    )
