"""Where a gang fits now (`place`), whether it could ever fit (`never_fits`), and which nodes
to hold for a starving gang (`reserve`).

Placement is best-fit packing: among the ways to fit, take the one that leaves the fewest
free GPUs stranded on the nodes it touches, and prefer busier groups (racks), so that whole
empty nodes and empty racks stay free for the big gangs that come later.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from lulea.placement.domain.cluster import ClusterState, Node, tolerated
from lulea.placement.domain.gang import Gang


@dataclass(frozen=True, slots=True)
class Placement:
    gang_id: str
    assignments: tuple[tuple[str, str], ...]  # (pod name, node name), one per pod of the gang

    @property
    def nodes(self) -> list[str]:
        return sorted({node for _, node in self.assignments})


@dataclass(frozen=True, slots=True)
class NoFit:
    reason: str  # machine word: Unschedulable | QuotaExceeded | NeverFits
    message: str


def candidate_groups(gang: Gang, nodes: Iterable[Node]) -> dict[str, list[Node]]:
    """Eligible nodes, grouped by the topology label's value ("" when the gang has none)."""
    groups: dict[str, list[Node]] = {}
    for node in nodes:
        if gang.admits(node):
            key = node.labels[gang.group_by] if gang.group_by else ""
            groups.setdefault(key, []).append(node)
    return groups


def _groups(gang: Gang, state: ClusterState) -> dict[str, list[Node]]:
    """`candidate_groups` over the whole cluster, cached until the node set changes."""
    key = gang.eligibility
    groups = state.eligible.get(key)
    if groups is None:
        groups = state.eligible[key] = candidate_groups(gang, state.nodes.values())
    return groups


def _fit_distinct(gang: Gang, free: list[tuple[int, str]]) -> tuple[int, list[str]] | None:
    """k distinct nodes with >= g free each, the ones leaving the smallest remainder."""
    g = gang.gpus_per_pod
    fitting = [(f - g, name) for f, name in free if f >= g]
    if len(fitting) < gang.size:
        return None
    chosen = heapq.nsmallest(gang.size, fitting)
    return sum(r for r, _ in chosen), [name for _, name in chosen]


