"""A Neon API v2 simulator: world model, routes, limits, faults, loopback server.

Used by the tests and by ``neon-governor simulate`` / ``demo``; it answers as the official
OpenAPI spec says, so the client is exercised against Neon's shapes, not our guesses.
"""

from governor.simulator.options import SimulatorOptions
from governor.simulator.request_log import RequestRecord
from governor.simulator.responses import SimResponse
from governor.simulator.server import serve
from governor.simulator.simulator import Simulator
from governor.simulator.world import World, WorldError

__all__ = [
    "RequestRecord",
    "SimResponse",
    "Simulator",
    "SimulatorOptions",
    "World",
    "WorldError",
    "serve",
]
