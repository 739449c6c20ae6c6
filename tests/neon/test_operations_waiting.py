"""Waiting for operations, in virtual time against scripted answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from governor.neon.models import Operation
from governor.neon.operations import OperationFailed, OperationTimeout, wait_for_operations
from tests.neon.helpers import fast_client, operation_json
from tests.neon.scripted_server import Reply, ScriptedServer, scripted_server
from tests.neon.virtual_time import SteppingClock

OPERATION_ID = "0a1b2c3d-0000-4000-8000-000000000001"
OPERATION_PATH = f"/projects/wispy-bird-12345678/operations/{OPERATION_ID}"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


def started() -> Operation:
    return Operation.from_api(operation_json(OPERATION_ID, "scheduling"))


def answers(*statuses: str, error: str | None = None) -> list[Reply]:
    extra = {"error": error} if error else {}
    return [Reply(200, {"operation": operation_json(OPERATION_ID, s, **extra)}) for s in statuses]


@pytest.mark.anyio
async def test_it_returns_the_finished_operations(server: ScriptedServer) -> None:
    server.script("GET", OPERATION_PATH, answers("running", "finished"))
    clock = SteppingClock()

    async with fast_client(server.base_url, clock=clock, sleep=clock.sleep) as client:
        final = await wait_for_operations(client, [started()])

    assert [operation.status for operation in final] == ["finished"]
    assert len(server.requests_to("GET", OPERATION_PATH)) == 2


@pytest.mark.anyio
async def test_skipped_counts_as_success_and_terminal_operations_are_not_polled(
    server: ScriptedServer,
) -> None:
    done = Operation.from_api(operation_json(OPERATION_ID, "skipped"))

    async with fast_client(server.base_url) as client:
        final = await wait_for_operations(client, [done])

    assert final == [done]
    assert server.received == []


@pytest.mark.anyio
async def test_unknown_and_cancelling_statuses_keep_polling_with_growing_intervals(
    server: ScriptedServer,
) -> None:
    server.script(
        "GET", OPERATION_PATH, answers("running", "cancelling", "a_status_from_2027", "finished")
    )
    clock = SteppingClock()

    async with fast_client(server.base_url, clock=clock, sleep=clock.sleep) as client:
        final = await wait_for_operations(client, [started()], poll_initial=0.5, poll_max=2.0)

    assert final[0].status == "finished"
    polls = [delay for delay in clock.slept if delay >= 0.5]
    assert polls == [0.5, 1.0, 2.0, 2.0]


@pytest.mark.anyio
async def test_a_failed_operation_raises_naming_its_id_action_status_and_error(
    server: ScriptedServer,
) -> None:
    server.script(
        "GET", OPERATION_PATH, answers("running", "failed", error="compute start timed out")
    )
    clock = SteppingClock()

    async with fast_client(server.base_url, clock=clock, sleep=clock.sleep) as client:
        with pytest.raises(OperationFailed) as caught:
            await wait_for_operations(client, [started()])

    message = str(caught.value)
    for expected in (OPERATION_ID, "suspend_compute", "failed", "compute start timed out"):
        assert expected in message
    assert [operation.status for operation in caught.value.operations] == ["failed"]


@pytest.mark.anyio
@pytest.mark.parametrize("status", ["error", "cancelled"])
async def test_error_and_cancelled_are_failures_too(server: ScriptedServer, status: str) -> None:
    server.script("GET", OPERATION_PATH, answers(status))
    clock = SteppingClock()

    async with fast_client(server.base_url, clock=clock, sleep=clock.sleep) as client:
        with pytest.raises(OperationFailed, match=status):
            await wait_for_operations(client, [started()])


@pytest.mark.anyio
async def test_it_gives_up_after_the_timeout(server: ScriptedServer) -> None:
    server.script("GET", OPERATION_PATH, answers("running"))
    clock = SteppingClock()

    async with fast_client(server.base_url, clock=clock, sleep=clock.sleep) as client:
        start = clock.now
        with pytest.raises(OperationTimeout) as caught:
            await wait_for_operations(client, [started()], timeout_seconds=20, poll_max=5)

    assert OPERATION_ID in str(caught.value)
    assert caught.value.pending[0].status == "running"
    assert clock.now - start == pytest.approx(20.0, abs=0.1)
