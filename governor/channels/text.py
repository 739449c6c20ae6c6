"""Text from Neon, made safe for each channel: one line, bounded, escaped.

Why one module: every name in a message (a branch, a project, a policy's summary) comes
from Neon or the config and may hold line breaks, markup or control characters. A line
break in an email Subject would start a new header; ``*`` or ``[x](y)`` in a Teams card
would bold text or forge a link; ``<`` in HTML would be markup. Each channel renders
through these helpers, never with raw text.
"""

from __future__ import annotations

import html
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")
# Adaptive Card TextBlocks render a markdown subset (bold, italic, lists, links); Teams
# also reads some inline markup. A backslash before each of these shows it as itself.
_CARD_MARKUP = re.compile(r"([\\`*_{}\[\]()<>|~!])")
_CARD_LINE_START = re.compile(r"^([#+\-=]|\d+(?=\.))")


def one_line(text: object, limit: int = 200) -> str:
    """``text`` on one line (control characters and line breaks become one space), cut to
    ``limit`` characters with an ellipsis."""
    flat = _CONTROL.sub(" ", str(text)).strip()
    if len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 0)].rstrip() + "…"


def html_text(text: object, limit: int = 300) -> str:
    """``text`` for HTML: one line, every ``<``, ``>``, ``&`` and quote escaped."""
    return html.escape(one_line(text, limit), quote=True)


def card_text(text: object, limit: int = 300) -> str:
    """``text`` for an Adaptive Card TextBlock or fact: one line, markdown escaped."""
    escaped = _CARD_MARKUP.sub(r"\\\1", one_line(text, limit))
    # a list item or heading only at the start: "- x", "# x", "1. x"
    return _CARD_LINE_START.sub(
        lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1), escaped
    )


def money(amount: float | None) -> str:
    if amount is None:
        return "not priced"
    return f"${amount:,.2f}"
