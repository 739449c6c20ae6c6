"""Walking one paginated listing without trusting the server to end it.

Why: a cursor never given before proves nothing; a server that serves the same full page
under fresh cursors, or fresh objects forever, would be paged until the process dies. So
a listing stops, with a ``NeonProtocolError`` (the sweep then records the part as
incomplete, never "done"), when a full page brings no id not seen before in it, when a
cursor is missing, repeats or cannot go into a URL, or after ``max_items / page_size``
pages.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from governor.neon.ids import shown
from governor.neon.responses import ApiResponse

# Far beyond any real listing (Neon caps branches per project in the thousands).
MAX_LISTING_ITEMS = 100_000
# Neon's cursors are ids and timestamps; a longer one, or one not ASCII, cannot be sent back.
MAX_CURSOR_CHARS = 1024

ItemT = TypeVar("ItemT")


class Listing:
    """The state of one listing: ids and cursors seen, pages read."""

    def __init__(self, noun: str, page_size: int, max_items: int = MAX_LISTING_ITEMS) -> None:
        self.noun = noun  # "project", "branch", ...: for messages
        self.page_size = page_size
        self.max_pages = max(1, math.ceil(max_items / page_size))
        self.pages = 1  # being read
        self._ids: set[str] = set()
        self._cursors: set[str] = set()
        self._fresh = 0

    def fresh(self, items: Iterable[ItemT], id_of: Callable[[ItemT], str]) -> list[ItemT]:
        """The items of the current page whose ids were not seen before, each once."""
        kept: list[ItemT] = []
        for item in items:
            item_id = id_of(item)
            if item_id not in self._ids:
                self._ids.add(item_id)
                kept.append(item)
        self._fresh += len(kept)
        return kept

    def next_cursor(self, response: ApiResponse, body: dict[str, Any], key: str) -> str:
        """The cursor for the page after a full one; raises when the walk must stop."""
        pagination = body.get("pagination")
        cursor = pagination.get(key) if isinstance(pagination, dict) else None
        if not isinstance(cursor, str) or not cursor:
            raise response.protocol_error(
                f"a full page of {self.page_size} came without pagination.{key}: "
                "cannot tell whether more follow"
            )
        if len(cursor) > MAX_CURSOR_CHARS or not (cursor.isascii() and cursor.isprintable()):
            raise response.protocol_error(
                f"pagination.{key} is not up to {MAX_CURSOR_CHARS} printable ASCII characters: "
                f"{shown(cursor)}"
            )
        if cursor in self._cursors:
            raise response.protocol_error(
                f"pagination.{key} repeated an earlier value: {shown(cursor)}"
            )
        if self._fresh == 0:
            raise response.protocol_error(
                f"a full page of {self.page_size} brought no {self.noun} not seen before "
                "in this listing: the listing loops"
            )
        if self.pages >= self.max_pages:
            raise response.protocol_error(
                f"the {self.noun} listing does not end: more than {self.max_pages} pages "
                f"of {self.page_size}"
            )
        self._cursors.add(cursor)
        self.pages += 1
        self._fresh = 0
        return cursor
