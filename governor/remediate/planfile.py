"""A plan saved to a file (``plan --out``) and applied later, exactly (``apply --plan``).

What a person reviewed must be what runs. The file carries a sha256 of its content, but a
hash inside the file it covers proves nothing: an edited file can be re-hashed. So the
store keeps the hash of every plan it wrote (``saved_plans``), with its creation time and
its expiry; ``load_plan`` refuses a file whose hash this store did not write, takes the
lifetime from the store (the file's ``expires_at`` is for people), and derives every
item's change again from its findings' policies (``changes.propose``, as the plan builder
does), refusing the whole plan when one differs. An item without findings is refused:
a person's own change (a revert, a keep) never comes from a file, and only those skip
the policies' questions. Applying then re-checks each item against the resource
(``recheck``) and its guards, and touches nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from governor.model.actions import Action
from governor.model.changes import propose
from governor.policy import Policy
from governor.remediate.errors import PlanFileError
from governor.remediate.plan import Plan, PlanItem
from governor.store import Store, finding_queries, saved_plans
from governor.store.errors import StoreError
from governor.store.records import StoredFinding

FORMAT = "neon-governor-plan"
VERSION = 1
MAX_PLAN_BYTES = 64 * 1024 * 1024
# Statuses that make ``apply`` write a row (and so, in the end, send a request).
ACTING_STATUSES = frozenset({"act", "approved", "needs_approval"})


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


def check_writable(path: Path) -> None:
    """PlanFileError unless a plan can be written at ``path`` (asked before any work)."""
    if path.is_dir():
        raise PlanFileError(f"--out {path}: cannot write the plan there: it is a directory")
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("x", encoding="utf-8"):
            pass
    except FileExistsError:
        return  # left by an earlier write; os.replace overwrites it
    except OSError as error:
        reason = error.strerror or str(error)
        raise PlanFileError(f"--out {path}: cannot write the plan there: {reason}") from None
    temporary.unlink(missing_ok=True)


def write_document(document: dict[str, Any], path: Path) -> None:
    """Write atomically (a reader never sees half a plan)."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
        os.replace(temporary, path)
    except OSError as error:
        reason = error.strerror or str(error)
        raise PlanFileError(f"--out {path}: cannot write the plan there: {reason}") from None


def write_plan(plan: Plan, path: Path, *, ttl: timedelta) -> str:
    """Write the document only (``save_plan`` also records it); returns the content hash."""
    document = plan_document(plan, ttl=ttl)
    write_document(document, path)
    return str(document["sha256"])


async def record_plan(
    document: dict[str, Any], *, store: Store, run_id: int | None, actor: str
) -> None:
    """Keep a document's hash and lifetime in the store: only then may it be applied."""
    await store.run(
        saved_plans.record,
        str(document["sha256"]),
        created_at=datetime.fromisoformat(str(document["created_at"])),
        expires_at=datetime.fromisoformat(str(document["expires_at"])),
        item_count=len(document["items"]),
        run_id=run_id,
        actor=actor,
    )


async def save_plan(
    plan: Plan,
    path: Path,
    *,
    ttl: timedelta,
    store: Store,
    run_id: int | None,
    actor: str,
) -> str:
    """Record the plan in the store, then write it; returns its sha256."""
    document = plan_document(plan, ttl=ttl)
    await record_plan(document, store=store, run_id=run_id, actor=actor)
    write_document(document, path)
    return str(document["sha256"])


def read_plan(path: Path, *, now: datetime | None = None) -> tuple[Plan, str]:
    """The plan in the file and its hash, checked against itself only.

    PlanFileError saying what is wrong with the file. ``now`` checks the file's own
    expiry; ``load_plan`` passes None and asks the store instead.
    """
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
    if now is not None and now >= expires:
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


@dataclass(frozen=True)
class SavedPlan:
    """A plan this store wrote, as it was written; ``run_id``: the run it was made from."""

    plan: Plan
    sha256: str
    run_id: int | None


