"""Helpers for the storage e2e tests: Datasets through the real API server, and WebHDFS
clients that nobody here wrote (fsspec, HdfsCLI) set up with a member's credentials."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from lulea.devstack.endpoints import Stack

from .identities import MemberFiles
from .projects import GROUP, VERSION


async def create_dataset(api: k8s.ApiClient, project: str, name: str, *, quota: dict[str, int] | None = None,
                         shares: list[dict[str, str]] | None = None,
                         annotations: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"description": "e2e"}
    if quota:
        spec["quota"] = quota
    if shares:
        spec["shares"] = shares
    meta: dict[str, Any] = {"name": name, "namespace": project}
    if annotations:
        meta["annotations"] = annotations
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Dataset", "metadata": meta, "spec": spec}
    result: dict[str, Any] = await k8s.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, project, "datasets", body)
    return result


async def get_dataset(api: k8s.ApiClient, project: str, name: str) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = await k8s.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, project, "datasets", name)
        return result
    except ApiException as e:
        if e.status == 404:
            return None
        raise


async def patch_dataset(api: k8s.ApiClient, project: str, name: str, patch: dict[str, Any]) -> None:
    await k8s.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP, VERSION, project, "datasets", name, patch, _content_type="application/merge-patch+json")


async def wait_dataset(api: k8s.ApiClient, project: str, name: str, timeout: float = 60,
                       until: Any = None) -> dict[str, Any]:
    """Until the operator reports the dataset Ready (and `until(obj)` holds, if given)."""
    async with asyncio.timeout(timeout):
        while True:
            obj = await get_dataset(api, project, name)
            status = (obj or {}).get("status") or {}
            ready = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), None)
            if obj and ready and ready["status"] == "True" and status.get("path") and (
                    until is None or until(obj)):
                return obj
            await asyncio.sleep(0.25)


async def delete_dataset(api: k8s.ApiClient, project: str, name: str, timeout: float = 60) -> None:
    try:
        await k8s.CustomObjectsApi(api).delete_namespaced_custom_object(
            GROUP, VERSION, project, "datasets", name)
    except ApiException as e:
        if e.status != 404:
            raise
    async with asyncio.timeout(timeout):
        while await get_dataset(api, project, name) is not None:
            await asyncio.sleep(0.25)


async def accept_shares(api: k8s.ApiClient, project: str, accepted: list[str]) -> None:
    await k8s.CustomObjectsApi(api).patch_cluster_custom_object(
        GROUP, VERSION, "projects", project, {"spec": {"acceptedShares": accepted}},
        _content_type="application/merge-patch+json")


def webhdfs(stack: Stack, member: MemberFiles | None = None, **kw: Any) -> httpx.Client:
    """A plain HTTPS client on /webhdfs/v1, presenting `member`'s certificate if given."""
    verify = member.tls(stack) if member is not None else str(stack.trust_file)
    return httpx.Client(base_url=f"{stack.storage_url}/webhdfs/v1", verify=verify, timeout=60, **kw)


def host_port(stack: Stack) -> tuple[str, int]:
    parts = urlsplit(stack.storage_url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def fsspec_options(stack: Stack, member: MemberFiles | None = None, token: str | None = None
                   ) -> dict[str, Any]:
    """storage_options for fsspec's own `webhdfs` implementation (and so pandas)."""
    host, port = host_port(stack)
    options: dict[str, Any] = {"host": host, "port": port, "use_https": True,
                               "session_verify": str(stack.trust_file)}
    if member is not None:
        options["session_cert"] = (str(member.cert), str(member.key))
    if token is not None:
        options["token"] = token
    return options


def remote(answer: httpx.Response) -> tuple[int, str]:
    """(status, Hadoop exception name) of a RemoteException answer."""
    try:
        exception = answer.json()["RemoteException"]["exception"]
    except (ValueError, KeyError, TypeError):
        exception = ""
    return answer.status_code, exception


def put_file(client: httpx.Client, path: str, data: bytes, **params: str) -> httpx.Response:
    """CREATE's two steps, as the spec has them: a 307 with Location, then the data there."""
    first = client.put(path, params={"op": "CREATE", **params})
    if first.status_code != 307:
        return first
    return client.put(first.headers["location"], content=data,
                      headers={"content-type": "application/octet-stream"})
