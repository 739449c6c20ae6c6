"""The policy engine: YAML policies in, findings out (pure; no I/O during evaluation).

``load_policies(paths)`` reads and validates policy files (errors: ``PolicyError``, one
``FILE:LINE:COLUMN: path: message`` per problem); ``evaluate(policies, snapshot, now=...)``
returns one ``Finding`` per selected resource. The filter language is described in
``governor.policy.filters``, the fields it can name in ``governor.policy.fields``.
"""

from __future__ import annotations

from governor.policy.errors import PolicyError, PolicyProblem
from governor.policy.evaluate import evaluate, fingerprint
from governor.policy.json_schema import policy_file_schema
from governor.policy.loader import (
    configured_policy_paths,
    load_policies,
    policy_files,
    shipped_policies_path,
)
from governor.policy.model import Exclude, Limits, Policy

__all__ = [
    "Exclude",
    "Limits",
    "Policy",
    "PolicyError",
    "PolicyProblem",
    "configured_policy_paths",
    "evaluate",
    "fingerprint",
    "load_policies",
    "policy_file_schema",
    "policy_files",
    "shipped_policies_path",
]
