"""Policy loading errors: every problem with its file, line, column and field path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from governor.policy.yaml_source import Path, Position


def path_text(path: Path) -> str:
    """``(0, "filters", 1, "protected")`` as ``[0].filters[1].protected``."""
    if not path:
        return "(top level)"
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
    """Policy files that cannot be used; ``str()`` lists every problem, one per line."""

    def __init__(self, problems: Sequence[PolicyProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
