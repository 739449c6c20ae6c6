"""Telling people and asking them: the ``PeopleChannel`` seam, the log channel, the fan-out.

Slack (``governor.slack``) is the other implementation; the runtime builds the channels.
"""

from __future__ import annotations

from governor.notify.channel import Channels, PeopleChannel
from governor.notify.log import LogChannel, LogNotifier, NullNotifier

__all__ = ["Channels", "LogChannel", "LogNotifier", "NullNotifier", "PeopleChannel"]
