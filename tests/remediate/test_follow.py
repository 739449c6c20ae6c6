"""Following a mutation's operations, in virtual time against scripted answers.

Moved here from the tests of ``neon.operations.wait_for_operations`` (deleted: nothing
called it): the same behaviours, pinned on ``follow_operations``, which the executor uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from governor.neon.models import Operation
from governor.remediate.follow import Followed, follow_operations
from tests.neon.helpers import fast_client, operation_json
from tests.neon.scripted_server import Reply, ScriptedServer, scripted_server
from tests.neon.virtual_time import SteppingClock

OPERATION_ID = "0a1b2c3d-0000-4000-8000-000000000001"
OPERATION_PATH = f"/projects/wispy-bird-12345678/operations/{OPERATION_ID}"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


def started() -> Operation:
    return Operation.from_api(operation_json(OPERATION_ID, "scheduling"))


def answers(*statuses: str, error: str | None = None) -> list[Reply]:
    extra = {"error": error} if error else {}
    return [Reply(200, {"operation": operation_json(OPERATION_ID, s, **extra)}) for s in statuses]


async def follow(
    server: ScriptedServer,
    operations: list[Operation],
    *,
    timeout_seconds: float = 300.0,
    poll_initial: float = 0.5,
    poll_max: float = 5.0,
) -> tuple[Followed, SteppingClock]:
    clock = SteppingClock()
    async with fast_client(server.base_url, clock=clock, sleep=clock.sleep) as client:
        followed = await follow_operations(
            client,
            operations,
            timeout_seconds=timeout_seconds,
            now=lambda: NOW,
            poll_initial=poll_initial,
            poll_max=poll_max,
        )
    return followed, clock


@pytest.mark.anyio
async def test_it_returns_the_finished_operations(server: ScriptedServer) -> None:
    server.script("GET", OPERATION_PATH, answers("running", "finished"))

    followed, _ = await follow(server, [started()])

    assert followed.outcome == "succeeded"
    assert [operation.status for operation in followed.operations] == ["finished"]
    assert len(server.requests_to("GET", OPERATION_PATH)) == 2


@pytest.mark.anyio
async def test_skipped_counts_as_success_and_final_operations_are_not_polled(
    server: ScriptedServer,
) -> None:
    done = Operation.from_api(operation_json(OPERATION_ID, "skipped"))

    followed, _ = await follow(server, [done])

    assert (followed.outcome, followed.operations) == ("succeeded", [done])
    assert server.received == []


@pytest.mark.anyio
async def test_unknown_and_cancelling_statuses_keep_polling_with_growing_intervals(
    server: ScriptedServer,
) -> None:
    server.script(
        "GET", OPERATION_PATH, answers("running", "cancelling", "a_status_from_2027", "finished")
    )

    followed, clock = await follow(server, [started()], poll_initial=0.5, poll_max=2.0)

    assert followed.operations[0].status == "finished"
    polls = [delay for delay in clock.slept if delay >= 0.5]
    assert polls == [0.5, 1.0, 2.0, 2.0]


@pytest.mark.anyio
async def test_a_failed_operation_ends_failed_naming_its_id_action_status_and_error(
    server: ScriptedServer,
) -> None:
    server.script(
        "GET", OPERATION_PATH, answers("running", "failed", error="compute start timed out")
    )

    followed, _ = await follow(server, [started()])

    assert followed.outcome == "failed"
    assert followed.error is not None
    for expected in (OPERATION_ID, "suspend_compute", "failed", "compute start timed out"):
        assert expected in followed.error
    assert [operation.status for operation in followed.operations] == ["failed"]


@pytest.mark.anyio
@pytest.mark.parametrize("status", ["error", "cancelled"])
async def test_error_and_cancelled_are_failures_too(server: ScriptedServer, status: str) -> None:
    server.script("GET", OPERATION_PATH, answers(status))

    followed, _ = await follow(server, [started()])

    assert followed.outcome == "failed"
    assert status in (followed.error or "")


@pytest.mark.anyio
async def test_it_gives_up_after_the_timeout(server: ScriptedServer) -> None:
    server.script("GET", OPERATION_PATH, answers("running"))

    followed, clock = await follow(server, [started()], timeout_seconds=20, poll_max=5)

    assert followed.outcome == "timed_out"
    assert OPERATION_ID in (followed.error or "")
    assert followed.operations[0].status == "running"
    assert clock.now - 1000.0 == pytest.approx(20.0, abs=0.1)
