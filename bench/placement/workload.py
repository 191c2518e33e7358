"""The benchmark's kwok fleet and its seeded workloads: the same jobs for every scheduler.

Job sizes and run times follow a published model of Microsoft's Philly cluster:

- **Sizes** (GPUs per job): 1 GPU 70 %, 2 GPUs 10 %, 4 GPUs 15 %, 8 GPUs 5 %. This is the
  Philly-derived job-size distribution of the Gavel simulator (Narayanan et al., "Heterogeneity-
  Aware Cluster Scheduling Policies for Deep Learning Workloads", OSDI'20), as its
  `get_job_gpu_demand` implements it; the size buckets (1, 2-4, 5-8, >8) are those Jeon et al. use
  for the trace itself ("Analysis of Large-Scale Multi-Tenant GPU Clusters for DNN Training
  Workloads", USENIX ATC'19, and the msr-fiddle/philly-traces notebook). Philly's >8-GPU bucket
  is absent from that model: the `lulea` mix below is the one with multi-host gangs.
- **Run times**: 10^x minutes, x uniform in [1.5, 3] with probability 0.8 and in [3, 4] with
  probability 0.2 (Gavel's power-law mixture fitted to Philly: 32 minutes to 7 days, mean about
  1,006 minutes). The bench compresses time: one trace minute lasts `minute_seconds` seconds.
- **Arrivals**: Poisson, at the rate that offers `load` times the fleet's GPUs on average
  (rate = load x GPUs / (mean GPUs per job x mean run time)): "scaled to the fleet". Or all at
  t0 (`batch`), the saturating case for scheduling throughput.

Every job is a gang: `gpus_per_pod` splits a job into pods (1 = one pod per GPU, the workers of
a Philly job spread over servers; 4 or 8 = whole-server pods). A few jobs that can never fit (a
pod asking for more GPUs than any node has) test how fast each scheduler says so.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import yaml

# (name, count at scale 1, gpus, interconnect, racks at scale 1)
FLEET = [
    ("b-ib8", 300, 8, "infiniband", 15),
    ("b-eth8", 300, 8, "ethernet", 15),
    ("b-eth4", 400, 4, "ethernet", 20),
]

# Gavel's Philly-derived job sizes (see the module docstring): (GPUs, probability).
PHILLY_SIZES: tuple[tuple[int, float], ...] = ((1, 0.70), (2, 0.10), (4, 0.15), (8, 0.05))
# Gavel's Philly run-time mixture: (probability, lowest log10 minutes, highest log10 minutes).
PHILLY_MINUTES: tuple[tuple[float, float, float], ...] = ((0.8, 1.5, 3.0), (0.2, 3.0, 4.0))

# Lulea's own mix of shapes (not a published distribution; kept from the first version of this
# bench because it has multi-host gangs, InfiniBand selectors and rack grouping):
# (weight, gpus, hosts or None, nodeSelector, topology groupBy)
LULEA_SHAPES: list[tuple[int, int, int | None, dict[str, str], str | None]] = [
    (25, 1, None, {}, None),
    (20, 4, None, {}, None),
    (15, 4, 1, {}, None),
    (15, 8, 1, {}, None),
    (10, 16, 2, {"lulea.io/interconnect": "infiniband"}, None),
    (8, 32, 4, {"lulea.io/interconnect": "infiniband"}, "lulea.io/rack"),
    (5, 64, 8, {"lulea.io/interconnect": "infiniband"}, None),
    (2, 16, 4, {"lulea.io/interconnect": "ethernet"}, None),
]

NEVER_FIT_GPUS = 16  # no node has more than 8


def fleet_groups(scale: float) -> list[tuple[str, int, int, str, int]]:
    """The fleet at `scale` (node counts and racks scaled, at least one of each)."""
    return [
        (name, max(1, round(count * scale)), gpus, ic, max(1, round(racks * scale)))
        for name, count, gpus, ic, racks in FLEET
    ]


def fleet_yaml(scale: float = 1.0) -> str:
    groups = []
    for name, count, gpus, ic, racks in fleet_groups(scale):
        groups.append(
            {
                "name": name,
                "count": count,
                "gpus": gpus,
                "cpu": "64",
                "memory": "512Gi",
                "racks": [f"{name}-r{i:02d}" for i in range(racks)],
                "labels": {"lulea.io/gpu-model": "a100", "lulea.io/interconnect": ic},
            }
        )
    return yaml.safe_dump({"nodeGroups": groups}, sort_keys=False)


def fleet_nodes(scale: float = 1.0) -> int:
    return sum(count for _, count, _, _, _ in fleet_groups(scale))


def total_gpus(scale: float = 1.0) -> int:
    return sum(count * gpus for _, count, gpus, _, _ in fleet_groups(scale))


def mean_philly_gpus() -> float:
    return sum(g * p for g, p in PHILLY_SIZES)


def mean_philly_minutes() -> float:
    """E[10^U(a,b)] = (10^b - 10^a) / ((b - a) ln 10), mixed by the probabilities."""
    return sum(p * (10**b - 10**a) / ((b - a) * math.log(10)) for p, a, b in PHILLY_MINUTES)


def philly_size(rng: random.Random) -> int:
    sizes = [g for g, _ in PHILLY_SIZES]
    return rng.choices(sizes, [p for _, p in PHILLY_SIZES])[0]


def philly_minutes(rng: random.Random) -> float:
    r, acc = rng.random(), 0.0
    for p, a, b in PHILLY_MINUTES:
        acc += p
        if r < acc:
            return float(10 ** rng.uniform(a, b))
    _, a, b = PHILLY_MINUTES[-1]
    return float(10 ** rng.uniform(a, b))


@dataclass(frozen=True)
class Job:
    name: str
    arrival: float  # seconds after the start of the run
    gpus: int
    pods: int
    seconds: float  # run time once every pod of the gang runs
    hosts: int | None = None  # one pod per host (anti-affinity), as a GpuJob's spec.hosts
    node_selector: dict[str, str] = field(default_factory=dict)
    group_by: str | None = None
    never_fits: bool = False

    @property
    def gpus_per_pod(self) -> int:
        return self.gpus // self.pods

    def gpujob(self, namespace: str) -> dict[str, Any]:
        """The GpuJob body (as the API would return it) whose gang the operator would make."""
        spec: dict[str, Any] = {"image": "bench", "gpus": self.gpus}
        if self.hosts or self.pods == 1:  # GpuJob: without hosts, one pod per GPU
            spec["hosts"] = self.hosts or 1
        if self.node_selector:
            spec["nodeSelector"] = dict(self.node_selector)
        if self.group_by:
            spec["topology"] = {"groupBy": self.group_by}
        return {
            "apiVersion": "lulea.io/v1alpha1",
            "kind": "GpuJob",
            "metadata": {"name": self.name, "namespace": namespace, "uid": f"bench-{self.name}"},
            "spec": spec,
        }


def _shape(gpus: int, gpus_per_pod: int) -> tuple[int, int | None]:
    """(pods, hosts) for a Philly job of `gpus` split into pods of at most `gpus_per_pod`."""
    per = min(gpus, gpus_per_pod)
    pods = gpus // per
    # pods of more than one GPU are whole-server slices: one per host, as Philly places them
    return pods, (pods if per > 1 else None)


def philly_jobs(
    seed: int,
    *,
    fleet_scale: float,
    load: float,
    minute_seconds: float,
    arrival_seconds: float,
    gpus_per_pod: int = 1,
    never_fit_every: int = 100,
    batch: bool = False,
    batch_fill: float = 0.9,
) -> list[Job]:
    """Jobs in arrival order. Poisson: arrivals over `arrival_seconds` at the rate that offers
    `load` of the fleet. Batch: jobs at t0 until their GPUs reach `batch_fill` of the fleet (run
    times then far beyond any window: nothing ends, the measure is the scheduler alone)."""
    rng = random.Random(seed)
    fleet = total_gpus(fleet_scale)
    mean_seconds = mean_philly_minutes() * minute_seconds
    rate = load * fleet / (mean_philly_gpus() * mean_seconds)
    jobs: list[Job] = []
    t, asked = 0.0, 0
    while True:
        if batch:
            if asked >= batch_fill * fleet:
                break
        else:
            t += rng.expovariate(rate)
            if t >= arrival_seconds:
                break
        i = len(jobs)
        name = f"j{i:05d}"
        minutes = philly_minutes(rng)
        size = philly_size(rng)  # drawn for every job, so the never-fit ones shift nothing
        seconds = 10_000.0 if batch else minutes * minute_seconds
        if never_fit_every and i % never_fit_every == never_fit_every - 1:
            jobs.append(Job(name, 0.0 if batch else t, NEVER_FIT_GPUS, 1, seconds, 1, never_fits=True))
            continue
        pods, hosts = _shape(size, gpus_per_pod)
        asked += size
        jobs.append(Job(name, 0.0 if batch else t, size, pods, seconds, hosts))
    return jobs


def lulea_jobs(
    count: int, seed: int, *, minute_seconds: float, arrival_seconds: float, rate: float
) -> list[Job]:
    """Lulea's mix of shapes (LULEA_SHAPES) with Philly run times and Poisson arrivals at `rate`
    jobs/s (0: all at t0)."""
    rng = random.Random(seed)
    weights = [s[0] for s in LULEA_SHAPES]
    jobs, t = [], 0.0
    for i in range(count):
        if rate:
            t += rng.expovariate(rate)
            if t >= arrival_seconds:
                break
        _, gpus, hosts, selector, group_by = rng.choices(LULEA_SHAPES, weights)[0]
        seconds = philly_minutes(rng) * minute_seconds
        pods = hosts or gpus
        jobs.append(Job(f"j{i:05d}", t, gpus, pods, seconds, hosts, dict(selector), group_by))
    return jobs


def summary(jobs: list[Job]) -> dict[str, float]:
    fits = [j for j in jobs if not j.never_fits]
    return {
        "jobs": len(jobs),
        "pods": sum(j.pods for j in jobs),
        "gangs_of_2_or_more": sum(1 for j in fits if j.pods > 1),
        "never_fit_jobs": len(jobs) - len(fits),
        "gpus_asked": sum(j.gpus for j in fits),
        "gpu_seconds_asked": sum(j.gpus * j.seconds for j in fits),
        "last_arrival_s": max((j.arrival for j in jobs), default=0.0),
    }
