"""Read YAML keeping where every key and value starts, so errors can say FILE:LINE:COLUMN.

Why compose instead of ``safe_load``: the node tree keeps marks; data alone does not. The
conversion also rejects what safe_load silently accepts: duplicate keys (the last one
would win), non-string keys, and unknown tags. Timestamps stay strings, as in the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]
MAX_DEPTH = 100  # keys and list places from the top; real policies use about 10
MAX_NODES = 100_000  # guards against alias bombs ("billion laughs")

_SCALAR_TAG = "tag:yaml.org,2002:"
_CONSTRUCTED = {f"{_SCALAR_TAG}{name}" for name in ("null", "bool", "int", "float")}
_AS_TEXT = {f"{_SCALAR_TAG}{name}" for name in ("str", "timestamp")}


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based

    @classmethod
    def of(cls, mark: yaml.Mark | None) -> Position:
        return cls(mark.line + 1, mark.column + 1) if mark is not None else cls(1, 1)


@dataclass(frozen=True)
class YamlProblem:
    position: Position
    path: Path
    message: str


@dataclass
class Document:
    data: Any
    values: dict[Path, Position] = field(default_factory=dict)  # where each value starts
    keys: dict[Path, Position] = field(default_factory=dict)  # where each mapping key starts
    problems: list[YamlProblem] = field(default_factory=list)

    def value_position(self, path: Path) -> Position:
        """Where the value at ``path`` starts, or its nearest enclosing value."""
        for length in range(len(path), -1, -1):
            if path[:length] in self.values:
                return self.values[path[:length]]
        return Position(1, 1)

    def key_position(self, path: Path) -> Position:
        return self.keys.get(path) or self.value_position(path)


class YamlSyntaxError(Exception):
    def __init__(self, position: Position, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


def read_yaml(text: str) -> Document | None:
    """The single document in ``text``; None when it holds none (empty or only comments)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        parts = [part for part in (error.context, error.problem) if part]
        raise YamlSyntaxError(Position.of(mark), "invalid YAML: " + ", ".join(parts)) from None
    except yaml.YAMLError as error:
        raise YamlSyntaxError(Position(1, 1), f"invalid YAML: {error}") from None
    except RecursionError:
        raise YamlSyntaxError(
            Position(1, 1), f"invalid YAML: nested more than {MAX_DEPTH} levels deep"
        ) from None
    if root is None:
        return None
    document = Document(data=None)
    document.data = _Converter(document).convert(root, ())
    return document


@dataclass
class _Converter:
    document: Document
    constructor: yaml.SafeLoader = field(default_factory=lambda: yaml.SafeLoader(""))
    active: set[int] = field(default_factory=set)
    count: int = 0

    def problem(self, node: yaml.Node, path: Path, message: str) -> None:
        self.document.problems.append(YamlProblem(Position.of(node.start_mark), path, message))

    def convert(self, node: yaml.Node, path: Path) -> Any:
        if len(path) > MAX_DEPTH:
            self.problem(node, path, f"nested more than {MAX_DEPTH} levels deep")
            return None
        self.count += 1
        if self.count == MAX_NODES:
            self.problem(node, path, f"the file expands to more than {MAX_NODES} values")
        if self.count >= MAX_NODES:
            return None
        self.document.values.setdefault(path, Position.of(node.start_mark))
        if id(node) in self.active:
            self.problem(node, path, "an alias refers to itself")
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.convert(item, (*path, index)) for index, item in enumerate(node.value)]
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag in _CONSTRUCTED:
            return self.constructor.construct_object(node)
        if node.tag in _AS_TEXT:
            return node.value
        self.problem(node, path, f"unsupported YAML tag {node.tag}")
        return node.value

    def mapping(self, node: yaml.Node, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == f"{_SCALAR_TAG}merge":
                merged.extend(
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, path, "a key must be a plain name, not a list or mapping")
                continue
            key = str(key_node.value)
            if key in result:
                self.problem(key_node, (*path, key), f"duplicate key {key!r}")
                continue
            self.document.keys.setdefault((*path, key), Position.of(key_node.start_mark))
            result[key] = self.convert(value_node, (*path, key))
        for source in merged:
            if not isinstance(source, yaml.MappingNode):
                self.problem(source, path, "a merge (<<) needs a mapping or a list of mappings")
                continue
            extra = self.convert(source, path)
            for key, value in (extra or {}).items():
                result.setdefault(key, value)
        return result
