"""``neon-governor doctor``'s local checks: config extras, store, policies, credentials.

Why separate from the key checks (key_checks.py): these never touch the network, and each
returns a ``Check`` instead of raising, so one broken part never hides the next.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from governor.config import AccountSettings
from governor.observability.server import parse_listen
from governor.policy.errors import PolicyError
from governor.runtime import Runtime
from governor.store import StoreError
from governor.store.connection import applied_migrations

State = Literal["ok", "FAIL", "skip"]
_CREDENTIAL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@\-]*$")  # as governor.secrets


@dataclass(frozen=True)
class Check:
    state: State
    name: str
    detail: str
    hint: str = ""

    @property
    def failed(self) -> bool:
        return self.state == "FAIL"


def ok(name: str, detail: str) -> Check:
    return Check("ok", name, detail)


def failed(name: str, detail: str, hint: str) -> Check:
    return Check("FAIL", name, detail, hint)


def skipped(name: str, detail: str) -> Check:
    return Check("skip", name, detail)


def config_checks(runtime: Runtime) -> list[Check]:
    """The config loaded (or doctor would have exited 2); what loading cannot check."""
    where = str(runtime.config_path) if runtime.config_path else "built-in defaults (no --config)"
    accounts = runtime.config.effective_accounts()
    checks = [ok("config", f"{where}: valid, {len(accounts)} account(s)")]
    listen = runtime.config.metrics.listen
    if not listen.strip():
        checks.append(skipped("metrics", "[metrics] listen is empty: /metrics is off"))
    else:
        try:
            host, port = parse_listen(listen)
            checks.append(ok("metrics", f"[metrics] listen {host}:{port} parses"))
        except ValueError as error:
            checks.append(failed("metrics", str(error), 'set [metrics] listen = "127.0.0.1:9464"'))
    return checks


def store_check(runtime: Runtime) -> Check:
    """Writable (file and folder: SQLite keeps -wal and -shm beside it) and schema current.

    Opened read-only, so doctor never migrates or creates anything itself.
    """
    path = runtime.store_path()
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        existing = next((parent for parent in folder.parents if parent.is_dir()), None)
        if existing is not None and os.access(existing, os.W_OK):
            return ok(
                "store", f"{path}: folder {folder} does not exist yet; the first run creates it"
            )
        return failed(
            "store", f"{path}: folder {folder} does not exist", "create it, or set [store] path"
        )
    if not os.access(folder, os.W_OK):
        return failed(
            "store",
            f"{path}: folder {folder} is not writable (SQLite keeps -wal and -shm there)",
            "make the folder writable for this user, or set [store] path "
            "(under systemd: StateDirectory=)",
        )
    if not path.exists():
        return ok(
            "store", f"{path}: not created yet; {folder} is writable, the first run creates it"
        )
    if not os.access(path, os.W_OK):
        return failed("store", f"{path}: the file is read-only", "make it writable for this user")
    try:
        with runtime.open_store(read_only=True) as store:
            applied = store.call(applied_migrations)
    except StoreError as error:
        return failed("store", str(error), "run `neon-governor audit` once, or move the file aside")
    return ok("store", f"{path}: writable, schema current ({len(applied)} migrations)")


def policy_check(runtime: Runtime) -> Check:
    paths = runtime.policy_paths()
    try:
        loaded = runtime.policies()
    except PolicyError as error:
        first, *rest = str(error).splitlines() or ["invalid"]
        more = f" (and {len(rest)} more)" if rest else ""
        return failed("policies", f"{first}{more}", "run `neon-governor policies validate`")
    shown = ", ".join(str(path) for path in paths)
    return ok("policies", f"{len(loaded)} valid policies from {shown}")


def credentials_check(accounts: list[AccountSettings]) -> Check:
    """Under systemd, every key named as a credential must be readable in the directory."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return skipped("credentials", "$CREDENTIALS_DIRECTORY is not set (not under systemd)")
    folder = Path(directory)
    if not folder.is_dir():
        return failed(
            "credentials",
            f"$CREDENTIALS_DIRECTORY={folder} is not a directory",
            "check LoadCredential= in the unit",
        )
    names = [
        account.api_key_file
        for account in accounts
        if account.api_key_file and _CREDENTIAL_NAME.match(account.api_key_file)
    ]
    if not names:
        return ok("credentials", f"{folder} is readable; no key is configured as a credential")
    unreadable = [name for name in names if not os.access(folder / name, os.R_OK)]
    if unreadable:
        return failed(
            "credentials",
            f"not readable in {folder}: {', '.join(unreadable)}",
            "add LoadCredential=<name>:<path> (or LoadCredentialEncrypted=) to the unit",
        )
    return ok("credentials", f"{', '.join(names)} readable in {folder}")
