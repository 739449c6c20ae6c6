"""The SQLite store: runs, resources, findings and the append-only audit log."""

from __future__ import annotations

from governor.store.connection import StoreError
from governor.store.records import (
    AuditEntry,
    FindingStatus,
    RunRecord,
    StoredFinding,
    StoredResource,
    StoredResourceType,
)
from governor.store.store import Store

__all__ = [
    "AuditEntry",
    "FindingStatus",
    "RunRecord",
    "Store",
    "StoreError",
    "StoredFinding",
    "StoredResource",
    "StoredResourceType",
]
