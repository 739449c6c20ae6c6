"""Crash reconcile takes over only what a dead process left, and a holder that lost its row
stops: against the simulator over loopback, in stepping time.

A row is given the owner a process would record (``ownership.holder_of``): a live child
process, one that has exited, another boot, another host, or an executor of this very
process (a second daemon generation). Rival writes are made through the same store at
the exact journal step they race with (``Rival``), as a second process would make them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import pytest

from governor.remediate import ownership
from governor.remediate.cycle import new_remediation
from governor.remediate.execute import send_bounds
from governor.remediate.reconcile import reconcile
from governor.store import Store, audit_log, remediations
from governor.store.encoding import decode_time, encode_time
from governor.store.remediations import RemediationRecord
from tests.remediate.harness import Rig, rig
from tests.remediate.world import NEVER_SUSPENDS, PERSONAL_TOKEN, PROJECT_ID, STALE_CHILD

pytestmark = pytest.mark.anyio
ENDPOINT_PATH = f"/projects/{PROJECT_ID}/endpoints/{NEVER_SUSPENDS}"


@contextmanager
def live_process() -> Iterator[int]:
    child = subprocess.Popen(["sleep", "300"])
    try:
        yield child.pid
    finally:
        child.kill()
        child.wait(timeout=30)


def exited_process() -> int:
    child = subprocess.Popen(["true"])
    child.wait(timeout=30)
    return child.pid


async def _planned(r: Rig, resource_id: str) -> RemediationRecord:
    plan = await r.plan()
    item = next(i for i in plan.items if i.resource_id == resource_id)
    record, _ = await r.store.run(
        remediations.add, new_remediation(item, "planned", None, None), now=r.now()
    )
    return record


async def _held(r: Rig, resource_id: str, owner: str, *, intent: bool = True) -> int:
    """A row as the process ``owner`` leaves it after claiming it (and journaling its intent)."""
    record = await _planned(r, resource_id)
    changes: dict[str, Any] = {"owner": owner}
    if intent:
        changes["intent_at"] = encode_time(r.now())
        changes["send_deadline"] = encode_time(r.now())
    moved = await r.store.run(
        remediations.move,
        record.id,
        expected=["planned"],
        to="executing",
        now=r.now(),
        changes=changes,
    )
    assert moved is not None
    return record.id


def _sent(r: Rig, resource_id: str) -> list[tuple[str, str, object]]:
    return [m for m in r.mutations() if m[1].endswith(resource_id)]


def _owner(pid: int, **changes: Any) -> str:
    return replace(ownership.holder_of(pid, "their-executor"), **changes).encode()


async def test_reconcile_leaves_a_row_held_by_a_live_process_alone(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        with live_process() as pid:
            owner = _owner(pid)
            remediation_id = await _held(r, NEVER_SUSPENDS, owner)
            [outcome] = await reconcile(r.executor())
            assert outcome.state == "executing"
            host = ownership.holder_of(pid, "").host
            assert outcome.reason == f"left alone: held by pid {pid} on {host}, which is running"
            assert _sent(r, NEVER_SUSPENDS) == []
            left = await r.store.run(remediations.get, remediation_id)
            assert (left.state, left.owner) == ("executing", owner)


async def test_reconcile_takes_over_a_row_whose_process_has_exited(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        remediation_id = await _held(r, NEVER_SUSPENDS, _owner(exited_process()))
        [outcome] = await reconcile(r.executor())
        assert outcome.state == "succeeded"
        assert len(_sent(r, NEVER_SUSPENDS)) == 1
        final = await r.store.run(remediations.get, remediation_id)
        assert final.owner is not None
        assert json.loads(final.owner)["pid"] == os.getpid()
        events = [e.event for e in await r.store.run(audit_log.entries)]
        assert "remediation_taken_over" in events


async def test_reconcile_takes_over_a_row_held_before_the_machine_restarted(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        with live_process() as pid:  # the same pid, alive again after a reboot, is not it
            owner = _owner(pid, boot="0" * 8 + "-another-boot")
            await _held(r, NEVER_SUSPENDS, owner)
            [outcome] = await reconcile(r.executor())
        assert outcome.state == "succeeded"
        assert len(_sent(r, NEVER_SUSPENDS)) == 1


async def test_a_reused_pid_does_not_keep_a_dead_owner_alive(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        with live_process() as pid:
            await _held(r, NEVER_SUSPENDS, _owner(pid, started="1"))  # another start time
            [outcome] = await reconcile(r.executor())
        assert outcome.state == "succeeded"
        assert len(_sent(r, NEVER_SUSPENDS)) == 1


async def test_a_row_held_on_another_host_is_left_alone(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await _held(r, NEVER_SUSPENDS, _owner(exited_process(), host="elsewhere.invalid"))
        [outcome] = await reconcile(r.executor())
        assert outcome.state == "executing"
        assert "another host" in outcome.reason
        assert _sent(r, NEVER_SUSPENDS) == []


async def test_a_second_generation_in_the_same_process_leaves_a_running_executors_row_alone(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        with ownership.holding() as running:  # the old generation's executor, mid-send
            remediation_id = await _held(r, NEVER_SUSPENDS, running.encode())
            [outcome] = await reconcile(r.executor())
            assert outcome.state == "executing"
            assert "another executor of this process" in outcome.reason
            assert _sent(r, NEVER_SUSPENDS) == []
        # once that executor has ended without finishing, its row is taken over
        [outcome] = await reconcile(r.executor())
        assert outcome.state == "succeeded"
        assert (await r.store.run(remediations.get, remediation_id)).terminal


async def test_two_reconciles_never_both_take_over_one_row(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        dead = _owner(exited_process())
        remediation_id = await _held(r, NEVER_SUSPENDS, dead)
        takes = [
            await r.store.run(
                remediations.take_over,
                remediation_id,
                state="executing",
                owner_was=dead,
                owner=f"reconciler-{n}",
                now=r.now(),
                reason="test",
            )
            for n in range(2)
        ]
        assert takes[0] is not None
        assert takes[1] is None
        assert (await r.store.run(remediations.get, remediation_id)).owner == "reconciler-0"


# The executor stops when its row is no longer its own ------------------------------------

P = ParamSpec("P")
R = TypeVar("R")


class Rival:
    """A store whose journal writes give another process its turn first (once)."""

    def __init__(self, store: Store, when: Callable[[str, dict[str, Any]], bool]) -> None:
        self._store, self._when = store, when
        self.action: Callable[[], Awaitable[None]] | None = None
        self.done = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def run(
        self,
        work: Callable[Concatenate[sqlite3.Connection, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """The store's ``run``, with ``step`` first before each journal write."""
        if work in (remediations.progress, remediations.move):
            await self._step(work.__name__, dict(kwargs))
        return await self._store.run(work, *args, **kwargs)

    async def _step(self, kind: str, kwargs: dict[str, Any]) -> None:
        if not self.done and self.action is not None and self._when(kind, kwargs):
            self.done = True
            await self.action()


