"""The ``neon-governor`` command: wiring only. Each command lives in governor/commands/.

Commands are imported lazily. Why: importing every command module pulled in the Slack SDK,
aiohttp, httpx, APScheduler and sqlite-utils, so ``--help`` took over a second before it
printed a line. The root group lists commands from the static ``COMMANDS`` table below and
imports a command's module only when that command runs or its own ``--help`` is asked.

To add a command (one line, in the order ``--help`` should list it)::

    "owners": Lazy("governor.commands.owners", "Who owns what: ... (first line of its help)."),

The module keeps its imports and defines ``register(app: typer.Typer) -> None`` that attaches
the command(s) (``app.command("owners")(owners)`` or ``app.add_typer(...)``); the table's
help must equal the first paragraph of the command's own help (tests/commands/test_startup.py
checks both, and that ``--help`` imports none of the heavy stacks). One module may register
several commands: give each name its own line with the same module.
"""

from __future__ import annotations

import importlib
import io
import sys
from typing import Any, NamedTuple

import typer
from typer import _click as click  # typer vendors click: its own classes are the bases
from typer.core import TyperCommand, TyperGroup, TyperOption

from governor import __version__


class Lazy(NamedTuple):
    """Where a command lives and the one line ``--help`` shows for it."""

    module: str  # defines register(app)
    help: str


COMMANDS: dict[str, Lazy] = {
    "simulate": Lazy(
        "governor.commands.simulate",
        "Serve a simulated Neon API v2 on loopback (first stdout line: LISTENING <url>).",
    ),
    "inventory": Lazy(
        "governor.commands.inventory",
        "Sweep the organizations the key can see and print what was found.",
    ),
    "audit": Lazy(
        "governor.commands.audit",
        "Sweep the account, evaluate the policies, store and report the findings.",
    ),
    "findings": Lazy("governor.commands.findings", "List stored findings (from earlier audits)."),
    "owners": Lazy(
        "governor.commands.owners",
        "Show who owns what ([owners]) and what matched no rule; reads the store only.",
    ),
    "costs": Lazy(
        "governor.commands.costs",
        "What Neon bills this billing period, so far and projected, by line item.",
    ),
    "demo": Lazy(
        "governor.commands.demo",
        "Run a full audit against a simulated Neon account and show the report.",
    ),
    "plan": Lazy(
        "governor.commands.plan_apply",
        "Print exactly what apply would do now, one row per resource, and why not for the rest.",
    ),
    "apply": Lazy(
        "governor.commands.plan_apply",
        "Execute the current plan (or a saved one), tracking Neon's operations to the end.",
    ),
    "approve": Lazy(
        "governor.commands.decisions",
        "Approve a remediation awaiting approval; the next apply (or daemon pass) runs it.",
    ),
    "reject": Lazy(
        "governor.commands.decisions",
        "Reject a remediation awaiting approval (or withdraw an approval not yet acted on).",
    ),
    "keep": Lazy(
        "governor.commands.decisions",
        "Leave a resource as it is: turn down its pending request, and exempt it until then.",
    ),
    "revert": Lazy(
        "governor.commands.decisions",
        "Restore the settings a remediation changed (compute limits, suspend timeout, expiry).",
    ),
    "pause": Lazy(
        "governor.commands.decisions",
        "Stop every executor before its next mutation, until `resume`.",
    ),
    "resume": Lazy("governor.commands.decisions", "Lift a pause."),
    "run": Lazy(
        "governor.commands.run",
        "Run the scheduler: each policy's schedule, metrics, systemd notify, SIGHUP reload.",
    ),
    "status": Lazy(
        "governor.commands.status",
        "Show the daemon, the last runs, open findings and API use; reads the store only.",
    ),
    "doctor": Lazy(
        "governor.commands.doctor",
        "Check the config, keys, scopes, organizations, store, policies and Slack; "
        "say what to fix.",
    ),
    "policies": Lazy(
        "governor.commands.policies", "Check policy files and print their JSON Schema."
    ),
    "remediations": Lazy(
        "governor.commands.decisions",
        "List remediations and where each one stands; `remediations show ID` for one.",
    ),
    "config": Lazy("governor.commands.config_check", "Check the config file, or print an example."),
    "digest": Lazy(
        "governor.commands.digest",
        "Compose each owner's digest of their findings and send it (print it with --dry-run).",
    ),
}


def load_commands(module: str) -> dict[str, click.Command]:
    """Import ``module`` and return the click commands its ``register(app)`` attaches."""
    holder = typer.Typer()
    importlib.import_module(module).register(holder)
    return dict(typer.main.get_group(holder).commands)


class _Listed(TyperCommand):
    """A command as ``--help`` lists it, before its module is imported.

    Parsing it (``make_context``) imports the module and hands over to the real command, so
    a caller that got this stand-in from ``get_command`` still runs the real one.
    """

    def __init__(self, name: str, group: LazyGroup) -> None:
        super().__init__(name=name, help=COMMANDS[name].help)
        self._group = group

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        real = self._group.loaded(self.name or "")
        return real.make_context(info_name, args, parent=parent, **extra)


class LazyGroup(TyperGroup):
    """The root group: lists ``COMMANDS`` without importing them; loads one when it runs.

    It also strips pydantic's wording from option errors (typer checks values with
    pydantic, so a bad ``--fail-on`` read ``Value error, 'critical' is not one of ...``).
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name in COMMANDS:
            self.commands.setdefault(name, _Listed(name, self))

    def loaded(self, name: str) -> click.Command:
        """The real command ``name`` (importing its module on first use)."""
        command = self.commands[name]
        if isinstance(command, _Listed):
            for each, real in load_commands(COMMANDS[name].module).items():
                if each in COMMANDS:
                    self.commands[each] = real
            command = self.commands[name]
            if isinstance(command, _Listed):
                raise LookupError(f"{COMMANDS[name].module}.register() did not attach {name!r}")
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] in COMMANDS:
            self.loaded(args[0])
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except typer.BadParameter as error:
            from governor.config import plain_message  # pydantic: only on this error path

            error.message = plain_message(error.message)
            raise


def _flag_type(option: TyperOption, ctx: Any) -> str | None:  # typer's own click Context
    """A flag takes no value: no ``<bool>`` after ``--version`` in ``--help``."""
    return None if option.is_flag else _option_type(option, ctx)


# typer 0.29 prints every option's type, flags included; the one switch it offers is
# per option (metavar=""), which every command would have to remember.
_option_type = TyperOption.display_type_rich
setattr(TyperOption, "display_type_rich", _flag_type)  # noqa: B010 (a method swap mypy refuses)

app = typer.Typer(
    cls=LazyGroup,
    name="neon-governor",
    help="Cost and idle governance for Neon: sweep, policies, findings, remediation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"neon-governor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Cost and idle governance for Neon."""


def main() -> None:
    # A terminal or pipe that cannot show a character (PYTHONIOENCODING=ascii, a C locale)
    # gets an escape for it, not a UnicodeEncodeError after the whole audit ran.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    app()
