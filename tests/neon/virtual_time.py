"""Virtual time for asyncio tests: sleeps return at once and the clock jumps.

Why: pacing is about time; real sleeps would make the tests slow and noisy. Every task
sleeps through ``VirtualClock.sleep``; ``run`` lets ready tasks run, then wakes the
earliest sleeper and moves the clock to its wake-up time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Coroutine
from typing import Any, TypeVar

ResultT = TypeVar("ResultT")


class VirtualClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(0.0, seconds), next(self._sequence), future))
        await future

    async def run(self, coroutine: Coroutine[Any, Any, ResultT]) -> ResultT:
        task = asyncio.ensure_future(coroutine)
        while not task.done():
            for _ in range(20):
                await asyncio.sleep(0)
                if task.done():
                    break
            if task.done():
                break
            if not self._timers:
                task.cancel()
                raise RuntimeError("every task waits, and no virtual timer is pending")
            when, _, future = heapq.heappop(self._timers)
            self.now = max(self.now, when)
            if not future.cancelled():
                future.set_result(None)
        return task.result()


class SteppingClock:
    """For one sequential task: ``sleep`` just advances the clock."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)
