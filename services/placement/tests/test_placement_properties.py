"""Properties over random fleets and queues: no node over-committed, gangs all or nothing,
distinct hosts honoured, labels and topology respected."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from lulea.placement.domain import BoundPod, ClusterState, Gang, Node, Toleration, plan_cycle

MODELS = ("a100", "p100")
RACKS = ("r1", "r2", "r3")


@st.composite
def clusters(draw: st.DrawFn) -> ClusterState:
    count = draw(st.integers(1, 12))
    nodes = [
        Node(
            f"n{i}",
            draw(st.sampled_from((4, 8, 10))),
            {"m": draw(st.sampled_from(MODELS)), "rack": draw(st.sampled_from(RACKS))},
        )
        for i in range(count)
    ]
    state = ClusterState(nodes)
    for n in nodes:
        used = draw(st.integers(0, n.gpus))
        if used:
            state.bind(f"busy/{n.name}", BoundPod(n.name, used, "busy"))
    return state


@st.composite
def gangs(draw: st.DrawFn, i: int) -> Gang:
    distinct = draw(st.booleans())
    size = draw(st.integers(1, 6))
    per = draw(st.integers(1, 10)) if distinct else draw(st.sampled_from((1, 1, 2)))
    return Gang(
        id=f"p{i % 2}/g{i}",
        namespace=f"p{i % 2}",
        project=f"p{i % 2}",
        pods=tuple(f"g{i}-{k}" for k in range(size)),
        gpus_per_pod=per,
        distinct_hosts=distinct,
        node_selector=draw(st.sampled_from(({}, {"m": "a100"}, {"m": "p100"}))),
        group_by=draw(st.sampled_from((None, "rack"))),
        tolerations=(Toleration(operator="Exists"),),
        priority=draw(st.integers(0, 2)),
        created=float(i),
    )


@st.composite
def queues(draw: st.DrawFn) -> list[Gang]:
    return [draw(gangs(i)) for i in range(draw(st.integers(1, 8)))]


@settings(max_examples=150, deadline=None)
@given(clusters(), queues(), st.sampled_from((None, 8, 30)), st.floats(0, 100))
def test_a_cycle_never_overcommits_and_places_whole_gangs(
    state: ClusterState, queue: list[Gang], quota: int | None, reserve_after: float
) -> None:
    quotas = {"p0": quota, "p1": None}
    plan = plan_cycle(queue, state, quotas=quotas, now=50, reserve_after=reserve_after)
    by_id = {g.id: g for g in queue}
    added: Counter[str] = Counter()
    seen: set[str] = set()
    for gang, placement in plan.placed:
        assert gang.id not in seen
        seen.add(gang.id)
        assert sorted(p for p, _ in placement.assignments) == sorted(by_id[gang.id].pods)
        nodes = [n for _, n in placement.assignments]
        if gang.distinct_hosts:
            assert len(set(nodes)) == gang.size
        if gang.group_by:
            assert len({state.nodes[n].labels[gang.group_by] for n in nodes}) == 1
        for n in nodes:
            assert all(state.nodes[n].labels.get(k) == v for k, v in gang.node_selector.items())
            added[n] += gang.gpus_per_pod
    for n, extra in added.items():
        assert state.used.get(n, 0) + extra <= state.nodes[n].gpus
    p0 = sum(g.gpus for g, _ in plan.placed if g.project == "p0")
    if quota is not None:
        assert p0 <= quota
    decided = seen | {g.id for g, _ in plan.never} | {g.id for g, _ in plan.waiting}
    assert decided == set(by_id)  # every gang gets exactly one verdict


@settings(max_examples=100, deadline=None)
@given(clusters(), queues())
def test_an_emptied_cluster_fits_every_gang_that_is_not_reported_impossible(
    state: ClusterState, queue: list[Gang]
) -> None:
    empty = state.emptied()
    for gang in queue:
        plan = plan_cycle([gang], empty, quotas={}, now=0, reserve_after=1e9)
        assert len(plan.placed) + len(plan.never) == 1
