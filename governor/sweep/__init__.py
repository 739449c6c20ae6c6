"""The sweep: read what an account holds through the Neon API into a ``Snapshot``."""

from __future__ import annotations

from governor.sweep.walk import SweepProgress, sweep

__all__ = ["SweepProgress", "sweep"]
