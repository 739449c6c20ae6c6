"""Channels to people besides Slack: a signed webhook, email over SMTP, Microsoft Teams.

Each is a ``PeopleChannel`` (governor/notify/channel.py) that only enqueues rows in the
store's ``deliveries``; one ``DeliverySender`` sends them in order, retried, at least once
with a dedupe id. ``channels_for`` builds those the config sets up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from governor.channels.base import Contacts, OutboxChannel, owner_contacts
from governor.channels.email import EmailChannel
from governor.channels.outbox import DeliverySender
from governor.channels.teams import TeamsChannel
from governor.channels.webhook import WebhookChannel, verify_signature
from governor.config import Config
from governor.store import Store

__all__ = [
    "DeliverySender",
    "EmailChannel",
    "OutboxChannel",
    "TeamsChannel",
    "WebhookChannel",
    "channels_for",
    "configured",
    "owner_contacts",
    "verify_signature",
]


def configured(config: Config) -> bool:
    """Whether any of webhook, email or Teams is set up (the sender then has work)."""
    return bool(config.webhooks) or config.email.configured or _teams_anywhere(config)


def _teams_anywhere(config: Config) -> bool:
    owners = config.owners.owner
    return (
        config.teams.configured
        or any(contact.teams_webhook_env or contact.teams_webhook_file for contact in owners)
        or bool(config.owners.file)
    )


def channels_for(
    config: Config,
    store: Store,
    clock: Callable[[], datetime],
    *,
    config_dir: Path | None = None,
    contacts: Contacts | None = None,
) -> list[OutboxChannel]:
    """The webhook, email and Teams channels the config sets up (none: an empty list)."""
    found = contacts or owner_contacts(config, config_dir)
    built: list[OutboxChannel] = []
    if config.webhooks:
        built.append(WebhookChannel(config, store, clock, config_dir=config_dir, contacts=found))
    if config.email.configured:
        built.append(EmailChannel(config, store, clock, config_dir=config_dir, contacts=found))
    if _teams_anywhere(config):
        built.append(TeamsChannel(config, store, clock, config_dir=config_dir, contacts=found))
    return built
