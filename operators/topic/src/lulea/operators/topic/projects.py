"""The Projects as the Topic operator sees them: one informer (list, then watch) per operator
process, shared by the ACL loops (`grants.GrantSync`) and the quota loop (`quotas.QuotaSync`).

Before this, each of those passes listed every Project from the API server: bench/projects
(300 Projects) counted 464 full lists by this operator in three rounds, load on the very API
server that benchmark measures, and bench/topics listed them again on every ACL pass. Now the
API server sees one list at start (and one after a watch expires or breaks) and one watch.

A change to what the passes read of a Project (its members, its quotas, whether it is being
deleted, whether it exists) wakes them from the watch itself (`subscribe`): a member removed
loses Kafka access from the watch event alone, whatever the bus does. Status writes (the
Project operator's conditions) change none of that and wake nothing.

**Order against the bus events** (MemberRemoved etc., which wake the passes too). The Project
operator publishes MemberRemoved only after the API server committed the Project edit (at
some revision R) and sent it to the Project operator's own watch. Our watch on the same API
server delivers R too (or, if it broke, the re-list that follows has it, and `Informer._replace`
reports every key that differs). Whichever of the two arrives first, the watch's wake comes
at or after the moment the view holds R, and the pass it wakes starts after that. So a pass
woken by the bus event may use a view older than the event, but it is never the last pass:
with the older view it keeps the removed member's bindings a moment longer (the state before
the edit, which the broker still had anyway) and the watch-woken pass takes them away. The
events carry no resourceVersion to compare, and none is needed.

No pass runs before the first list (`synced`): an empty view would mean "no members" and a
diff pass would delete every binding.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, Protocol

from lulea.core.kube import Kube
from lulea.core.kube.informer import Informer

PROJECTS = "/apis/lulea.io/v1alpha1/projects"
Obj = dict[str, Any]


class ProjectView(Protocol):
    """What the passes need: the Projects as last seen, and whether they have been seen."""

    synced: asyncio.Event

    def items(self) -> list[Obj]: ...

    def subscribe(self, listener: Callable[[str], object]) -> None: ...


def inputs(obj: Obj | None) -> str | None:
    """What the ACL and quota passes read of a Project, as one comparable value (None: gone)."""
    if obj is None:
        return None
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    return json.dumps([bool(meta.get("deletionTimestamp")), spec.get("members") or [],
                       spec.get("quotas") or {}], sort_keys=True)


class Projects:
    def __init__(self, kube: Kube, *, retry_seconds: float = 1.0, watch_seconds: int = 240) -> None:
        self.informer = Informer(kube, PROJECTS, changed=self._changed, retry_seconds=retry_seconds,
                                 watch_seconds=watch_seconds)
        self.synced = self.informer.synced
        self._inputs: dict[str, str] = {}
        self._listeners: list[Callable[[str], object]] = []
        self.changes = 0  # changes that woke the listeners

    def subscribe(self, listener: Callable[[str], object]) -> None:
        """`listener(project)` is called (synchronously, from the watch) when a Project's members,
        quotas or deletion changed, or it appeared or went away."""
        self._listeners.append(listener)

    def items(self) -> list[Obj]:
        return list(self.informer.objects.values())

    def get(self, name: str) -> Obj | None:
        return self.informer.get(name)

    def _changed(self, key: str) -> None:
        now = inputs(self.informer.get(key))
        if now == self._inputs.get(key):
            return  # a status write, or a label: nothing the passes read
        if now is None:
            self._inputs.pop(key, None)
        else:
            self._inputs[key] = now
        self.changes += 1
        for listener in self._listeners:
            listener(key)

    async def run(self) -> None:
        await self.informer.run()
