"""Text from the API made safe to show: no terminal control sequences, no spreadsheet formulas.

Why: names, summaries and error messages come from Neon (or whoever answers at the API
URL). A branch named ``\\x1b]0;...\\x07`` retitles the terminal, ``\\x1b[2J`` clears it, a
right-to-left override reorders what a reviewer reads, and a CSV cell starting with ``=``
runs as a formula when the report is opened in a spreadsheet.
"""

from __future__ import annotations

import unicodedata

# Categories shown as escapes: control characters, and format characters (bidi overrides,
# zero-width joiners) that change how the rest of a line reads.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control or format character written as a visible escape."""
    if text.isprintable():
        return text  # the common case, without a per-character pass
    out: list[str] = []
    for character in text:
        if keep_newlines and character == "\n":
            out.append(character)
        elif unicodedata.category(character) in _HIDDEN_CATEGORIES:
            code = ord(character)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(character)
    return "".join(out)


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: formulas are prefixed with ``'``."""
    if not isinstance(value, str):
        return value
    text = printable(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
