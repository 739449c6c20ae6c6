"""The ``[slack]`` section: where reports go and who may decide what.

Here and not in ``governor.config`` so the Slack layer reads its settings without the
config loader (the config imports it, as it does ``Prices``). Who may approve is explicit
and fails closed: with no approvers configured, no click is ever accepted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from governor.durations import Duration

SLACK_API_URL = "https://slack.com/api/"
_ID = r"^[A-Z0-9]{2,32}$"


class SlackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    channel: str | None = Field(default=None, pattern=_ID, description="Channel id (C…).")
    approvers: list[str] = Field(default_factory=list, description="User ids who may approve.")
    approver_groups: list[str] = Field(
        default_factory=list, description="User group ids (S…), resolved at click time."
    )
    destructive_approvers: list[str] | None = Field(
        default=None, description="Who may approve irreversible actions; default: approvers."
    )
    destructive_approver_groups: list[str] | None = Field(
        default=None, description="Groups for irreversible actions; default: approver_groups."
    )
    required_approvals: int = Field(default=1, ge=1, le=5)
    destructive_required_approvals: int | None = Field(default=None, ge=1, le=5)
    approval_ttl: Duration = Field(default=timedelta(hours=24))
    report: Literal["always", "changes", "never"] = "always"
    api_url: str = Field(default=SLACK_API_URL, description="Slack's Web API base URL.")
    webhook_url: str | None = Field(
        default=None, description="Report-only alternative without tokens (no buttons)."
    )
    fallback_channel: str | None = Field(default=None, pattern=_ID)
    bot_token_env: str = "SLACK_BOT_TOKEN"
    bot_token_file: str | None = None
    app_token_env: str = "SLACK_APP_TOKEN"
    app_token_file: str | None = None
    team_id: str | None = Field(
        default=None, pattern=_ID, description="Workspace id; default: what auth.test says."
    )

    @field_validator(
        "approvers", "approver_groups", "destructive_approvers", "destructive_approver_groups"
    )
    @classmethod
    def _ids(cls, values: list[str] | None) -> list[str] | None:
        for value in values or []:
            if not value.isalnum() or not value.isupper() or not 2 <= len(value) <= 32:
                raise ValueError(f"{value!r} is not a Slack id (such as U0123ABCD or S0123ABCD)")
        return values

    @field_validator("api_url", "webhook_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _a_place_to_post(self) -> SlackSettings:
        if self.webhook_url is None and self.channel is None and self.approvers:
            raise ValueError("approvers need a channel to post approval requests to")
        return self

    @property
    def configured(self) -> bool:
        return self.channel is not None or self.webhook_url is not None

    @property
    def interactive(self) -> bool:
        """Buttons and the slash command need the bot (channel) and Socket Mode."""
        return self.channel is not None

    def approvers_for(self, irreversible: bool) -> tuple[list[str], list[str]]:
        """(user ids, group ids) who may approve this class of action."""
        if irreversible:
            users = self.destructive_approvers
            groups = self.destructive_approver_groups
            return (
                list(self.approvers if users is None else users),
                list(self.approver_groups if groups is None else groups),
            )
        return list(self.approvers), list(self.approver_groups)

    def required_for(self, irreversible: bool) -> int:
        if irreversible and self.destructive_required_approvals is not None:
            return self.destructive_required_approvals
        return self.required_approvals
