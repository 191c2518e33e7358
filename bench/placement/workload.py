"""The benchmark's fleet (1,000 kwok nodes) and a seeded trace of GpuJobs of mixed shapes."""

from __future__ import annotations

import random
from typing import Any

import yaml

# (name, count, gpus, interconnect, racks of 20)
FLEET = [
    ("b-ib8", 300, 8, "infiniband", 15),
    ("b-eth8", 300, 8, "ethernet", 15),
    ("b-eth4", 400, 4, "ethernet", 20),
]

# (weight, gpus, hosts or None, nodeSelector, topology groupBy)
SHAPES: list[tuple[int, int, int | None, dict[str, str], str | None]] = [
    (25, 1, None, {}, None),
    (20, 4, None, {}, None),
    (15, 4, 1, {}, None),
    (15, 8, 1, {}, None),
    (10, 16, 2, {"lulea.io/interconnect": "infiniband"}, None),
    (8, 32, 4, {"lulea.io/interconnect": "infiniband"}, "lulea.io/rack"),
    (5, 64, 8, {"lulea.io/interconnect": "infiniband"}, None),
    (2, 16, 4, {"lulea.io/interconnect": "ethernet"}, None),
]


def fleet_yaml() -> str:
    groups = []
    for name, count, gpus, ic, racks in FLEET:
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


def total_gpus() -> int:
    return sum(count * gpus for _, count, gpus, _, _ in FLEET)


def jobs(count: int, seed: int) -> list[dict[str, Any]]:
    """GpuJob bodies (as the API would return them) with a run time each, in submit order."""
    rng = random.Random(seed)
    weights = [s[0] for s in SHAPES]
    out = []
    for i in range(count):
        _, gpus, hosts, selector, group_by = rng.choices(SHAPES, weights)[0]
        spec: dict[str, Any] = {"image": "bench", "gpus": gpus}
        if hosts:
            spec["hosts"] = hosts
        if selector:
            spec["nodeSelector"] = selector
        if group_by:
            spec["topology"] = {"groupBy": group_by}
        out.append(
            {
                "apiVersion": "lulea.io/v1alpha1",
                "kind": "GpuJob",
                "metadata": {"name": f"j{i:05d}", "namespace": "", "uid": f"bench-{i}"},
                "spec": spec,
                "seconds": rng.uniform(3, 12),
            }
        )
    return out
