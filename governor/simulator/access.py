"""Who a bearer token is and what it may see: personal, organization and project keys."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from governor.simulator.responses import ApiError
from governor.simulator.world import ProjectState, World


@dataclass(frozen=True)
class Scope:
    kind: str  # "personal" | "org" | "project"
    label: str  # names the key in logs; never the token
    org_id: str | None = None
    project_id: str | None = None
    user_id: str | None = None  # a personal key's user (``GET /auth``'s account_id)

    def sees_org(self, org_id: str) -> bool:
        return self.kind == "personal" or (self.kind == "org" and self.org_id == org_id)

    def sees_project(self, state: ProjectState) -> bool:
        if self.kind == "personal":
            return True
        if self.kind == "org":
            return state.org_id == self.org_id
        return state.project_id == self.project_id


def scopes_of(world: World) -> dict[str, Scope]:
    """One Scope per token, labelled by kind and target (``#n`` when several share one)."""
    bases = {token: _base_label(scope) for token, scope in world.keys.items()}
    totals = Counter(bases.values())
    seen: Counter[str] = Counter()
    scopes = {}
    for token, scope in world.keys.items():
        base = bases[token]
        seen[base] += 1
        label = base if totals[base] == 1 else f"{base}#{seen[base]}"
        scopes[token] = Scope(
            kind=str(scope["kind"]),
            label=label,
            org_id=scope.get("org_id"),
            project_id=scope.get("project_id"),
            user_id=scope.get("user_id"),
        )
    return scopes


def _base_label(scope: dict[str, Any]) -> str:
    if scope["kind"] == "org":
        return f"org:{scope['org_id']}"
    if scope["kind"] == "project":
        return f"project:{scope['project_id']}"
    return "personal"


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def visible_project(world: World, scope: Scope, project_id: str) -> ProjectState:
    """The project if it exists and the key may see it; 404 or 403 otherwise."""
    state = world.project(project_id)
    if state is None:
        raise ApiError(404, f"project {project_id!r} not found", "")
    if not scope.sees_project(state):
        raise ApiError(403, f"this API key has no access to project {project_id!r}", "")
    return state


def require_org_access(world: World, scope: Scope, org_id: str) -> dict[str, Any]:
    org = world.organizations_by_id.get(org_id)
    if scope.kind == "project":
        raise ApiError(403, "project-scoped API keys cannot access organizations", "")
    if org is None:
        raise ApiError(404, f"organization {org_id!r} not found", "")
    if not scope.sees_org(org_id):
        raise ApiError(403, f"this API key has no access to organization {org_id!r}", "")
    return org
