"""One concurrent WebHDFS client for every target of bench/storage (Lulea's storage service and
Apache HDFS alike): httpx's AsyncClient with a connection pool, the protocol as Hadoop's
WebHDFS.md specifies it and as fsspec and HdfsCLI use it.

- CREATE is the two-step flow: a PUT without data that answers 307 with a `Location` (or
  200 `{"Location": ...}` under noredirect), then the data PUT to that Location (201). The
  second step is sent by the same pooled client, so it carries the client certificate and any
  Bearer header like HdfsCLI with a `requests.Session`; a Lulea Location also carries its own
  signed grant.
- OPEN follows the redirect (the NameNode sends the read to a DataNode; Lulea may answer directly).
- Errors are `RemoteException` bodies; they are raised as WebHdfsError with the Hadoop name.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx


@dataclass(frozen=True)
class Target:
    """Where and as whom: `url` ends in /webhdfs/v1."""

    name: str
    url: str
    user: str | None = None          # user.name (HDFS "simple" authentication)
    cert: str | None = None          # client certificate PEM (may hold the key too)
    key: str | None = None
    ca: str | None = None            # CA bundle that signed the server's certificate
    token: str | None = None         # Authorization: Bearer
    delegation: str | None = None    # a delegation token, sent as `delegation=`


class WebHdfsError(Exception):
    def __init__(self, status: int, exception: str, message: str) -> None:
        super().__init__(f"{status} {exception}: {message}")
        self.status = status
        self.exception = exception


def _ssl_context(target: Target) -> ssl.SSLContext | bool:
    if not target.url.startswith("https:"):
        return True
    ctx = ssl.create_default_context(cafile=target.ca) if target.ca else ssl.create_default_context()
    if target.cert:
        ctx.load_cert_chain(target.cert, target.key)
    return ctx


def _raise_for(response: httpx.Response, expected: tuple[int, ...]) -> None:
    if response.status_code in expected:
        return
    exception, message = "HTTPError", response.text[:300]
    try:
        remote = response.json()["RemoteException"]
        exception, message = remote.get("exception", exception), remote.get("message", message)
    except (ValueError, KeyError, TypeError):
        pass
    raise WebHdfsError(response.status_code, exception, message)


class WebHdfs:
    """`concurrency` bounds the requests in flight to each host (NameNode and DataNode have
    separate pools of that size, as two clients would)."""

    def __init__(self, target: Target, concurrency: int = 16, timeout: float = 300.0) -> None:
        self.target = target
        headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
        self._http = httpx.AsyncClient(
            verify=_ssl_context(target),
            headers=headers,
            limits=httpx.Limits(max_connections=2 * concurrency,
                                max_keepalive_connections=2 * concurrency),
            timeout=httpx.Timeout(timeout),
        )
        self._base = target.url.rstrip("/")

    async def __aenter__(self) -> WebHdfs:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _url(self, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"absolute paths only: {path!r}")
        return self._base + quote(path)

    def _params(self, op: str, **extra: str) -> dict[str, str]:
        params = {"op": op}
        if self.target.user:
            params["user.name"] = self.target.user
        if self.target.delegation:
            params["delegation"] = self.target.delegation
        params.update(extra)
        return params

    async def _json(self, method: str, path: str, op: str, expected: tuple[int, ...] = (200,),
                    **extra: str) -> Any:
        try:
            r = await self._http.request(method, self._url(path), params=self._params(op, **extra))
        except httpx.RemoteProtocolError:
            # A pooled connection the server closed while idle (uvicorn's keep-alive is 5 s);
            # only a read is retried, once.
            if method != "GET":
                raise
            r = await self._http.request(method, self._url(path), params=self._params(op, **extra))
        _raise_for(r, expected)
        return r.json() if r.content else None

    async def mkdirs(self, path: str) -> bool:
        body = await self._json("PUT", path, "MKDIRS")
        return bool(body["boolean"])

    async def delete(self, path: str, recursive: bool = False) -> bool:
        body = await self._json("DELETE", path, "DELETE", recursive=str(recursive).lower())
        return bool(body["boolean"])

    async def status(self, path: str) -> dict[str, Any]:
        body = await self._json("GET", path, "GETFILESTATUS")
        status: dict[str, Any] = body["FileStatus"]
        return status

    async def list(self, path: str) -> list[dict[str, Any]]:
        body = await self._json("GET", path, "LISTSTATUS")
        entries: list[dict[str, Any]] = body["FileStatuses"]["FileStatus"]
        return entries

    async def create(self, path: str, data: bytes | AsyncIterable[bytes],
                     overwrite: bool = True) -> None:
        """The two-step CREATE. `data` may be an async iterator of chunks (streamed, chunked)."""
        r = await self._http.put(self._url(path),
                                 params=self._params("CREATE", overwrite=str(overwrite).lower()))
        _raise_for(r, (307, 200))
        location = r.headers.get("location") if r.status_code == 307 else r.json().get("Location")
        if not location:
            raise WebHdfsError(r.status_code, "ProtocolError", "CREATE answered without a Location")
        put = await self._http.put(location, content=data,
                                   headers={"content-type": "application/octet-stream"})
        _raise_for(put, (201, 200))

    async def open(self, path: str, chunk_size: int = 1 << 20) -> int:
        """Reads the whole file (following the redirect), discarding it; returns the byte count."""
        n = 0
        async with self._http.stream("GET", self._url(path), params=self._params("OPEN"),
                                     follow_redirects=True) as r:
            if r.status_code != 200:
                await r.aread()
                _raise_for(r, (200,))
            async for chunk in r.aiter_bytes(chunk_size):
                n += len(chunk)
        return n

    async def read(self, path: str) -> bytes:
        r = await self._http.get(self._url(path), params=self._params("OPEN"), follow_redirects=True)
        _raise_for(r, (200,))
        return r.content


async def repeat(block: bytes, total: int) -> AsyncIterator[bytes]:
    """`total` bytes as repetitions of `block` (the last one cut), for a streaming body."""
    sent = 0
    while sent < total:
        piece = block if total - sent >= len(block) else block[: total - sent]
        sent += len(piece)
        yield piece
