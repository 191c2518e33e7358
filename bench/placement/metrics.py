"""Small, tested helpers for the bench's figures: percentiles, min/median/max, utilization."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable


def pct(values: Iterable[float], q: float) -> float | None:
    """The q-quantile (nearest rank) or None when there is nothing to rank."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def spread(values: Iterable[float | None]) -> tuple[float, float, float] | None:
    """(min, median, max) over the runs, ignoring runs that had no value."""
    got = [v for v in values if v is not None and not math.isnan(v)]
    if not got:
        return None
    return min(got), statistics.median(got), max(got)


def utilization(work: Iterable[tuple[float | None, float | None, int]], *, window: float, gpus: int) -> float:
    """GPU-seconds of work inside [0, window] over gpus x window. `work` holds (start, end, GPUs)
    per job, seconds from the run's start; no start: never ran; no end: still running."""
    used = 0.0
    for start, end, n in work:
        if start is None or start >= window:
            continue
        stop = window if end is None else min(end, window)
        used += max(0.0, stop - start) * n
    return used / (gpus * window) if gpus and window else 0.0
