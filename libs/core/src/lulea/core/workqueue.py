"""A work queue of keys, as client-go's: a key waiting is queued once however often it is added,
one key is never worked on twice at the same time, and a failed key comes back after a
backoff that grows (capped) until it succeeds. Level-based services put the *name* of what
changed here (a project), never the change itself: the worker reads the truth and converges.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("lulea.workqueue")


class WorkQueue:
    def __init__(self, *, base_delay: float = 0.5, max_delay: float = 60.0) -> None:
        self.base_delay, self.max_delay = base_delay, max_delay
        self._due: dict[str, float] = {}  # key -> when it may run (monotonic)
        self._active: set[str] = set()
        self._again: set[str] = set()  # added while active: run once more after
        self._failures: dict[str, int] = {}
        self._wake = asyncio.Event()
        self.done = 0
        self.failed = 0

    def add(self, key: str, after: float = 0.0) -> None:
        if key in self._active:
            self._again.add(key)
            return
        when = time.monotonic() + after
        self._due[key] = min(self._due.get(key, when), when)
        self._wake.set()

    def __len__(self) -> int:
        return len(self._due) + len(self._active)

    def delay_of(self, failures: int) -> float:
        return float(min(self.base_delay * 2 ** (failures - 1), self.max_delay))

    def _next(self) -> tuple[str | None, float]:
        now = time.monotonic()
        ready = [(when, key) for key, when in self._due.items() if when <= now]
        if ready:
            _, key = min(ready)
            del self._due[key]
            return key, 0.0
        soonest = min(self._due.values(), default=now + 3600.0)
        return None, max(soonest - now, 0.0)

    async def _get(self) -> str:
        while True:
            key, wait = self._next()
            if key is not None:
                return key
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def run(self, work: Callable[[str], Awaitable[None]], concurrency: int = 4) -> None:
        """Work on keys forever with `concurrency` workers."""
        await asyncio.gather(*(self._worker(work) for _ in range(concurrency)))

    async def _worker(self, work: Callable[[str], Awaitable[None]]) -> None:
        while True:
            key = await self._get()
            self._active.add(key)
            try:
                await work(key)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                failures = self._failures.get(key, 0) + 1
                self._failures[key] = failures
                self.failed += 1
                delay = self.delay_of(failures)
                log.warning("%s failed (%d in a row): %s; again in %.1fs", key, failures, err, delay)
                self._active.discard(key)
                self._again.discard(key)
                self.add(key, after=delay)
                continue
            self._failures.pop(key, None)
            self.done += 1
            self._active.discard(key)
            if key in self._again:
                self._again.discard(key)
                self.add(key)
