"""Where the remediation layer found change kinds and proposals before they moved below the
store (``governor/changes.py``, so a stored row is parsed into its kind's class when read).

Kept as a name for the modules that import it; new code imports ``governor.changes``.
"""

from governor.changes import Change, ChangeKind, Proposal, expiry_at, propose

__all__ = ["Change", "ChangeKind", "Proposal", "expiry_at", "propose"]
