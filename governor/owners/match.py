"""Who owns a resource: the first ``[[owners.rule]]`` that matches it, else the default.

Pure: facts in (``governor.owners.facts``), a ``Match`` out, no I/O except reading the
owners file once when the map is built. A rule's conditions must all hold (AND); a list
holds when any entry matches (OR); ``annotations`` holds when every key given is on the
branch with a value matching its glob. Globs are fnmatch-style and case-sensitive
(``fnmatchcase``: ``Prod-*`` is not ``prod-1``). Projects match by exact id or by name glob.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from governor.config import ConfigError, _line_of, plain_message
from governor.config.owner_checks import Loc, reference_problems, rule_label
from governor.config.owners import OwnerContact, OwnerRule, OwnersSettings

if TYPE_CHECKING:
    from governor.owners.facts import ResourceFacts

MAX_OWNERS_FILE_BYTES = 1024 * 1024
DEFAULT_RULE = "default"
NO_RULE = "none"


@dataclass(frozen=True)
class Match:
    """``owner``: the owner's name (None: unowned); ``rule``: "rule 3" (the third rule,
    counting from 1), "default" (no rule matched, the default owner) or "none"."""

    owner: str | None
    rule: str


def rule_matches(rule: OwnerRule, facts: ResourceFacts) -> bool:
    """Whether every condition ``rule`` gives holds for ``facts``."""
    if rule.organizations and facts.org_id not in rule.organizations:
        return False
    if rule.projects and not any(
        entry == facts.project_id
        or (facts.project_name is not None and fnmatchcase(facts.project_name, entry))
        for entry in rule.projects
    ):
        return False
    if rule.branches and (
        facts.branch_name is None
        or not any(fnmatchcase(facts.branch_name, glob) for glob in rule.branches)
    ):
        return False
    for key, glob in rule.annotations.items():
        value = facts.annotations.get(key)
        if value is None or not fnmatchcase(value, glob):
            return False
    if rule.creation_sources and (
        facts.creation_source is None
        or not any(fnmatchcase(facts.creation_source, glob) for glob in rule.creation_sources)
    ):
        return False
    return not rule.key_creators or facts.key_creator in rule.key_creators


class OwnerMap:
    """The owners, their rules in order, and the default: ``owner_of(facts)`` names one."""

    def __init__(
        self,
        owners: Sequence[OwnerContact] = (),
        rules: Sequence[OwnerRule] = (),
        default: str | None = None,
    ) -> None:
        """Unchecked: use ``from_settings`` for a map built from a config."""
        self.owners: tuple[OwnerContact, ...] = tuple(owners)
        self.rules: tuple[OwnerRule, ...] = tuple(rules)
        self.default = default
        self._contacts = {owner.name: owner for owner in self.owners}

    @classmethod
    def from_settings(
        cls,
        settings: OwnersSettings,
        config_dir: Path,
        *,
        webhooks: Collection[str] | None = None,
    ) -> OwnerMap:
        """The map ``[owners]`` describes, reading its ``file`` (relative to ``config_dir``)
        when set. ConfigError names the file, the line and the key of each problem.
        ``webhooks``: the ``[[webhooks]]`` names owners may use (None: not checked)."""
        if settings.file is None:
            problems = reference_problems(settings.owner, settings.rule, settings.default, webhooks)
            if problems:
                raise ConfigError(
                    "\n".join(f"[owners] [{_key(loc)}] {why}" for loc, why in problems)
                )
            return cls(settings.owner, settings.rule, settings.default)
        path = Path(settings.file).expanduser()
        path = path if path.is_absolute() else config_dir / path
        text = _read(path)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: invalid TOML: {error}") from None
        if "file" in data:
            raise ConfigError(f"{path}: [file] an owners file cannot name another file")
        try:
            parsed = OwnersSettings.model_validate(data)
        except ValidationError as error:
            raise ConfigError(_validation_lines(error, text, path)) from None
        default = parsed.default if parsed.default is not None else settings.default
        if parsed.default is not None and settings.default not in (None, parsed.default):
            raise ConfigError(
                f"{path}: [default] {parsed.default!r} differs from [owners] default "
                f"{settings.default!r}; set it in one place"
            )
        problems = reference_problems(parsed.owner, parsed.rule, default, webhooks)
        if problems:
            raise ConfigError(
                "\n".join(
                    f"{_where(path, text, loc)}: [{_key(loc)}] {why}" for loc, why in problems
                )
            )
        return cls(parsed.owner, parsed.rule, default)

    @property
    def configured(self) -> bool:
        """Whether any owner is set up (a map without one stamps every finding "none")."""
        return bool(self.owners or self.rules or self.default)

    def contact(self, name: str) -> OwnerContact | None:
        return self._contacts.get(name)

    def owner_of(self, facts: ResourceFacts) -> Match:
        """The first rule that matches names the owner; else the default; else none."""
        for index, rule in enumerate(self.rules):
            if rule_matches(rule, facts):
                return Match(rule.owner, rule_label(index))
        if self.default is not None:
            return Match(self.default, DEFAULT_RULE)
        return Match(None, NO_RULE)


def _key(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_OWNERS_FILE_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read owners file: {error.strerror}") from None
    if len(data) > MAX_OWNERS_FILE_BYTES:
        raise ConfigError(f"{path}: larger than 1 MiB, not an owners file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte {error.start})") from None


def _where(path: Path, text: str, loc: Loc) -> str:
    line = _line_of(text, [str(part) for part in loc])
    return f"{path}:{line}" if line else str(path)


def _validation_lines(error: ValidationError, text: str, path: Path) -> str:
    lines = []
    for problem in error.errors():
        loc: Loc = tuple(problem["loc"])
        message = plain_message(problem["msg"])
        if problem["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see the README's Owners)"
        lines.append(f"{_where(path, text, loc)}: [{_key(loc) or '(top level)'}] {message}")
    return "\n".join(lines)
