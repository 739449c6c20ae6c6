"""What slack_sdk's debug logs may not carry: tickets, tokens and button values.

Why: at debug level slack_sdk logs each request and answer whole. The Socket Mode URL
holds a one-time connection ticket, and our buttons' values (and the actions block_id)
hold the approval token that a click presents. Our clients log through
``sdk_logger(...)``, whose filter rewrites each record before any handler sees it.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[REDACTED]"
_PATTERNS = (
    # wss://…?ticket=… in apps.connections.open's answer and in connection errors
    (re.compile(r"(ticket=)[^&\s'\"\\]+"), rf"\g<1>{REDACTED}"),
    # "value": "…" of a button or a selected option, in either quoting (str or repr)
    (
        re.compile(r"""((?:\\?["'])value(?:\\?["'])\s*:\s*)(\\?["'])(?:(?!\2).)*\2"""),
        rf"\g<1>\g<2>{REDACTED}\g<2>",
    ),
    # the actions block_id carries the approval token too (approval:<token>:<votes>)
    (re.compile(r"(approval:)[A-Za-z0-9_\-]+"), rf"\g<1>{REDACTED}"),
    # response_url is a capability to answer as the app
    (re.compile(r"(hooks(?:\.slack\.com)?/)[^\s'\"\\]+"), rf"\g<1>{REDACTED}"),
    # tokens, should one ever be echoed
    (re.compile(r"\bx(?:ox[abposer]|app)-[A-Za-z0-9\-]+"), REDACTED),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Formats the record once, redacted; the handlers then see only the redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record: leave it to logging's own error path
            return True
        record.msg, record.args = redact(message), None
        return True


def sdk_logger(name: str) -> logging.Logger:
    """The logger one of our slack_sdk clients writes to (``governor.slack.sdk.<name>``)."""
    logger = logging.getLogger(f"governor.slack.sdk.{name}")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger
