"""The Neon API v2 client: paced, retrying, typed, and quiet about the key.

Why our own: the official Python package neither paginates, paces, retries nor waits
for operations (notes/neon-api.md §11). One ``NeonClient`` per API key holds the key's
``Pacer``; share it between every task and organization of a sweep.

Split by job: ``http`` (the request loop), ``retry`` (``RetryPolicy``), ``ids`` (what may
go into a path), ``reads`` and ``mutations`` (the methods); this module composes them.
"""

from __future__ import annotations

from governor.neon.consumption import NeonConsumption
from governor.neon.http import USER_AGENT
from governor.neon.mutations import UNSET, NeonMutations, rfc3339_seconds
from governor.neon.reads import (
    BRANCHES_PAGE_SIZE,
    OPERATIONS_PAGE_SIZE,
    PROJECTS_PAGE_SIZE,
    NeonReads,
)
from governor.neon.retry import (
    MUTATION_NO_LOCKED_RETRY,
    MUTATION_RETRY,
    READ_RETRY,
    RetryPolicy,
)

__all__ = [
    "BRANCHES_PAGE_SIZE",
    "MUTATION_NO_LOCKED_RETRY",
    "MUTATION_RETRY",
    "OPERATIONS_PAGE_SIZE",
    "PROJECTS_PAGE_SIZE",
    "READ_RETRY",
    "UNSET",
    "USER_AGENT",
    "NeonClient",
    "RetryPolicy",
    "rfc3339_seconds",
]


class NeonClient(NeonReads, NeonMutations, NeonConsumption):
    """An async Neon API client; use as ``async with NeonClient(key) as client``."""
