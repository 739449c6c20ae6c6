"""Branch annotations as owner rules read them: ``{key: value}`` strings, bounded.

Why bounded here: ``GET /projects/{id}/branches`` lists them beside the branches as a map
``branch_id -> {"object", "value": {k: v}, "created_at", "updated_at"}``, written by
integrations (Vercel's ``vercel-commit-ref``) or whoever holds a key. The spec allows 50
string values per branch; an answer that breaks that (huge values, numbers, nested
objects, thousands of keys) must not grow the store or a report without limit.
"""

from __future__ import annotations

import json
from collections.abc import Container
from typing import Any

MAX_ANNOTATIONS = 50  # AnnotationValueData.maxProperties
MAX_KEY_CHARS = 256
MAX_VALUE_CHARS = 1024


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def annotation_values(value: Any) -> dict[str, str]:
    """One branch's annotation values (an ``AnnotationData``'s ``value``) as strings.

    Numbers and booleans become their JSON text; nulls, objects and arrays are dropped
    (no rule can name them); at most ``MAX_ANNOTATIONS`` keys, each bounded.
    """
    if not isinstance(value, dict):
        return {}
    kept: dict[str, str] = {}
    for key, item in value.items():
        if len(kept) >= MAX_ANNOTATIONS:
            break
        if not isinstance(key, str):
            continue
        if isinstance(item, str):
            text = item
        elif isinstance(item, bool | int | float):
            text = json.dumps(item)
        else:
            continue
        kept[_bounded(key, MAX_KEY_CHARS)] = _bounded(text, MAX_VALUE_CHARS)
    return kept


def branch_annotations(listed: Any, branch_ids: Container[str]) -> dict[str, dict[str, str]]:
    """The ``annotations`` map of a branch listing, for the branches it lists (others are
    dropped), branches without values left out."""
    if not isinstance(listed, dict):
        return {}
    found: dict[str, dict[str, str]] = {}
    for branch_id, data in listed.items():
        if not isinstance(branch_id, str) or branch_id not in branch_ids:
            continue
        values = annotation_values(data.get("value") if isinstance(data, dict) else None)
        if values:
            found[branch_id] = values
    return found
