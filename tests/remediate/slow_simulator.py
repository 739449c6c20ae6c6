"""The simulator in its own process, answering every mutation slowly (``python -m``).

Why a process of its own: a governor process killed mid-send must leave its request
behind at a server that outlives it, and the request log must be read by the test from
disk. Mutations are slept *before* they touch the world (as Neon slow under load: the
change lands seconds after it was sent, whether or not the sender is still there).

    python -m tests.remediate.slow_simulator WORLD.json REQUEST_LOG.jsonl SECONDS

prints ``LISTENING <base url>`` and serves until SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from governor.simulator import Simulator, SimulatorOptions, World
from governor.simulator.routes import MUTATING_METHODS
from governor.simulator.server import base_url_of, start_server
from governor.simulator.simulator import Ticket


class SlowMutations(Simulator):
    mutation_seconds = 0.0

    def admit(
        self,
        method: str,
        path: str,
        query: Any,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        raw_query: str | None = None,
    ) -> Ticket:
        ticket = super().admit(method, path, query, headers, body, raw_query=raw_query)
        if ticket.method in MUTATING_METHODS and not ticket.control and ticket.early is None:
            ticket.delay_seconds = self.mutation_seconds
        return ticket


def main(world_path: str, log_path: str, seconds: str) -> None:
    options = SimulatorOptions(
        requests_per_minute=None,
        requests_per_second_per_route=None,
        operation_seconds=(0.2, 0.2),
        seed=1,
    )
    simulator = SlowMutations(World.load(Path(world_path)), options, request_log_path=log_path)
    simulator.mutation_seconds = float(seconds)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda number, frame: stop.set())
    server = start_server(simulator)
    sys.stdout.write(f"LISTENING {base_url_of(server)}\n")
    sys.stdout.flush()
    while not stop.wait(0.2):
        pass
    server.shutdown()
    simulator.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