async def load_plan(
    path: Path,
    *,
    store: Store,
    policies: Mapping[str, Policy],
    now: datetime,
) -> SavedPlan:
    """The saved plan at ``path`` if this store wrote it, unexpired, and every item is what
    its policies propose; PlanFileError (nothing changed) saying why not."""
    where = str(path)
    plan, digest = read_plan(path)
    kept = await store.run(saved_plans.get, digest)
    if kept is None:
        raise PlanFileError(
            f"{where}: this store never wrote a plan with sha256 {digest[:16]}: it was "
            "edited and re-hashed, or made with another store (a plan is applied with the "
            "store it was made with); make a new plan with `neon-governor plan --out`"
        )
    expires = datetime.fromisoformat(kept.expires_at)
    if now >= expires:
        raise PlanFileError(
            f"{where}: the plan expired at {expires.isoformat(timespec='seconds')}; make a new one"
        )
    created = datetime.fromisoformat(kept.created_at)
    if created != plan.created_at:
        raise PlanFileError(
            f"{where}: made at {plan.created_at.isoformat()} says the file, "
            f"{created.isoformat()} says the store; make a new plan"
        )
    wanted = {source.finding_id for item in plan.items for source in item.sources}
    findings = await store.run(_findings, wanted)
    for item in plan.items:
        problem = item_problem(item, policies=policies, findings=findings, created_at=created)
        if problem is not None:
            label = f"{item.resource_type} {item.resource_id}"
            raise PlanFileError(
                f"{where}: {label}: {problem}; nothing was applied: make a new plan"
            )
    return SavedPlan(plan, digest, kept.run_id)


def _findings(connection: sqlite3.Connection, wanted: set[int]) -> dict[int, StoredFinding]:
    found = {}
    for finding_id in sorted(wanted):
        try:
            found[finding_id] = finding_queries.get(connection, finding_id)
        except StoreError:
            continue  # not in this store: item_problem says so
    return found


def item_problem(
    item: PlanItem,
    *,
    policies: Mapping[str, Policy],
    findings: Mapping[int, StoredFinding],
    created_at: datetime,
) -> str | None:
    """Why ``item`` is not what the plan builder wrote from its findings (None: it is).

    Its change is derived again from its findings' policies as loaded now (the action
    resolved on the values the plan saw, at the plan's own time), and the mode, the
    disruptive and irreversible flags with it: an approval cannot be skipped by a status.
    """
    if not item.sources:
        return (
            "it names no finding it was planned from; the plan builder never writes such an "
            "item (a person's own change comes only from `neon-governor revert`)"
        )
    actions: list[Action] = []
    modes = set()
    for source in item.sources:
        policy = policies.get(source.policy)
        if policy is None:
            return f"policy {source.policy} is not loaded"
        finding = findings.get(source.finding_id)
        if finding is None:
            return f"finding {source.finding_id} is not in this store"
        if (finding.policy, finding.resource_type, finding.resource_id) != (
            source.policy,
            item.resource_type,
            item.resource_id,
        ):
            return f"finding {source.finding_id} is about something else"
        if finding.fingerprint != source.fingerprint:
            return f"the evidence of finding {source.finding_id} changed since the plan was made"
        action = policy.action.resolve(item.before)
        if action.as_json() != source.action.as_json():
            said = source.action.as_json()
            return f"{policy.name} now asks {action.describe()}, the plan says {said}"
        actions.append(action)
        modes.add(policy.mode)
    if item.status not in ACTING_STATUSES:
        return None  # never written as a row by apply: nothing of it is sent
    if "report" in modes:
        return "its policy's mode is report: it is only reported, never acted on"
    mode = "approve" if "approve" in modes else "auto"
    if item.mode != mode:
        return f"its policies' mode is {mode}, the plan says {item.mode}"
    if item.status == "act" and mode != "auto":
        return "its policy's mode is approve: it needs a person's approval first"
    try:
        proposal = propose(actions, item.before, now=created_at, scope=item.scope)
    except ValueError as error:
        return f"its policies' actions make no change: {error}"
    derived = proposal.change
    if derived is None or item.change is None or derived.as_json() != item.change.as_json():
        planned = None if item.change is None else item.change.as_json()
        wanted = None if derived is None else derived.as_json()
        return f"the plan says {planned}, its policies propose {wanted}"
    if item.disruptive != derived.disruptive or item.irreversible != derived.irreversible:
        return "its disruptive or irreversible flag differs from its change"
    return None
