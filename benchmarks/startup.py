"""How long ``neon-governor --help`` (and other quick commands) take to start, end to end.

Why: every command imported every command module, and with them the Slack SDK, aiohttp,
httpx, APScheduler and sqlite-utils, so ``--help`` took 0.75 s (issue 20: under 0.3 s).
The CLI now imports a command's module only when it runs (governor/cli.py). This script
runs each command as a new process several times, round-robin, and prints the median and
the spread, next to an "eager" run that imports every command module first (what every
command paid before).

    .venv/bin/python benchmarks/startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("slack_sdk", "aiohttp", "apscheduler", "httpx", "sqlite_utils")

LAZY = "from governor.cli import main; main()"  # what the neon-governor script runs
# Every command module imported before the command runs: the CLI as it was (eager).
EAGER = (
    "import importlib; from governor.cli import COMMANDS, main; "
    "[importlib.import_module(lazy.module) for lazy in COMMANDS.values()]; main()"
)
CASES = (
    ("neon-governor --help", "", ["--help"]),
    ("--help", LAZY, ["--help"]),
    ("--help (eager imports)", EAGER, ["--help"]),
    ("--version", LAZY, ["--version"]),
    ("policies validate", LAZY, ["policies", "validate"]),
    ("policies validate (eager imports)", EAGER, ["policies", "validate"]),
)


def command(code: str, args: list[str]) -> list[str]:
    """``code`` in a new interpreter; no code: the installed ``neon-governor`` script."""
    if not code:
        return [str(Path(sys.executable).parent / "neon-governor"), *args]
    return [sys.executable, "-c", code, *args]


def run_once(code: str, args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        command(code, args),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "100"},
        check=True,
    )
    return time.perf_counter() - started


def heavy_imports(code: str, args: list[str]) -> list[str]:
    """Which of the heavy stacks the command imports (checked in the same process)."""
    probe = (
        "import sys, atexit\n"
        "atexit.register(lambda: print(' '.join(sorted({m.split('.')[0] for m in sys.modules}"
        f" & set({HEAVY!r}))), file=sys.__stderr__))\n" + code.replace("; ", "\n")
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100"},
        check=False,
    )
    lines = done.stderr.strip().splitlines()
    return lines[-1].split() if lines else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs per command (median shown)")
    options = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {options.runs} runs each")
    print(f"{'command':<36} {'median s':>9} {'min s':>7} {'max s':>7}  heavy stacks imported")
    cases = [case for case in CASES if case[1] or Path(command(*case[1:])[0]).exists()]
    for _, code, args in cases:
        run_once(code, args)  # warm the file cache and .pyc files
    # Round-robin, so a busy moment on a shared machine slows every case, not one.
    times: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    for _ in range(options.runs):
        for label, code, args in cases:
            times[label].append(run_once(code, args))
    for label, code, args in cases:
        heavy = ", ".join(heavy_imports(code or LAZY, args)) or "none"
        each = times[label]
        print(
            f"{label:<36} {statistics.median(each):>9.3f} {min(each):>7.3f} "
            f"{max(each):>7.3f}  {heavy}"
        )


if __name__ == "__main__":
    main()
