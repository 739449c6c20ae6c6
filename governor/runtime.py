"""From one config to the working parts: accounts (clients), store, policies, channels.

Why one place: the one-shot commands and the daemon must build these the same way, and
neither should exit the process from inside: everything here raises the domain's own
errors (``ConfigError``, ``PolicyError``, ``SecretError``, ``StoreError``), which
``governor.exit_codes`` maps to exit codes at the very top.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from governor.config import AccountSettings, Config, ConfigError, UsageError, load_config
from governor.model.snapshot import Snapshot
from governor.neon.client import NeonClient
from governor.neon.errors import NeonUsageError
from governor.neon.ids import neon_id, shown
from governor.notify import Channels, LogChannel, PeopleChannel
from governor.owners.match import OwnerMap
from governor.pipeline.audit import run_audit
from governor.pipeline.notifier import Notifier
from governor.pipeline.results import AuditResult
from governor.pipeline.stages import Clock, utc_now
from governor.policy import Policy, configured_policy_paths, load_policies
from governor.remediate.execute import Executor, Outcome
from governor.secrets import read_secret
from governor.store import Store, StoreError
from governor.sweep import Account, OrganizationNotVisible, SweepProgress

if TYPE_CHECKING:  # the Slack SDK and aiohttp load only when Slack is configured (startup)
    from governor.channels import DeliverySender
    from governor.slack.service import SlackService

STORE_FOLDER_MODE = 0o700  # the store holds the estate's inventory and the audit trail


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

    # Paths ------------------------------------------------------------------------------

    @property
    def config_dir(self) -> Path:
        """Where relative paths in the config start: the config file's folder (absolute).

        One rule for every path in the file (policies, the store, key files), so a config
        works the same from any working folder; without a file, the working folder.
        """
        if self.config_path is None:
            return Path.cwd()
        return Path(self.config_path).expanduser().absolute().parent

    def config_relative(self, value: str) -> Path:
        """A path from the config, made absolute against ``config_dir``."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.config_dir / path

    # Policies ---------------------------------------------------------------------------

    def policy_paths(self, override: Sequence[Path] | None = None) -> list[Path]:
        """Flag paths, else the config's (relative to its folder), else the shipped ones."""
        if override:
            return list(override)
        if not self.config.policies.paths:
            return configured_policy_paths((), self.config_path)
        return [self.config_relative(path) for path in self.config.policies.paths]

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
            raise UsageError(
                f"unknown account {', '.join(map(shown, unknown))} for --account; "
                f"the config has {', '.join(sorted(known))}"
            )
        return [known[name] for name in dict.fromkeys(names)]

    def read_key(self, account: AccountSettings) -> str:
        """The account's API key; a relative ``api_key_file`` is taken from ``config_dir``."""
        return read_secret(
            account.api_key_env or "", account.api_key_file, relative_to=self.config_dir
        )

    def client(
        self, account: AccountSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> NeonClient:
        """A client with its own pacer: the account's rate budget. One per process.

        ``[neon] budget_share`` below 1 leaves the rest of both budgets (per minute, and
        per second per route) to the Console, Terraform and CI.
        """
        neon = self.config.neon
        api_key = self.read_key(account)
        per_minute = account.requests_per_minute or neon.requests_per_minute
        per_route = account.requests_per_second_per_route or neon.requests_per_second_per_route
        client = NeonClient(
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
        # The consumption endpoints' own budget ([consumption] requests_per_minute), shared
        # out like the others.
        client.use_consumption_budget(
            shared_budget(self.config.consumption.requests_per_minute, neon.budget_share)
        )
        return client

    @asynccontextmanager
    async def open_accounts(
        self,
        *,
        names: Sequence[str] = (),
        org_ids: Sequence[str] = (),
        transport: (
            httpx.AsyncBaseTransport | Callable[[str], httpx.AsyncBaseTransport] | None
        ) = None,
    ) -> AsyncIterator[list[Account]]:
        """Clients for the accounts, closed on leaving; ``org_ids`` overrides the config's.

        ``transport`` may be a function of the account's name (the daemon's metrics label
        each request with its account)."""
        settings = self.account_settings(names)
        self.check_org_ids(org_ids, flag="--org")
        self.check_org_ids([org for account in settings for org in account.organizations])
        async with AsyncExitStack() as stack:
            accounts = []
            for account in settings:
                own = transport(account.name) if callable(transport) else transport
                client = await stack.enter_async_context(self.client(account, transport=own))
                covered = tuple(org_ids) or tuple(account.organizations)
                accounts.append(Account(account.name, client, covered))
            try:
                yield accounts
            except OrganizationNotVisible as error:
                source = "--org" if org_ids else "from the config's organizations"
                raise error.named_by(source) from None

    @staticmethod
    def check_org_ids(org_ids: Sequence[str], *, flag: str = "") -> list[str]:
        """Refuse an organization id Neon could not have issued (``--org ""``, ``..``).

        ``flag``: the option the ids came from (a usage error), else the config's.
        """
        for org_id in org_ids:
            try:
                neon_id("org_id", org_id)
            except NeonUsageError:
                rule = "Neon's ids are 1 to 60 lowercase letters, digits or hyphens"
                if flag:
                    raise UsageError(
                        f"{flag} {shown(org_id)} is not an organization id: {rule}; "
                        "`neon-governor inventory` lists each organization's id and name"
                    ) from None
                raise ConfigError(
                    f"invalid organization id {shown(org_id)} in organizations: {rule}"
                ) from None
        return list(org_ids)

    # Store and notifier -----------------------------------------------------------------

    def store_path(self, override: Path | None = None) -> Path:
        """``--db`` as given, else ``[store] path`` (absolute, relative to ``config_dir``)."""
        return override if override is not None else self.config_relative(self.config.store.path)

    def prepare_store_folder(self, override: Path | None = None) -> Path:
        """The store's path, its folder created (owner-only) when the config's is missing.

        Why only the config's: ``[store] path`` is the deployment's layout, so its folder is
        ours to make; a ``--db`` into a folder that does not exist is more likely a typo.
        """
        path = self.store_path(override)
        folder = path.parent
        if override is None and not folder.exists():
            try:
                folder.mkdir(mode=STORE_FOLDER_MODE, parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(
                    f"{path}: cannot create its folder {folder}: {error.strerror}"
                ) from None
        return path

    def open_store(self, override: Path | None = None, *, read_only: bool = False) -> Store:
        return Store.open(
            self.store_path(override) if read_only else self.prepare_store_folder(override),
            read_only=read_only,
            busy_timeout_seconds=self.config.store.busy_timeout_seconds,
        )

    async def open_async_store(self, override: Path | None = None) -> Store:
        return await Store.open_async(
            self.prepare_store_folder(override),
            busy_timeout_seconds=self.config.store.busy_timeout_seconds,
        )

    # The audit, what acts and what talks to people ---------------------------------------

    async def audit(
        self,
        accounts: Sequence[Account],
        store: Store,
        policies: Sequence[Policy],
        *,
        trigger: str,
        progress: Callable[[SweepProgress], None] | None = None,
        snapshot: Snapshot | None = None,
        notifier: Notifier | None = None,
        clock: Clock | None = None,
        run: Callable[..., Awaitable[AuditResult]] = run_audit,
        consumption: bool = True,
        keep_snapshot: bool = True,
    ) -> AuditResult:
        """One audit with the config's prices and concurrency: the one call of ``run_audit``
        for ``audit``, ``plan``/``apply`` and the daemon (``run``: the daemon's, tests').

        ``consumption``: read Neon's meters before pricing, as ``[consumption]`` says
        (``audit --no-consumption``: not this time). ``keep_snapshot=False``: streamed, flat
        memory, no snapshot kept (the one-shot ``audit``, when nothing after it needs one)."""
        streamed = {} if keep_snapshot else {"keep_snapshot": False}
        return await run(
            **streamed,
            accounts=accounts,
            store=store,
            policies=policies,
            prices=self.config.prices,
            clock=clock or self.clock,
            concurrency=self.config.neon.concurrency,
            trigger=trigger,
            progress=progress,
            snapshot=snapshot,
            notifier=notifier,
            consumption=self.config.consumption if consumption else None,
            savings=self.config.savings,
            owners=self.owner_map(),
        )

    def owner_map(self) -> OwnerMap:
        """[owners] (and the file it names, read now): who owns each resource."""
        webhooks = [webhook.name for webhook in self.config.webhooks]
        return OwnerMap.from_settings(self.config.owners, self.config_dir, webhooks=webhooks)

    def executor(
        self,
        accounts: Sequence[Account],
        store: Store,
        *,
        actor: str,
        policies: Sequence[Policy] = (),
        report: Callable[[Outcome], None] | None = None,
        on_end: Callable[[str, str], None] | None = None,
        build: Callable[..., Executor] = Executor,
        **hooks: object,
    ) -> Executor:
        """The one way into Neon's mutations: each account's client under its own name.

        ``build``/``hooks``: the daemon's executor that stops claiming on SIGTERM.
        """
        return build(
            store=store,
            clients={account.name: account.client for account in accounts},
            policies={policy.name: policy for policy in policies},
            settings=self.config.remediation,
            clock=self.clock,
            actor=actor,
            report=report,
            on_end=on_end,
            **hooks,
        )

    def slack(
        self,
        store: Store,
        accounts: Sequence[Account],
        *,
        executor: Callable[[], Executor] | None = None,
    ) -> SlackService | None:
        """Slack when ``[slack]`` is set up (None otherwise); SecretError: no bot token."""
        if not self.config.slack.configured:
            return None
        from governor.slack.service import SlackService

        return SlackService.build(
            self.config.slack,
            store,
            self.clock,
            executor=executor,
            accounts=accounts,
            owner_contacts=self.owner_map().owners,  # approve_own ([owners] or its file)
        )

    def channels(
        self,
        slack: SlackService | None,
        *,
        interactive: bool,
        report: str | None = None,
        store: Store | None = None,
    ) -> Channels:
        """The channels to people, built once per command or daemon generation: the log
        always (without run reports for one-shot commands, which print their own), then
        Slack when set up (``report``: its default report setting, the daemon's), then
        webhook, email and Teams when set up (they queue in ``store``, Slack's when not
        given; ``delivery_sender`` sends)."""
        built: list[PeopleChannel] = [LogChannel(reports=not interactive)]
        if slack is not None:
            # owners' digests go to their slack_channel: the channel looks the owner up
            built.append(replace(slack.channel(report=report), contacts=self.owner_map().contact))
        store = store if store is not None else (slack.store if slack is not None else None)
        if store is not None:
            from governor.channels import channels_for

            built.extend(
                channels_for(
                    self.config,
                    store,
                    self.clock,
                    config_dir=self.config_dir,
                    contacts=self.owner_map().contact,
                )
            )
        return Channels(built)

    def delivery_sender(self, store: Store) -> DeliverySender | None:
        """What sends the webhook, email and Teams outbox (None: none is set up); secrets
        are read when sending. The caller closes it (``flush_deliveries`` or ``run`` does)."""
        from governor.channels import DeliverySender, configured

        if not configured(self.config):
            return None
        return DeliverySender(
            self.config,
            store,
            self.clock,
            config_dir=self.config_dir,
            contacts=self.owner_map().contact,
        )
