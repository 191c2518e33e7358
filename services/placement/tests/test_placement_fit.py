"""Shapes from the issue on the default fleet, best-fit packing, and never-fits reasons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from lulea.placement.domain import (
    BoundPod,
    ClusterState,
    Gang,
    NoFit,
    Placement,
    never_fits,
    place,
)

IB = {"lulea.io/interconnect": "infiniband"}
A100 = {"lulea.io/gpu-model": "a100"}
RACK = "lulea.io/rack"
Mk = Callable[..., Gang]


def placed(result: Placement | NoFit) -> Placement:
    assert isinstance(result, Placement), result
    return result


def test_four_gpus_anywhere_pack_onto_one_t4_node(fleet: ClusterState, mk: Mk) -> None:
    p = placed(place(mk(4), fleet))
    assert len(p.assignments) == 4
    assert p.nodes == ["t4-0"]  # the exact-size node, leaving bigger blocks whole


def test_ten_gpus_on_one_host_land_on_a_ten_gpu_node(fleet: ClusterState, mk: Mk) -> None:
    p = placed(place(mk(10, 1), fleet))
    assert len(p.assignments) == 1 and fleet.nodes[p.nodes[0]].gpus == 10


def test_one_host_skips_nodes_without_enough_free(fleet: ClusterState, mk: Mk) -> None:
    for name in list(fleet.nodes):
        if name != "p100-2" and fleet.nodes[name].gpus == 10:
            fleet.bind(f"x/{name}", BoundPod(name, 1, "x"))
    assert placed(place(mk(10, 1), fleet)).nodes == ["p100-2"]


def test_hundred_gpus_on_ten_infiniband_hosts(fleet: ClusterState, mk: Mk) -> None:
    p = placed(place(mk(100, 10, selector=IB), fleet))
    assert len(p.nodes) == 10 and len(p.assignments) == 10
    assert all(fleet.nodes[n].labels["lulea.io/interconnect"] == "infiniband" for n in p.nodes)


def test_twenty_gpus_on_two_infiniband_p100_hosts(fleet: ClusterState, mk: Mk) -> None:
    p = placed(place(mk(20, 2, selector={**IB, "lulea.io/gpu-model": "p100"}), fleet))
    assert len(p.nodes) == 2 and all(n.startswith("p100-") for n in p.nodes)


def test_rack_gang_shares_one_rack_and_prefers_the_busier(fleet: ClusterState, mk: Mk) -> None:
    fleet.bind("x/a", BoundPod("a100-7", 2, "x"))  # r2 is now busier than r1
    p = placed(place(mk(40, 4, selector=A100, group_by=RACK), fleet))
    assert {fleet.nodes[n].labels[RACK] for n in p.nodes} == {"r2"}
    assert "a100-7" not in p.nodes


def test_rack_gang_bigger_than_any_rack_does_not_fit(fleet: ClusterState, mk: Mk) -> None:
    assert isinstance(place(mk(70, 7, selector=A100, group_by=RACK), fleet), NoFit)


def test_best_fit_takes_the_smallest_remainder(fleet: ClusterState, mk: Mk) -> None:
    fleet.bind("x/a", BoundPod("a100-3", 7, "x"))  # 3 free there
    assert placed(place(mk(3, 1), fleet)).nodes == ["a100-3"]


def test_any_hosts_fill_whole_nodes_before_splitting(fleet: ClusterState, mk: Mk) -> None:
    p = placed(place(mk(18), fleet))
    assert len(p.assignments) == 18 and len(p.nodes) <= 3


def test_held_gpus_are_not_offered(fleet: ClusterState, mk: Mk) -> None:
    held = {n: 10 for n, node in fleet.nodes.items() if node.labels["lulea.io/gpu-model"] == "p100"}
    sel = {"lulea.io/gpu-model": "p100"}
    assert isinstance(place(mk(10, 1, selector=sel), fleet, held), NoFit)
    assert isinstance(place(mk(10, 1, selector=sel), fleet), Placement)


def test_taint_without_toleration_never_fits(fleet: ClusterState, mk: Mk) -> None:
    reason = never_fits(mk(4, tolerate=False), fleet)
    assert reason is not None and "taint" in reason and "kwok.x-k8s.io/node" in reason


def test_cordoned_nodes_wait_but_never_make_a_gang_impossible(fleet: ClusterState, mk: Mk) -> None:
    for n in list(fleet.nodes.values()):
        if n.labels["lulea.io/gpu-model"] == "p100":
            fleet.upsert_node(replace(n, schedulable=False))
    sel = {"lulea.io/gpu-model": "p100"}
    assert isinstance(place(mk(20, 2, selector=sel), fleet), NoFit)
    assert never_fits(mk(20, 2, selector=sel), fleet) is None


NEVER_FITS = [
    (
        {"gpus": 20, "hosts": 2, "selector": {"lulea.io/gpu-model": "h100"}},
        "no node has label lulea.io/gpu-model=h100",
    ),
    ({"gpus": 16, "hosts": 1}, "largest matching node has 10"),
    ({"gpus": 110, "hosts": 11, "selector": {**IB, "lulea.io/gpu-model": "p100"}}, "at most 4 such nodes"),
    ({"gpus": 20, "hosts": 2, "selector": {"lulea.io/gpu-model": "t4", **IB}}, "no node has all labels"),
    ({"gpus": 70, "hosts": 7, "selector": A100, "group_by": RACK}, "one lulea.io/rack has at most 6"),
    ({"gpus": 8, "hosts": 2, "group_by": "lulea.io/zone"}, "topology label lulea.io/zone"),
    ({"gpus": 500}, "needs 500 GPUs but the cluster has at most 240"),
    ({"gpus": 80, "selector": A100, "group_by": RACK}, "one lulea.io/rack has at most 60"),
    ({"gpus": 3, "hosts": 3, "selector": {"lulea.io/gpu-model": "v100"}}, None),
    ({"gpus": 120, "hosts": 12, "selector": IB}, None),
]


@pytest.mark.parametrize(("spec", "words"), NEVER_FITS)
def test_never_fits_names_the_constraint(
    fleet: ClusterState, mk: Mk, spec: dict[str, Any], words: str | None
) -> None:
    spec = dict(spec)
    gpus, hosts = spec.pop("gpus"), spec.pop("hosts", None)
    reason = never_fits(mk(gpus, hosts, **spec), fleet)
    if words is None:
        assert reason is None
    else:
        assert reason is not None and words in reason, reason


def test_never_fits_when_quota_is_smaller_than_the_job(fleet: ClusterState, mk: Mk) -> None:
    reason = never_fits(mk(16, 2), fleet, quota=8)
    assert reason is not None and "quota is 8" in reason


def test_never_fits_ignores_what_runs_now(fleet: ClusterState, mk: Mk) -> None:
    for name, n in fleet.nodes.items():
        fleet.bind(f"x/{name}", BoundPod(name, n.gpus, "x"))
    assert never_fits(mk(100, 10, selector=IB), fleet) is None
    assert isinstance(place(mk(100, 10, selector=IB), fleet), NoFit)


def test_empty_cluster_never_fits(mk: Mk) -> None:
    assert never_fits(mk(1), ClusterState()) == "the cluster has no nodes"
