"""Remediation in the daemon: after each audit a pass over its findings; at start, reconcile.

Why after the audit and not a job of its own: a plan is only as good as the sweep it is
built on, and the pass acts on exactly the findings that audit recorded. Nothing runs
unless ``[remediation] enabled = true``; a pass that fails is logged and never fails the
sweep. At start, whatever a killed process left half-done is finished in the background
(following operations can take minutes; startup, READY and the watchdog must not wait).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from governor.daemon.jobs import JobContext
from governor.daemon.stop import StoppableExecutor
from governor.notify import LogChannel, PeopleChannel
from governor.pipeline.results import AuditResult
from governor.remediate.cycle import apply_plan, plan_for
from governor.remediate.execute import Executor, Outcome
from governor.remediate.reconcile import reconcile
from governor.store import remediations
from governor.store.remediations import RemediationRecord

logger = logging.getLogger("governor.daemon.remediation")
ACTOR = "daemon"


def daemon_executor(context: JobContext) -> Executor:
    """The daemon's executor, from the generation's context alone (so Slack's approvals and
    the remediation pass share it without either building the other first)."""
    return context.runtime.executor(
        context.accounts,
        context.store,
        actor=ACTOR,
        policies=context.policies,
        report=_log,
        on_end=context.metrics.observe_remediation,
        build=StoppableExecutor,
        stopping=context.stopping.is_set,  # SIGTERM: nothing new is claimed
        declined=context.unstarted.add,  # a reload's next generation starts them
    )


@dataclass(frozen=True)
class DaemonRemediation:
    context: JobContext
    # the channels to people the runtime built (the log, and Slack when set up)
    channel: PeopleChannel = field(default_factory=LogChannel)

    @property
    def enabled(self) -> bool:
        return self.context.runtime.config.remediation.enabled

    def executor(self) -> Executor:
        return daemon_executor(self.context)

    async def reconcile(self) -> list[Outcome]:
        if not self.enabled:
            return []
        try:
            return await reconcile(self.executor())
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
                accounts=self.context.accounts,
            )
            passed = await apply_plan(
                plan,
                executor=self.executor(),
                run_id=result.run_id,
                # with Slack set up, notices go where people read them (red-team 11)
                announce=self.channel.notices(self.context.policies),
            )
        except Exception:
            logger.exception("the remediation pass after run %s failed", result.run_id)
            return []
        try:
            await self.channel.request(passed.requested)
            await self.channel.outcomes(passed.outcomes)
        except Exception:
            logger.exception("telling people of the pass's requests and outcomes failed")
        return passed.outcomes

    async def resume(self, unstarted: Iterable[int], unpassed: Sequence[AuditResult]) -> None:
        """After a reload, once the old generation's pass has ended: what it left.

        The rows it declined to start (still planned or approved, and still acting under
        this config's policies) are started here; a sweep whose pass it skipped gets its
        pass. Each row is claimed by a compare-and-set, so nothing runs twice.
        """
        if not self.enabled or self.context.stopping.is_set():
            return
        for result in unpassed:
            await self.after_audit(result)
        records = []
        for remediation_id in sorted(unstarted):
            try:
                record = await self.context.store.run(remediations.get, remediation_id)
            except Exception:
                logger.exception("remediation %s left by the reload cannot be read", remediation_id)
                continue
            why = self._not_resumed(record)
            if why is not None:
                logger.info("remediation %s left by the reload stays: %s", record.id, why)
                continue
            records.append(record)
        if not records:
            return
        logger.info("starting %d remediation(s) the reloaded generation left", len(records))
        try:
            outcomes = await self.executor().run(records)
        except Exception:
            logger.exception("starting what the reload left failed; the next pass plans again")
            return
        try:
            await self.channel.outcomes(outcomes)
        except Exception:
            logger.exception("telling people the outcomes failed")

    def _not_resumed(self, record: RemediationRecord) -> str | None:
        """Why a row the old generation left is not started now (None: start it)."""
        if record.state not in ("planned", "approved"):
            return "no longer waiting to start"
        policies = {policy.name: policy for policy in self.context.policies}
        acting = ("auto",) if record.state == "planned" else ("auto", "approve")
        for source in record.findings:
            policy = policies.get(str(source.get("policy")))
            if policy is None or policy.mode not in acting:
                return f"policy {source.get('policy')} no longer acts on it; the next pass plans"
        return None


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
