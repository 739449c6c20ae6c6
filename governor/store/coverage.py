"""Whether a sweep saw the place where a resource would live, so its absence means something.

The store resolves a finding (or marks a resource gone) only when this says True: a
resource in a part the sweep could not read, or in an organization it did not cover, keeps
its state exactly as it was. Unknown is never "gone".

Organizations: covered when listed in ``snapshot.org_ids``. Resources without an
organization (``org_id`` None) are covered only when the sweep evidently read that space:
for API keys, when it returned at least one personal key (a personal key always sees
itself, and a non-personal key cannot read the list at all); for projects and what lives
in them, when it returned at least one project without an organization. Then
``Snapshot.covers`` has the last word on the parts that failed.
"""

from __future__ import annotations

from governor.model.snapshot import ResourceType, Snapshot


class Coverage:
    """Answers ``covers`` for one snapshot; the per-snapshot facts are computed once."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._org_ids = frozenset(snapshot.org_ids)
        self._personal_keys_read = any(record.scope == "personal" for record in snapshot.api_keys)
        self._personal_projects_read = any(project.org_id is None for project in snapshot.projects)

    def covers(
        self, resource_type: ResourceType, org_id: str | None, project_id: str | None
    ) -> bool:
        if org_id is None:
            read = (
                self._personal_keys_read
                if resource_type == "api_key"
                else self._personal_projects_read
            )
            if not read:
                return False
        elif org_id not in self._org_ids:
            return False
        return self._snapshot.covers(resource_type, org_id, project_id)
