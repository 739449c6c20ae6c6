"""Operations Neon fails and retries: ``failed`` with ``retry_at`` is not the end.

The timeline with 2 s operations and a 3 s retry delay: scheduling 0-0.4 s, running
0.4-2 s, failed 2-5 s (retry_at = 5 s), scheduling 5-5.4 s, running 5.4-7 s, finished.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from governor.simulator.mutations import LOCKED_MESSAGE
from governor.simulator.timestamps import format_timestamp, parse_timestamp
from tests.simulator.conftest import Api, timed_options
from tests.simulator.worlds import TINY_PROJECT_ID

TINY = f"/projects/{TINY_PROJECT_ID}"
RETRYING = {"operation_retry_fraction": 1.0, "operation_retry_seconds": 3.0}


def operation(api: Api, operation_id: str) -> dict[str, Any]:
    result: dict[str, Any] = api.get(f"{TINY}/operations/{operation_id}").json()["operation"]
    return result


def suspend_preview(api: Api) -> str:
    answer = api.call("POST", f"{TINY}/endpoints/ep-preview-1/suspend")
    assert answer.status_code == 200
    (started,) = answer.json()["operations"]
    return str(started["id"])


def preview_state(api: Api) -> str:
    return str(api.get(f"{TINY}/endpoints/ep-preview-1").json()["endpoint"]["current_state"])


def test_a_retried_operation_fails_waits_for_retry_at_runs_again_and_then_applies(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(timed_options(**RETRYING))
    start = api.clock.now()
    operation_id = suspend_preview(api)

    api.clock.advance(2.5)
    failed = operation(api, operation_id)
    assert failed["status"] == "failed"
    assert failed["failures_count"] == 1
    assert failed["error"]
    assert failed["retry_at"] == format_timestamp(start + timedelta(seconds=5))
    assert parse_timestamp(failed["retry_at"]) > api.clock.now()
    assert failed["updated_at"] == format_timestamp(start + timedelta(seconds=2))
    assert preview_state(api) == "active"

    api.clock.advance(3.0)  # 5.5 s: retried
    assert operation(api, operation_id)["status"] == "running"
    assert preview_state(api) == "active"

    api.clock.advance(1.5)  # 7 s: finished, and only now suspended
    finished = operation(api, operation_id)
    assert (finished["status"], finished["failures_count"]) == ("finished", 1)
    assert finished["total_duration_ms"] == 3200  # two runs of 1.6 s
    endpoint = api.get(f"{TINY}/endpoints/ep-preview-1").json()["endpoint"]
    assert endpoint["current_state"] == "idle"
    assert endpoint["suspended_at"] == format_timestamp(start + timedelta(seconds=7))


def test_the_project_stays_locked_while_a_retry_is_pending(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(timed_options(**RETRYING))
    suspend_preview(api)
    api.clock.advance(3.0)  # failed, retry pending
    locked = api.call("PATCH", f"{TINY}/branches/br-dev-1", json={"branch": {"name": "x"}})
    assert locked.status_code == 423
    assert locked.json()["message"] == LOCKED_MESSAGE
    api.clock.advance(4.0)
    renamed = api.call("PATCH", f"{TINY}/branches/br-dev-1", json={"branch": {"name": "x"}})
    assert renamed.status_code == 200


def test_failures_count_grows_with_each_failed_attempt(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api(timed_options(**RETRYING, operation_retry_failures=2))
    operation_id = suspend_preview(api)
    api.clock.advance(2.0)
    assert operation(api, operation_id)["failures_count"] == 1
    api.clock.advance(5.0)  # 7 s: the second attempt failed too
    second = operation(api, operation_id)
    assert (second["status"], second["failures_count"]) == ("failed", 2)
    api.clock.advance(5.0)  # 12 s: the third attempt finished
    assert operation(api, operation_id)["status"] == "finished"
    assert preview_state(api) == "idle"


def test_a_chain_waits_for_its_retried_operation_before_the_next_one_runs(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(timed_options(**RETRYING))
    operations = api.call("DELETE", f"{TINY}/branches/br-preview-1").json()["operations"]
    first, second = (item["id"] for item in operations)
    api.clock.advance(4.0)
    assert [operation(api, first)["status"], operation(api, second)["status"]] == [
        "failed",
        "scheduling",
    ]
    api.clock.advance(10.0)  # the second is retried once too: done at 7 + 7 = 14 s
    assert [operation(api, first)["status"], operation(api, second)["status"]] == [
        "finished",
        "finished",
    ]
    assert api.get(f"{TINY}/branches/br-preview-1").status_code == 404


def test_optional_fields_appear_only_when_set_and_a_final_failure_has_no_retry_at(
    tiny_api: Callable[..., Api],
) -> None:
    plain = tiny_api(timed_options())
    operation_id = suspend_preview(plain)
    plain.clock.advance(2.0)
    finished = operation(plain, operation_id)
    assert finished["status"] == "finished"
    assert "retry_at" not in finished
    assert "error" not in finished

    final = tiny_api(timed_options(operation_failure_fraction=1.0, operation_retry_fraction=1.0))
    operation_id = suspend_preview(final)
    final.clock.advance(10.0)
    failed = operation(final, operation_id)
    assert (failed["status"], failed["failures_count"]) == ("failed", 1)
    assert failed["error"]
    assert "retry_at" not in failed
    assert preview_state(final) == "active"
    assert final.call("POST", f"{TINY}/endpoints/ep-preview-1/suspend").status_code == 200
