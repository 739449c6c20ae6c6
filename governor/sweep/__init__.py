"""The sweep: read what an account holds through the Neon API into a ``Snapshot``."""

from __future__ import annotations

from governor.sweep.accounts import Account, sweep_accounts
from governor.sweep.assemble import OrganizationNotVisible
from governor.sweep.walk import SweepProgress, WantsBranches, WantsDetail, WantsExtra, sweep

__all__ = [
    "Account",
    "OrganizationNotVisible",
    "SweepProgress",
    "WantsBranches",
    "WantsDetail",
    "WantsExtra",
    "sweep",
    "sweep_accounts",
]
