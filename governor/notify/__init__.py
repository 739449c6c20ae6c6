"""Telling people what a run found: a log line now, Slack through an outbox later."""

from __future__ import annotations

from governor.notify.log import LogNotifier, NullNotifier

__all__ = ["LogNotifier", "NullNotifier"]
