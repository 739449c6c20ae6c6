"""`neon-governor demo`: a real audit against the bundled simulator, no account needed.

The simulator is served on a loopback port in this process and the audit goes through the
same code path as `audit` (config, client over HTTP, policies, store, report). Without
``--db`` the store lives in a temporary folder that is removed at the end (``--keep``
keeps it): every demo used to leave one behind.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from governor.commands.audit import execute_audit
from governor.commands.common import (
    ConfigOption,
    FormatOption,
    OutputFormat,
    handled,
    output_width,
    stdout_is_terminal,
)
from governor.commands.costs import CostsBy
from governor.commands.costs import render as render_costs
from governor.config import NeonSettings
from governor.costs.bill import OrgBill
from governor.pipeline.consumption import bills, facts_of_store
from governor.report import render_audit, summary
from governor.runtime import Runtime
from governor.simulator import Simulator, SimulatorOptions, World, serve

DEMO_KEY_ENV = "NEON_GOVERNOR_DEMO_KEY"
DEMO_KEY = "sim-personal-key"  # the simulator's own token, not a secret


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated world.")] = 7,
    orgs: Annotated[int, typer.Option("--orgs", min=1, help="Organizations.")] = 2,
    projects: Annotated[int, typer.Option("--projects", min=1, help="Projects (total).")] = 24,
    branches: Annotated[int, typer.Option("--branches", min=1, help="Branches (total).")] = 200,
    output_format: FormatOption = OutputFormat.table,
    db: Annotated[
        Path | None, typer.Option("--db", help="Store file (default: a new temporary one).")
    ] = None,
    config_path: ConfigOption = None,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Keep the temporary store afterwards, to explore it."),
    ] = False,
) -> None:
    """Run a full audit against a simulated Neon account and show the report."""
    with handled():
        runtime = Runtime.load(config_path)
        policies = runtime.policies()
    config = runtime.config
    world = World.generate(
        seed=seed, orgs=orgs, projects=projects, branches=branches, now=datetime.now(UTC)
    )
    simulator = Simulator(world, SimulatorOptions(seed=seed))
    scratch = None if db is not None else Path(tempfile.mkdtemp(prefix="neon-governor-demo-"))
    store_path = db or Path(str(scratch)) / "governor.db"
    try:
        with serve(simulator, port=0) as base_url:
            typer.echo(
                f"Simulated Neon account at {base_url}: {orgs} organizations, {projects} "
                f"projects, ~{branches} branches (seed {seed}).",
                err=True,
            )
            os.environ[DEMO_KEY_ENV] = DEMO_KEY
            demo_config = config.model_copy(
                update={
                    "neon": NeonSettings(
                        api_url=base_url,
                        api_key_env=DEMO_KEY_ENV,
                        requests_per_minute=config.neon.requests_per_minute,
                        requests_per_second_per_route=config.neon.requests_per_second_per_route,
                    )
                }
            )
            demo_runtime = Runtime(demo_config, config_path, runtime.clock)
            with handled():
                result = execute_audit(demo_runtime, policies, db=store_path, trigger="demo")
                found = _bills(demo_runtime, store_path)
    finally:
        if scratch is not None and not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    color = stdout_is_terminal() and output_format == OutputFormat.table
    typer.echo(
        render_audit(result, output_format.value, color=color, width=output_width()), nl=False
    )
    if output_format == OutputFormat.table and found:
        # The bill the findings are a share of: what Neon's meters say this account costs.
        typer.echo()
        typer.echo(render_costs(found, CostsBy.org, OutputFormat.table, demo_runtime.clock()))
        typer.echo(_share_line(found, summary(result.findings)["estimated_monthly_savings_usd"]))
    typer.echo(_next_steps(store_path if db is not None or keep else None), err=True)


def _bills(runtime: Runtime, store_path: Path) -> list[OrgBill]:
    """This billing period's bill of the simulated account, from the meters the audit read."""
    with runtime.open_store(store_path) as store:
        facts = store.call(facts_of_store)
        return store.call(bills, facts, runtime.config.prices, now=runtime.clock())


def _share_line(found: list[OrgBill], savings: float) -> str:
    projected = sum(bill.projected_usd for bill in found)
    if projected <= 0:
        return f"The findings would save ${savings:,.2f}/month; the meters show no billed cost."
    return (
        f"The findings would save ${savings:,.2f}/month (counted once) of a bill projected at "
        f"${projected:,.2f} this billing period ({savings / projected:.0%})."
    )


def _next_steps(kept: Path | None) -> str:
    """Commands that work from an installed wheel too (no checkout-relative paths)."""
    program = _program_name()
    explore = (
        (f"findings --db {kept}", "what the store now holds")
        if kept is not None
        else ("demo --keep", "keep the demo's store to explore it (it was removed)")
    )
    lines = [
        explore,
        ("demo --format json", "the JSON contract"),
        ("simulate --seed 7 --port 8080", "serve this world yourself"),
    ]
    hints = "\n".join(f"  {program} {command}\n      {why}" for command, why in lines)
    return (
        f"\nWhat to try next:\n{hints}\n"
        "Against a real account:\n"
        "  export NEON_API_KEY=...   # an organization or personal API key\n"
        f"  {program} doctor                    # the key, its scope, the store, the policies\n"
        f"  {program} audit --db governor.db    # sweep and record the findings\n"
        f"  {program} plan --db governor.db     # what apply would change, and why\n"
    )


def _program_name() -> str:
    """``neon-governor`` when it is on PATH, else the path it was run as (``make demo``)."""
    if shutil.which("neon-governor"):
        return "neon-governor"
    invoked = Path(sys.argv[0])
    try:
        return str(invoked.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(invoked)
