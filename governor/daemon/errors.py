"""The daemon's own errors.

Why ``DaemonAlreadyRunning`` is a ``StoreError``: the exit-code map sits a layer below the
daemon (tests/test_architecture.py), so it cannot name this class; a store held by another
daemon is a store that cannot be used, which that map already sends to exit 2.
"""

from __future__ import annotations

from governor.store import StoreError


class DaemonAlreadyRunning(StoreError):
    """Another daemon holds the store's lock file; the message names its pid and start time."""
