"""The ``[slack]`` section: where reports go and who may decide what.

Here and not in ``governor.config`` so the Slack layer reads its settings without the
config loader (the config imports it, as it does ``Prices``). Who may approve is explicit
and fails closed: with no approvers configured, no click is ever accepted. Irreversible
actions are one class with one pair of keys: once either ``destructive_*`` list is set,
only those two lists approve them (an unset one is empty), so narrowing one list can never
leave the other open. Settings that could never be met, or that weaken the destructive
class below the ordinary one, are refused when the config is read.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from governor.config.remediation import meetable_approval_ttl
from governor.durations import Duration

SLACK_API_URL = "https://slack.com/api/"
_ID = r"^[A-Z0-9]{2,32}$"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Keys older configs may still carry, and why they are now ignored.
REMOVED_KEYS = {
    "fallback_channel": "it was never read; owner routing will bring its own fallback",
}
logger = logging.getLogger("governor.config")
# Change kinds that need two approvers unless destructive_required_approvals is set: a
# whole project (every branch, restore point and compute) goes in one request.
TWO_PERSON_KINDS = frozenset({"delete_project"})


class SlackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    channel: str | None = Field(default=None, pattern=_ID, description="Channel id (C…).")
    approvals_channel: str | None = Field(
        default=None, pattern=_ID, description="Channel for approval requests; default: channel."
    )
    approvers: list[str] = Field(default_factory=list, description="User ids who may approve.")
    approver_groups: list[str] = Field(
        default_factory=list, description="User group ids (S…), resolved at click time."
    )
    destructive_approvers: list[str] | None = Field(
        default=None,
        description="Who may approve irreversible actions; with neither destructive list set: "
        "approvers and approver_groups. Set one: only the destructive lists approve them.",
    )
    destructive_approver_groups: list[str] | None = Field(
        default=None, description="Groups for irreversible actions (see destructive_approvers)."
    )
    required_approvals: int = Field(default=1, ge=1, le=5)
    destructive_required_approvals: int | None = Field(default=None, ge=1, le=5)
    approval_ttl: Duration = Field(default=timedelta(hours=24))
    report: Literal["always", "changes", "never"] = "always"
    api_url: str = Field(default=SLACK_API_URL, description="Slack's Web API base URL.")
    webhook_url: str | None = Field(
        default=None, description="Report-only alternative without tokens (no buttons)."
    )
    bot_token_env: str = "SLACK_BOT_TOKEN"
    bot_token_file: str | None = None
    app_token_env: str = "SLACK_APP_TOKEN"
    app_token_file: str | None = None
    team_id: str | None = Field(
        default=None, pattern=_ID, description="Workspace id; default: what auth.test says."
    )
    # the config file's folder, where a relative bot_token_file / app_token_file starts
    # (None: the working folder). Set by the config loader, not written in the file, so
    # every reader of these settings (daemon, doctor, audit) resolves the same file.
    _config_dir: Path | None = PrivateAttr(default=None)

    def located(self, config_dir: Path | None) -> SlackSettings:
        """These settings, with relative token files taken from ``config_dir``."""
        copy = self.model_copy()
        copy._config_dir = config_dir
        return copy

    @property
    def config_dir(self) -> Path | None:
        return self._config_dir

    @model_validator(mode="before")
    @classmethod
    def _drop_removed_keys(cls, data: Any) -> Any:
        """An upgraded config that still names a removed key keeps loading (the daemon
        must not stop over a key that never did anything) and says so once per load."""
        if not isinstance(data, dict) or not REMOVED_KEYS.keys() & data.keys():
            return data
        kept = dict(data)
        for key in sorted(REMOVED_KEYS.keys() & data.keys()):
            del kept[key]
            logger.warning(
                "[slack] %s was removed and is ignored (%s): delete it from the config",
                key,
                REMOVED_KEYS[key],
            )
        return kept

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
    def _https(cls, value: str | None) -> str | None:
        """Tokens and webhook secrets travel in these requests: https, or http on loopback
        only (the fake Slack on this machine)."""
        if value is None:
            return value
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            parts, host = None, None
        if parts is None or not host or parts.scheme not in ("https", "http"):
            raise ValueError("must be an https:// URL")
        if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
            raise ValueError(
                "must be an https:// URL (http:// only to 127.0.0.1 or localhost, for a local "
                "fake Slack): it carries a secret"
            )
        return value

    @field_validator("approval_ttl")
    @classmethod
    def _a_ttl_someone_can_meet(cls, value: timedelta) -> timedelta:
        return meetable_approval_ttl(value)

    @model_validator(mode="after")
    def _a_place_to_post(self) -> SlackSettings:
        if self.webhook_url is None and self.channel is None and self.anyone_approves:
            raise ValueError("approvers need a channel to post approval requests to")
        if self.approvals_channel is not None and self.channel is None:
            raise ValueError("approvals_channel needs channel (the bot's reports) set too")
        return self

    @model_validator(mode="after")
    def _approvals_that_can_be_given(self) -> SlackSettings:
        """A destructive class weaker than the ordinary one, or a count nobody can reach, is
        refused: either would be discovered only when an approval never completes."""
        if (
            self.destructive_required_approvals is not None
            and self.destructive_required_approvals < self.required_approvals
        ):
            raise ValueError(
                f"destructive_required_approvals ({self.destructive_required_approvals}) is "
                f"below required_approvals ({self.required_approvals}): irreversible actions "
                "may not need fewer approvals than reversible ones"
            )
        for irreversible in (False, True):
            users, groups = self.approvers_for(irreversible)
            required = self.required_for(irreversible)
            people = len(set(users))
            if groups or not users or required <= people:
                continue  # groups may hold anyone; nobody at all is the documented "off"
            narrowed = irreversible and self._destructive_set
            count = (
                "destructive_required_approvals"
                if irreversible and self.destructive_required_approvals is not None
                else "required_approvals"
            )
            raise ValueError(
                f"{count} is {required} but {'destructive_approvers' if narrowed else 'approvers'}"
                f" lists only {people} person(s) and no group: that many approvals can never "
                "be given"
            )
        return self

    @property
    def _destructive_set(self) -> bool:
        return (
            self.destructive_approvers is not None or self.destructive_approver_groups is not None
        )

    @property
    def anyone_approves(self) -> bool:
        """Whether any list names anyone (else requests are posted without buttons)."""
        return any(self.approvers_for(False)) or any(self.approvers_for(True))

    @property
    def approvals_to(self) -> str | None:
        """The channel approval requests are posted in."""
        return self.approvals_channel or self.channel

    @property
    def configured(self) -> bool:
        return self.channel is not None or self.webhook_url is not None

    @property
    def interactive(self) -> bool:
        """Buttons and the slash command need the bot (channel) and Socket Mode."""
        return self.channel is not None

    def approvers_for(self, irreversible: bool) -> tuple[list[str], list[str]]:
        """(user ids, group ids) who may approve this class of action. The destructive pair
        is taken as a whole: setting either list leaves the other empty, never the default."""
        if irreversible and self._destructive_set:
            return (
                list(self.destructive_approvers or []),
                list(self.destructive_approver_groups or []),
            )
        return list(self.approvers), list(self.approver_groups)

    def required_for(self, irreversible: bool, kind: str | None = None) -> int:
        """Approvals a request needs; a project delete (``kind`` delete_project) two at
        least unless destructive_required_approvals says how many."""
        if irreversible and self.destructive_required_approvals is not None:
            return self.destructive_required_approvals
        if kind in TWO_PERSON_KINDS:
            return max(2, self.required_approvals)
        return self.required_approvals
