"""An informer, as client-go has it: list, then watch from the list's resourceVersion, keep the
objects in memory, and say which keys changed. An expired watch (410) or a dropped
connection lists again, so nothing is missed; `synced` is set after the first list.

    informer = Informer(kube, "/apis/lulea.io/v1alpha1/projects", changed=queue.add)
    asyncio.create_task(informer.run())
    await informer.synced.wait()
    informer.get("p1")
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from lulea.core.kube.raw import Kube, KubeError, Obj

log = logging.getLogger("lulea.kube.informer")


def key_of(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else str(meta["name"])


class Informer:
    def __init__(self, kube: Kube, path: str, *, changed: Callable[[str], object] = lambda _key: None,
                 retry_seconds: float = 1.0, watch_seconds: int = 240) -> None:
        self.kube, self.path, self.changed = kube, path, changed
        self.retry_seconds, self.watch_seconds = retry_seconds, watch_seconds
        self.objects: dict[str, Obj] = {}
        self.synced = asyncio.Event()

    def get(self, key: str) -> Obj | None:
        return self.objects.get(key)

    def names(self) -> list[str]:
        return sorted(self.objects)

    def _replace(self, items: list[Obj]) -> None:
        fresh = {key_of(o): o for o in items}
        gone = self.objects.keys() - fresh.keys()
        changed = [k for k, o in fresh.items() if self.objects.get(k) != o]
        self.objects = fresh
        for key in sorted(gone) + changed:
            self.changed(key)

    async def run(self) -> None:
        """Forever: list, watch until the watch ends, repeat (errors retried, never raised)."""
        while True:
            try:
                items, version = await self.kube.list(self.path)
                self._replace(items)
                self.synced.set()
                await self._watch(version)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # the API server restarted, a 410, a network error
                log.info("informer %s: %s; listing again", self.path, err)
                await asyncio.sleep(self.retry_seconds)

    async def _watch(self, version: str) -> None:
        while True:
            async for event in self.kube.watch(self.path, version, self.watch_seconds):
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    raise KubeError(int(obj.get("code") or 500), str(obj.get("message") or obj))
                version = (obj.get("metadata") or {}).get("resourceVersion") or version
                if kind == "BOOKMARK":
                    continue
                key = key_of(obj)
                if kind == "DELETED":
                    self.objects.pop(key, None)
                else:
                    self.objects[key] = obj
                self.changed(key)
