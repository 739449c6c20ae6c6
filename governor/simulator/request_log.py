"""Every request the simulator answered, as tests read it: in process, over HTTP, JSON lines.

Why: a test of the remediation engine must check what was actually sent (method, path,
body), from its own process or from another one, even after its client was SIGKILLed;
hence a file written one flushed line per request. A record names the key by its label
and never holds a header, so neither the Authorization header nor the key can leak.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from governor.simulator.routes import MUTATING_METHODS


@dataclass(frozen=True)
class RequestRecord:
    """One request as the simulator saw it; ``key_label`` names the key, never its token.

    ``at`` is the monotonic clock, ``time`` the wall (or test) clock in RFC 3339 with
    milliseconds, ``path`` has no query (``query`` holds it raw), ``body`` is a mutation's
    JSON body (its text if it is not JSON; None for reads and empty bodies).
    """

    at: float
    key_label: str
    method: str
    route: str
    path: str
    status: int
    time: str = ""
    query: str = ""
    body: Any = None
    request_id: str = ""

    @property
    def target(self) -> str:
        """The path with its query, as sent."""
        return f"{self.path}?{self.query}" if self.query else self.path

    def to_json(self) -> dict[str, Any]:
        """The shape of ``GET /_simulator/requests`` items and of ``--request-log`` lines."""
        return {
            "time": self.time,
            "at": self.at,
            "method": self.method,
            "path": self.target,
            "route": self.route,
            "status": self.status,
            "key": self.key_label,
            "request_id": self.request_id,
            "body": self.body,
        }


def request_body(method: str, body: bytes) -> Any:
    """What the log keeps of a body: a mutation's parsed JSON, else its text; reads: None."""
    if method not in MUTATING_METHODS or not body:
        return None
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class JsonLinesFile:
    """Appends each record as one JSON line and flushes it at once."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._file: TextIO = self.path.open("w", encoding="utf-8")

    def write(self, record: RequestRecord) -> None:
        self._file.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
