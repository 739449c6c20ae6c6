"""Who owns a finding's resource, as the Slack user to mention: only when it is certain.

The chain: an organization API key's ``created_by.id`` → the organization's members
(``GET /organizations/{org_id}/members``: user id → email) → Slack ``users.lookupByEmail``.

Why so strict: a mention under the wrong name is worse than none. So every doubt leaves
the owner unresolved: a key not in the snapshot (or there twice), a creator without an
id, no member or several with that user id, a member without an email, Slack not
knowing the email, any error of Neon or Slack. Branches are never resolved: their
``created_by`` has a name and an image but no id, and names are not unique.

Emails are sensitive (the spec marks them ``x-sensitive``): they are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from governor.model.snapshot import KeyRecord, Snapshot
from governor.neon.models import OrgMember
from governor.store.records import StoredFinding

logger = logging.getLogger("governor.slack.owners")

MembersOf = Callable[[str], Awaitable[list[OrgMember]]]
SlackUserByEmail = Callable[[str], Awaitable[str | None]]
Owners = dict[tuple[str, str], str]  # (resource_type, resource_id) -> Slack user id


async def resolve_owners(
    findings: Sequence[StoredFinding],
    snapshot: Snapshot,
    *,
    members_of: MembersOf,
    slack_user_by_email: SlackUserByEmail,
) -> Owners:
    """The Slack user id of each resolvable owner, keyed by (resource_type, resource_id).

    Only API key findings of an organization can resolve. Members are read once per
    organization and each email looked up once per call; nothing here raises.
    """
    resolver = _Resolver(snapshot, members_of, slack_user_by_email)
    owners: Owners = {}
    tried: set[tuple[str, str]] = set()
    for finding in findings:
        target = (finding.resource_type, finding.resource_id)
        if finding.resource_type != "api_key" or target in tried:
            continue
        tried.add(target)
        user_id = await resolver.owner_of_key(finding.resource_id, finding.org_id)
        if user_id is not None:
            owners[target] = user_id
    return owners


def slack_lookup(web: AsyncWebClient) -> SlackUserByEmail:
    """``users.lookupByEmail`` as a function: the user id, or None (not found, a bot, a
    deactivated user, any error)."""

    async def lookup(email: str) -> str | None:
        try:
            response = await web.users_lookupByEmail(email=email)
        except SlackApiError as error:
            code = error.response.get("error") if error.response is not None else None
            if code != "users_not_found":
                logger.debug("Slack users.lookupByEmail failed: %s", code or "no error code")
            return None
        except Exception as error:  # an owner is optional, never fatal
            logger.debug("Slack users.lookupByEmail failed: %s", type(error).__name__)
            return None
        user = response.get("user")
        if not isinstance(user, dict):
            return None
        user_id = user.get("id")
        if not isinstance(user_id, str) or not user_id:
            return None
        if user.get("deleted") is True or user.get("is_bot") is True:
            return None
        return user_id

    return lookup


class _Resolver:
    """One call's caches: members per organization, Slack users per email."""

    def __init__(
        self, snapshot: Snapshot, members_of: MembersOf, slack_user_by_email: SlackUserByEmail
    ) -> None:
        self.keys: dict[str, list[KeyRecord]] = {}
        for record in snapshot.api_keys:
            self.keys.setdefault(str(record.key.id), []).append(record)
        self.members_of = members_of
        self.slack_user_by_email = slack_user_by_email
        self.members: dict[str, list[OrgMember] | None] = {}  # None: could not be read
        self.slack_users: dict[str, str | None] = {}

    async def owner_of_key(self, key_id: str, org_id: str | None) -> str | None:
        if org_id is None:
            return None  # a personal key: no organization to find its creator in
        records = [record for record in self.keys.get(key_id, []) if record.org_id == org_id]
        if len(records) != 1:
            _unresolved(key_id, "the key is not in the snapshot once")
            return None
        creator = records[0].key.raw.get("created_by")
        creator_id = creator.get("id") if isinstance(creator, dict) else None
        if not isinstance(creator_id, str) or not creator_id:
            _unresolved(key_id, "its creator has no id")
            return None
        members = await self._members(org_id)
        if members is None:
            _unresolved(key_id, "the organization's members could not be read")
            return None
        matches = [
            member
            for member in members
            if member.user_id == creator_id and member.member.org_id == org_id
        ]
        if len(matches) != 1:
            _unresolved(key_id, f"{len(matches)} members have its creator's user id")
            return None
        email = matches[0].email
        if not isinstance(email, str) or not email:
            _unresolved(key_id, "its creator has no email")
            return None
        user_id = await self._slack_user(email)
        if user_id is None:
            _unresolved(key_id, "Slack has no user with its creator's email")
        return user_id

    async def _members(self, org_id: str) -> list[OrgMember] | None:
        if org_id not in self.members:
            try:
                self.members[org_id] = list(await self.members_of(org_id))
            except Exception as error:  # an owner is optional, never fatal
                logger.debug(
                    "members of organization %s not read: %s", org_id, type(error).__name__
                )
                self.members[org_id] = None
        return self.members[org_id]

    async def _slack_user(self, email: str) -> str | None:
        if email not in self.slack_users:
            try:
                user_id = await self.slack_user_by_email(email)
            except Exception as error:  # an owner is optional, never fatal
                logger.debug("Slack user lookup failed: %s", type(error).__name__)
                user_id = None
            self.slack_users[email] = user_id if isinstance(user_id, str) and user_id else None
        return self.slack_users[email]


def _unresolved(key_id: str, reason: str) -> None:
    logger.debug("owner of API key %s unresolved: %s", key_id, reason)
