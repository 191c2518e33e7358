"""One Dataset, level-based: make its root with its quota, read its usage and its shares'
states, write status, post an Event for each change of state. Deletion removes the tree."""

from __future__ import annotations

import logging
import time
from typing import Any

import kopf

from lulea.core.events import EventType, LoggedPublisher, Publishing
from lulea.core.kube import Kube, KubeError
from lulea.core.kube.conditions import condition
from lulea.operators.dataset import plan
from lulea.operators.dataset.storage import Storage, StorageRefused, StorageUnavailable

log = logging.getLogger(__name__)
GROUP, VERSION, PLURAL = "lulea.io", "v1alpha1", "datasets"


class Reconciler:
    def __init__(self, kube: Kube, storage: Storage, give_up_seconds: float,
                 events: Publishing | None = None) -> None:
        self.kube, self.storage, self.give_up_seconds = kube, storage, give_up_seconds
        self.events: Publishing = events if events is not None else LoggedPublisher()

    async def announce(self, body: dict[str, Any], reason: str, message: str, data: dict[str, Any],
                       *id_parts: str) -> None:
        """A change of state: a Kubernetes Event on the Dataset and an Avro event on Kafka
        (deterministic id: a retried reconcile re-sends the same one)."""
        meta = body["metadata"]
        _event(body, type="Normal", reason=reason, message=message)
        await self.events.publish(EventType(reason), subject=f"{meta['namespace']}/{meta['name']}",
                                  key=meta["namespace"],
                                  data={"project": meta["namespace"], "dataset": meta["name"], **data},
                                  id_parts=(str(meta.get("uid")), reason, *id_parts))

    async def targets(self, spec: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
        out: dict[str, dict[str, Any] | None] = {}
        for share in spec.get("shares") or []:
            try:
                out[share["project"]] = await self.kube.request(
                    "GET", f"/apis/{GROUP}/{VERSION}/projects/{share['project']}")
            except KubeError as exc:
                if exc.status != 404:
                    raise
                out[share["project"]] = None
        return out

    async def reconcile(self, body: dict[str, Any]) -> None:
        meta, spec = body["metadata"], body.get("spec") or {}
        project, name = meta["namespace"], meta["name"]
        status = body.get("status") or {}
        path = plan.root_path(project, name)
        try:
            await self.storage.make_root(path, plan.quota_params(spec))
            used, files = await self.storage.usage(path)
        except StorageUnavailable as exc:
            await self.write_status(body, self._status(status, meta, "False", "StorageUnavailable", str(exc)))
            raise kopf.TemporaryError(str(exc), delay=10) from exc
        except StorageRefused as exc:
            await self.write_status(body, self._status(status, meta, "False", "StorageRefused", str(exc)))
            raise kopf.TemporaryError(str(exc), delay=30) from exc
        targets = await self.targets(spec)
        shares = plan.share_states(project, name, spec, targets)
        if status.get("path") is None:
            await self.announce(body, "DatasetCreated", f"root {path} made", {"path": path})
        for reason, message, share in plan.share_changes(list(status.get("shares") or []), shares):
            target = share["project"]
            version = str(((targets.get(target) or {}).get("metadata") or {}).get("resourceVersion", ""))
            data = {"target": target} if reason == "DatasetUnshared" else {
                "target": target, "access": share["access"]}
            await self.announce(body, reason, message, data, target, str(meta.get("generation")), version)
        new = self._status(status, meta, "True", "Ready", f"{path}: {used} bytes, {files} files")
        new.update(path=path, usedBytes=used, files=files, shares=shares)
        await self.write_status(body, new)

    def _status(self, status: dict[str, Any], meta: dict[str, Any], ok: str, reason: str,
                message: str) -> dict[str, Any]:
        old = list(status.get("conditions") or [])
        ready = condition("Ready", ok == "True", reason, message, generation=meta.get("generation"), old=old)
        others = [c for c in old if c.get("type") != "Ready"]
        return {**status, "observedGeneration": meta.get("generation"), "conditions": [*others, ready]}

    async def write_status(self, body: dict[str, Any], status: dict[str, Any]) -> None:
        if status == body.get("status"):
            return
        meta = body["metadata"]
        try:
            await self.kube.request(
                "PATCH",
                f"/apis/{GROUP}/{VERSION}/namespaces/{meta['namespace']}/{PLURAL}/{meta['name']}/status",
                body={"status": status}, content_type="application/merge-patch+json")
        except KubeError as exc:
            if exc.status != 404:
                raise

    async def delete(self, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        annotations = meta.get("annotations") or {}
        path = plan.root_path(meta["namespace"], meta["name"])
        if plan.retained(annotations):
            log.info("dataset %s deleted; its data is retained at %s", meta["name"], path)
            await self.announce(body, "DatasetDeleted", f"{path} retained", {"retained": True})
            return
        if plan.abandoned(annotations):
            _event(body, type="Warning", reason="DataLeft", message=f"{path} abandoned by annotation")
            return
        try:
            await self.storage.remove(path)
        except (StorageUnavailable, StorageRefused) as exc:
            deleting = meta.get("deletionTimestamp")
            age = _age(deleting) if deleting else 0.0
            if age > self.give_up_seconds:
                _event(body, type="Warning", reason="DataLeft",
                           message=f"gave up removing {path} after {age:.0f}s: {exc}")
                return
            raise kopf.TemporaryError(f"removing {path}: {exc}", delay=10) from exc
        await self.announce(body, "DatasetDeleted", f"{path} removed", {"retained": False})


def _event(body: dict[str, Any], *, type: str, reason: str, message: str) -> None:
    """A Kubernetes Event on the Dataset (kopf posts it; a plain mapping is enough for it)."""
    kopf.event(body, type=type, reason=reason, message=message)  # type: ignore[arg-type]


def _age(timestamp: str) -> float:
    from datetime import datetime

    return time.time() - datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
