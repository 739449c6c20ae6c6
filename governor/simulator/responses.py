"""What a simulated request produces: the response and API errors (the log record lives in
governor.simulator.request_log and is re-exported here for older imports)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from governor.simulator.request_log import RequestRecord

__all__ = [
    "CLOUDFLARE_524_PAGE",
    "JSON_CONTENT_TYPE",
    "ApiError",
    "RequestRecord",
    "SimResponse",
    "encode_json",
    "general_error_body",
]

JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class SimResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


class ApiError(Exception):
    """An answer in Neon's GeneralError shape, raised by handlers."""

    def __init__(self, status: int, message: str, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def encode_json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def general_error_body(message: str, code: str, request_id: str) -> bytes:
    return encode_json({"code": code, "message": message, "request_id": request_id})


CLOUDFLARE_524_PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head>
<title>console.neon.tech | 524: A timeout occurred</title>
<meta charset="UTF-8" />
</head>
<body>
<div id="cf-wrapper">
<h1><span class="cf-error-type">Error</span> <span class="cf-error-code">524</span></h1>
<h2>A timeout occurred</h2>
<p>The origin web server timed out responding to this request.</p>
<p>Cloudflare Ray ID: <strong>{ray_id}</strong></p>
</div>
</body>
</html>
"""
