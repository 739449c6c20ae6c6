"""The SQLite store: runs, resources, findings and the append-only audit log."""

from __future__ import annotations

from governor.store.errors import StoreError
from governor.store.records import (
    AuditEntry,
    FindingStatus,
    RunRecord,
    RunStatus,
    StoredFinding,
    StoredResource,
    StoredResourceType,
)
from governor.store.store import Store

__all__ = [
    "AuditEntry",
    "FindingStatus",
    "RunRecord",
    "RunStatus",
    "Store",
    "StoreError",
    "StoredFinding",
    "StoredResource",
    "StoredResourceType",
]
