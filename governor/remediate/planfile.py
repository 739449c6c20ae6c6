"""A plan saved to a file (``plan --out``) and applied later, exactly (``apply --plan``).

Why a content hash and an expiry: what a person reviewed must be what runs. The hash
covers every item and both times, so an edited file is refused, not half-applied; the
expiry keeps a week-old plan from acting on a world it no longer describes. Applying
re-checks each item against the resource anyway (``recheck``), and touches nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from governor.remediate.errors import PlanFileError
from governor.remediate.plan import Plan, PlanItem

FORMAT = "neon-governor-plan"
VERSION = 1
MAX_PLAN_BYTES = 64 * 1024 * 1024


def plan_document(plan: Plan, *, ttl: timedelta) -> dict[str, Any]:
    body = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": plan.created_at.isoformat(),
        "expires_at": (plan.created_at + ttl).isoformat(),
        "enabled": plan.enabled,
        "complete": plan.complete,
        "notes": list(plan.notes),
        "items": [item.as_json() for item in plan.items],
    }
    return {**body, "sha256": content_hash(body)}


def content_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def write_plan(plan: Plan, path: Path, *, ttl: timedelta) -> str:
    """Write atomically (a reader never sees half a plan); returns the content hash."""
    document = plan_document(plan, ttl=ttl)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    os.replace(temporary, path)
    return str(document["sha256"])


def read_plan(path: Path, *, now: datetime) -> tuple[Plan, str]:
    """The saved plan and its hash; PlanFileError saying what is wrong with the file."""
    where = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PLAN_BYTES + 1)
    except OSError as error:
        raise PlanFileError(f"{where}: cannot read the plan: {error.strerror or error}") from None
    if len(data) > MAX_PLAN_BYTES:
        raise PlanFileError(f"{where}: larger than {MAX_PLAN_BYTES} bytes; not a saved plan")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise PlanFileError(f"{where}: not a saved plan (invalid JSON: {error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise PlanFileError(f"{where}: not a plan written by `neon-governor plan --out`")
    if document.get("version") != VERSION:
        raise PlanFileError(
            f"{where}: plan format version {document.get('version')!r}; this version reads "
            f"{VERSION}"
        )
    claimed = document.pop("sha256", None)
    if claimed != content_hash(document):
        raise PlanFileError(
            f"{where}: its content does not match its sha256: the file was edited after it "
            "was written; make a new plan"
        )
    try:
        created = datetime.fromisoformat(str(document["created_at"]))
        expires = datetime.fromisoformat(str(document["expires_at"]))
        items = tuple(PlanItem.from_json(item) for item in document["items"])
    except (KeyError, TypeError, ValueError) as error:
        raise PlanFileError(f"{where}: malformed plan item: {error}") from None
    if now >= expires:
        raise PlanFileError(
            f"{where}: the plan expired at {expires.isoformat(timespec='seconds')}; make a new one"
        )
    plan = Plan(
        created_at=created,
        enabled=bool(document.get("enabled")),
        paused=False,
        items=items,
        complete=bool(document.get("complete", True)),
        notes=tuple(str(note) for note in document.get("notes", [])),
    )
    return plan, str(claimed)