def _intent(kind: str, kwargs: dict[str, Any]) -> bool:
    return kind == "progress" and "intent_at" in kwargs.get("changes", {})


def _operations(kind: str, kwargs: dict[str, Any]) -> bool:
    return kind == "progress" and kwargs.get("state") == "waiting_operations"


async def _take_over(r: Rig, remediation_id: int) -> str:
    record = await r.store.run(remediations.get, remediation_id)
    taken = await r.store.run(
        remediations.take_over,
        remediation_id,
        state=record.state,
        owner_was=record.owner,
        owner="another-process",
        now=r.now(),
        reason="a reconcile that judged it dead",
    )
    assert taken is not None
    return "another-process"


async def test_an_executor_whose_row_was_taken_over_before_sending_sends_nothing(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        record = await _planned(r, NEVER_SUSPENDS)
        rival = Rival(r.store, _intent)

        async def take() -> None:
            await _take_over(r, record.id)

        rival.action = take
        outcome = await r.executor(store=rival).execute_one(record)
        assert rival.done
        assert _sent(r, NEVER_SUSPENDS) == []
        assert "nothing more sent" in outcome.reason
        held = await r.store.run(remediations.get, record.id)
        assert (held.state, held.owner, held.intent_at) == ("executing", "another-process", None)


async def test_an_executor_whose_row_was_moved_away_before_sending_sends_nothing(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        record = await _planned(r, NEVER_SUSPENDS)
        rival = Rival(r.store, _intent)

        async def skip() -> None:
            moved = await r.store.run(
                remediations.move,
                record.id,
                expected=["executing"],
                to="skipped",
                now=r.now(),
                reason="by another",
            )
            assert moved is not None

        rival.action = skip
        outcome = await r.executor(store=rival).execute_one(record)
        assert rival.done
        assert _sent(r, NEVER_SUSPENDS) == []
        assert "nothing more sent" in outcome.reason
        final = await r.store.run(remediations.get, record.id)
        assert (final.state, final.reason) == ("skipped", "by another")


async def test_an_executor_taken_over_while_following_records_no_outcome_of_its_own(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        record = await _planned(r, STALE_CHILD)
        rival = Rival(r.store, _operations)

        async def take() -> None:
            await _take_over(r, record.id)

        rival.action = take
        outcome = await r.executor(store=rival).execute_one(record)
        assert rival.done
        assert len(_sent(r, STALE_CHILD)) == 1
        assert outcome.state == "waiting_operations"
        held = await r.store.run(remediations.get, record.id)
        assert (held.state, held.owner, held.finished_at) == (
            "waiting_operations",
            "another-process",
            None,
        )
        ended = [
            e
            for e in await r.store.run(audit_log.entries)
            if e.subject == f"remediation:{record.id}" and e.event in ("remediation_succeeded",)
        ]
        assert ended == []


# A request still on its way ---------------------------------------------------------------


async def test_the_intent_records_until_when_its_request_may_still_land(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        record = await _planned(r, NEVER_SUSPENDS)
        outcome = await r.executor().execute_one(record)
        assert outcome.state == "succeeded"
        final = await r.store.run(remediations.get, record.id)
        assert final.intent_at is not None
        assert final.send_deadline is not None
        window, margin = send_bounds(r.client)
        lands_by = decode_time(final.intent_at) + timedelta(seconds=window + margin)
        assert decode_time(final.send_deadline) == lands_by


async def test_reconcile_after_a_kill_waits_for_the_in_flight_request_before_looking(
    tmp_path: Path,
) -> None:
    """The killed process's PATCH reaches Neon 20 s after its intent (Neon slow under load);
    a restart looks at once. It must not send the change a second time."""
    async with rig(tmp_path) as r:
        remediation_id = await _held(r, NEVER_SUSPENDS, _owner(exited_process()), intent=False)
        window, margin = send_bounds(r.client)
        assert window + margin > 20
        intent = r.now()
        await r.store.run(
            remediations.progress,
            remediation_id,
            state="executing",
            now=intent,
            changes={
                "intent_at": encode_time(intent),
                "send_deadline": encode_time(intent + timedelta(seconds=window + margin)),
            },
        )
        record = await r.store.run(remediations.get, remediation_id)
        lands_at = r.clock.now + 20
        landed: list[int] = []
        sleep = r.client.pacer.sleep

        def land() -> None:  # the slow request arrives, whatever anyone does meanwhile
            body = json.dumps({"endpoint": record.change.fields}).encode()
            headers = {"Authorization": f"Bearer {PERSONAL_TOKEN}"}
            answer = r.simulator.handle("PATCH", f"/api/v2{ENDPOINT_PATH}", {}, headers, body)
            landed.append(answer.status)

        async def sleep_while_the_request_travels(seconds: float) -> None:
            await sleep(seconds)
            if not landed and r.clock.now >= lands_at:
                land()

        r.client.pacer.sleep = sleep_while_the_request_travels  # type: ignore[method-assign]
        [outcome] = await reconcile(r.executor())
        if not landed:
            land()
        assert len(_sent(r, NEVER_SUSPENDS)) == 1, _sent(r, NEVER_SUSPENDS)
        assert outcome.state == "succeeded"
        reasons = [
            e.details.get("reason")
            for e in await r.store.run(audit_log.entries)
            if e.subject == f"remediation:{remediation_id}"
        ]
        assert "adopted after a restart" in reasons


async def test_an_executor_after_an_uncertain_answer_waits_for_its_request_before_looking(
    tmp_path: Path,
) -> None:
    """Neon's edge answers 524 while the origin still works on the PATCH, which lands a
    moment later: the executor must look only after that, and not send it again."""
    async with rig(tmp_path) as r:
        record = await _planned(r, NEVER_SUSPENDS)
        quiet = r.simulator.options
        landed: list[int] = []
        rival = Rival(r.store, _intent)

        async def edge_times_out() -> None:  # the next request is cut off by the edge
            r.simulator.options = replace(quiet, fail_524=1.0)

        answer_of = r.simulator.answer

        def answer_once(ticket: Any) -> Any:  # only that one request: the edge recovers
            answer = answer_of(ticket)
            r.simulator.options = quiet
            return answer

        r.simulator.answer = answer_once  # type: ignore[method-assign]

        def land() -> None:
            body = json.dumps({"endpoint": record.change.fields}).encode()
            headers = {"Authorization": f"Bearer {PERSONAL_TOKEN}"}
            answer = r.simulator.handle("PATCH", f"/api/v2{ENDPOINT_PATH}", {}, headers, body)
            landed.append(answer.status)

        sleep = r.client.pacer.sleep

        async def sleep_while_the_origin_works(seconds: float) -> None:
            await sleep(seconds)
            if not landed:
                land()

        rival.action = edge_times_out
        r.client.pacer.sleep = sleep_while_the_origin_works  # type: ignore[method-assign]
        outcome = await r.executor(store=rival).execute_one(record)
        if not landed:
            land()
        assert landed == [200]  # (a second send before it would have locked it out: 423)
        assert outcome.state == "succeeded", outcome.reason
        assert len(_sent(r, NEVER_SUSPENDS)) == 1, _sent(r, NEVER_SUSPENDS)
