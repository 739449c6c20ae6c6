"""The API routes the simulator serves, matched by path template."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

BASE_PATH = "/api/v2"

# Method and template of every route served; anything else answers 404.
ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/auth"),
    ("GET", "/users/me/organizations"),
    ("GET", "/organizations/{org_id}"),
    ("GET", "/organizations/{org_id}/api_keys"),
    ("GET", "/organizations/{org_id}/members"),
    ("DELETE", "/organizations/{org_id}/api_keys/{key_id}"),
    ("GET", "/api_keys"),
    ("DELETE", "/api_keys/{key_id}"),
    ("GET", "/projects"),
    ("GET", "/projects/{project_id}"),
    ("GET", "/projects/{project_id}/branches"),
    ("POST", "/projects/{project_id}/branches"),
    ("GET", "/projects/{project_id}/branches/{branch_id}"),
    ("PATCH", "/projects/{project_id}/branches/{branch_id}"),
    ("DELETE", "/projects/{project_id}/branches/{branch_id}"),
    ("GET", "/projects/{project_id}/endpoints"),
    ("GET", "/projects/{project_id}/endpoints/{endpoint_id}"),
    ("PATCH", "/projects/{project_id}/endpoints/{endpoint_id}"),
    ("POST", "/projects/{project_id}/endpoints/{endpoint_id}/suspend"),
    ("POST", "/projects/{project_id}/endpoints/{endpoint_id}/start"),
    ("PATCH", "/projects/{project_id}"),
    ("DELETE", "/projects/{project_id}"),
    ("POST", "/projects/{project_id}/recover"),
    ("DELETE", "/projects/{project_id}/snapshots/{snapshot_id}"),
    ("PUT", "/projects/{project_id}/branches/{branch_id}/backup_schedule"),
    ("DELETE", "/projects/{project_id}/endpoints/{endpoint_id}"),
    ("GET", "/projects/{project_id}/operations"),
    ("GET", "/projects/{project_id}/operations/{operation_id}"),
    ("GET", "/projects/{project_id}/snapshots"),
    ("GET", "/projects/{project_id}/branches/{branch_id}/backup_schedule"),
    ("GET", "/organizations/{org_id}/billing/spending_limit"),
    ("GET", "/consumption_history/v2/projects"),
    ("GET", "/consumption_history/v2/branches"),
)

MUTATING_METHODS = frozenset({"POST", "PATCH", "DELETE", "PUT"})


@dataclass(frozen=True)
class RouteMatch:
    method: str
    template: str
    params: dict[str, str]

    @property
    def route(self) -> str:
        """The log and rate-limit name, e.g. ``GET /projects/{project_id}/branches``."""
        return f"{self.method} {self.template}"


def _split(path: str) -> tuple[str, ...]:
    return tuple(segment for segment in path.strip("/").split("/") if segment != "")


_INDEX: dict[tuple[str, int], list[tuple[str, tuple[str, ...]]]] = {}
for _method, _template in ROUTES:
    _segments = _split(_template)
    _INDEX.setdefault((_method, len(_segments)), []).append((_template, _segments))


def relative_path(path: str) -> str:
    """``path`` without the ``/api/v2`` base (either form is accepted)."""
    if path == BASE_PATH or path.startswith(BASE_PATH + "/"):
        return path[len(BASE_PATH) :] or "/"
    return path


def match_route(method: str, path: str) -> RouteMatch | None:
    segments = _split(relative_path(path))
    for template, pattern in _INDEX.get((method, len(segments)), []):
        params: dict[str, str] = {}
        for expected, actual in zip(pattern, segments, strict=True):
            if expected.startswith("{"):
                params[expected[1:-1]] = unquote(actual)
            elif expected != actual:
                break
        else:
            return RouteMatch(method, template, params)
    return None
