"""Helpers shared by the Project e2e tests: create/edit/wait on Projects through the real API."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

GROUP, VERSION = "lulea.io", "v1alpha1"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def project_body(name: str, members: list[tuple[str, str]], quotas: dict[str, int] | None = None
                 ) -> dict[str, Any]:
    spec: dict[str, Any] = {"members": [{"user": u, "role": r} for u, r in members]}
    if quotas:
        spec["quotas"] = quotas
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Project", "metadata": {"name": name},
            "spec": spec}


async def create_project(api: k8s.ApiClient, name: str, members: list[tuple[str, str]],
                         quotas: dict[str, int] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = await k8s.CustomObjectsApi(api).create_cluster_custom_object(
        GROUP, VERSION, "projects", project_body(name, members, quotas))
    return result


async def set_members(api: k8s.ApiClient, name: str, members: list[tuple[str, str]]) -> None:
    patch = {"spec": {"members": [{"user": u, "role": r} for u, r in members]}}
    await k8s.CustomObjectsApi(api).patch_cluster_custom_object(
        GROUP, VERSION, "projects", name, patch, _content_type="application/merge-patch+json")


async def get_project(api: k8s.ApiClient, name: str) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = await k8s.CustomObjectsApi(api).get_cluster_custom_object(
            GROUP, VERSION, "projects", name)
        return result
    except ApiException as e:
        if e.status == 404:
            return None
        raise


def is_ready(project: dict[str, Any] | None) -> bool:
    if not project:
        return False
    status = project.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), None)
    return bool(ready and ready["status"] == "True"
                and status.get("observedGeneration") == project["metadata"]["generation"])


async def wait_ready(api: k8s.ApiClient, name: str, timeout: float = 60) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            project = await get_project(api, name)
            if is_ready(project):
                assert project is not None
                return project
            await asyncio.sleep(0.25)


async def delete_project(api: k8s.ApiClient, name: str, wait: bool = True, timeout: float = 90) -> None:
    try:
        await k8s.CustomObjectsApi(api).delete_cluster_custom_object(GROUP, VERSION, "projects", name)
    except ApiException as e:
        if e.status != 404:
            raise
    if wait:
        async with asyncio.timeout(timeout):
            while await get_project(api, name) is not None:
                await asyncio.sleep(0.25)


async def eventually_status(call: Any, expected: int, timeout: float = 30) -> int:
    """Retry an API call until it answers `expected` (an HTTP status; 200 = success)."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                await call()
                got = 200
            except ApiException as e:
                got = e.status
            if got == expected:
                return got
            await asyncio.sleep(0.25)
