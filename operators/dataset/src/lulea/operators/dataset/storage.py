"""The storage service as the operator uses it: WebHDFS calls with the platform's bearer token
(its service account's token bound to the audience `lulea`) over TLS verified by the root."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from lulea.core.platform import PlatformSettings


class StorageUnavailable(Exception):
    """The storage service could not be reached or answered 5xx: try again later."""


class StorageRefused(Exception):
    """The storage service refused the request (a RemoteException)."""


class Storage:
    def __init__(self, base_url: str, platform: PlatformSettings) -> None:
        verify: ssl.SSLContext | bool = True
        if platform.trust_file is not None:
            verify = ssl.create_default_context(cafile=str(platform.trust_file))
        self.platform = platform
        self.client = httpx.AsyncClient(base_url=f"{base_url.rstrip('/')}/webhdfs/v1", verify=verify,
                                        timeout=30.0)

    async def call(self, method: str, path: str, op: str, **params: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.platform.token()}"}
        try:
            answer = await self.client.request(method, path, params={"op": op, **params}, headers=headers)
        except httpx.HTTPError as exc:
            raise StorageUnavailable(f"{op} {path}: {exc}") from exc
        if answer.status_code >= 500:
            raise StorageUnavailable(f"{op} {path}: HTTP {answer.status_code}")
        body = answer.json() if answer.content else {}
        if answer.status_code >= 300:
            remote = (body or {}).get("RemoteException") or {}
            raise StorageRefused(f"{op} {path}: {remote.get('exception')}: {remote.get('message')}")
        return dict(body)

    async def make_root(self, path: str, quota: dict[str, str]) -> None:
        await self.call("PUT", path, "MKDIRS", permission="770")
        await self.call("PUT", path, "SETQUOTA", **quota)

    async def usage(self, path: str) -> tuple[int, int]:
        summary = (await self.call("GET", path, "GETCONTENTSUMMARY"))["ContentSummary"]
        return int(summary["length"]), int(summary["fileCount"]) + int(summary["directoryCount"]) - 1

    async def remove(self, path: str) -> None:
        await self.call("DELETE", path, "DELETE", recursive="true")

    async def close(self) -> None:
        await self.client.aclose()
