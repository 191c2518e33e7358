"""The bench's workload generator and metrics: seeded, and checked against what they claim."""

from __future__ import annotations

import itertools
import math
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import metrics
import pytest
import workload


def _poisson(seed: int = 7, **kw: float) -> list[workload.Job]:
    args = {"fleet_scale": 0.2, "load": 0.9, "minute_seconds": 0.05, "arrival_seconds": 600.0}
    args.update(kw)
    return workload.philly_jobs(seed, **args)  # type: ignore[arg-type]


def test_same_seed_same_jobs_other_seed_other_jobs() -> None:
    assert _poisson(7) == _poisson(7)
    assert _poisson(7) != _poisson(8)


def test_sizes_follow_the_published_shares() -> None:
    rng = random.Random(1)
    sizes = [workload.philly_size(rng) for _ in range(20_000)]
    for gpus, share in workload.PHILLY_SIZES:
        assert abs(sizes.count(gpus) / len(sizes) - share) < 0.015


def test_run_times_follow_the_mixture_and_its_mean() -> None:
    rng = random.Random(2)
    minutes = [workload.philly_minutes(rng) for _ in range(40_000)]
    assert min(minutes) >= 10**1.5 and max(minutes) <= 10**4
    long_share = sum(1 for m in minutes if m > 1000) / len(minutes)
    assert abs(long_share - 0.2) < 0.01
    assert abs(statistics.mean(minutes) / workload.mean_philly_minutes() - 1) < 0.03
    assert workload.mean_philly_minutes() == pytest.approx(1006.0, abs=1.0)


def test_poisson_rate_offers_the_asked_load() -> None:
    jobs = _poisson(3, arrival_seconds=3000.0)
    fits = [j for j in jobs if not j.never_fits]
    offered = sum(j.gpus * j.seconds for j in fits) / 3000.0 / workload.total_gpus(0.2)
    assert 0.75 < offered < 1.05  # 0.9 asked; heavy-tailed run times spread it
    gaps = [b.arrival - a.arrival for a, b in itertools.pairwise(jobs)]
    # exponential gaps: the coefficient of variation of a Poisson process is 1
    assert abs(statistics.pstdev(gaps) / statistics.mean(gaps) - 1) < 0.1
    assert all(j.arrival < 3000.0 for j in jobs)


def test_never_fit_jobs_and_shapes() -> None:
    jobs = _poisson(4)
    never = [j for j in jobs if j.never_fits]
    assert never and all(j.gpus_per_pod > 8 for j in never)
    assert len(never) == len(jobs) // 100
    assert all(j.pods == j.gpus for j in jobs if not j.never_fits)  # one pod per GPU by default
    whole = _poisson(4, gpus_per_pod=4)
    eight = [j for j in whole if j.gpus == 8]
    assert eight and all(j.pods == 2 and j.hosts == 2 for j in eight)
    pods = [p for j in whole[:50] for p in _pods(j)]
    assert all(int(p["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"]) <= 16 for p in pods)


def _pods(job: workload.Job) -> list[dict[str, object]]:
    from lulea.operators.gpujob.gang import PodEnvironment, desired_pods

    pods = desired_pods(job.gpujob("ns"), 1, PodEnvironment())
    assert len(pods) == job.pods
    return pods


def test_batch_fills_the_fleet_once() -> None:
    jobs = _poisson(5, batch=True, batch_fill=0.9)
    asked = sum(j.gpus for j in jobs if not j.never_fits)
    assert 0.9 * workload.total_gpus(0.2) <= asked < 0.9 * workload.total_gpus(0.2) + 8
    assert all(j.arrival == 0.0 for j in jobs)


def test_fleet_scales() -> None:
    assert workload.total_gpus(1.0) == 6400
    assert workload.total_gpus(0.2) == 1280
    assert workload.fleet_nodes(0.2) == 200


def test_percentiles_and_spread() -> None:
    assert metrics.pct([], 0.5) is None
    values = [float(v) for v in range(1, 101)]
    assert metrics.pct(values, 0.5) == 50.0
    assert metrics.pct(values, 0.99) == 99.0
    assert metrics.spread([3.0, 1.0, 2.0]) == (1.0, 2.0, 3.0)
    assert metrics.spread([]) is None
    lo, mid, hi = metrics.spread([1.0, math.nan, 5.0]) or (0, 0, 0)
    assert (lo, mid, hi) == (1.0, 3.0, 5.0)


def test_utilization_is_gpu_time_over_the_window() -> None:
    # one 8-GPU job busy 10..30 s in a 40 s window of 16 GPUs: 8*20 / (16*40) = 0.25
    assert metrics.utilization([(10.0, 30.0, 8)], window=40.0, gpus=16) == 0.25
    # work past the window is cut at it; work never started counts nothing
    assert metrics.utilization([(30.0, 90.0, 16), (None, None, 8)], window=40.0, gpus=16) == 0.25
    # running at the end (no end yet) counts up to the window
    assert metrics.utilization([(20.0, None, 16)], window=40.0, gpus=16) == 0.5
