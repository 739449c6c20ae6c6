"""The one map from what went wrong to the process exit code, for every command.

Why one map: ``audit`` in CI and the systemd units read these codes; a second vocabulary
(or a literal number) in some command would make "1" mean "findings" in one place and
"crashed" in another. Only these four codes are ever returned on purpose.
"""

from __future__ import annotations

from enum import IntEnum

from governor.config import ConfigError, UsageError
from governor.neon.errors import NeonAuthError, NeonError, NeonUsageError
from governor.policy.errors import PolicyError
from governor.remediate.errors import RemediationError
from governor.secrets import SecretError
from governor.store import StoreError
from governor.sweep import OrganizationNotVisible


class ExitCode(IntEnum):
    OK = 0  # done; no open finding at or above --fail-on
    FINDINGS = 1  # findings at or above --fail-on
    USAGE = 2  # usage, config, policy, key or store problem: fix the setup
    INCOMPLETE = 3  # the account could not be (fully) read


# Most specific first: NeonAuthError and NeonUsageError are NeonErrors too.
_CODES: tuple[tuple[type[BaseException], ExitCode, str], ...] = (
    (UsageError, ExitCode.USAGE, "usage error"),
    (OrganizationNotVisible, ExitCode.USAGE, "usage error"),
    (ConfigError, ExitCode.USAGE, "config error"),
    (PolicyError, ExitCode.USAGE, "policy error"),
    (SecretError, ExitCode.USAGE, "no Neon API key"),
    (StoreError, ExitCode.USAGE, "store error"),
    (RemediationError, ExitCode.USAGE, ""),
    (NeonAuthError, ExitCode.USAGE, ""),
    (NeonUsageError, ExitCode.USAGE, "refused"),
    (NeonError, ExitCode.INCOMPLETE, ""),
)
KNOWN_ERRORS: tuple[type[BaseException], ...] = tuple(kind for kind, _, _ in _CODES)


def exit_code_for(error: BaseException) -> ExitCode | None:
    """The exit code for a known error; None for anything else (a bug: let it show)."""
    for kind, code, _ in _CODES:
        if isinstance(error, kind):
            return code
    return None


def describe(error: BaseException) -> str:
    """What to print for a known error: its kind, then its own message.

    Config and policy errors list one problem per line, so those start on a new line.
    """
    for kind, _, label in _CODES:
        if isinstance(error, kind):
            text = str(error)
            if not label:
                return text
            separator = ":\n" if isinstance(error, ConfigError | PolicyError) else ": "
            return f"{label}{separator}{text}"
    return str(error)
