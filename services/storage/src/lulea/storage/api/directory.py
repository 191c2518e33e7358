"""Membership and accepted shares, from informers on Projects and Datasets (the API server is
the source of truth): a removed member or a withdrawn share is refused within a watch event."""

from __future__ import annotations

import asyncio
from typing import Any

from lulea.core.crds.share import share_accepted
from lulea.core.kube.informer import Informer
from lulea.core.kube.raw import Kube
from lulea.core.membership import PROJECTS

DATASETS = "/apis/lulea.io/v1alpha1/datasets"


class KubeDirectory:
    def __init__(self, kube: Kube) -> None:
        self.projects = Informer(kube, PROJECTS)
        self.datasets = Informer(kube, DATASETS)

    async def run(self) -> None:
        await asyncio.gather(self.projects.run(), self.datasets.run())

    @property
    def synced(self) -> bool:
        return self.projects.synced.is_set() and self.datasets.synced.is_set()

    def _project(self, name: str) -> dict[str, Any] | None:
        obj = self.projects.get(name)
        if obj is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
            return None
        return obj

    def role(self, project: str, user: str) -> str | None:
        obj = self._project(project)
        if obj is None:
            return None
        for member in (obj.get("spec") or {}).get("members") or []:
            if member.get("user") == user:
                return str(member.get("role"))
        return None

    def projects_of(self, user: str) -> list[str]:
        return [p for p in self.projects.names() if self.role(p, user) is not None]

    def share(self, owner_project: str, dataset: str, target: str) -> str | None:
        obj = self.datasets.get(f"{owner_project}/{dataset}")
        if obj is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
            return None
        offered = next((s for s in (obj.get("spec") or {}).get("shares") or []
                        if s.get("project") == target), None)
        target_obj = self._project(target)
        if offered is None or target_obj is None or self._project(owner_project) is None:
            return None
        accepted = (target_obj.get("spec") or {}).get("acceptedShares") or []
        if not share_accepted(accepted, owner_project, dataset):
            return None
        return str(offered.get("access") or "ReadOnly")

    def datasets_of(self, project: str) -> list[str]:
        prefix = f"{project}/"
        return [k[len(prefix):] for k in self.datasets.names() if k.startswith(prefix)]

    def project_quota(self, project: str) -> int | None:
        obj = self._project(project)
        quotas = ((obj or {}).get("spec") or {}).get("quotas") or {}
        value = quotas.get("storageBytes")
        return int(value) if value is not None else None


class OpenDirectory:
    """Authorization off (a local benchmark of the service alone): no projects, no shares."""

    synced = True

    def role(self, project: str, user: str) -> str | None:
        return None

    def projects_of(self, user: str) -> list[str]:
        return []

    def share(self, owner_project: str, dataset: str, target: str) -> str | None:
        return None

    def datasets_of(self, project: str) -> list[str]:
        return []

    def project_quota(self, project: str) -> int | None:
        return None
