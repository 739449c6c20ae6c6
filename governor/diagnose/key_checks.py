"""``neon-governor doctor``'s checks of each account's key: found, accepted, scope, orgs.

Why ``GET /auth``: it is the one read that says who a credential is (``getAuthDetails``:
``account_id``, ``auth_method``) without needing any scope. An API that answers 404 there
(the bundled simulator does) cannot tell, so the scope is inferred from what the key may
list: organizations (refused to a project-scoped key), then personal keys (refused to an
organization key). Each account costs at most four requests.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from governor.config import AccountSettings
from governor.diagnose.doctor import Check, failed, ok, skipped
from governor.neon.client import NeonClient
from governor.neon.errors import NeonAuthError, NeonError, NeonNotFound
from governor.runtime import Runtime
from governor.secrets import SecretError

DOCTOR_MAX_ATTEMPTS = 2  # diagnose, do not wait out an outage
CAN = {
    "personal": "can read the projects of every organization its user belongs to and list "
    "personal API keys; it lists an organization's keys only where its user is an admin",
    "organization": "can read every project of its organization and list that organization's "
    "API keys (project-scoped ones included); it cannot see other organizations or "
    "personal API keys",
    "project": "can read one project only; a project-scoped key cannot list organizations "
    "or organization keys, so unused-key findings need another key",
}
AUTH_METHODS = {"api_key_user": "personal", "api_key_org": "organization"}


def key_source(account: AccountSettings) -> str:
    """Where the key comes from, in words: never the key."""
    if account.api_key_file:
        return f"file or credential {account.api_key_file!r}"
    return f"environment variable {account.api_key_env}"


async def check_account(
    runtime: Runtime, account: AccountSettings, transport: httpx.AsyncBaseTransport | None = None
) -> list[Check]:
    label = f"[{account.name}]"
    try:
        runtime.read_key(account)
    except SecretError as error:
        hint = (
            f"export {account.api_key_env}=<a Neon API key>"
            if not account.api_key_file
            else f"put the key in {account.api_key_file}, or fix api_key_file"
        )
        return [
            failed(f"key {label}", f"not found: {error}", hint),
            skipped(f"neon {label}", "no key to try"),
        ]
    checks = [ok(f"key {label}", f"found in {key_source(account)}")]
    async with runtime.client(account, transport=transport) as client:
        client.max_attempts = min(client.max_attempts, DOCTOR_MAX_ATTEMPTS)
        checks.extend(await _remote_checks(client, account, label))
    return checks


async def _remote_checks(client: NeonClient, account: AccountSettings, label: str) -> list[Check]:
    where = client.base_url
    scope: str | None = None
    told = False
    try:
        try:
            details = (await client.request("GET", "/auth")).object()
            method = str(details.get("auth_method", "unknown"))
            accepted = f"{where} accepts the key (auth method {method})"
            scope = AUTH_METHODS.get(method)
            told = scope is not None
        except NeonNotFound:
            accepted = f"{where} accepts the key (it does not serve /auth: cannot tell the scope)"
        organizations = await _organizations(client)  # 401 here: the key is refused
        if organizations is None:
            scope, told = "project", False  # /auth says api_key_org for project-scoped keys too
        elif scope is None:
            scope = await _personal_or_org(client)
    except NeonAuthError as error:
        return [
            failed(
                f"accepted {label}",
                f"{where} refused the key: HTTP {error.status} {error.message}",
                f"the key in {key_source(account)} is wrong, revoked or for another API URL; "
                "create one in the Neon Console (Account or Organization settings, API keys)",
            )
        ]
    except NeonError as error:
        return [failed(f"accepted {label}", f"cannot ask {where}: {error}", _reach_hint())]
    how = "" if told else " (inferred from what it may list)"
    return [
        ok(f"accepted {label}", accepted),
        ok(f"scope {label}", f"{scope} key{how}: {CAN[scope]}"),
        _organizations_check(account, label, organizations),
    ]


async def _organizations(client: NeonClient) -> list[str] | None:
    """Visible organization ids; None when the key may not list them (project scope)."""
    try:
        response = await client.request("GET", "/users/me/organizations")
    except NeonAuthError as error:
        if error.status == 401:
            raise
        return None
    return [str(org.get("id")) for org in response.field_array("organizations")]


async def _personal_or_org(client: NeonClient) -> str:
    try:
        await client.request("GET", "/api_keys")
    except NeonAuthError as error:
        if error.status == 401:
            raise
        return "organization"
    return "personal"


def _organizations_check(
    account: AccountSettings, label: str, visible: Sequence[str] | None
) -> Check:
    if visible is None:
        return skipped(f"organizations {label}", "a project-scoped key cannot list organizations")
    missing = [org for org in account.organizations if org not in visible]
    shown = ", ".join(visible) or "none"
    if missing:
        return failed(
            f"organizations {label}",
            f"configured but not visible to this key: {', '.join(missing)} (visible: {shown})",
            "fix the organization ids, or use a key of (or a user in) those organizations",
        )
    if not visible:
        return failed(
            f"organizations {label}",
            "the key sees no organization",
            "use an organization API key, or a personal key of a member",
        )
    return ok(f"organizations {label}", f"{len(visible)} visible: {shown}")


def _reach_hint() -> str:
    return "check [neon] api_url (or NEON_API_URL), the network, and Neon's status page"
