"""`neon-governor config check`: validate a config and print it as the governor reads it.

Defaults are filled in, ``NEON_API_URL`` applied, and every account shown with where its
key comes from (and whether it is there), never the key: the output may be pasted into
an issue. Exit 0, or 2 with the file, line and key of the first problem, or 2 after the
config when an account's key cannot be found (``--offline``: keys are not looked for).
"""

from __future__ import annotations

import importlib.resources
import json
import re
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer

from governor.commands.common import ConfigOption, handled, write_output
from governor.config import AccountSettings, ConfigError
from governor.diagnose.key_checks import key_source
from governor.exit_codes import ExitCode
from governor.observability.server import parse_listen
from governor.report.text import printable
from governor.runtime import Runtime
from governor.secrets import REDACTED, SecretError

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigFormat(StrEnum):
    toml = "toml"
    json = "json"


config_app = typer.Typer(
    name="config", help="Check the config file, or print an example.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("example")
def example() -> None:
    """Print the commented example config (every section, the defaults as values)."""
    # from the package, so a pipx install without a checkout has it too
    text = importlib.resources.files("governor").joinpath("config/example.toml").read_text()
    typer.echo(text, nl=False)


@config_app.command("check")
def check(
    config_path: ConfigOption = None,
    output_format: Annotated[
        ConfigFormat, typer.Option("--format", help="toml (default) or json.")
    ] = ConfigFormat.toml,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Check the file alone: do not look for the API keys (CI, or a machine "
            "without the credentials). Without it, a missing key is exit 2.",
        ),
    ] = False,
) -> None:
    """Validate the config; print it with defaults filled in and key sources, never keys."""
    missing: list[str] = []
    with handled():
        runtime = Runtime.load(config_path)
        runtime.policies()  # the daemon schedules them: a schedule that never fires stops here
        runtime.owner_map()  # an [owners] file is read at each run: its problems stop here
        data = effective(runtime, missing=None if offline else missing)
    if output_format == ConfigFormat.json:
        write_output(json.dumps(data, indent=2) + "\n", None)
    else:
        write_output(render_toml(data), None)
    if missing:
        for problem in missing:
            typer.echo(f"neon-governor: no Neon API key: {printable(problem)}", err=True)
        raise typer.Exit(int(ExitCode.USAGE))


def effective(runtime: Runtime, *, missing: list[str] | None = None) -> dict[str, Any]:
    """The config as a dict, masked; raises ConfigError for what loading does not check.

    Relative paths are shown resolved (against the config file's folder), as they are used.
    ``missing`` collects each account whose key cannot be read; None: keys are not looked for.
    """
    config = runtime.config
    where = str(runtime.config_path) if runtime.config_path else "defaults"
    if config.metrics.listen.strip():
        try:
            parse_listen(config.metrics.listen)
        except ValueError as error:
            raise ConfigError(f"{where}: [metrics.listen] {error}") from None
    data = config.model_dump(mode="json")
    data["neon"]["api_url"] = _masked_url(config.effective_api_url())
    data["store"]["path"] = str(runtime.store_path())
    if config.policies.paths:
        data["policies"]["paths"] = [str(path) for path in runtime.policy_paths()]
    data["accounts"] = [
        _account(runtime, account, missing) for account in config.effective_accounts()
    ]
    return _masked_env_names(data)


def _account(
    runtime: Runtime, account: AccountSettings, missing: list[str] | None
) -> dict[str, Any]:
    data = account.model_dump(mode="json")
    if missing is None:
        present = "not looked for: --offline"
    else:
        try:
            runtime.read_key(account)
            present = "found"
        except SecretError as error:
            present = "not found"
            missing.append(f"account {account.name!r}: {error}")
    data["key_source"] = f"{key_source(account)} ({present})"
    return data


def _masked_url(url: str) -> str:
    """A URL with any ``user:password@`` replaced: credentials do not belong in a URL."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@{parts.netloc.rsplit('@', 1)[1]}"))


def _masked_env_names(data: dict[str, Any]) -> dict[str, Any]:
    """An ``api_key_env`` that is no variable name may be the key pasted in: hide it."""
    for table in [data["neon"], *data["accounts"]]:
        name = table.get("api_key_env")
        if isinstance(name, str) and not ENV_NAME.match(name):
            table["api_key_env"] = f"{REDACTED} (not a variable name: is this the key itself?)"
            if "key_source" in table:
                table["key_source"] = REDACTED
    return data


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):  # an inline table (an owner rule's annotations)
        items = (
            f"{json.dumps(key, ensure_ascii=False)} = {_value(item)}" for key, item in value.items()
        )
        return "{ " + ", ".join(items) + " }" if value else "{}"
    return json.dumps(value, ensure_ascii=False)


def _tables(value: Any) -> bool:
    """A non-empty list of tables: ``[[webhooks]]``, ``[[owners.owner]]``."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _table(lines: list[str], header: str, table: dict[str, Any]) -> None:
    """A table, then its sub-tables; a header with no key under it is left out (TOML
    needs none, and an empty ``[prices.plans]`` read as if the plans were missing)."""
    nested = {key: value for key, value in table.items() if isinstance(value, dict)}
    arrays = {key: value for key, value in table.items() if _tables(value)}
    own = [(key, value) for key, value in table.items() if key not in nested | arrays]
    if own or (not nested and header.startswith("[[")):
        lines.extend(["", header])
    for key, value in own:
        if key == "key_source":
            lines.append(f"# key: {value}")
        elif value is None:
            lines.append(f"# {key} is not set")
        else:
            lines.append(f"{key} = {_value(value)}")
    name = header.strip("[]")
    for key, value in nested.items():
        _table(lines, f"[{name}.{key}]", value)
    for key, items in arrays.items():
        for item in items:
            _table(lines, f"[[{name}.{key}]]", item)


def render_toml(data: dict[str, Any]) -> str:
    """TOML-like: tables, [[accounts]] with their key sources as comments."""
    lines = [
        "# the effective config: defaults filled in, NEON_API_URL applied, relative paths "
        "resolved against the config file's folder"
    ]
    for section, value in data.items():
        if section == "accounts":
            lines.extend(
                ["", "# accounts as swept ([neon]'s single account when none is configured)"]
            )
            for account in value:
                _table(lines, "[[accounts]]", account)
        elif isinstance(value, list):  # [[webhooks]]: a list of tables, maybe empty
            for item in value:
                _table(lines, f"[[{section}]]", item)
        else:
            _table(lines, f"[{section}]", value)
    return "\n".join(lines) + "\n"
