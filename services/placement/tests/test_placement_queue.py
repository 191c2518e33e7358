"""The queue cycle: priority then age, backfill, the head's reservation, project quotas."""

from __future__ import annotations

from collections.abc import Callable

from lulea.placement.domain import (
    BoundPod,
    ClusterState,
    Gang,
    expected_fragmentation,
    fragmentation,
    plan_cycle,
    queue_order,
)

Mk = Callable[..., Gang]
NO_QUOTA: dict[str, int | None] = {}


def fill_all_but(state: ClusterState, keep: dict[str, int]) -> None:
    """Use every GPU except `keep[node]` free ones."""
    for name, n in state.nodes.items():
        used = n.gpus - keep.get(name, 0)
        if used:
            state.bind(f"busy/{name}", BoundPod(name, used, "busy"))


def test_order_is_priority_then_age_then_id(mk: Mk) -> None:
    a = mk(1, id="n/a", priority=0, created=1)
    b = mk(1, id="n/b", priority=5, created=9)
    c = mk(1, id="n/c", priority=0, created=0)
    d = mk(1, id="n/d", priority=0, created=0)
    assert [g.id for g in queue_order([a, b, c, d])] == ["n/b", "n/c", "n/d", "n/a"]


def test_cycle_places_what_fits_and_counts_its_own_decisions(fleet: ClusterState, mk: Mk) -> None:
    sel = {"lulea.io/gpu-model": "p100"}
    gangs = [mk(20, 2, id=f"n/g{i}", selector=sel, created=i) for i in range(3)]
    plan = plan_cycle(gangs, fleet, quotas=NO_QUOTA, now=10, reserve_after=100)
    assert [g.id for g, _ in plan.placed] == ["n/g0", "n/g1"]
    assert [g.id for g, _ in plan.waiting] == ["n/g2"]
    nodes = [n for _, p in plan.placed for n in p.nodes]
    assert len(nodes) == len(set(nodes)) == 4
    assert fleet.free_gpus() == 240  # the input state is not modified


def test_impossible_gang_is_reported_and_does_not_block(fleet: ClusterState, mk: Mk) -> None:
    big = mk(16, 1, id="n/big", created=0)
    small = mk(2, 1, id="n/small", created=1)
    plan = plan_cycle([big, small], fleet, quotas=NO_QUOTA, now=5, reserve_after=0)
    assert [(g.id, "largest matching node has 10" in r) for g, r in plan.never] == [("n/big", True)]
    assert [g.id for g, _ in plan.placed] == ["n/small"]
    assert plan.reservation is None


def test_backfill_while_the_head_is_young(fleet: ClusterState, mk: Mk) -> None:
    fill_all_but(fleet, {"a100-0": 6, "a100-1": 4})
    head = mk(10, 1, id="n/head", created=0)
    small = mk(4, 1, id="n/small", created=1)
    plan = plan_cycle([head, small], fleet, quotas=NO_QUOTA, now=5, reserve_after=60)
    assert [g.id for g, _ in plan.placed] == ["n/small"]
    assert plan.reservation is None


def test_reservation_stops_backfill_on_the_heads_nodes(fleet: ClusterState, mk: Mk) -> None:
    fill_all_but(fleet, {"a100-0": 6, "t4-0": 4})
    head = mk(10, 1, id="n/head", created=0)
    small_a = mk(4, 1, id="n/a", created=1, selector={"lulea.io/gpu-model": "a100"})
    small_t = mk(4, 1, id="n/t", created=2)
    plan = plan_cycle([head, small_a, small_t], fleet, quotas=NO_QUOTA, now=100, reserve_after=60)
    assert plan.reservation is not None and plan.reservation.gang_id == "n/head"
    assert plan.reservation.held == {"a100-0": 10}
    assert [g.id for g, _ in plan.placed] == ["n/t"]  # backfill only around the head
    # next cycle a100-0 frees up: the head takes it; the next starving gang reserves
    fleet.release("busy/a100-0")
    plan2 = plan_cycle(
        [head, small_a],
        fleet,
        quotas=NO_QUOTA,
        now=101,
        reserve_after=60,
        reservation=plan.reservation,
    )
    assert [(g.id, p.nodes) for g, p in plan2.placed] == [("n/head", ["a100-0"])]
    assert plan2.reservation is not None and plan2.reservation.gang_id == "n/a"  # next in line


