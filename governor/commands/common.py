"""Helpers the commands share: options, errors to exit codes, output, progress.

Every command body runs inside ``handled()``: a known error (config, policy, key, store,
Neon) becomes one ``neon-governor: ...`` message on stderr and the exit code that
``governor.exit_codes`` assigns it; nothing else exits the process.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer._click import Context  # typer vendors click: its own Context is the base
from typer.core import TyperGroup

from governor.config import plain_message
from governor.exit_codes import KNOWN_ERRORS, ExitCode, describe, exit_code_for
from governor.model.snapshot import IncompletePart
from governor.report.text import printable
from governor.sweep import SweepProgress

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


class PlainErrorsGroup(TyperGroup):
    """The command group whose option errors carry no pydantic wording.

    Why: typer checks option values with pydantic, so a bad ``--fail-on`` read
    ``Value error, 'critical' is not one of ...``; every command's options pass through here.
    """

    def invoke(self, ctx: Context) -> object:
        try:
            return super().invoke(ctx)
        except typer.BadParameter as error:
            error.message = plain_message(error.message)
            raise


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """Print ``message`` on stderr (control characters shown as escapes) and exit."""
    typer.echo(f"neon-governor: {printable(message, keep_newlines=True)}", err=True)
    raise typer.Exit(int(code))


@contextmanager
def handled() -> Iterator[None]:
    """Known errors become a message and their exit code; anything else is a bug."""
    try:
        yield
    except KNOWN_ERRORS as error:
        code = exit_code_for(error)
        assert code is not None
        fail(describe(error), code)


def check_output_path(output: Path | None) -> None:
    """Refuse an ``--output`` that cannot be written before any work is done."""
    if output is None:
        return
    parent = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        fail(f"cannot write {output}: it is a directory")
    if not parent.is_dir():
        fail(f"cannot write {output}: directory {parent} does not exist")


def write_output(text: str, output: Path | None, what: str = "") -> None:
    """``text`` on stdout, or into ``output`` and one ``wrote FILE: <what>`` line on stderr.

    Why the line: a report written to a file left the terminal silent, as if nothing ran.
    """
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror}")
    typer.echo(f"wrote {printable(str(output))}{': ' + what if what else ''}", err=True)


def write_output_with(write: Callable[[TextIO], None], output: Path | None, what: str = "") -> None:
    """``write_output`` for a report written a piece at a time (a large run's findings are
    read back from disk as they are written, never held as one text)."""
    if output is None:
        write(sys.stdout)
        sys.stdout.flush()
        return
    try:
        with output.open("w", encoding="utf-8") as stream:
            write(stream)
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror}")
    typer.echo(f"wrote {printable(str(output))}{': ' + what if what else ''}", err=True)


def counted(count: int, singular: str, plural: str = "") -> str:
    """``1 policy``, ``2 policies``: a count with its noun in the right number."""
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


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
        reason = printable(part.reason)
        typer.echo(f"  {part.kind}{' of ' + where if where else ''}: {reason}", err=True)
