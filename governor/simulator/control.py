"""Test controls under ``/_simulator/`` (also under ``/api/v2/_simulator/``), not Neon paths.

Why: a test must read what the governor sent and stage what the governor does not do
itself (Neon's own operations, a locked project). They need no key, are never limited,
faulted or logged, and each has an in-process twin on Simulator:

- ``GET /_simulator/requests[?since=N]`` → ``{"requests": [...], "next": M}``
  (``Simulator.logged_requests``); ``next`` is the ``since`` for the next read.
- ``POST /_simulator/projects/{project_id}/operations`` with
  ``{"action": "check_availability", "seconds": 2.0, "endpoint_id"?, "branch_id"?}``
  → 201 ``{"operation": {...}}`` (``Simulator.start_system_operation``).
- ``POST /_simulator/faults`` with ``{"fail_423"?: fraction, "refuse_next_mutations"?: n,
  "clock_skew_seconds"?: s}`` → 200 (``Simulator.set_fail_423``,
  ``Simulator.refuse_next_mutations``, ``Simulator.set_clock_skew``).
- ``GET /_simulator/bill?org_id=&from=&to=`` → the organization's reference bill by
  project and line item (``Simulator.bill``, governor.simulator.billing).
- ``POST /_simulator/usage`` with ``{"project_id", "factor", "except_branch_id"?}`` → 200
  ``{"branch_ids": [...]}``: workload drift from now on (``Simulator.set_workload``).
- ``GET /_simulator/usage?from=&to=&branch_id=`` (or ``project_id=``) → ``{"values":
  {metric: raw}}``: what the ledger metered, in raw units (CU-seconds, byte-hours, bytes,
  branch-hours), so a test knows the drop it applied (``Simulator.metered``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from governor.simulator.paging import Query, query_value
from governor.simulator.responses import (
    JSON_CONTENT_TYPE,
    SimResponse,
    encode_json,
    general_error_body,
)
from governor.simulator.routes import relative_path
from governor.simulator.timestamps import parse_timestamp

if TYPE_CHECKING:
    from governor.simulator.simulator import Simulator

CONTROL_PREFIX = "/_simulator"


def is_control_path(path: str) -> bool:
    relative = relative_path(path)
    return relative == CONTROL_PREFIX or relative.startswith(CONTROL_PREFIX + "/")


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def answer(simulator: Simulator, method: str, path: str, query: Query, body: bytes) -> SimResponse:
    """Serve one control request; errors come in Neon's GeneralError shape."""
    segments = [part for part in relative_path(path).split("/") if part][1:]
    try:
        status, payload = _route(simulator, method, segments, query, body)
    except _Refused as error:
        return _error(error.status, error.message)
    except LookupError as error:
        return _error(404, str(error.args[0]) if error.args else "not found")
    except ValueError as error:
        return _error(400, str(error))
    return SimResponse(status, {"Content-Type": JSON_CONTENT_TYPE}, encode_json(payload))


def _route(
    simulator: Simulator, method: str, segments: list[str], query: Query, body: bytes
) -> tuple[int, Any]:
    if segments == ["requests"]:
        _require(method, "GET")
        since = _since(query_value(query, "since"))
        records = simulator.logged_requests(since)
        return 200, {"requests": records, "next": since + len(records)}
    if len(segments) == 3 and segments[0] == "projects" and segments[2] == "operations":
        _require(method, "POST")
        fields = _object(body, {"action", "seconds", "endpoint_id", "branch_id"})
        operation = simulator.start_system_operation(
            segments[1],
            fields.get("action", "check_availability"),
            fields.get("seconds", 2.0),
            endpoint_id=_optional_text(fields, "endpoint_id"),
            branch_id=_optional_text(fields, "branch_id"),
        )
        return 201, {"operation": operation}
    if segments == ["faults"]:
        _require(method, "POST")
        fields = _object(body, {"fail_423", "refuse_next_mutations", "clock_skew_seconds"})
        if "fail_423" in fields:
            fraction = fields["fail_423"]
            if not isinstance(fraction, int | float) or isinstance(fraction, bool):
                raise ValueError(f"fail_423 must be a number, got {fraction!r}")
            simulator.set_fail_423(float(fraction))
        if "refuse_next_mutations" in fields:
            simulator.refuse_next_mutations(fields["refuse_next_mutations"])
        if "clock_skew_seconds" in fields:
            skew = fields["clock_skew_seconds"]
            if not isinstance(skew, int | float) or isinstance(skew, bool):
                raise ValueError(f"clock_skew_seconds must be a number, got {skew!r}")
            simulator.set_clock_skew(float(skew))
        return 200, {"fail_423": simulator.options.fail_423}
    if segments == ["bill"]:
        _require(method, "GET")
        org_id = _required(query, "org_id")
        start, end = _moment(query, "from"), _moment(query, "to")
        return 200, simulator.bill(org_id, start, end)
    if segments == ["usage"] and method == "POST":
        fields = _object(body, {"project_id", "factor", "except_branch_id"})
        factor = fields.get("factor")
        if not isinstance(factor, int | float) or isinstance(factor, bool):
            raise ValueError(f"factor must be a number, got {factor!r}")
        project_id = _optional_text(fields, "project_id")
        if project_id is None:
            raise ValueError("project_id is required")
        changed = simulator.set_workload(
            project_id, float(factor), except_branch_id=_optional_text(fields, "except_branch_id")
        )
        return 200, {"branch_ids": changed}
    if segments == ["usage"]:
        _require(method, "GET")
        start, end = _moment(query, "from"), _moment(query, "to")
        values = simulator.metered(
            start,
            end,
            branch_id=query_value(query, "branch_id"),
            project_id=query_value(query, "project_id"),
        )
        return 200, {"values": values}
    raise _Refused(404, f"no control route {method} /_simulator/{'/'.join(segments)}")


def _required(query: Query, name: str) -> str:
    value = query_value(query, name)
    if not value:
        raise ValueError(f"query parameter {name!r} is required")
    return value


def _moment(query: Query, name: str) -> datetime:
    try:
        return parse_timestamp(_required(query, name))
    except ValueError as error:
        raise ValueError(f"query parameter {name!r}: {error}") from None


def _require(method: str, expected: str) -> None:
    if method != expected:
        raise _Refused(405, f"use {expected} here, not {method}")


def _since(text: str | None) -> int:
    if text is None:
        return 0
    if not text.isdigit():
        raise ValueError(f"since must be a non-negative integer, got {text!r}")
    return int(text)


def _object(body: bytes, allowed: set[str]) -> dict[str, Any]:
    try:
        fields = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValueError("request body is not valid JSON") from None
    if not isinstance(fields, dict):
        raise ValueError("request body must be a JSON object")
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    return fields


def _optional_text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return value


def _error(status: int, message: str) -> SimResponse:
    body = general_error_body(message, "", "")
    return SimResponse(status, {"Content-Type": JSON_CONTENT_TYPE}, body)
