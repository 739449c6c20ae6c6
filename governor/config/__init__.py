"""The TOML config file: one pydantic schema, unknown keys rejected, errors with lines.

Why a package with the sections in it (``slack``, ``remediation``): the packages they
configure import their settings from here, so the config sits low, under them.

Precedence, lowest first: built-in defaults, the config file, environment variables that
override a default (``NEON_API_URL``), command-line flags.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from governor.config.channels import EmailSettings, TeamsSettings, WebhookSettings
from governor.config.consumption import ConsumptionSettings
from governor.config.digest import DigestSettings
from governor.config.owner_checks import check_config_owners
from governor.config.owners import OwnersSettings
from governor.config.remediation import RemediationSettings
from governor.config.savings import SavingsSettings
from governor.config.slack import SlackSettings
from governor.durations import Duration
from governor.neon import DEFAULT_API_URL
from governor.savings.prices import Prices

__all__ = [
    "DEFAULT_API_URL",
    "AccountSettings",
    "Config",
    "ConfigError",
    "UsageError",
    "load_config",
    "plain_message",
]
ACCOUNT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
DEFAULT_ACCOUNT = "default"


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file, line and key."""


class UsageError(Exception):
    """A command-line value that cannot be used (``--org``, ``--account``): one line, exit 2.

    Why apart from ``ConfigError``: the fix is in the command typed, not in the file.
    """


# What pydantic puts before a validator's own words; a person never needs to read it.
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def plain_message(message: str) -> str:
    """A pydantic error message without pydantic's wording before the validator's own."""
    for prefix in _PYDANTIC_PREFIXES:
        message = message.removeprefix(prefix)
    return message


def checked_api_url(url: str, where: str) -> str:
    """An http(s) URL with a host, or ValueError: a typo is a config error, not an outage."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{where} must be an http:// or https:// URL with a host, such as "
            f"{DEFAULT_API_URL}; got {url!r}"
        )
    return url


def in_flight_for(requests_per_minute: int) -> int:
    """Requests in flight that keep ``requests_per_minute`` busy at 100 ms a round trip
    (at least 16, at most 128)."""
    return max(16, min(128, -(-requests_per_minute // 600)))


class NeonSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    api_url: str = Field(default=DEFAULT_API_URL, description="Neon API base URL.")

    @model_validator(mode="before")
    @classmethod
    def _in_flight_for_the_budget(cls, data: Any) -> Any:
        """Fill ``concurrency`` from the budget when it is not set.

        Why: a client keeps at most ``concurrency`` requests in flight, so it answers at
        most concurrency / round trip per second. 16 suits Neon's 700/min at any latency;
        a limit Neon raised to 60,000/min (1,000/s) needs about 100 in flight at 100 ms,
        and with 16 the sweep would take six times the budget's bound.
        """
        if isinstance(data, dict) and "concurrency" not in data:
            rate = data.get("requests_per_minute", 700)
            if isinstance(rate, int) and not isinstance(rate, bool):
                data = {**data, "concurrency": in_flight_for(rate)}
        return data

    @field_validator("api_url")
    @classmethod
    def _an_http_url(cls, url: str) -> str:
        return checked_api_url(url, "api_url")

    api_key_env: str = Field(
        default="NEON_API_KEY", description="Environment variable holding the API key."
    )
    api_key_file: str | None = Field(
        default=None,
        description="File holding the API key (a systemd credential name is looked up in "
        "$CREDENTIALS_DIRECTORY). Wins over api_key_env when set.",
    )
    requests_per_minute: int = Field(default=700, ge=1, description="The account's budget.")
    requests_per_second_per_route: int = Field(
        default=40, ge=1, description="Neon's burst allowance per route."
    )
    organizations: list[str] = Field(
        default_factory=list, description="Organization ids to cover; empty means all visible."
    )
    concurrency: int = Field(
        default=16,
        ge=1,
        le=256,
        description="Requests in flight at most. Unset: enough for the budget at 100 ms a "
        "round trip (requests_per_minute / 600), at least 16 and at most 128.",
    )
    timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest one attempt may take: sending, headers and the whole body.",
    )
    max_attempts: int = Field(
        default=8, ge=1, le=20, description="Tries per request before a retryable error counts."
    )
    backoff_cap_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Longest wait between two tries of one request; also caps a Retry-After.",
    )
    budget_share: float = Field(
        default=1.0,
        gt=0,
        le=1.0,
        description="Share of the account's request budget the governor may use; leave the "
        "rest to the Console, Terraform and CI (0.5: half of requests_per_minute).",
    )


class AccountSettings(BaseModel):
    """One Neon account: one API key, so one rate budget (Neon counts requests per account).

    Unset limits take ``[neon]``'s values.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(
        pattern=ACCOUNT_NAME_PATTERN,
        description="Short name used in logs, reports and --account (lowercase, digits, - _).",
    )
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding this account's API key."
    )
    api_key_file: str | None = Field(
        default=None,
        description="File (or systemd credential name) holding this account's API key.",
    )
    organizations: list[str] = Field(
        default_factory=list, description="Organization ids to cover; empty means all visible."
    )
    requests_per_minute: int | None = Field(default=None, ge=1)
    requests_per_second_per_route: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_key_source(self) -> AccountSettings:
        if self.api_key_env is None and self.api_key_file is None:
            raise ValueError(f"account {self.name!r} needs api_key_env or api_key_file")
        return self


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    path: str = Field(default="governor.db", description="SQLite file.")
    busy_timeout_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long to wait for another process's write to finish before giving up.",
    )


class PolicySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    paths: list[str] = Field(
        default_factory=list,
        description="Policy files or folders; empty means the shipped policies.",
    )


class DaemonSettings(BaseModel):
    """``neon-governor run``: how the long-running daemon schedules and stops."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    snapshot_max_age: Duration = Field(
        default=timedelta(minutes=10),
        description="A complete sweep younger than this is judged again instead of a new "
        "sweep (the API budget is the scarce thing).",
    )
    shutdown_grace: Duration = Field(
        default=timedelta(seconds=20),
        description="On SIGTERM, how long in-flight work may take before it is parked.",
    )
    jitter: Duration = Field(
        default=timedelta(seconds=30), description="Random delay added to each scheduled run."
    )
    max_sweep_age: Duration = Field(
        default=timedelta(hours=26),
        description="/healthz answers 503 when the last complete sweep is older than this.",
    )


class MetricsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    listen: str = Field(
        default="127.0.0.1:9464",
        description="host:port for /metrics and /healthz; empty turns both off.",
    )


class LogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    format: Literal["json", "text"] = Field(
        default="json", description="json lines for the journal, or text for people."
    )
    level: Literal["debug", "info", "warning", "error"] = "info"


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    neon: NeonSettings = Field(default_factory=NeonSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    policies: PolicySettings = Field(default_factory=PolicySettings)
    prices: Prices = Field(default_factory=Prices)
    accounts: list[AccountSettings] = Field(
        default_factory=list,
        description="Several Neon accounts, each with its own key and budget; empty means the "
        "one account of [neon].",
    )
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    remediation: RemediationSettings = Field(default_factory=RemediationSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    consumption: ConsumptionSettings = Field(default_factory=ConsumptionSettings)
    owners: OwnersSettings = Field(default_factory=OwnersSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    webhooks: list[WebhookSettings] = Field(default_factory=list)
    email: EmailSettings = Field(default_factory=EmailSettings)
    teams: TeamsSettings = Field(default_factory=TeamsSettings)
    savings: SavingsSettings = Field(default_factory=SavingsSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @model_validator(mode="after")
    def _one_approval_ttl(self) -> Config:
        """``[slack] approval_ttl`` is how long approval requests stay open (the same
        setting as ``[remediation] approval_ttl``; set one of them, or both alike)."""
        slack_set = "approval_ttl" in self.slack.model_fields_set
        remediation_set = "approval_ttl" in self.remediation.model_fields_set
        if (
            slack_set
            and remediation_set
            and self.slack.approval_ttl != self.remediation.approval_ttl
        ):
            raise ValueError(
                "[slack] approval_ttl and [remediation] approval_ttl differ; set one of them"
            )
        if slack_set and not remediation_set:
            merged = self.remediation.model_copy(update={"approval_ttl": self.slack.approval_ttl})
            object.__setattr__(self, "remediation", merged)
        return self

    @model_validator(mode="after")
    def _accounts_or_single_key(self) -> Config:
        if not self.accounts:
            return self
        names = [account.name for account in self.accounts]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"account names must be unique; repeated: {', '.join(duplicates)}")
        single = NeonSettings()
        if (
            self.neon.api_key_file is not None
            or self.neon.api_key_env != single.api_key_env
            or self.neon.organizations
        ):
            raise ValueError(
                "with [[accounts]], set api_key_env, api_key_file and organizations per "
                "account, not in [neon]"
            )
        return self

    @model_validator(mode="after")
    def _owner_references(self) -> Config:
        """[owners] rules, default and webhooks name owners and [[webhooks]] defined here;
        a webhook name is unique (owners send their digests to one by its name)."""
        names = [webhook.name for webhook in self.webhooks]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(
                f"[[webhooks]] names must be unique; repeated: {', '.join(duplicates)}"
            )
        check_config_owners(self.owners, [webhook.name for webhook in self.webhooks])
        return self

    def effective_accounts(self) -> list[AccountSettings]:
        """The configured accounts, or the single account ``[neon]`` describes."""
        if self.accounts:
            return [
                account.model_copy(
                    update={
                        "requests_per_minute": account.requests_per_minute
                        or self.neon.requests_per_minute,
                        "requests_per_second_per_route": account.requests_per_second_per_route
                        or self.neon.requests_per_second_per_route,
                    }
                )
                for account in self.accounts
            ]
        neon = self.neon
        return [
            AccountSettings(
                name=DEFAULT_ACCOUNT,
                api_key_env=neon.api_key_env,
                api_key_file=neon.api_key_file,
                organizations=list(neon.organizations),
                requests_per_minute=neon.requests_per_minute,
                requests_per_second_per_route=neon.requests_per_second_per_route,
            )
        ]

    def effective_api_url(self) -> str:
        """``NEON_API_URL`` overrides the default, never a value set in the file."""
        if self.neon.api_url != DEFAULT_API_URL:
            return self.neon.api_url
        override = os.environ.get("NEON_API_URL")
        if override is None:
            return DEFAULT_API_URL
        try:
            return checked_api_url(override, "the environment variable NEON_API_URL")
        except ValueError as error:
            raise ConfigError(str(error)) from None


def load_config(path: Path | str | None) -> Config:
    """Load and validate ``path``; ``None`` gives the defaults."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        text = _read_bounded(path)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file: {error.strerror}") from error
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte {error.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from error
    config = parse_config(data, text=text, source=str(path))
    # relative Slack token files start at the config's folder, like every other path (F11)
    folder = path.expanduser().absolute().parent
    return config.model_copy(update={"slack": config.slack.located(folder)})


MAX_CONFIG_BYTES = 1024 * 1024


def _read_bounded(path: Path) -> str:
    with path.open("rb") as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than 1 MiB, not a config file")
    return data.decode("utf-8")


def parse_config(data: dict[str, Any], *, text: str = "", source: str = "<config>") -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            loc = [str(part) for part in problem["loc"]]
            line = _line_of(text, loc)
            where = f"{source}:{line}" if line else source
            key = ".".join(loc) or "(top level)"
            message = plain_message(problem["msg"])
            if problem["type"] == "extra_forbidden":
                message = "unknown key (check the spelling; see the README's Configuration)"
            lines.append(f"{where}: [{key}] {message}")
        raise ConfigError("\n".join(lines)) from None


_HEADER = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*(#.*)?$")


def _line_of(text: str, loc: list[str]) -> int | None:
    """Best-effort line of the key at ``loc`` (tomllib keeps no positions)."""
    if not text or not loc:
        return None
    section: list[str] = []
    best: int | None = None
    tables_seen: dict[str, int] = {}  # [[name]] headers so far: the place of each entry
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            section = [part.strip().strip('"') for part in header.group(1).split(".")]
            if line.strip().startswith("[["):
                name = ".".join(section)
                tables_seen[name] = tables_seen.get(name, -1) + 1
                section = [*section, str(tables_seen[name])]
            if (section == loc[: len(section)] and best is None) or section == loc:
                best = number
            continue
        key_match = re.match(r"^\s*([A-Za-z0-9_\-\".]+?)\s*=", line)
        if not key_match:
            continue
        dotted = [part.strip().strip('"') for part in key_match.group(1).split(".")]
        full = [*section, *dotted]
        if full == loc[: len(full)] and len(full) >= len(section) + 1:
            return number
    return best
