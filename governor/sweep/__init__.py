"""The sweep: read what an account holds through the Neon API into a ``Snapshot``."""

from __future__ import annotations

from governor.sweep.accounts import Account, sweep_accounts
from governor.sweep.assemble import OrganizationNotVisible
from governor.sweep.detail import DetailNeed
from governor.sweep.walk import SweepProgress, sweep

__all__ = [
    "Account",
    "DetailNeed",
    "OrganizationNotVisible",
    "SweepProgress",
    "sweep",
    "sweep_accounts",
]
