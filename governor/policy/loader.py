"""Load policy files (YAML lists of policies) from files and folders, or say what is wrong.

Every problem in every file is collected before raising, so one run of
``neon-governor policies validate`` shows them all.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from governor.durations import describe_type
from governor.policy.error_messages import explain
from governor.policy.errors import PolicyError, PolicyProblem
from governor.policy.filters import FilterProblem
from governor.policy.model import FILTER_PROBLEMS, Policy
from governor.policy.yaml_source import Document, Position, YamlSyntaxError, read_yaml

POLICY_SUFFIXES = (".yaml", ".yml")


def shipped_policies_path() -> Path:
    """The folder of policies shipped inside the installed package."""
    return Path(str(importlib.resources.files("governor").joinpath("policies")))


def configured_policy_paths(paths: Sequence[str], config_path: Path | str | None) -> list[Path]:
    """A config's ``[policies] paths`` (relative ones from the config file's folder), or
    the shipped folder when none are set."""
    if not paths:
        return [shipped_policies_path()]
    base = Path(config_path).parent if config_path is not None else Path.cwd()
    return [base / Path(path).expanduser() for path in paths]


def policy_files(paths: Sequence[Path | str]) -> list[Path]:
    """The files ``paths`` name: files as given, folders as their ``*.yaml``/``*.yml``
    files in name order; each file once."""
    files, problems = _expand(paths)
    if problems:
        raise PolicyError(problems)
    return files


def load_policies(paths: Sequence[Path | str]) -> list[Policy]:
    """Every policy in ``paths`` (files or folders), in order; raise PolicyError listing
    every problem."""
    files, problems = _expand(paths)
    policies: list[Policy] = []
    names: dict[str, str] = {}
    for file in files:
        loaded, file_problems = _load_file(file)
        problems.extend(file_problems)
        for policy, where, position in loaded:
            if policy.name in names:
                problems.append(
                    PolicyProblem(
                        str(file),
                        position,
                        (where, "name"),
                        f"duplicate policy name {policy.name!r} (first defined at "
                        f"{names[policy.name]})",
                    )
                )
                continue
            names[policy.name] = policy.origin
            policies.append(policy)
    if problems:
        raise PolicyError(problems)
    return policies


def _expand(paths: Sequence[Path | str]) -> tuple[list[Path], list[PolicyProblem]]:
    files: list[Path] = []
    seen: set[Path] = set()
    problems: list[PolicyProblem] = []
    if not paths:
        problems.append(PolicyProblem("(policies)", None, (), "no policy file or folder given"))
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                (child for child in path.iterdir() if child.suffix in POLICY_SUFFIXES),
                key=lambda child: child.name,
            )
            if not found:
                problems.append(
                    PolicyProblem(str(path), None, (), "the folder holds no *.yaml or *.yml file")
                )
        elif path.exists():
            found = [path]
        else:
            problems.append(PolicyProblem(str(path), None, (), "no such file or folder"))
            found = []
        for file in found:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files, problems


def _load_file(file: Path) -> tuple[list[tuple[Policy, int, Position]], list[PolicyProblem]]:
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return [], [PolicyProblem(source, None, (), f"not UTF-8 text ({error.reason})")]
    except OSError as error:
        return [], [PolicyProblem(source, None, (), f"cannot read: {error.strerror}")]
    try:
        document = read_yaml(text)
    except YamlSyntaxError as error:
        return [], [PolicyProblem(source, error.position, (), error.message)]
    start = Position(1, 1)
    if document is None:
        return [], [
            PolicyProblem(source, start, (), "the file is empty; expected a list of policies")
        ]
    problems = [
        PolicyProblem(source, problem.position, problem.path, problem.message)
        for problem in document.problems
    ]
    if not isinstance(document.data, list) or not document.data:
        what = "an empty list" if document.data == [] else describe_type(document.data)
        message = f"expected a list of policies (each starting with '- name: ...'), got {what}"
        problems.append(PolicyProblem(source, document.value_position(()), (), message))
        return [], problems
    loaded: list[tuple[Policy, int, Position]] = []
    for index, item in enumerate(document.data):
        policy, item_problems = _validate(item, index, document, source)
        problems.extend(item_problems)
        if policy is not None and not item_problems:
            position = document.value_position((index, "name"))
            policy._origin = f"{source}:{position.line}:{position.column}"
            loaded.append((policy, index, position))
    problems.sort(key=lambda problem: _order(problem.position or start))
    return loaded, problems


def _validate(
    item: object, index: int, document: Document, source: str
) -> tuple[Policy | None, list[PolicyProblem]]:
    filter_problems: list[FilterProblem] = []
    problems: list[PolicyProblem] = []
    policy: Policy | None = None
    try:
        policy = Policy.model_validate(item, context={FILTER_PROBLEMS: filter_problems})
    except ValidationError as error:
        for details in error.errors():
            path, at_key, message = explain(details, item)
            full = (index, *path)
            position = document.key_position(full) if at_key else document.value_position(full)
            problems.append(PolicyProblem(source, position, full, message))
    for problem in filter_problems:
        full = (index, "filters", *problem.path)
        position = document.key_position(full) if problem.at_key else document.value_position(full)
        problems.append(PolicyProblem(source, position, full, problem.message))
    return policy, problems


def _order(position: Position) -> tuple[int, int]:
    return (position.line, position.column)
