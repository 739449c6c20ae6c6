"""A request's route template (``GET /projects/{project_id}/branches``) from its URL.

Why templates: a label per project or branch id would grow without bound (one time series
per id); the template is what Neon's per-route rate limit counts, too. The transport sees
only the URL, so ids are recognised by position: the segment after a collection name is
that collection's id, named as in Neon's OpenAPI definition.
"""

from __future__ import annotations

import re

# Collection -> the parameter name its ids have in the spec's paths.
ID_PARAMETERS: dict[str, str] = {
    "projects": "project_id",
    "branches": "branch_id",
    "endpoints": "endpoint_id",
    "operations": "operation_id",
    "organizations": "org_id",
    "api_keys": "key_id",
    "databases": "database_name",
    "roles": "role_name",
    "members": "member_id",
    "snapshots": "snapshot_id",
    "jwks": "jwks_id",
    "permissions": "permission_id",
    "transfer_requests": "request_id",
    "vpc_endpoints": "vpc_endpoint_id",
    "region": "region_id",
    "data-api": "database_name",
    "oauth_providers": "oauth_provider_id",
    "integration": "auth_provider",
}
# Literal segments that may follow a collection instead of an id.
LITERALS: dict[str, frozenset[str]] = {
    "projects": frozenset({"shared", "auth", "transfer"}),
    "branches": frozenset({"count"}),
    "organizations": frozenset(),
    "users": frozenset({"me"}),
    "vpc": frozenset({"region", "vpc_endpoints"}),
}
_BASE = re.compile(r"^/api/v\d+(?=/|$)")
_WORD = re.compile(r"^[a-z_]+(?:-[a-z_]+)*$")  # a literal has no digits; an id usually does


def route_template(method: str, path: str) -> str:
    """``METHOD /template`` for a request path, with or without the ``/api/v2`` base."""
    relative = _BASE.sub("", path.split("?", 1)[0]) or "/"
    out: list[str] = []
    previous: str | None = None
    for segment in (part for part in relative.split("/") if part):
        literals = LITERALS.get(previous or "", frozenset())
        if previous in ID_PARAMETERS and segment not in literals:
            out.append("{" + ID_PARAMETERS[previous] + "}")
            previous = None  # an id is never a collection name
            continue
        if previous == "users" and segment not in literals:
            out.append("{user_id}")
            previous = None
            continue
        out.append(segment if _WORD.match(segment) else "{id}")
        previous = segment if _WORD.match(segment) else None
    return f"{method.upper()} /{'/'.join(out)}"
