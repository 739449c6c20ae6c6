"""System tools some tests drive (promtool, chromium, podman): found, skipped or failed.

Why fail under CI: `.ci/system-packages` installs them there, so a missing tool in CI is
a broken install step, not a reason to pass quietly; on a developer's machine without
them the test is skipped and says which package brings the tool.
"""

from __future__ import annotations

import os
import shutil

import pytest

PACKAGES = {"promtool": "prometheus", "chromium": "chromium", "podman": "podman"}


def require_tool(name: str) -> str:
    """The tool's path; skip when absent here, fail when absent in CI (``CI`` set)."""
    path = shutil.which(name)
    if path is not None:
        return path
    package = PACKAGES.get(name, name)
    message = f"{name} is not installed (Debian package {package!r}; .ci/system-packages)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
