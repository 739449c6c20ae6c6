"""Block Kit limits Slack enforces on messages, answered the way Slack answers them.

Why in the fake: a report that grows past 50 blocks or a 3001-character section posts
fine against a lenient fake and fails live with ``invalid_blocks``. Messages are checked
against the documented limits (and slack_sdk's own validators); each problem is reported
as Slack does, "<reason> [json-pointer:/blocks/N/...]".
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
BUTTON_STYLES = frozenset({"primary", "danger"})


class _Problems:
    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, reason: str, pointer: str) -> None:
        self.found.append(f"{reason} [json-pointer:{pointer}]")

    def length(self, value: Any, limit: int, pointer: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(f"must be less than {limit + 1} characters", pointer)

    def count(self, items: Any, limit: int, pointer: str) -> None:
        if isinstance(items, list) and len(items) > limit:
            self.add(f"no more than {limit} items allowed", pointer)

    def text_object(
        self, value: Any, limit: int, pointer: str, *, plain_only: bool = False
    ) -> None:
        if not isinstance(value, dict):
            self.add("must be an object", pointer)
            return
        kind = value.get("type")
        allowed = {"plain_text"} if plain_only else TEXT_TYPES
        if kind not in allowed:
            self.add(f"must be one of {sorted(allowed)}", f"{pointer}/type")
        if not isinstance(value.get("text"), str):
            self.add("must provide a string", f"{pointer}/text")
        else:
            self.length(value["text"], limit, f"{pointer}/text")


def problems(blocks: list[Any]) -> list[str]:
    """Every limit the blocks break; empty when Slack would accept them."""
    found = _Problems()
    found.count(blocks, MAX_BLOCKS, "/blocks")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        pointer = f"/blocks/{index}"
        if not isinstance(block, dict):
            found.add("must be an object", pointer)
            continue
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            found.add(f"unsupported type: {kind}", f"{pointer}/type")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            found.length(block_id, 255, f"{pointer}/block_id")
            if block_id in block_ids:
                found.add("duplicate block_id", f"{pointer}/block_id")
            block_ids.add(block_id)
        _check_block(found, kind, block, pointer)
    return found.found


def _check_block(found: _Problems, kind: str, block: dict[str, Any], pointer: str) -> None:
    if kind == "section":
        if "text" not in block and "fields" not in block:
            found.add("must provide text or fields", pointer)
        if "text" in block:
            found.text_object(block["text"], 3000, f"{pointer}/text")
        fields = block.get("fields")
        if fields is not None:
            found.count(fields, 10, f"{pointer}/fields")
            for number, item in enumerate(fields if isinstance(fields, list) else []):
                found.text_object(item, 2000, f"{pointer}/fields/{number}")
        if isinstance(block.get("accessory"), dict):
            _check_element(found, block["accessory"], f"{pointer}/accessory", set())
    elif kind == "header":
        found.text_object(block.get("text"), 150, f"{pointer}/text", plain_only=True)
    elif kind == "markdown":
        found.length(block.get("text"), 12000, f"{pointer}/text")
    elif kind in ("actions", "context"):
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            found.add("must provide at least one element", f"{pointer}/elements")
            return
        found.count(elements, 25 if kind == "actions" else 10, f"{pointer}/elements")
        action_ids: set[str] = set()
        for number, element in enumerate(elements):
            if kind == "actions" and isinstance(element, dict):
                _check_element(found, element, f"{pointer}/elements/{number}", action_ids)


def _check_element(
    found: _Problems, element: dict[str, Any], pointer: str, action_ids: set[str]
) -> None:
    action_id = element.get("action_id")
    if isinstance(action_id, str):
        found.length(action_id, 255, f"{pointer}/action_id")
        if action_id in action_ids:
            found.add("duplicate action_id", f"{pointer}/action_id")
        action_ids.add(action_id)
    if element.get("type") != "button":
        return
    found.text_object(element.get("text"), 75, f"{pointer}/text", plain_only=True)
    found.length(element.get("value"), 2000, f"{pointer}/value")
    found.length(element.get("url"), 3000, f"{pointer}/url")
    style = element.get("style")
    if style is not None and style not in BUTTON_STYLES:
        found.add(f"must be one of {sorted(BUTTON_STYLES)}", f"{pointer}/style")
    confirm = element.get("confirm")
    if isinstance(confirm, dict):
        found.text_object(confirm.get("title"), 100, f"{pointer}/confirm/title", plain_only=True)
        found.text_object(confirm.get("text"), 300, f"{pointer}/confirm/text")
        for key in ("confirm", "deny"):
            found.text_object(confirm.get(key), 30, f"{pointer}/confirm/{key}", plain_only=True)
