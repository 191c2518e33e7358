"""One scheduler cycle against a recording stand-in for the API server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from lulea.core import gangs as c
from lulea.core.kube.raw import KubeError
from lulea.placement.metrics import PlacementMetrics
from lulea.placement.scheduler import Scheduler
from lulea.placement.settings import PlacementSettings


class RecordingKube:
    def __init__(self, vanished: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.calls: list[tuple[str, ...]] = []
        self.vanished = vanished

    async def patch(self, path: str, patch: dict[str, Any], kind: str = "merge") -> dict[str, Any]:
        self.calls.append(("patch", path, json.dumps(patch, sort_keys=True)))
        return {}

    async def bind(self, ns: str, name: str, node: str, notes: dict[str, str]) -> None:
        if name in self.vanished:
            raise KubeError(404, "pods not found")
        self.calls.append(("bind", f"{ns}/{name}", node, notes.get(c.PLAN, "")))

    async def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        self.calls.append((method, path, kw["body"]["reason"]))
        return {}


Builder = Callable[..., dict[str, Any]]


def scheduler(kube: RecordingKube, node: Builder) -> Scheduler:
    settings = PlacementSettings()
    s = Scheduler(kube, settings, PlacementMetrics(), clock=lambda: 1e10)  # type: ignore[arg-type]
    s.cache.reset_nodes([node("n1", 8), node("n2", 8), node("n3", 4)])
    return s


async def test_a_gang_is_planned_then_bound_on_distinct_hosts(node: Builder, pod: Builder) -> None:
    kube = RecordingKube()
    s = scheduler(kube, node)
    notes = {c.GANG_HOSTS: "2"}
    s.cache.reset_pods([pod("a", 8, notes=notes), pod("b", 8, notes=notes)], now=0)
    await s.cycle()
    # no write before the binds: the first pod's Binding carries the plan, the others none
    assert [call[0] for call in kube.calls][:2] == ["bind", "bind"]
    first, second = (call for call in kube.calls if call[0] == "bind")
    assert first[1:3] == ("p1/a", "n1") and json.loads(first[3]) == {"a": "n1", "b": "n2"}
    assert second[1:] == ("p1/b", "n2", "")
    assert ("POST", "/api/v1/namespaces/p1/events", "GangPlaced") in kube.calls
    await s.cycle()  # nothing new: nothing bound twice
    assert sum(1 for call in kube.calls if call[0] == "bind") == 2


async def test_an_impossible_gang_is_marked_once(node: Builder, pod: Builder) -> None:
    kube = RecordingKube()
    s = scheduler(kube, node)
    s.cache.reset_pods([pod("a", 16, size=1)], now=0)
    await s.cycle()
    await s.cycle()
    status = [call for call in kube.calls if call[0] == "patch" and call[1].endswith("/status")]
    assert len(status) == 1 and c.NEVER_FITS in status[0][2] and "largest" in status[0][2]
    assert not [call for call in kube.calls if call[0] == "bind"]


async def test_a_vanished_pod_gives_its_gpus_back(node: Builder, pod: Builder) -> None:
    kube = RecordingKube(vanished={"b"})
    s = scheduler(kube, node)
    s.cache.reset_pods([pod("a", 4), pod("b", 4)], now=0)
    await s.cycle()
    assert s.cache.state.free_gpus() == 20 - 4  # a is bound (assumed), b's GPUs are back
    assert [call[1] for call in kube.calls if call[0] == "bind"] == ["p1/a"]


class SlowKube(RecordingKube):
    """Binds of gang g1 hang until released: a slow API server under one large cycle."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def bind(self, ns: str, name: str, node: str, notes: dict[str, str]) -> None:
        if name.startswith("g1-"):
            await self.release.wait()
        await super().bind(ns, name, node, notes)


async def test_a_cycle_does_not_wait_for_the_binds_of_the_one_before(node: Builder, pod: Builder) -> None:
    kube = SlowKube()
    s = scheduler(kube, node)
    s.cache.reset_pods([pod("g1-a", 4, gang="g1"), pod("g1-b", 4, gang="g1")], now=0)
    await asyncio.wait_for(s.cycle(wait=False), 1)  # returns with g1's binds still to do
    await asyncio.sleep(0)  # g1's first bind is under way, and hangs
    assert s.inflight and not [call for call in kube.calls if call[0] == "bind"]
    # a gang that arrives meanwhile is placed by the next cycle, beside g1's assumed GPUs
    s.cache.on_pod("ADDED", pod("g2-a", 8, gang="g2", size=1), 0)
    await asyncio.wait_for(s.cycle(wait=False), 1)
    await asyncio.sleep(0.01)
    assert [call[1] for call in kube.calls if call[0] == "bind"] == ["p1/g2-a"]
    kube.release.set()
    await asyncio.gather(*s.inflight)
    binds = sorted(call[1] for call in kube.calls if call[0] == "bind")
    assert binds == ["p1/g1-a", "p1/g1-b", "p1/g2-a"]  # each once, none placed twice
    used: dict[str, int] = {}
    for call in kube.calls:
        if call[0] == "bind":
            used[call[2]] = used.get(call[2], 0) + (8 if call[1] == "p1/g2-a" else 4)
    assert all(used[n] <= {"n1": 8, "n2": 8, "n3": 4}[n] for n in used), used  # nothing over-committed
    assert s.cache.state.free_gpus() == 20 - 16 and not s.inflight
