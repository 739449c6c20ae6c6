"""Remediation in the daemon: after each audit a pass over its findings; at start, reconcile.

Why after the audit and not a job of its own: a plan is only as good as the sweep it is
built on, and the pass acts on exactly the findings that audit recorded. Nothing runs
unless ``[remediation] enabled = true``; a pass that fails is logged and never fails the
sweep. At start, whatever a killed process left half-done is finished in the background
(following operations can take minutes; startup, READY and the watchdog must not wait).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from governor.daemon.jobs import JobContext
from governor.daemon.stop import StoppableExecutor
from governor.pipeline.results import AuditResult
from governor.remediate.execute import Executor, Outcome
from governor.remediate.session import AccountScope, apply_plan, plan_for, reconcile_unfinished
from governor.slack.approvals import ApprovalDesk

logger = logging.getLogger("governor.daemon.remediation")
ACTOR = "daemon"


@dataclass(frozen=True)
class DaemonRemediation:
    context: JobContext
    desk: ApprovalDesk | None = None  # Slack's approval messages, when Slack is set up

    @property
    def enabled(self) -> bool:
        return self.context.runtime.config.remediation.enabled

    def executor(self) -> Executor:
        runtime = self.context.runtime
        return StoppableExecutor(
            stopping=self.context.stopping.is_set,  # SIGTERM: nothing new is claimed
            store=self.context.store,
            clients={account.name: account.client for account in self.context.accounts},
            policies={policy.name: policy for policy in self.context.policies},
            settings=runtime.config.remediation,
            clock=runtime.clock,
            actor=ACTOR,
            report=_log,
        )

    async def reconcile(self) -> list[Outcome]:
        if not self.enabled:
            return []
        try:
            return await reconcile_unfinished(self.executor())
        except Exception:
            logger.exception("reconciling unfinished remediations failed; the next pass retries")
            return []

    async def after_audit(self, result: AuditResult) -> list[Outcome]:
        if not self.enabled or result.snapshot is None:
            return []
        runtime = self.context.runtime
        try:
            plan = await plan_for(
                result,
                store=self.context.store,
                policies=self.context.policies,
                settings=runtime.config.remediation,
                now=runtime.clock(),
                accounts=[AccountScope(a.name, tuple(a.org_ids)) for a in self.context.accounts],
            )
            passed = await apply_plan(
                plan,
                executor=self.executor(),
                run_id=result.run_id,
                # with Slack set up, notices go where people read them (red-team 11)
                announce=self.desk.notices(self.context.policies) if self.desk else None,
            )
        except Exception:
            logger.exception("the remediation pass after run %s failed", result.run_id)
            return []
        if self.desk is not None:
            try:
                await self.desk.request(passed.requested)
                await self.desk.outcomes(passed.outcomes)
            except Exception:
                logger.exception("queueing Slack approval messages failed")
        for record in passed.requested:
            logger.info(
                "remediation %s awaiting approval: %s on %s %s",
                record.id,
                record.change.get("kind"),
                record.resource_type,
                record.resource_id,
            )
        return passed.outcomes


def _log(outcome: Outcome) -> None:
    level = logging.WARNING if outcome.state == "failed" else logging.INFO
    logger.log(
        level,
        "remediation %s %s: %s on %s: %s",
        outcome.remediation_id,
        outcome.state,
        outcome.change,
        outcome.resource,
        outcome.reason,
    )
