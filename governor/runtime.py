"""From one config to the working parts: accounts (clients), store, policies, notifier.

Why one place: the one-shot commands and the daemon must build these the same way, and
neither should exit the process from inside: everything here raises the domain's own
errors (``ConfigError``, ``PolicyError``, ``SecretError``, ``StoreError``), which
``governor.exit_codes`` maps to exit codes at the very top.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from governor.config import AccountSettings, Config, ConfigError, load_config
from governor.neon.client import NeonClient
from governor.neon.errors import NeonUsageError
from governor.neon.ids import neon_id, shown
from governor.notify import LogNotifier, NullNotifier
from governor.pipeline.notifier import Notifier
from governor.pipeline.stages import Clock, utc_now
from governor.policy import Policy, configured_policy_paths, load_policies
from governor.secrets import read_secret
from governor.store import Store
from governor.store.async_store import AsyncStore
from governor.sweep import Account


def shared_budget(limit: int, share: float) -> int:
    """The part of a rate ``limit`` the governor may use (``[neon] budget_share``), at least 1."""
    return max(1, math.floor(limit * share))


@dataclass
class Runtime:
    config: Config = field(default_factory=Config)
    config_path: Path | None = None
    clock: Clock = utc_now

    @classmethod
    def load(cls, config_path: Path | None, *, clock: Clock = utc_now) -> Runtime:
        return cls(load_config(config_path), config_path, clock)

    # Policies ---------------------------------------------------------------------------

    def policy_paths(self, override: Sequence[Path] | None = None) -> list[Path]:
        """Flag paths, else the config's (relative to its folder), else the shipped ones."""
        if override:
            return list(override)
        return configured_policy_paths(self.config.policies.paths, self.config_path)

    def policies(self, override: Sequence[Path] | None = None) -> list[Policy]:
        return list(load_policies(self.policy_paths(override)))

    # Accounts ---------------------------------------------------------------------------

    def account_settings(self, names: Sequence[str] = ()) -> list[AccountSettings]:
        """The configured accounts, or those named (refusing names the config lacks)."""
        every = self.config.effective_accounts()
        if not names:
            return every
        known = {account.name: account for account in every}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ConfigError(
                f"unknown account {', '.join(map(repr, unknown))}; "
                f"the config has {', '.join(sorted(known))}"
            )
        return [known[name] for name in dict.fromkeys(names)]

    def client(
        self, account: AccountSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> NeonClient:
        """A client with its own pacer: the account's rate budget. One per process.

        ``[neon] budget_share`` below 1 leaves the rest of both budgets (per minute, and
        per second per route) to the Console, Terraform and CI.
        """
        neon = self.config.neon
        api_key = read_secret(account.api_key_env or "", account.api_key_file)
        per_minute = account.requests_per_minute or neon.requests_per_minute
        per_route = account.requests_per_second_per_route or neon.requests_per_second_per_route
        return NeonClient(
            api_key,
            base_url=self.config.effective_api_url(),
            requests_per_minute=shared_budget(per_minute, neon.budget_share),
            requests_per_second_per_route=shared_budget(per_route, neon.budget_share),
            timeout_seconds=neon.timeout_seconds,
            max_attempts=neon.max_attempts,
            backoff_cap_seconds=neon.backoff_cap_seconds,
            max_connections=neon.concurrency,
            transport=transport,
        )

    @asynccontextmanager
    async def open_accounts(
        self,
        *,
        names: Sequence[str] = (),
        org_ids: Sequence[str] = (),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> AsyncIterator[list[Account]]:
        """Clients for the accounts, closed on leaving; ``org_ids`` overrides the config's."""
        settings = self.account_settings(names)
        self.check_org_ids(
            [*org_ids, *(org for account in settings for org in account.organizations)]
        )
        async with AsyncExitStack() as stack:
            accounts = []
            for account in settings:
                client = await stack.enter_async_context(self.client(account, transport=transport))
                covered = tuple(org_ids) or tuple(account.organizations)
                accounts.append(Account(account.name, client, covered))
            yield accounts

    @staticmethod
    def check_org_ids(org_ids: Sequence[str]) -> list[str]:
        """Refuse an organization id Neon could not have issued (``--org ""``, ``..``)."""
        for org_id in org_ids:
            try:
                neon_id("org_id", org_id)
            except NeonUsageError:
                raise ConfigError(
                    f"invalid organization id {shown(org_id)}: Neon's ids are 1 to 60 "
                    "lowercase letters, digits or hyphens"
                ) from None
        return list(org_ids)

    # Store and notifier -----------------------------------------------------------------

    def store_path(self, override: Path | None = None) -> Path:
        return override if override is not None else Path(self.config.store.path)

    def open_store(self, override: Path | None = None, *, read_only: bool = False) -> Store:
        return Store.open(
            self.store_path(override),
            read_only=read_only,
            busy_timeout_seconds=self.config.store.busy_timeout_seconds,
        )

    async def open_async_store(self, override: Path | None = None) -> AsyncStore:
        return await AsyncStore.open(
            self.store_path(override),
            busy_timeout_seconds=self.config.store.busy_timeout_seconds,
        )

    def notifier(self, *, interactive: bool) -> Notifier:
        """One-shot commands print their own report; the daemon logs (Slack when set up)."""
        return NullNotifier() if interactive else LogNotifier()
