"""LIST then WATCH one kind forever, re-listing on expiry or error: the scheduler's memory
is always rebuildable from the API server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from lulea.core.kube.raw import Kube, KubeError, Obj

log = logging.getLogger(__name__)


class Mirror:
    def __init__(
        self,
        kube: Kube,
        path: str,
        *,
        reset: Callable[[list[Obj]], None],
        event: Callable[[str, Obj], bool],
        changed: Callable[[], None],
        optional: bool = False,
    ) -> None:
        self.kube, self.path = kube, path
        self.reset, self.event, self.changed = reset, event, changed
        self.optional = optional  # a kind whose CRD may not be installed (Projects)
        self.synced = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                items, version = await self.kube.list(self.path)
                self.reset(items)
                self.synced.set()
                self.changed()
                while True:
                    version = await self._watch(version)
            except asyncio.CancelledError:
                raise
            except KubeError as err:
                if err.status == 404 and self.optional:
                    self.reset([])
                    self.synced.set()
                    await asyncio.sleep(10)
                    continue
                log.warning("re-listing %s: %s", self.path, err)
            except Exception as err:  # connection dropped, bad JSON: re-list
                log.warning("re-listing %s after %s: %s", self.path, type(err).__name__, err)
            await asyncio.sleep(1)

    async def _watch(self, version: str) -> str:
        async for ev in self.kube.watch(self.path, version):
            kind, obj = ev.get("type"), ev.get("object") or {}
            if kind == "ERROR":
                raise KubeError(int(obj.get("code", 500)), str(obj.get("message")))
            version = (obj.get("metadata") or {}).get("resourceVersion", version)
            if kind == "BOOKMARK":
                continue
            if self.event(str(kind), obj):  # a node heartbeat is not worth a cycle
                self.changed()
        return version
