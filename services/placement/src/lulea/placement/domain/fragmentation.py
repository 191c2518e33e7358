"""Fragmentation: free GPUs that sit where the queued work cannot use them.

Two measures, both 0 when nothing is free or nothing waits:

- `fragmentation`: the share of free GPUs that *no* queued gang could use where they are (a
  node's free GPUs help a gang if the node admits it and holds at least one of its pods). One
  small queued gang that fits anywhere makes it 0, so it says little while such gangs wait.
- `expected_fragmentation`: the share of free GPUs a queued gang, drawn at random from the
  queue, could not use, averaged over the queue (the measure of Weng et al., "Beware of
  Fragmentation", USENIX ATC 2023, with the queue as the workload). It stays meaningful when
  the queue mixes 1-GPU jobs with 8-GPU-per-host gangs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from lulea.placement.domain.cluster import ClusterState
from lulea.placement.domain.gang import Gang


def _free(state: ClusterState) -> dict[str, int]:
    return {name: f for name, n in state.nodes.items() if n.schedulable and (f := state.free(name)) > 0}


def _usable(state: ClusterState, free: dict[str, int], gang: Gang) -> int:
    """Free GPUs on nodes where one of the gang's pods would fit now."""
    g = gang.gpus_per_pod
    return sum(f for name, f in free.items() if f >= g and gang.admits(state.nodes[name]))


def fragmentation(state: ClusterState, queued: Iterable[Gang]) -> float:
    free = _free(state)
    total = sum(free.values())
    shapes = {(g.eligibility, g.gpus_per_pod): g for g in queued}
    if total == 0 or not shapes:
        return 0.0
    usable = 0
    for name, f in free.items():
        node = state.nodes[name]
        if any(f >= g.gpus_per_pod and g.admits(node) for g in shapes.values()):
            usable += f
    return (total - usable) / total


def expected_fragmentation(state: ClusterState, queued: Iterable[Gang]) -> float:
    free = _free(state)
    total = sum(free.values())
    shapes: Counter[tuple[object, ...]] = Counter()
    example: dict[tuple[object, ...], Gang] = {}
    for g in queued:
        key = (g.eligibility, g.gpus_per_pod)
        shapes[key] += 1
        example.setdefault(key, g)
    count = sum(shapes.values())
    if total == 0 or count == 0:
        return 0.0
    unusable = sum(n * (total - _usable(state, free, example[k])) for k, n in shapes.items())
    return unusable / (total * count)
