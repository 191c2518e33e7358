"""What several benchmarks share: the load average printed next to every figure, min/median/
max of a measure over rounds, and a closed-loop rate (`concurrency` workers for `seconds`).

Imported as `bench._common` by scripts run as `python bench/<name>/run.py` (they put the
repository on sys.path first)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg says them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def spread(values: list[float], digits: int = 1) -> str:
    """`min median max` of one measure over the rounds, aligned for a table."""
    return " ".join(f"{v:8.{digits}f}" for v in (min(values), statistics.median(values), max(values)))


async def for_seconds(seconds: float, concurrency: int, op: Callable[[int], Awaitable[object]]) -> float:
    """Operations per second: `concurrency` workers calling op(i) with fresh i until time is up."""
    counter = 0
    deadline = time.monotonic() + seconds

    async def worker() -> int:
        nonlocal counter
        done = 0
        while time.monotonic() < deadline:
            counter += 1
            await op(counter)
            done += 1
        return done

    t0 = time.monotonic()
    total = sum(await asyncio.gather(*(worker() for _ in range(concurrency))))
    return total / (time.monotonic() - t0)
