"""`neon-governor policies validate|schema`: check policy files, print their JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from governor.commands.common import counted, handled
from governor.exit_codes import ExitCode
from governor.pipeline.detail import DetailNeed
from governor.policy import PolicyError, load_policies, policy_file_schema, policy_files
from governor.runtime import Runtime

policies_app = typer.Typer(
    name="policies",
    help="Check policy files and print their JSON Schema.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Config file (TOML); its policies.paths are the default policy files."
    ),
]


def _configured_paths(config_path: Path | None) -> list[Path]:
    with handled():
        return Runtime.load(config_path).policy_paths()


@policies_app.command("validate")
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Policy files or folders; default: the config's policies.paths, else the "
            "shipped policies.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Load and check policy files; print every problem as FILE:LINE:COLUMN: path: message."""
    configured = _configured_paths(config)
    targets = list(paths) if paths else configured
    try:
        files = policy_files(targets)
        policies = load_policies(files)
    except PolicyError as error:
        typer.echo(str(error), err=True)
        count = len(error.problems)
        typer.echo(f"{count} problem{'' if count == 1 else 's'} found", err=True)
        raise typer.Exit(int(ExitCode.USAGE)) from None
    typer.echo(
        f"ok: {counted(len(policies), 'policy', 'policies')} in {counted(len(files), 'file')}"
    )
    # Each of these costs the sweep one GET /projects/{project_id} per project it applies to.
    for rule in DetailNeed.of(policies).rules:
        typer.echo(
            f"note: API cost: project detail (GET /projects/{{project_id}}) read for {rule.reason}"
        )


@policies_app.command("schema")
def schema(config: ConfigOption = None) -> None:
    """Print the JSON Schema of a policy file (for editors such as VS Code's YAML support)."""
    _configured_paths(config)
    typer.echo(json.dumps(policy_file_schema(), indent=2))


def register(app: typer.Typer) -> None:
    """Attach the ``policies`` command group to the application."""
    app.add_typer(policies_app, name="policies")
