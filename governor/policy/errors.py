"""Policy loading errors: every problem with its file, line, column and field path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from governor.policy.yaml_source import Path, Position

MAX_PATH_PARTS = 12
MAX_SHOWN = 50


def path_text(path: Path) -> str:
    """``(0, "filters", 1, "protected")`` as ``[0].filters[1].protected``."""
    if not path:
        return "(top level)"
    if len(path) > MAX_PATH_PARTS:
        hidden = len(path) - MAX_PATH_PARTS + 2
        head = path_text(path[: MAX_PATH_PARTS - 4])
        tail = path_text(path[-2:])
        return f"{head}…({hidden} more)…{tail if tail.startswith('[') else '.' + tail}"
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


@dataclass(frozen=True)
class PolicyProblem:
    file: str
    position: Position | None  # None: the file itself could not be read
    path: Path
    message: str

    def __str__(self) -> str:
        if self.position is None:
            return f"{self.file}: {self.message}"
        where = f"{self.file}:{self.position.line}:{self.position.column}"
        return f"{where}: {path_text(self.path)}: {self.message}"


class PolicyError(Exception):
    """Policy files that cannot be used; ``str()`` lists the problems, one per line.

    At most ``MAX_SHOWN`` are shown: past that they are mostly echoes of the first ones.
    """

    def __init__(self, problems: Sequence[PolicyProblem]) -> None:
        self.problems = list(problems)
        lines = [str(problem) for problem in self.problems[:MAX_SHOWN]]
        if len(self.problems) > MAX_SHOWN:
            lines.append(f"... and {len(self.problems) - MAX_SHOWN} more problems")
        super().__init__("\n".join(lines))