def _fit_shared(gang: Gang, free: list[tuple[int, str]]) -> tuple[int, list[str]] | None:
    """Pods may share nodes: finish on the best-fitting single node, else fill whole nodes
    largest first, so few hosts are touched and the ones touched end up full."""
    g = gang.gpus_per_pod
    slots = sorted((f // g, f, name) for f, name in free if f >= g)
    if sum(s for s, _, _ in slots) < gang.size:
        return None
    remaining, leftover, out = gang.size, 0, []
    while remaining:
        i = bisect_left(slots, (remaining, -1, ""))
        if i < len(slots):  # a node holds the rest: the smallest such node
            best = min(slots[i:], key=lambda s: (s[1] - remaining * g, s[2]))
            out += [best[2]] * remaining
            leftover += best[1] - remaining * g
            break
        s, f, name = slots.pop()  # no single node holds the rest: take the largest whole
        out += [name] * s
        leftover += f - s * g
        remaining -= s
    return leftover, out


def place(gang: Gang, state: ClusterState, held: Mapping[str, int] | None = None) -> Placement | NoFit:
    """Fit every pod of the gang on the free GPUs now, or say why not. `held` GPUs per node
    are kept for a reserved gang and are not offered."""
    used = state.used
    best: tuple[tuple[int, int, str], list[str]] | None = None
    groups = _groups(gang, state)
    fitter = _fit_distinct if gang.distinct_hosts else _fit_shared
    for key, members in groups.items():
        if held:
            free = [
                (n.gpus - used.get(n.name, 0) - held.get(n.name, 0), n.name) for n in members if n.schedulable
            ]
        else:
            free = [(n.gpus - used.get(n.name, 0), n.name) for n in members if n.schedulable]
        fit = fitter(gang, free)
        if fit is None:
            continue
        leftover, nodes = fit
        # pack: among equal fits the busiest group wins (only worth summing with groups)
        spare = sum(f for f, _ in free if f > 0) if len(groups) > 1 else 0
        score = (leftover, spare, key)
        if best is None or score < best[0]:
            best = (score, nodes)
    if best is None:
        return NoFit("Unschedulable", f"waiting for {gang.describe()}: not free now")
    return Placement(gang.id, tuple(zip(gang.pods, best[1], strict=True)))


def never_fits(gang: Gang, state: ClusterState, quota: int | None = None) -> str | None:
    """Why the gang cannot fit even on this cluster emptied, naming the constraint; None if it
    could. Cordoned nodes count (they may come back); missing nodes do not."""
    nodes = list(state.nodes.values())
    g, k = gang.gpus_per_pod, gang.size
    if quota is not None and gang.gpus > quota:
        return f"the job asks {gang.gpus} GPUs but project {gang.project}'s quota is {quota}"
    if not nodes:
        return "the cluster has no nodes"
    for key, value in sorted(gang.node_selector.items()):
        if not any(n.labels.get(key) == value for n in nodes):
            return f"no node has label {key}={value}"
    labelled = [n for n in nodes if all(n.labels.get(a) == b for a, b in gang.node_selector.items())]
    if not labelled:
        selector = ",".join(f"{a}={b}" for a, b in sorted(gang.node_selector.items()))
        return f"no node has all labels {selector}"
    untainted = [n for n in labelled if tolerated(n.taints, gang.tolerations) is None]
    if not untainted:
        taint = tolerated(labelled[0].taints, gang.tolerations)
        return f"every matching node has a taint the job does not tolerate ({taint})"
    if gang.group_by and not any(gang.group_by in n.labels for n in untainted):
        return f"no matching node has the topology label {gang.group_by}"
    groups = candidate_groups(gang, untainted)
    biggest = max(n.gpus for m in groups.values() for n in m)
    if g > biggest:
        return f"each host must give {g} GPUs but the largest matching node has {biggest}"
    if isinstance(place(gang, ClusterState(replace(n, schedulable=True) for n in untainted)), Placement):
        return None
    scope = f"one {gang.group_by}" if gang.group_by else "the cluster"
    if gang.distinct_hosts:
        most = max(sum(1 for n in m if n.gpus >= g) for m in groups.values())
        return (
            f"needs {k} distinct hosts with {g} GPUs each{_labels(gang)} but {scope} "
            f"has at most {most} such nodes"
        )
    most = max(sum(n.gpus // g * g for n in m) for m in groups.values())
    return f"needs {gang.gpus} GPUs{_labels(gang)} but {scope} has at most {most} matching GPUs"


def _labels(gang: Gang) -> str:
    if not gang.node_selector:
        return ""
    return " with " + ",".join(f"{a}={b}" for a, b in sorted(gang.node_selector.items()))


def reserve(gang: Gang, state: ClusterState) -> dict[str, int]:
    """GPUs per node to hold for a starving gang: the nodes closest to fitting it (the fewest
    GPUs still missing), so what frees up there is kept for it. Empty if it cannot fit at all."""
    g = gang.gpus_per_pod
    best: tuple[int, str, dict[str, int]] | None = None
    for key, members in _groups(gang, state).items():
        nodes = sorted(
            (n for n in members if n.schedulable and n.gpus >= g),
            key=lambda n: (-min(state.free(n.name), g if gang.distinct_hosts else n.gpus), n.name),
        )
        held: dict[str, int] = {}
        left = gang.size
        for n in nodes:
            if left == 0:
                break
            take = 1 if gang.distinct_hosts else min(left, n.gpus // g)
            held[n.name] = take * g
            left -= take
        if left:
            continue
        missing = sum(max(0, h - state.free(n)) for n, h in held.items())
        if best is None or (missing, key) < best[:2]:
            best = (missing, key, held)
    return best[2] if best else {}
