"""Who is who: auth.test, users.info, users.lookupByEmail, usergroups.users.list.

Why: approvals are authorised by user ID against an allowlist or a user group, and
the integration resolves configured e-mails to IDs; these answers drive those checks.
"""

from __future__ import annotations

from governor.fake_slack.context import Context
from governor.fake_slack.log import JsonDict
from governor.fake_slack.params import Params, SlackError, required
from governor.fake_slack.workspace import User


def auth_test(ctx: Context, _params: Params) -> JsonDict:
    workspace = ctx.workspace
    return {
        "url": f"https://{workspace.team_domain}.slack.com/",
        "team": workspace.team_name,
        "user": workspace.bot_name,
        "team_id": workspace.team_id,
        "user_id": workspace.bot_user_id,
        "bot_id": workspace.bot_id,
        "is_enterprise_install": False,
    }


def user_object(ctx: Context, user: User) -> JsonDict:
    profile: JsonDict = {
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "avatar_hash": "",
        "title": "",
        "phone": "",
        "skype": "",
        "status_text": "",
        "status_emoji": "",
        "fields": None,
        "team": ctx.workspace.team_id,
    }
    if user.email:
        profile["email"] = user.email
    if user.is_bot:
        profile["bot_id"] = ctx.workspace.bot_id
    return {
        "id": user.id,
        "team_id": ctx.workspace.team_id,
        "name": user.name,
        "real_name": user.real_name,
        "deleted": user.deleted,
        "tz": user.tz,
        "tz_label": "Coordinated Universal Time",
        "tz_offset": 0,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": 1700000000,
    }


def users_info(ctx: Context, params: Params) -> JsonDict:
    user = ctx.workspace.user(required(params, "user", "user_not_found"))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user_object(ctx, user)}


def users_lookup_by_email(ctx: Context, params: Params) -> JsonDict:
    user = ctx.workspace.user_by_email(required(params, "email", "users_not_found"))
    if user is None or user.is_bot:
        raise SlackError("users_not_found")
    return {"user": user_object(ctx, user)}


def usergroup_users(ctx: Context, params: Params) -> JsonDict:
    group = ctx.workspace.usergroup(required(params, "usergroup", "no_such_subteam"))
    if group is None:
        raise SlackError("no_such_subteam")
    # Slack drops deactivated members from their groups.
    users = [
        user_id
        for user_id in group.users
        if (member := ctx.workspace.user(user_id)) is not None and not member.deleted
    ]
    return {"users": users}
