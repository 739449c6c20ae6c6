"""What a simulator world holds, as the API would return it: the expected side of tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from governor.simulator.world import ORGANIZATION_NESTING_KEYS, PROJECT_NESTING_KEYS

# what the world file nests in its objects: never part of an API object
NESTING_KEYS = (*ORGANIZATION_NESTING_KEYS, *PROJECT_NESTING_KEYS)


def _bare(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key not in NESTING_KEYS}


@dataclass
class WorldFacts:
    organizations: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    branches: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    personal_api_keys: list[dict[str, Any]] = field(default_factory=list)
    org_api_keys: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    project_org: dict[str, str] = field(default_factory=dict)

    def projects_of(self, org_id: str) -> list[dict[str, Any]]:
        return [project for project in self.projects if project["org_id"] == org_id]

    def branches_of(self, project_id: str) -> list[dict[str, Any]]:
        return [branch for branch in self.branches if branch["project_id"] == project_id]

    def endpoints_of(self, project_id: str) -> list[dict[str, Any]]:
        return [endpoint for endpoint in self.endpoints if endpoint["project_id"] == project_id]

    def only(self, org_id: str | None = None, project_id: str | None = None) -> WorldFacts:
        """The part an organization key (or a project key) can see."""
        projects = [
            project
            for project in self.projects
            if (org_id is None or project["org_id"] == org_id)
            and (project_id is None or project["id"] == project_id)
        ]
        ids = {project["id"] for project in projects}
        return WorldFacts(
            organizations=[org for org in self.organizations if org["id"] == org_id],
            projects=projects,
            branches=[branch for branch in self.branches if branch["project_id"] in ids],
            endpoints=[endpoint for endpoint in self.endpoints if endpoint["project_id"] in ids],
            personal_api_keys=[],
            org_api_keys={org_id: self.org_api_keys[org_id]} if org_id and not project_id else {},
            project_org={key: value for key, value in self.project_org.items() if key in ids},
        )

    def deletable_branch(self) -> dict[str, Any]:
        """A child branch with no children of its own, neither default nor protected."""
        parents = {branch.get("parent_id") for branch in self.branches}
        for branch in self.branches:
            if (
                branch.get("parent_id")
                and not branch.get("default")
                and not branch.get("protected")
                and branch["id"] not in parents
                and not branch.get("expires_at")
            ):
                return branch
        raise LookupError("no deletable branch in this world")


def facts_of(world_dict: dict[str, Any]) -> WorldFacts:
    facts = WorldFacts(personal_api_keys=list(world_dict.get("personal_api_keys", [])))
    for org in world_dict["organizations"]:
        facts.organizations.append(_bare(org))
        facts.org_api_keys[org["id"]] = list(org.get("api_keys", []))
        for project in org.get("projects", []):
            facts.projects.append(_bare(project))
            facts.project_org[project["id"]] = org["id"]
            facts.branches.extend(project.get("branches", []))
            facts.endpoints.extend(project.get("endpoints", []))
    return facts


def by_id(objects: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {obj["id"]: obj for obj in objects}
