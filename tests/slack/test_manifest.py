"""examples/slack-app-manifest.yaml grants what the code uses, and nothing it does not.

Why a test: a Web API call added without its scope fails only in a real workspace
(``missing_scope``), long after the tests passed against the fake, which checks no scopes.
The calls are found in the source (every ``web.``/``client.<family>_<method>(`` call),
so a new call fails here until its scopes are in the table below and in the manifest.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from governor.slack.interactions import SLASH_COMMAND

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "examples" / "slack-app-manifest.yaml"
FAMILIES = "apps|auth|bookmarks|chat|conversations|files|pins|reactions|team|usergroups|users|views"
CALL = re.compile(rf"\b(?:web|client)\.((?:{FAMILIES})_[A-Za-z0-9_]+)\(")
# Slack's documented bot scopes per method (https://api.slack.com/methods); private
# channels need the groups: twin of each channels: scope.
SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "apps.connections.open": set(),  # the app-level token's connections:write, not a bot scope
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "conversations.history": {"channels:history", "groups:history"},
    "conversations.replies": {"channels:history", "groups:history"},
    "conversations.info": {"channels:read", "groups:read"},
    "files.upload_v2": {"files:write"},
    "users.info": {"users:read"},
    "users.lookupByEmail": {"users:read", "users:read.email"},
    "usergroups.users.list": {"usergroups:read"},
    "views.open": set(),
    "views.update": set(),
    "views.push": set(),
}


def web_api_methods() -> set[str]:
    """Every Web API method the product calls (the fake Slack is not the product)."""
    found: set[str] = set()
    for path in (ROOT / "governor").rglob("*.py"):
        if "fake_slack" in path.parts:
            continue
        for name in CALL.findall(path.read_text()):
            family, _, rest = name.partition("_")
            method = f"{family}.{rest}" if rest == "upload_v2" else name.replace("_", ".")
            found.add(method)
    return found


def manifest() -> dict[str, object]:
    loaded = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_every_web_api_method_the_code_calls_is_covered_by_a_scope_in_the_manifest() -> None:
    methods = web_api_methods()
    assert {"chat.postMessage", "chat.update", "auth.test"} <= methods  # the scan works
    unknown = methods - SCOPES.keys()
    assert not unknown, f"add the scopes of {sorted(unknown)} to SCOPES and the manifest"
    granted = set(manifest()["oauth_config"]["scopes"]["bot"])  # type: ignore[index]
    missing = {m: sorted(SCOPES[m] - granted) for m in methods if SCOPES[m] - granted}
    assert not missing, f"the manifest lacks {missing}"
    needed = set().union(*(SCOPES[m] for m in methods)) | {"commands"}
    assert granted - needed == set(), "scopes no call needs: drop them from the manifest"


def test_the_manifest_turns_on_socket_mode_interactivity_and_the_slash_command() -> None:
    loaded = manifest()
    settings = loaded["settings"]
    features = loaded["features"]
    assert isinstance(settings, dict)
    assert isinstance(features, dict)
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert [c["command"] for c in features["slash_commands"]] == [SLASH_COMMAND]
    assert "commands" in loaded["oauth_config"]["scopes"]["bot"]  # type: ignore[index]
