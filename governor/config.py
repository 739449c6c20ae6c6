"""The TOML config file: one pydantic schema, unknown keys rejected, errors with lines.

Precedence, lowest first: built-in defaults, the config file, environment variables that
override a default (``NEON_API_URL``), command-line flags.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from governor.savings.prices import Prices

DEFAULT_API_URL = "https://console.neon.tech/api/v2"


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file, line and key."""


class NeonSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_url: str = Field(default=DEFAULT_API_URL, description="Neon API base URL.")
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
    concurrency: int = Field(default=16, ge=1, le=256, description="Requests in flight at most.")
    timeout_seconds: float = Field(default=30.0, gt=0, description="Per-request timeout.")
    max_attempts: int = Field(
        default=8, ge=1, le=20, description="Tries per request before a retryable error counts."
    )
    backoff_cap_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Longest wait between two tries of one request."
    )


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(default="governor.db", description="SQLite file.")


class PolicySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: list[str] = Field(
        default_factory=list,
        description="Policy files or folders; empty means the shipped policies.",
    )


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    neon: NeonSettings = Field(default_factory=NeonSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    policies: PolicySettings = Field(default_factory=PolicySettings)
    prices: Prices = Field(default_factory=Prices)

    def effective_api_url(self) -> str:
        """``NEON_API_URL`` overrides the default, never a value set in the file."""
        if self.neon.api_url != DEFAULT_API_URL:
            return self.neon.api_url
        return os.environ.get("NEON_API_URL", DEFAULT_API_URL)


def load_config(path: Path | str | None) -> Config:
    """Load and validate ``path``; ``None`` gives the defaults."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file: {error.strerror}") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from error
    return parse_config(data, text=text, source=str(path))


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
            message = problem["msg"]
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
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            section = [part.strip().strip('"') for part in header.group(1).split(".")]
            if section == loc:
                best = number
            continue
        key_match = re.match(r"^\s*([A-Za-z0-9_\-\"]+)\s*=", line)
        if not key_match:
            continue
        full = [*section, key_match.group(1).strip('"')]
        if full == loc[: len(full)] and len(full) >= len(section) + 1:
            return number
    return best
