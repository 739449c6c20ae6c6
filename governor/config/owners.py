"""The ``[owners]`` section: who owns which Neon resources, and how to reach them.

Why a mapping the user writes: Neon has no tags on projects or computes; branches carry
``annotations`` set at creation (integrations such as Vercel write them) and API keys a
creator. Rules are tried in order and the first that matches names the owner; a resource
no rule matches goes to ``default``. Contacts name where an owner reads (a Slack channel,
emails, a Teams Workflows webhook, a ``[[webhooks]]`` entry); secrets (a Teams URL carries
its signature) come from env vars or files, never from this file.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

OWNER_NAME = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
_SLACK_ID = r"^[A-Z0-9]{2,32}$"


class OwnerContact(BaseModel):
    """One owner (a team or a person) and where they read."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(pattern=OWNER_NAME, description="How rules and reports name the owner.")
    slack_channel: str | None = Field(
        default=None, pattern=_SLACK_ID, description="Slack channel id (C…) for their digest."
    )
    slack_users: list[str] = Field(
        default_factory=list,
        description="Slack user ids (U…): mentioned; approvers of their "
        "own resources when approve_own is true.",
    )
    emails: list[str] = Field(default_factory=list, description="Addresses for their digest.")
    teams_webhook_env: str | None = Field(
        default=None, description="Env var holding their Teams Workflows webhook URL."
    )
    teams_webhook_file: str | None = Field(
        default=None, description="File holding their Teams Workflows webhook URL."
    )
    webhook: str | None = Field(
        default=None, description="Name of a [[webhooks]] entry their digest is sent to."
    )
    digest_when_empty: bool = Field(
        default=False, description="Send a digest even when nothing is new or resolved."
    )
    approve_own: bool = Field(
        default=False,
        description="slack_users may approve reversible changes to this owner's resources.",
    )


class OwnerRule(BaseModel):
    """Resources that belong to ``owner``: every condition given must hold (AND); a list
    matches when any of its entries does (OR). Globs are fnmatch-style, case-sensitive."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    owner: str = Field(pattern=OWNER_NAME)
    organizations: list[str] = Field(default_factory=list, description="Organization ids.")
    projects: list[str] = Field(default_factory=list, description="Project ids or name globs.")
    branches: list[str] = Field(default_factory=list, description="Branch name globs.")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Branch annotation key -> value glob."
    )
    creation_sources: list[str] = Field(
        default_factory=list, description="Branch creation_source values (console, vercel…)."
    )
    key_creators: list[str] = Field(
        default_factory=list, description="User ids that created organization API keys."
    )


class OwnersSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    file: str | None = Field(
        default=None,
        description="A TOML file with [[owner]] and [[rule]] tables (and default), read in "
        "place of the ones here; relative to the config file.",
    )
    default: str | None = Field(
        default=None, description="Owner of resources no rule matches (None: unowned)."
    )
    owner: list[OwnerContact] = Field(default_factory=list)
    rule: list[OwnerRule] = Field(default_factory=list)
