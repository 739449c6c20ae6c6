"""`neon-governor simulate`: serve a simulated Neon API on loopback until SIGTERM/SIGINT.

The first stdout line is ``LISTENING <base url>`` so a parent process (tests, the demo,
the sweep benchmark) can wait for it and read the port; everything else goes to stderr,
ending with ``STATS {json}``: what the server saw (see governor.simulator.stats).
``--request-log FILE`` also writes every request as a flushed JSON line (see
governor.simulator.request_log), readable while the server runs.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from governor.report.text import printable
from governor.simulator import Simulator, SimulatorOptions, World, WorldError
from governor.simulator.server import base_url_of, start_server

USAGE_ERROR = 2


class _UsageError(Exception):
    """A bad flag value or world; reported on stderr with exit code 2."""


def _range(text: str, flag: str, scale: float = 1.0) -> tuple[float, float]:
    """``MIN:MAX`` (or one number for both) as a pair, times ``scale``."""
    parts = text.split(":")
    try:
        if len(parts) == 1:
            low = high = float(parts[0])
        elif len(parts) == 2:
            low, high = float(parts[0]), float(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise _UsageError(f"{flag} expects MIN:MAX (numbers), got {text!r}") from None
    if low < 0 or high < low:
        raise _UsageError(f"{flag} expects 0 <= MIN <= MAX, got {text!r}")
    return low * scale, high * scale


def _world(
    world_path: Path | None,
    seed: int | None,
    orgs: int | None,
    projects: int | None,
    branches: int | None,
) -> World:
    if world_path is not None:
        given = [
            flag
            for flag, value in (
                ("--orgs", orgs),
                ("--projects", projects),
                ("--branches", branches),
            )
            if value is not None
        ]
        if given:
            raise _UsageError(f"--world cannot be combined with {', '.join(given)}")
        try:
            return World.load(world_path)
        except WorldError as error:
            raise _UsageError(f"bad world: {error}") from None
    try:
        return World.generate(
            seed=1 if seed is None else seed,
            orgs=2 if orgs is None else orgs,
            projects=24 if projects is None else projects,
            branches=max(200, 3 * (projects or 0)) if branches is None else branches,
        )
    except ValueError as error:
        raise _UsageError(f"cannot generate a world: {error}") from None


def simulate(
    *,
    world_path: Annotated[
        Path | None, typer.Option("--world", help="World JSON file to serve (else generated).")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed of the generated world and of the faults (default 1)."),
    ] = None,
    orgs: Annotated[
        int | None, typer.Option("--orgs", help="Organizations to generate (default 2).")
    ] = None,
    projects: Annotated[
        int | None, typer.Option("--projects", help="Projects to generate, in total (default 24).")
    ] = None,
    branches: Annotated[
        int | None,
        typer.Option(
            "--branches",
            help="Branches to generate, in total (default 200, or 3 per project if more).",
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    ] = 0,
    rpm: Annotated[int, typer.Option("--rpm", min=1, help="Requests per minute per key.")] = 700,
    rps_per_route: Annotated[
        int, typer.Option("--rps-per-route", min=1, help="Requests per second per key per route.")
    ] = 40,
    no_rate_limits: Annotated[
        bool, typer.Option("--no-rate-limits", help="Never answer 429.")
    ] = False,
    latency_ms: Annotated[
        str, typer.Option("--latency-ms", help="Added latency MIN:MAX, in milliseconds.")
    ] = "0:0",
    fail_500: Annotated[
        float, typer.Option("--fail-500", help="Fraction of answers that are 500.")
    ] = 0.0,
    fail_503: Annotated[
        float, typer.Option("--fail-503", help="Fraction of answers that are 503.")
    ] = 0.0,
    fail_524: Annotated[
        float, typer.Option("--fail-524", help="Fraction of answers that are 524 (HTML body).")
    ] = 0.0,
    fail_423: Annotated[
        float, typer.Option("--fail-423", help="Fraction of mutations answered 423.")
    ] = 0.0,
    op_seconds: Annotated[
        str, typer.Option("--op-seconds", help="Operation duration MIN:MAX, in seconds.")
    ] = "0.2:1.0",
    op_failure: Annotated[
        float, typer.Option("--op-failure", help="Fraction of operations that fail for good.")
    ] = 0.0,
    op_retry: Annotated[
        float,
        typer.Option("--op-retry", help="Fraction of operations that fail, are retried, finish."),
    ] = 0.0,
    op_retry_failures: Annotated[
        int,
        typer.Option(
            "--op-retry-failures", min=1, help="Failures of a retried operation before it finishes."
        ),
    ] = 1,
    op_retry_seconds: Annotated[
        float,
        typer.Option("--op-retry-seconds", help="Seconds from a retried failure to its retry."),
    ] = 1.0,
    unavailable_projects: Annotated[
        list[str] | None,
        typer.Option(
            "--unavailable-project",
            help="Project id that GET /projects reports as unavailable (repeatable).",
        ),
    ] = None,
    unreadable_projects: Annotated[
        list[str] | None,
        typer.Option(
            "--unreadable-project",
            help="Project id whose own routes always answer 503 (repeatable).",
        ),
    ] = None,
    storage_unit: Annotated[
        str,
        typer.Option(
            "--storage-unit",
            help="Unit of the consumption API's storage metrics: byte_months, byte_hours, or "
            "inconsistent (fits neither, for calibration tests).",
        ),
    ] = "byte_months",
    consumption_rpm: Annotated[
        int | None,
        typer.Option(
            "--consumption-rpm",
            min=1,
            help="Extra limit per key on the consumption routes (429 with Retry-After).",
        ),
    ] = None,
    dump_world: Annotated[
        Path | None,
        typer.Option("--dump-world", help="Write the served world (file shape) here first."),
    ] = None,
    request_log: Annotated[
        Path | None,
        typer.Option(
            "--request-log",
            help="Write every request here as a JSON line, flushed at once (no keys).",
        ),
    ] = None,
) -> None:
    """Serve a simulated Neon API v2 on loopback (first stdout line: LISTENING <url>)."""
    try:
        world = _world(world_path, seed, orgs, projects, branches)
        options = SimulatorOptions(
            requests_per_minute=None if no_rate_limits else rpm,
            requests_per_second_per_route=None if no_rate_limits else rps_per_route,
            latency_seconds=_range(latency_ms, "--latency-ms", scale=0.001),
            fail_500=fail_500,
            fail_503=fail_503,
            fail_524=fail_524,
            fail_423=fail_423,
            operation_seconds=_range(op_seconds, "--op-seconds"),
            operation_failure_fraction=op_failure,
            operation_retry_fraction=op_retry,
            operation_retry_failures=op_retry_failures,
            operation_retry_seconds=op_retry_seconds,
            seed=seed,
            unavailable_project_ids=frozenset(unavailable_projects or ()),
            unreadable_project_ids=frozenset(unreadable_projects or ()),
            storage_unit=storage_unit,
            consumption_requests_per_minute=consumption_rpm,
        )
    except (_UsageError, ValueError) as error:
        typer.echo(f"neon-governor simulate: {error}", err=True)
        raise typer.Exit(USAGE_ERROR) from None
    if dump_world is not None:
        try:
            world.dump(dump_world)
        except OSError as error:
            typer.echo(f"neon-governor simulate: cannot write {dump_world}: {error}", err=True)
            raise typer.Exit(USAGE_ERROR) from None
    try:
        simulator = Simulator(world, options, request_log_path=request_log)
    except OSError as error:
        typer.echo(f"neon-governor simulate: cannot write {request_log}: {error}", err=True)
        raise typer.Exit(USAGE_ERROR) from None
    try:
        _serve_until_signalled(simulator, host, port, generated=world_path is None)
    finally:
        simulator.close()


def _serve_until_signalled(simulator: Simulator, host: str, port: int, *, generated: bool) -> None:
    stop = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        _ = frame
        stop.set()

    previous = {
        number: signal.signal(number, on_signal) for number in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        try:
            server = start_server(simulator, host, port)
        except OSError as error:
            typer.echo(f"neon-governor simulate: cannot listen on {host}:{port}: {error}", err=True)
            raise typer.Exit(USAGE_ERROR) from None
        sys.stdout.write(f"LISTENING {base_url_of(server)}\n")
        sys.stdout.flush()
        counts = ", ".join(f"{count} {name}" for name, count in simulator.world.counts().items())
        typer.echo(f"serving {counts}; stop with SIGTERM or Ctrl-C", err=True)
        for line in key_lines(simulator.world, generated=generated):
            typer.echo(line, err=True)
        while not stop.wait(0.5):
            pass
        server.shutdown()
        server.server_close()
        typer.echo(f"STATS {json.dumps(simulator.stats())}", err=True)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def key_lines(world: World, *, generated: bool) -> list[str]:
    """The bearer tokens a generated world accepts, each with what it sees.

    Why: a config for two accounts needs the organization keys, which were only in the
    generator's source. A generated world's tokens are fixed fixtures (``sim-...``); a
    ``--world`` file's tokens are whatever its author chose, so they are not printed.
    """
    if not generated:
        count = len(world.keys)
        tokens = f"{count} token{'' if count == 1 else 's'}"
        return [f'API keys: the {tokens} under "keys" in the world file']
    lines = ["API keys it accepts (as NEON_API_KEY or in a key file):"]
    for token, scope in world.keys.items():
        kind = scope.get("kind")
        if kind == "org":
            sees = f"organization key for {scope.get('org_id')}"
        elif kind == "project":
            sees = f"project key for {scope.get('project_id')} in {scope.get('org_id')}"
        else:
            sees = "personal key: every organization"
        lines.append(f"  {printable(token)}  ({printable(sees)})")
    return lines


def register(app: typer.Typer) -> None:
    """Attach the command to the application."""
    app.command("simulate")(simulate)
