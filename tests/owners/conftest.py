"""The simulator tests' fixtures (a settable clock, the tiny world on loopback), shared."""

from tests.simulator.conftest import clock, tiny_api

__all__ = ["clock", "tiny_api"]
