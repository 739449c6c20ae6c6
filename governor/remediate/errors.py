"""What stops a remediation pass before it changes anything, as one-line errors."""

from __future__ import annotations


class RemediationError(Exception):
    """A remediation command that cannot go ahead; nothing was changed in Neon."""


class RemediationDisabled(RemediationError):
    def __init__(self) -> None:
        super().__init__(
            "remediation is not enabled, so nothing was changed in Neon. To let the governor "
            "act, set in the config:\n  [remediation]\n  enabled = true\nand give the policies "
            "that should act mode: approve or mode: auto (run `neon-governor plan` first to "
            "see what would be done)"
        )


class PlanFileError(RemediationError):
    """A saved plan that cannot be applied (unreadable, edited, expired)."""
