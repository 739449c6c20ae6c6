"""Channel-neutral inputs for the channel tests: digests with names Neon could send."""

from __future__ import annotations

from governor.notify.documents import Digest, DigestItem

HOSTILE = '<b>x</b> *bold* [click](https://evil.example) _i_ & "q"\r\nBcc: victim@example.com'


def item(name: str = "dev-branch", usd: float | None = 12.5, **changes: object) -> DigestItem:
    values: dict[str, object] = {
        "fingerprint": f"fp-{name}",
        "policy": "stale-branches",
        "severity": "medium",
        "resource_type": "branch",
        "resource_id": "br-quiet-cake-123456",
        "name": name,
        "org_id": "org-one",
        "project_id": "proj-one",
        "summary": "no writes for 45 days",
        "status": "new",
        "usd": usd,
        "estimate_kind": "estimated",
        "action": "delete_branch",
    }
    values.update(changes)
    return DigestItem(**values)  # type: ignore[arg-type]


def digest(owner: str = "data", *items: DigestItem) -> Digest:
    listed = items or (item(),)
    return Digest(
        owner=owner,
        created_at="2026-11-27T12:00:00+00:00",
        since=None,
        items=tuple(listed),
        open_count=len(listed),
        new_count=len(listed),
        resolved_count=0,
        total_usd=sum(i.usd or 0.0 for i in listed),
    )
