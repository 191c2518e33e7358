"""GET /schemas/ids/{id} answered from the in-memory cache before FastAPI's routing.

Every consumer asks for schemas by id, so this is the registry's hot path. On a cache hit
the answer (and the access check) needs no routing, no dependency solving and no store
call; anything else (a miss, `fetchMaxId`, a failed authentication) falls through to the
documented FastAPI route, which gives the same answer the slow way. The answer is labelled
with the negotiated media type; a request the route would refuse (406, 415, 400) falls
through to it too.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from lulea.core.tls import peer_certificate
from lulea.schema_registry.api.media_types import PRODUCED, negotiate_headers
from lulea.schema_registry.domain.errors import RegistryError
from lulea.schema_registry.domain.id_cache import IdCache

PREFIX = "/schemas/ids/"
_LABELS = {media: (b"content-type", media.encode()) for media, _ in PRODUCED}


class SchemaByIdFastPath:
    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state
        self.tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            tail = path[len(PREFIX):] if path.startswith(PREFIX) else ""
            # ASCII digits only: str.isdigit() also takes "²", which int() refuses
            if tail.isascii() and tail.isdigit() and b"fetchMaxId" not in scope["query_string"]:
                media = negotiate_headers(scope["headers"])
                served = media.answer_in if media.readable else None  # else the route refuses
                body = await self._cached(int(tail), scope) if served is not None else None
                if served is not None and body is not None:
                    await send({"type": "http.response.start", "status": 200, "headers": [
                        _LABELS[served], (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    async def _cached(self, schema_id: int, scope: Scope) -> bytes | None:
        cache: IdCache | None = getattr(self.state, "id_cache", None)
        entry = cache.get(schema_id) if cache is not None else None
        if cache is None or entry is None:
            return None
        body: bytes = entry.body
        if entry.stale and schema_id not in cache.refreshing:
            task = asyncio.create_task(self.state.registry.refresh_cached(schema_id))
            self.tasks.add(task)  # keep a reference until done
            task.add_done_callback(self.tasks.discard)
        authenticator = self.state.authenticator
        if authenticator is None:
            return body
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            client = scope.get("client")
            principal = await authenticator.authenticate(
                headers, peer=peer_certificate(scope), client_host=client[0] if client else None)
        except RegistryError:
            return None  # the route answers 401 with the proper body
        authorizer = self.state.authorizer
        if any(authorizer.can_read(principal, s) for s in entry.subjects):
            return body
        return None
