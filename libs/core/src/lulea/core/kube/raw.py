"""A thin raw-JSON layer over kubernetes_asyncio's ApiClient: no model (de)serialization, which
costs more than the work itself at a thousand objects (placement), and one error type."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from kubernetes_asyncio import client

Obj = dict[str, Any]


class KubeError(Exception):
    """The API server answered an error: its HTTP status and, when it sent a Status, its message."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status, self.body = status, body

    @property
    def message(self) -> str:
        try:
            return str(json.loads(self.body).get("message") or self.body)
        except (ValueError, AttributeError):
            return self.body


class Kube:
    def __init__(self, api: client.ApiClient) -> None:
        self.api = api

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        read_timeout: float | None = 30,
    ) -> Any:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        return await self.api.call_api(
            path,
            method,
            query_params=list((query or {}).items()),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _request_timeout=read_timeout,
        )

    async def request(self, method: str, path: str, **kw: Any) -> Obj:
        resp = await self._call(method, path, **kw)
        async with resp:
            text = await resp.text()
        if resp.status >= 300:
            raise KubeError(resp.status, text)
        return json.loads(text) if text else {}

    async def list(self, path: str, **query: Any) -> tuple[list[Obj], str]:
        """Every item (paged) and the list's resourceVersion."""
        items: list[Obj] = []
        cont = ""
        while True:
            q = {"limit": 500, **query}
            if cont:
                q["continue"] = cont
            page = await self.request("GET", path, query=q)
            items += page.get("items") or []
            cont = (page.get("metadata") or {}).get("continue") or ""
            if not cont:
                return items, page["metadata"]["resourceVersion"]

    async def watch(self, path: str, version: str, seconds: int = 240) -> AsyncIterator[Obj]:
        query = {
            "watch": "true",
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": seconds,
        }
        resp = await self._call("GET", path, query=query, read_timeout=None)
        async with resp:
            if resp.status >= 300:
                raise KubeError(resp.status, await resp.text())
            while line := await resp.content.readline():
                if line.strip():
                    yield json.loads(line)

    async def bind(self, namespace: str, pod: str, node: str, annotations: dict[str, str]) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod, "annotations": annotations},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        await self.request("POST", f"/api/v1/namespaces/{namespace}/pods/{pod}/binding", body=body)

    async def patch(self, path: str, patch: Obj, kind: str = "merge") -> Obj:
        ctype = {
            "merge": "application/merge-patch+json",
            "strategic": "application/strategic-merge-patch+json",
        }[kind]
        return await self.request("PATCH", path, body=patch, content_type=ctype)
