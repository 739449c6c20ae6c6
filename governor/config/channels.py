"""Channels to people besides Slack: ``[[webhooks]]``, ``[email]`` and ``[teams]``.

Why here and not in each channel's module: the config loader validates every section
without importing the channels (no SMTP or HTTP stack at config time). Secrets (a webhook's
signing secret, the SMTP password, a Teams Workflows URL, which carries its signature)
are named by env var or file, never written in the config.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

WebhookEvent = Literal["report", "notice", "digest", "approval_request", "outcome"]
_NAME = r"^[a-z0-9][a-z0-9_.-]{0,62}$"


class WebhookSettings(BaseModel):
    """A generic webhook: JSON documents signed with HMAC-SHA256 over timestamp and body."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(pattern=_NAME, description="How owners name it (owner.webhook).")
    url: str = Field(description="https:// (http:// on loopback only).")
    secret_env: str | None = Field(default=None, description="Env var with the signing secret.")
    secret_file: str | None = Field(default=None, description="File with the signing secret.")
    events: list[WebhookEvent] = Field(
        default_factory=lambda: list[WebhookEvent](["report", "notice"]),
        description="Documents sent beyond the digests of owners that name this webhook.",
    )


class EmailSettings(BaseModel):
    """SMTP for digests and notices: STARTTLS by default, password from env or file."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    host: str | None = Field(default=None, description="SMTP server; unset: no email.")
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="'none' only to a server on loopback."
    )
    username: str | None = None
    password_env: str = "SMTP_PASSWORD"
    password_file: str | None = None
    sender: str | None = Field(default=None, description="The From address.")
    notices_to: list[str] = Field(
        default_factory=list, description="Addresses for notices before acting."
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)


class TeamsSettings(BaseModel):
    """Microsoft Teams through a Workflows webhook: run reports and notices (no approvals)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    webhook_env: str | None = Field(default=None, description="Env var with the Workflows URL.")
    webhook_file: str | None = Field(default=None, description="File with the Workflows URL.")
