"""Helpers the commands share: config, policies, store paths, output, exit codes."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from governor.config import Config, ConfigError, load_config
from governor.inventory import IncompletePart
from governor.sweep import SweepProgress

if TYPE_CHECKING:
    from governor.policy import Policy

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3

CONFIG_OPTION_HELP = "TOML config file (see the README's Configuration section)."


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


ConfigOption = Annotated[Path | None, typer.Option("--config", help=CONFIG_OPTION_HELP)]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]
OutputOption = Annotated[Path | None, typer.Option("--output", help="Write to this file.")]
DbOption = Annotated[
    Path | None, typer.Option("--db", help="SQLite store (default: the config's, governor.db).")
]


class FailOn(StrEnum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``message`` on stderr and exit with ``code``."""
    typer.echo(f"neon-governor: {message}", err=True)
    raise typer.Exit(code)


def config_or_exit(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as error:
        fail(f"config error:\n{error}")


def policies_or_exit(
    paths: Sequence[Path] | None, config: Config, config_path: Path | None
) -> list[Policy]:
    """Flag paths, else the config's (relative to its folder), else the shipped policies."""
    from governor.policy import PolicyError, configured_policy_paths, load_policies

    chosen: list[Path] = list(paths or []) or configured_policy_paths(
        config.policies.paths, config_path
    )
    try:
        return list(load_policies(chosen))
    except PolicyError as error:
        fail(f"policy error:\n{error}")


def db_path(flag: Path | None, config: Config) -> Path:
    return flag if flag is not None else Path(config.store.path)


def write_output(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror}")


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def output_width() -> int:
    """The terminal's width on a terminal; a wide fixed width for files and pipes."""
    if stdout_is_terminal():
        return max(80, shutil.get_terminal_size((140, 40)).columns)
    return 140


@contextmanager
def sweep_progress() -> Iterator[Callable[[SweepProgress], None] | None]:
    """A progress bar on stderr while sweeping, only when stderr is a terminal."""
    if not stderr_is_terminal():
        yield None
        return
    with Progress(
        TextColumn("sweeping"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("projects · {task.fields[requests]} requests"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("sweep", total=None, requests=0)

        def update(state: SweepProgress) -> None:
            bar.update(
                task,
                completed=state.projects_done,
                total=state.projects_total or None,
                requests=state.requests,
            )

        yield update


def report_incomplete(parts: Sequence[IncompletePart], consequence: str = "") -> None:
    """Say on stderr what the sweep could not read, and why, part by part."""
    typer.echo(
        f"neon-governor: the sweep was incomplete: {len(parts)} part(s) could not be read"
        f"{consequence}:",
        err=True,
    )
    for part in parts:
        where = " ".join(
            f"{label} {value}"
            for label, value in (("organization", part.org_id), ("project", part.project_id))
            if value
        )
        typer.echo(f"  {part.kind}{' of ' + where if where else ''}: {part.reason}", err=True)
