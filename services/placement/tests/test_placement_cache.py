"""The cache from API JSON: used GPUs from any bound pod, gangs from ours, restart resume."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from lulea.core import gangs as c
from lulea.placement.cache import SchedulerCache
from lulea.placement.kube.objects import node_from, quantity

Builder = Callable[..., dict[str, Any]]


@pytest.fixture
def cache(node: Builder) -> SchedulerCache:
    cache = SchedulerCache(c.SCHEDULER_NAME)
    cache.reset_nodes([node("n1", 8, rack="r1"), node("n2", 4, rack="r1")])
    return cache


@pytest.mark.parametrize(("text", "gpus"), [("8", 8), (4, 4), ("2000m", 2), ("1.0", 1)])
def test_quantities(text: object, gpus: int) -> None:
    assert quantity(text) == gpus


def test_node_fields(node: Builder) -> None:
    n = node_from({**node("n1", 8, rack="r1"), "spec": {"unschedulable": True}})
    assert (n.gpus, n.labels, n.schedulable, n.taints) == (8, {"rack": "r1"}, False, ())


def test_any_schedulers_bound_pods_use_gpus(cache: SchedulerCache, pod: Builder) -> None:
    cache.reset_pods(
        [
            pod("x", 3, gang=None, scheduler="default-scheduler", node_name="n1"),
            pod("done", 8, gang=None, node_name="n2", phase="Succeeded"),
        ],
        now=0,
    )
    assert (cache.state.free("n1"), cache.state.free("n2")) == (5, 4)
    assert cache.queue() == ([], [])


def test_a_gang_is_queued_only_when_all_its_pods_exist(cache: SchedulerCache, pod: Builder) -> None:
    cache.on_pod("ADDED", pod("a", 2, notes={c.GANG_HOSTS: "2", c.PRIORITY: "7"}), now=0)
    assert cache.queue() == ([], [])
    cache.on_pod("ADDED", pod("b", 2, notes={c.GANG_HOSTS: "2", c.PRIORITY: "7"}), now=0)
    (gang,), resumes = cache.queue()
    assert resumes == []
    assert (gang.id, gang.pods, gang.gpus_per_pod, gang.distinct_hosts, gang.priority) == (
        "p1/g1",
        ("a", "b"),
        2,
        True,
        7,
    )
    assert gang.created == pytest.approx(1767225600.0)


def test_assumed_binds_survive_stale_pending_events(cache: SchedulerCache, pod: Builder) -> None:
    for name in ("a", "b"):
        cache.on_pod("ADDED", pod(name, 4), now=0)
    cache.assume("p1", {"a": "n1", "b": "n1"}, 4, now=0)
    assert cache.state.free("n1") == 0
    cache.on_pod("MODIFIED", pod("a", 4), now=1)  # e.g. our condition patch, seen late
    assert cache.state.free("n1") == 0 and cache.queue() == ([], [])
    cache.on_pod("MODIFIED", pod("a", 4, node_name="n1"), now=2)
    cache.forget("p1", "b")  # b's bind failed
    assert cache.state.free("n1") == 4


def test_deleting_a_pod_frees_its_gpus_and_unqueues_its_gang(cache: SchedulerCache, pod: Builder) -> None:
    cache.on_pod("ADDED", pod("a", 4, size=1, node_name="n1"), now=0)
    cache.on_pod("ADDED", pod("z", 4, gang="g2", size=1), now=0)
    assert cache.state.free("n1") == 4 and len(cache.queue()[0]) == 1
    cache.on_pod("DELETED", pod("a", 4, size=1, node_name="n1"), now=0)
    cache.on_pod("DELETED", pod("z", 4, gang="g2", size=1), now=0)
    assert cache.state.free("n1") == 8 and cache.queue() == ([], []) and cache.pods == {}


def test_restart_mid_gang_resumes_the_written_plan(
    cache: SchedulerCache, pod: Builder, node: Builder
) -> None:
    plan = json.dumps({"a": "n1", "b": "n2"})
    fresh = SchedulerCache(c.SCHEDULER_NAME)  # a restarted scheduler re-lists everything
    fresh.reset_nodes([node("n1", 8), node("n2", 4)])
    fresh.reset_pods([pod("a", 4, node_name="n1", notes={c.PLAN: plan}), pod("b", 4)], now=0)
    gangs, (resume,) = fresh.queue()
    assert gangs == [] and resume.pods == {"b": "n2"} and resume.gpus_per_pod == 4


def test_half_bound_gang_without_plan_is_left_alone(cache: SchedulerCache, pod: Builder) -> None:
    cache.reset_pods([pod("a", 4, node_name="n1"), pod("b", 4)], now=0)
    assert cache.queue() == ([], [])


def test_terminating_and_foreign_pods_are_not_queued(cache: SchedulerCache, pod: Builder) -> None:
    gone = pod("a", 1, size=1)
    gone["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    cache.reset_pods([gone, pod("b", 1, gang="g2", size=1, scheduler="default-scheduler")], now=0)
    assert cache.queue() == ([], [])


def test_project_quotas(cache: SchedulerCache) -> None:
    cache.reset_projects(
        [
            {"metadata": {"name": "p1"}, "spec": {"quotas": {"gpus": 8}}},
            {"metadata": {"name": "p2"}, "spec": {}},
        ]
    )
    assert cache.quotas == {"p1": 8, "p2": None}
    cache.on_project("DELETED", {"metadata": {"name": "p1"}, "spec": {}})
    assert cache.quotas == {"p2": None}
