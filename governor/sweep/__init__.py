"""The sweep: read what an account holds through the Neon API into a ``Snapshot``."""

from __future__ import annotations

from governor.sweep.accounts import Account, sweep_accounts
from governor.sweep.assemble import OrganizationNotVisible
from governor.sweep.walk import SweepProgress, WantsDetail, sweep

__all__ = [
    "Account",
    "OrganizationNotVisible",
    "SweepProgress",
    "WantsDetail",
    "sweep",
    "sweep_accounts",
]
