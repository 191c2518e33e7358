"""One scheduler cycle against a recording stand-in for the API server."""

from __future__ import annotations

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
