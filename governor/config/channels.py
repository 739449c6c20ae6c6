"""Channels to people besides Slack: ``[[webhooks]]``, ``[email]`` and ``[teams]``.

Why here and not in each channel's module: the config loader validates every section
without importing the channels (no SMTP or HTTP stack at config time). Secrets (a webhook's
signing secret, the SMTP password, a Teams Workflows URL, which carries its signature)
are named by env var or file, never written in the config.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from governor.config.slack import LOOPBACK_HOSTS

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

    @field_validator("url")
    @classmethod
    def _https_or_loopback(cls, url: str) -> str:
        """A signed document still tells who owns what: plain http only to this machine."""
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return url
        if parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS:
            return url
        raise ValueError(
            "a webhook url must be https:// (http:// only to 127.0.0.1, localhost or ::1)"
        )

    @model_validator(mode="after")
    def _signed(self) -> WebhookSettings:
        if not self.secret_env and not self.secret_file:
            raise ValueError(
                f"webhook {self.name}: set secret_env or secret_file (documents are signed)"
            )
        return self


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

    @model_validator(mode="after")
    def _encrypted_off_this_machine(self) -> EmailSettings:
        """Passwords and owners' findings never cross a network in clear text."""
        if self.host is not None and self.security == "none" and self.host not in LOOPBACK_HOSTS:
            raise ValueError(
                f'[email] security = "none" sends in clear text: only to a server on '
                f"loopback (127.0.0.1, localhost, ::1), not {self.host}; use starttls or tls"
            )
        if self.host is not None and not self.sender:
            raise ValueError("[email] sender is required with host: the From address")
        for address in [self.sender or "", *self.notices_to]:
            if any(character in address for character in "\r\n"):
                raise ValueError("[email] addresses cannot hold line breaks")
        return self

    @property
    def configured(self) -> bool:
        return self.host is not None


class TeamsSettings(BaseModel):
    """Microsoft Teams through a Workflows webhook: run reports and notices (no approvals)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    webhook_env: str | None = Field(default=None, description="Env var with the Workflows URL.")
    webhook_file: str | None = Field(default=None, description="File with the Workflows URL.")

    @property
    def configured(self) -> bool:
        return bool(self.webhook_env or self.webhook_file)
