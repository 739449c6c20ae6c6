"""Slack for one process: the clients, the outbox sender, the approval messages, the handler.

Why one object: the daemon's jobs, the remediation pass and the one-shot audit all need
the same pieces wired the same way, and the tokens are read once, here, and never leave
the slack_sdk clients (never logged, never stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from governor.config.owners import OwnerContact
from governor.config.slack import SlackSettings
from governor.neon.models import OrgMember
from governor.pipeline.results import AuditResult
from governor.remediate.execute import Executor
from governor.secrets import read_secret
from governor.slack.approvals import SlackApprovals
from governor.slack.channel import SlackChannel
from governor.slack.interactions import Interaction, InteractionHandler
from governor.slack.notifier import SlackNotifier
from governor.slack.outbox import OutboxSender
from governor.slack.owners import resolve_owners, slack_lookup
from governor.slack.redact import sdk_logger
from governor.slack.socket import SocketConnection
from governor.store import Store, exemptions
from governor.store import slack as slack_table
from governor.store.remediations import RemediationRecord
from governor.sweep import Account

logger = logging.getLogger(__name__)


def bot_token(settings: SlackSettings) -> str:
    return read_secret(
        settings.bot_token_env, settings.bot_token_file, relative_to=settings.config_dir
    )


def app_token(settings: SlackSettings) -> str:
    return read_secret(
        settings.app_token_env, settings.app_token_file, relative_to=settings.config_dir
    )


def web_client(settings: SlackSettings, token: str) -> AsyncWebClient:
    base = settings.api_url if settings.api_url.endswith("/") else settings.api_url + "/"
    return AsyncWebClient(
        token=token,
        base_url=base,
        logger=sdk_logger("web"),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


@dataclass
class SlackService:
    settings: SlackSettings
    store: Store
    clock: Callable[[], datetime]
    web: AsyncWebClient
    executor: Callable[[], Executor] | None = None
    accounts: Sequence[Account] = ()  # Neon clients, to resolve owners through members
    owner_contacts: Sequence[OwnerContact] = ()  # [owners]: approve_own users approve
    _team: str | None = None
    # set by ``wake()``: the sender stops waiting (idle or pacing) and reads what is due;
    # one per event loop (a command may run several loops one after the other)
    _wakeup: asyncio.Event | None = None
    _wakeup_loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def build(
        cls,
        settings: SlackSettings,
        store: Store,
        clock: Callable[[], datetime],
        *,
        executor: Callable[[], Executor] | None = None,
        accounts: Sequence[Account] = (),
        owner_contacts: Sequence[OwnerContact] = (),
    ) -> SlackService:
        """Reads the bot token (SecretError when it cannot); report-only webhooks need none."""
        token = bot_token(settings) if settings.channel is not None else ""
        web = web_client(settings, token)
        return cls(settings, store, clock, web, executor, accounts, owner_contacts)

    @property
    def approvals(self) -> SlackApprovals:
        return SlackApprovals(
            self.store, self.settings, self.clock, owners=self.owner_contacts, wake=self.wake
        )

    @property
    def notifier(self) -> SlackNotifier:
        owners = self.owners if self.accounts else None
        return SlackNotifier(self.store, self.settings, self.clock, owners)

    def channel(self, *, report: str | None = None) -> SlackChannel:
        """Slack as a channel to people; ``report``: the default when ``[slack] report``
        is not written down (the daemon reports only runs that changed something)."""
        reports = self.notifier
        if report is not None and "report" not in self.settings.model_fields_set:
            settings = self.settings.model_copy(update={"report": report})
            reports = dataclasses.replace(reports, settings=settings)
        return SlackChannel(reports, self.approvals)

    async def owners(self, result: AuditResult) -> dict[tuple[str, str], str]:
        if result.snapshot is None:
            return {}

        async def members_of(org_id: str) -> list[OrgMember]:
            account = next((a for a in self.accounts if org_id in a.org_ids), self.accounts[0])
            return await account.client.list_org_members(org_id)

        return await resolve_owners(
            result.findings,
            result.snapshot,
            members_of=members_of,
            slack_user_by_email=slack_lookup(self.web),
        )

    sender_interval: float = 1.0  # seconds between two messages to one channel

    @property
    def wakeup(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if self._wakeup is None or self._wakeup_loop is not loop:
            self._wakeup, self._wakeup_loop = asyncio.Event(), loop
        return self._wakeup

    def sender(self) -> OutboxSender:
        return OutboxSender(
            self.store,
            self.web,
            clock=self.clock,
            interval=self.sender_interval,
            webhook_url=self.settings.webhook_url,
            wakeup=self.wakeup,
        )

    def wake(self) -> None:
        """Feedback was queued (``slack_table.enqueue(..., priority=1)``): send it now, not
        after the sender's idle second or a post's pacing. Call it on the event loop."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def team_id(self) -> str | None:
        """The workspace the bot token belongs to (None while Slack cannot say: fail closed)."""
        if self.settings.team_id is not None:
            return self.settings.team_id
        if self._team is None:
            try:
                answer = await self.web.auth_test()
            except (TimeoutError, SlackApiError, SlackClientError, OSError):
                return None
            team = answer.get("team_id")
            self._team = str(team) if isinstance(team, str) and team else None
        return self._team

    async def group_members(self, group: str) -> set[str]:
        """A user group's members as Slack says at this decision (never cached: a person
        removed from the group must not approve on a stale answer)."""
        answer = await self.web.usergroups_users_list(usergroup=group)
        users = answer.get("users") or []
        return {str(user) for user in users if isinstance(user, str)}

    async def run_approved(self, record: RemediationRecord) -> None:
        if self.executor is None:
            return  # the daemon's next pass executes it
        outcomes = await self.executor().run([record])
        async with self.feedback():  # the click's outcome ("done") goes before bulk posts
            await self.approvals.outcomes(outcomes)

    async def _update_as_feedback(
        self, record: RemediationRecord, status: str, detail: str
    ) -> None:
        async with self.feedback():
            await self.approvals.update(record, status, detail)

    @contextlib.asynccontextmanager
    async def feedback(self) -> AsyncIterator[None]:
        """What is queued inside is a click's feedback: updates and ephemerals go at
        priority 1 (even if their code did not say so) and the sender is woken."""
        mark = await self.store.run(slack_table.last_id)
        try:
            yield
        finally:
            await self.store.run(slack_table.as_feedback, after_id=mark)
            self.wake()

    async def handler(self) -> InteractionHandler:
        return InteractionHandler(
            store=self.store,
            settings=self.settings,
            clock=self.clock,
            team_id=await self.team_id(),
            group_members=self.group_members,
            run_approved=self.run_approved,
            update_approval=self._update_as_feedback,
            executor=self.executor() if self.executor is not None else None,
            approvals=self.approvals,  # grouped requests: Approve all, Show items
            owners=self.owner_contacts,
            wake=self.wake,
        )

    async def handle(self, interaction: Interaction) -> str:
        handler = await self.handler()
        async with self.feedback():  # its ephemeral reply
            return await handler.handle(interaction)

    async def announce_ended_exemptions(self) -> int:
        """Exemptions end loudly: one line in the channel for those that just ended."""
        now = self.clock()
        ended = await self.store.run(exemptions.ended_unnoticed, now=now)
        if ended and self.settings.channel is not None:
            lines = [
                f"• {e.resource_type} `{e.resource_id}` (kept by {e.created_by}: {e.reason})"
                for e in ended[:30]
            ]
            more = f"\n+{len(ended) - 30} more" if len(ended) > 30 else ""
            text = "Exemptions ended; these resources are governed again:\n" + "\n".join(lines)
            await self.store.run(
                slack_table.enqueue,
                kind="post",
                channel=self.settings.channel,
                payload={"text": text[:3000] + more},
                now=now,
                ref="exemptions",
            )
        await self.store.run(exemptions.notice_ended, [e.id for e in ended], now=now)
        return len(ended)

    async def run_socket(self, stopping: asyncio.Event) -> None:
        handler = await self.handler()
        connection = SocketConnection(
            app_token(self.settings), self.web, self.handle, refused=handler.refused_envelope
        )
        await connection.run(stopping)
