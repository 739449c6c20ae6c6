"""Checks of ``[owners]`` names: rules, the default and webhooks must point somewhere.

Why in the config package: the config loader runs them on ``[owners]`` (so a typo is a
config error with its line), and ``governor.owners`` runs them on an owners file; the
config must not import the layers above it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from governor.config.owners import OwnerContact, OwnerRule, OwnersSettings

Loc = tuple[str | int, ...]


def rule_label(index: int) -> str:
    """The label of the rule at ``index`` (0-based) in reports and the store."""
    return f"rule {index + 1}"


def reference_problems(
    owners: Sequence[OwnerContact],
    rules: Sequence[OwnerRule],
    default: str | None,
    webhooks: Collection[str] | None,
) -> list[tuple[Loc, str]]:
    """Names that point nowhere: (where, why) for each, ``where`` relative to the owners
    table. ``webhooks``: the ``[[webhooks]]`` names (None: not checked)."""
    problems: list[tuple[Loc, str]] = []
    names: list[str] = []
    for index, owner in enumerate(owners):
        if owner.name in names:
            problems.append((("owner", index, "name"), f"owner {owner.name!r} is defined twice"))
        names.append(owner.name)
        if webhooks is not None and owner.webhook is not None and owner.webhook not in webhooks:
            known = ", ".join(sorted(webhooks)) or "none"
            problems.append(
                (
                    ("owner", index, "webhook"),
                    f"owner {owner.name!r} names webhook {owner.webhook!r}, which no "
                    f"[[webhooks]] entry defines (webhooks: {known})",
                )
            )
    known_owners = ", ".join(dict.fromkeys(names)) or "none"
    for index, rule in enumerate(rules):
        if rule.owner not in names:
            problems.append(
                (
                    ("rule", index, "owner"),
                    f"{rule_label(index)} names owner {rule.owner!r}, which is not defined "
                    f"(owners: {known_owners})",
                )
            )
    if default is not None and default not in names:
        problems.append(
            (
                ("default",),
                f"default owner {default!r} is not defined (owners: {known_owners})",
            )
        )
    return problems


def check_config_owners(settings: OwnersSettings, webhooks: Collection[str]) -> None:
    """The config loader's check of ``[owners]`` (raises pydantic's ValidationError, so the
    loader names the file, line and key). With ``file`` set, the owners and rules live
    there and are checked when it is read."""
    if settings.file is not None:
        if settings.owner or settings.rule:
            problems: list[tuple[Loc, str]] = [
                (
                    ("file",),
                    "set [[owners.owner]] and [[owners.rule]] in the file or here, not both",
                )
            ]
        else:
            problems = []
    else:
        problems = reference_problems(settings.owner, settings.rule, settings.default, webhooks)
    if problems:
        raise ValidationError.from_exception_data(
            "Config",
            [
                InitErrorDetails(
                    type=PydanticCustomError("owners", "{why}", {"why": why}),
                    loc=("owners", *loc),
                    input=None,
                )
                for loc, why in problems
            ],
        )
