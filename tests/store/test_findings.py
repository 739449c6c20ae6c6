"""Findings across runs: opened, refreshed, resolved, reopened, suppressed, left alone."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest

from governor.model.findings import CostPart, Estimate, Finding
from governor.model.snapshot import IncompletePart, KeyRecord, Snapshot
from governor.neon.models import ApiKey
from governor.store import Store, StoredFinding, StoreError, audit_log, history
from governor.store import resources as resource_rows
from governor.store.encoding import encode_time
from tests.store.factories import OTHER_ORG, at, finding, second_connection, snapshot

STALE = "stale-branches"
KEYS = "unused-api-keys"


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:") as opened:
        yield opened


def audit_run(
    store: Store,
    when: datetime,
    findings: Sequence[Finding],
    swept: Snapshot | None = None,
    policies: Sequence[str] = (STALE,),
) -> list[StoredFinding]:
    run_id = store.call(history.start_run, "audit", when)
    swept = swept or snapshot()
    store.call(history.record_snapshot, run_id, swept, when)
    result = store.call(history.record_findings, run_id, findings, swept, policies, when)
    store.call(
        history.finish_run,
        run_id,
        finished_at=when,
        complete=swept.complete,
        requests=1,
        errors=[part.as_dict() for part in swept.incomplete],
    )
    return result


def by_resource(store: Store, status: str | None = None) -> dict[str, StoredFinding]:
    return {item.resource_id: item for item in store.call(history.findings, status=status)}


def test_a_new_finding_opens_with_its_fields_and_an_audit_entry(store: Store) -> None:
    estimate = Estimate(12.345, "storage x price", "estimated")
    (stored,) = audit_run(store, at(0), [finding("br-1", estimate=estimate)])
    assert stored.status == "open"
    assert stored.first_seen == stored.last_seen == encode_time(at(0))
    assert stored.action.as_json() == {"type": "delete"}
    assert stored.evidence == {"last_activity": "2026-09-01"}
    assert (stored.estimate_usd, stored.estimate_kind) == (12.35, "estimated")
    assert stored.estimated_monthly_savings_usd == 12.35
    assert stored.estimate == Estimate(12.35, "storage x price", "estimated")
    assert stored.first_run_id == stored.last_run_id == 1
    opened = [entry for entry in store.call(audit_log.entries) if entry.event == "finding.opened"]
    assert [(entry.subject, entry.run_id) for entry in opened] == [(f"finding:{stored.id}", 1)]
    assert opened[0].details["resource_id"] == "br-1"


def test_an_estimates_kind_and_cost_parts_are_stored_and_read_back(store: Store) -> None:
    parts = (CostPart("compute_floor:ep-1", 19.35), CostPart("storage:br-1", 3.43))
    estimate = Estimate(22.78, "floor and storage", "measured", parts)
    (returned,) = audit_run(store, at(0), [finding("br-1", estimate=estimate)])
    stored = store.call(history.finding, returned.id)
    assert stored == returned
    assert stored.estimate == estimate


def test_re_running_is_idempotent_and_refreshes_what_changed(store: Store) -> None:
    audit_run(store, at(0), [finding("br-1")])
    audit_run(store, at(1), [finding("br-1")])
    (again,) = audit_run(
        store,
        at(2),
        [finding("br-1", fingerprint="fp-2", evidence={"size": 5}, estimate=Estimate(1.0, "m"))],
    )
    assert len(store.call(history.findings, status=None)) == 1
    assert again.first_seen == encode_time(at(0))
    assert again.last_seen == encode_time(at(2))
    assert (again.fingerprint, again.evidence, again.estimate_usd) == ("fp-2", {"size": 5}, 1.0)
    assert (again.first_run_id, again.last_run_id, again.reopen_count) == (1, 3, 0)
    events = [
        entry.event for entry in store.call(audit_log.entries) if entry.event.startswith("finding")
    ]
    assert events == ["finding.opened", "finding.changed"]
    assert [run.findings_opened for run in store.call(history.latest_runs)] == [0, 0, 1]


def test_a_finding_that_no_longer_matches_is_resolved(store: Store) -> None:
    audit_run(store, at(0), [finding("br-1"), finding("br-2")])
    result = audit_run(store, at(1), [finding("br-2")])
    assert [(item.resource_id, item.status) for item in result] == [
        ("br-2", "open"),
        ("br-1", "resolved"),
    ]
    resolved = by_resource(store, "resolved")["br-1"]
    assert resolved.resolved_at == encode_time(at(1))
    assert (resolved.resolved_run_id, resolved.last_run_id) == (2, 1)
    assert store.call(history.run_record, 2).findings_resolved == 1
    (entry,) = [
        entry for entry in store.call(audit_log.entries) if entry.event == "finding.resolved"
    ]
    assert (entry.subject, entry.run_id) == (f"finding:{resolved.id}", 2)


def test_a_resolved_finding_that_matches_again_reopens_keeping_first_seen(store: Store) -> None:
    audit_run(store, at(0), [finding("br-1")])
    audit_run(store, at(1), [])
    (reopened,) = audit_run(store, at(2), [finding("br-1")])
    assert reopened.status == "open"
    assert reopened.first_seen == encode_time(at(0))
    assert reopened.reopened_at == reopened.status_changed_at == encode_time(at(2))
    assert (reopened.reopen_count, reopened.resolved_at, reopened.resolved_run_id) == (
        1,
        None,
        None,
    )
    assert store.call(history.run_record, 3).findings_reopened == 1
    events = [
        entry.event for entry in store.call(audit_log.entries) if entry.event.startswith("finding")
    ]
    assert events == ["finding.opened", "finding.resolved", "finding.reopened"]


def test_a_suppressed_finding_stays_suppressed_whether_seen_or_not(store: Store) -> None:
    (stored,) = audit_run(store, at(0), [finding("br-1")])
    store.call(history.suppress, stored.id, actor="alice", reason="kept for the demo", now=at(0.5))
    (seen,) = audit_run(store, at(1), [finding("br-1", fingerprint="fp-2")])
    assert (seen.status, seen.last_seen, seen.fingerprint) == (
        "suppressed",
        encode_time(at(1)),
        "fp-2",
    )
    audit_run(store, at(2), [])
    assert store.call(history.finding, stored.id).status == "suppressed"
    assert store.call(history.findings) == []
    unsuppressed = store.call(
        history.unsuppress, stored.id, actor="alice", reason="demo over", now=at(3)
    )
    assert unsuppressed.status == "open"
    suppression = store.call(audit_log.entries, subject=f"finding:{stored.id}")
    assert [(entry.event, entry.actor) for entry in suppression if entry.actor == "alice"] == [
        ("finding.suppressed", "alice"),
        ("finding.unsuppressed", "alice"),
    ]


def test_only_a_suppressed_finding_can_be_unsuppressed(store: Store) -> None:
    (stored,) = audit_run(store, at(0), [finding("br-1")])
    audit_run(store, at(1), [])
    with pytest.raises(StoreError, match="is resolved, not suppressed"):
        store.call(history.unsuppress, stored.id, actor="alice", reason="oops", now=at(2))


def test_findings_of_policies_that_did_not_run_are_untouched(store: Store) -> None:
    audit_run(
        store,
        at(0),
        [finding("br-1"), finding("7", policy=KEYS, resource_type="api_key")],
        policies=(STALE, KEYS),
    )
    audit_run(store, at(1), [], policies=(STALE,))
    stored = by_resource(store, None)
    assert (stored["br-1"].status, stored["7"].status) == ("resolved", "open")
    assert stored["7"].last_seen == encode_time(at(0))


def test_findings_in_organizations_the_sweep_did_not_cover_are_untouched(store: Store) -> None:
    audit_run(
        store,
        at(0),
        [finding("br-a"), finding("br-b", org_id=OTHER_ORG, project_id="pr-b")],
        swept=snapshot(org_ids=["org-a", OTHER_ORG]),
    )
    audit_run(store, at(1), [], swept=snapshot(org_ids=["org-a"]))
    stored = by_resource(store, None)
    assert (stored["br-a"].status, stored["br-b"].status) == ("resolved", "open")


def test_an_incomplete_sweep_resolves_nothing_in_the_part_it_could_not_read(store: Store) -> None:
    before = [
        finding("br-1", project_id="pr-1"),
        finding("br-2", project_id="pr-2"),
        finding("ep-2", policy="idle", resource_type="endpoint", project_id="pr-2"),
        finding("pr-2", policy="empty-projects", resource_type="project", project_id="pr-2"),
        finding("7", policy=KEYS, resource_type="api_key", project_id=None),
    ]
    policies = (STALE, "idle", "empty-projects", KEYS)
    audit_run(store, at(0), before, policies=policies)
    before_rows = by_resource(store)
    unreadable = snapshot(
        incomplete=[
            IncompletePart("branches", "HTTP 503 after 5 attempts", "org-a", "pr-2"),
            IncompletePart("api_keys", "HTTP 500", "org-a"),
        ]
    )
    audit_run(store, at(1), [], swept=unreadable, policies=policies)
    after = by_resource(store, None)
    assert after["br-1"].status == "resolved"
    assert after["pr-2"].status == "resolved"  # the project itself was read
    for kept in ("br-2", "ep-2", "7"):
        assert after[kept] == before_rows[kept], kept
    assert store.call(history.run_record, 2).incomplete_parts[0]["project_id"] == "pr-2"


def test_when_the_organization_list_failed_nothing_is_resolved(store: Store) -> None:
    audit_run(store, at(0), [finding("br-1")])
    failed = snapshot(incomplete=[IncompletePart("organizations", "HTTP 500")])
    audit_run(store, at(1), [], swept=failed)
    assert by_resource(store)["br-1"].status == "open"


def test_personal_keys_resolve_only_when_the_personal_key_list_was_read(store: Store) -> None:
    personal = finding("7", policy=KEYS, resource_type="api_key", org_id=None, project_id=None)
    audit_run(store, at(0), [personal], policies=(KEYS,))
    org_key_sweep = snapshot(keys=[(9, "organization", "org-a")])
    audit_run(store, at(1), [], swept=org_key_sweep, policies=(KEYS,))
    assert by_resource(store)["7"].status == "open"
    personal_sweep = snapshot(keys=[(8, "personal", None)])
    audit_run(store, at(2), [], swept=personal_sweep, policies=(KEYS,))
    assert by_resource(store, "resolved")["7"].resolved_at == encode_time(at(2))


def test_a_failing_finding_leaves_no_trace_of_the_step(store: Store) -> None:
    run_id = store.call(history.start_run, "audit", at(0))
    swept = snapshot()
    broken = finding("br-2", evidence={"size": object()})
    with pytest.raises(StoreError, match="finding stale-branches/branch/br-2: evidence"):
        store.call(
            history.record_findings, run_id, [finding("br-1"), broken], swept, [STALE], at(0)
        )
    assert store.call(history.findings, status=None) == []
    assert [entry.event for entry in store.call(audit_log.entries)] == ["run.started"]
    assert store.call(history.run_record, run_id).findings_seen == 0


def test_an_error_inside_the_write_rolls_back_everything_written_so_far(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    with Store.open(path) as store:
        audit_run(store, at(0), [finding("br-1")])
        run_id = store.call(history.start_run, "audit", at(1))
        with second_connection(path) as other:
            other.execute(
                "CREATE TRIGGER fail_on_open BEFORE INSERT ON audit_log "
                "WHEN NEW.event = 'finding.opened' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
            )
        with pytest.raises(StoreError, match="disk on fire"):
            store.call(
                history.record_findings, run_id, [finding("br-2")], snapshot(), [STALE], at(1)
            )
        stored = by_resource(store, None)
        assert list(stored) == ["br-1"]
        assert stored["br-1"].status == "open"
        assert store.call(history.run_record, run_id).findings_resolved == 0


@pytest.mark.parametrize(
    ("findings", "policies", "message"),
    [
        ([finding("br-1"), finding("br-1")], [STALE], "br-1: appears twice in one run"),
        ([finding("br-1", policy="other")], [STALE], "'other' is not among the policies"),
        ([finding("br-1", severity="urgent")], [STALE], "unknown severity 'urgent'"),
        ([finding("br-1", resource_type="table")], [STALE], "unknown resource type 'table'"),
    ],
)
def test_it_refuses_findings_it_cannot_keep_faithfully(
    store: Store, findings: list[Finding], policies: list[str], message: str
) -> None:
    run_id = store.call(history.start_run, "audit", at(0))
    with pytest.raises(StoreError, match=message):
        store.call(history.record_findings, run_id, findings, snapshot(), policies, at(0))


def test_findings_are_listed_by_severity_and_filtered(store: Store) -> None:
    audit_run(
        store,
        at(0),
        [
            finding("br-low", severity="low"),
            finding("br-high", severity="high"),
            finding("7", policy=KEYS, resource_type="api_key", severity="medium"),
        ],
        policies=(STALE, KEYS),
    )
    assert [item.resource_id for item in store.call(history.findings)] == ["br-high", "7", "br-low"]
    assert [item.resource_id for item in store.call(history.findings, policy=KEYS)] == ["7"]
    assert store.call(history.findings, status="resolved") == []
    with pytest.raises(StoreError, match="unknown finding status 'closed'"):
        store.call(history.findings, status="closed")


def test_secrets_never_reach_the_database(tmp_path: Path) -> None:
    secret = "napi_supersecretvalue"
    leaky = finding(
        "br-1",
        evidence={
            "token": secret,
            "nested": [{"Authorization": f"Bearer {secret}"}],
            "passwordless_access": True,
        },
    )
    swept = snapshot()
    key = ApiKey.from_api({"id": 7, "name": "ci", "Api_Key_Value": secret, "headers": [secret]})
    swept.api_keys.append(KeyRecord(key, "personal", None))
    path = tmp_path / "governor.db"
    with Store.open(path) as store:
        run_id = store.call(history.start_run, "audit", at(0))
        store.call(history.record_snapshot, run_id, swept, at(0))
        (stored,) = store.call(history.record_findings, run_id, [leaky], swept, [STALE], at(0))
        store.call(
            audit_log.record, "note", "run:1", {"db_password": secret}, actor="alice", run_id=run_id
        )
        store.call(
            history.finish_run,
            run_id,
            finished_at=at(0),
            complete=False,
            requests=1,
            errors=[{"kind": "api_keys", "reason": "HTTP 401", "secret": secret}],
        )
        assert stored.evidence == {
            "token": "[redacted]",
            "nested": [{"Authorization": "[redacted]"}],
            "passwordless_access": True,
        }
        (stored_key,) = store.call(resource_rows.listed, "api_key")
        assert stored_key.raw["Api_Key_Value"] == stored_key.raw["headers"] == "[redacted]"
    with second_connection(path) as other:
        dump = "\n".join(other.iterdump())
    assert "napi_" not in dump
    assert b"napi_" not in path.read_bytes()


def test_what_record_findings_returns_equals_a_fresh_read_of_each_row(store: Store) -> None:
    estimate = Estimate(3.456, "m", "measured", (CostPart("compute_floor:ep-1", 3.456),))
    audit_run(store, at(0), [finding("br-1"), finding("br-2"), finding("br-3")])
    store.call(history.suppress, 3, actor="alice", reason="kept", now=at(0.5))
    changed = audit_run(store, at(1), [finding("br-2", fingerprint="fp-2", estimate=estimate)])
    assert changed == [
        store.call(history.finding, item.id) for item in changed
    ]  # changed, then resolved
    returned = audit_run(
        store,
        at(2),
        [finding("br-1"), finding("br-3"), finding("br-4", action={"type": "none"})],
    )
    assert [(item.resource_id, item.status) for item in returned] == [
        ("br-1", "open"),  # reopened
        ("br-3", "suppressed"),  # refreshed, still suppressed
        ("br-4", "open"),  # opened
        ("br-2", "resolved"),
    ]
    assert returned == [store.call(history.finding, item.id) for item in returned]


def test_a_stored_row_has_the_fields_of_a_stored_finding_in_order() -> None:
    from dataclasses import fields

    from governor.store.finding_queries import StoredRow

    assert StoredRow._fields == tuple(field.name for field in fields(StoredFinding))