def test_higher_priority_may_use_reserved_gpus(fleet: ClusterState, mk: Mk) -> None:
    fill_all_but(fleet, {"a100-0": 6})
    head = mk(10, 1, id="n/head", created=0)
    first = plan_cycle([head], fleet, quotas=NO_QUOTA, now=100, reserve_after=60)
    urgent = mk(6, 1, id="n/urgent", created=99, priority=100)
    plan = plan_cycle(
        [head, urgent],
        fleet,
        quotas=NO_QUOTA,
        now=100,
        reserve_after=60,
        reservation=first.reservation,
    )
    assert [g.id for g, _ in plan.placed] == ["n/urgent"]


def test_quota_makes_a_gang_wait_without_blocking_others(fleet: ClusterState, mk: Mk) -> None:
    fleet.bind("p1/run", BoundPod("a100-0", 6, "p1"))
    over = mk(4, 1, id="p1/over", project="p1", created=0)
    under = mk(2, 1, id="p1/under", project="p1", created=1)
    other = mk(8, 1, id="p2/x", project="p2", created=2)
    plan = plan_cycle([over, under, other], fleet, quotas={"p1": 8, "p2": 8}, now=500, reserve_after=1)
    assert sorted(g.id for g, _ in plan.placed) == ["p1/under", "p2/x"]
    ((gang, why),) = plan.waiting
    assert gang.id == "p1/over" and why.reason == "QuotaExceeded" and "uses 6 of its 8" in why.message
    assert plan.reservation is None  # quota waits never reserve capacity


def test_quota_counts_gangs_placed_in_the_same_cycle(fleet: ClusterState, mk: Mk) -> None:
    gangs = [mk(4, 1, id=f"p1/g{i}", project="p1", created=i) for i in range(3)]
    plan = plan_cycle(gangs, fleet, quotas={"p1": 8}, now=0, reserve_after=60)
    assert len(plan.placed) == 2 and plan.waiting[0][1].reason == "QuotaExceeded"


def test_fragmentation_counts_free_gpus_no_queued_gang_can_use(fleet: ClusterState, mk: Mk) -> None:
    fill_all_but(fleet, {"a100-0": 2, "t4-0": 4})
    assert fragmentation(fleet, []) == 0.0
    assert fragmentation(fleet, [mk(8, 2)]) == 1 / 3  # 4 per host: only t4-0's 4 help
    assert fragmentation(fleet, [mk(2)]) == 0.0
    assert fragmentation(fleet, [mk(10, 1)]) == 1.0


def test_expected_fragmentation_averages_what_each_queued_gang_cannot_use(
    fleet: ClusterState, mk: Mk
) -> None:
    fill_all_but(fleet, {"a100-0": 2, "t4-0": 4})  # 6 free: 2 on an a100, 4 on a t4
    assert expected_fragmentation(fleet, []) == 0.0
    assert expected_fragmentation(fleet, [mk(2)]) == 0.0  # 1-GPU pods use all 6
    assert expected_fragmentation(fleet, [mk(8, 2)]) == 2 / 6  # 4 per host: the a100's 2 are lost
    assert expected_fragmentation(fleet, [mk(10, 1)]) == 1.0
    # the literal measure says 0 as soon as one small gang waits; the expected one does not
    queue = [mk(2), mk(10, 1, id="ns/big"), mk(10, 1, id="ns/big2")]
    assert fragmentation(fleet, queue) == 0.0
    assert expected_fragmentation(fleet, queue) == (0 + 1 + 1) / 3
    fill_all_but(fleet, {})
    assert expected_fragmentation(fleet, queue) == 0.0  # nothing free: nothing fragmented
