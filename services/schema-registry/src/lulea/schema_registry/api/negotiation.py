"""Content negotiation at the edge: refuse what cannot be served, answer in the chosen type.

Two parts, because Jersey answers 404 (no route) and 405 (no method) before it looks at
media types:
- `require_media_types`, a dependency of every Confluent route, so it runs once a route has
  matched: 415 for a body it cannot read, 400 for an Accept it cannot parse, 406 when none
  of the produced types is acceptable;
- `NegotiatedContentType`, an ASGI layer that relabels the registry's answers (rendered as
  `application/vnd.schemaregistry.v1+json`) with the type the request chose. Answers of
  other types (metrics, OpenAPI) pass unchanged.
"""

from __future__ import annotations

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lulea.schema_registry.api.media_types import V1, negotiate_headers
from lulea.schema_registry.domain.errors import ErrorCode, RegistryError

_V1 = V1.encode()


async def require_media_types(request: Request) -> None:
    negotiated = negotiate_headers(request.scope["headers"])
    if not negotiated.readable:
        raise RegistryError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "HTTP 415 Unsupported Media Type")
    if negotiated.malformed:
        raise RegistryError(ErrorCode.BAD_REQUEST, "HTTP 400 Bad Request")
    if negotiated.answer_in is None:
        raise RegistryError(ErrorCode.NOT_ACCEPTABLE, "HTTP 406 Not Acceptable")


NEGOTIATED = [Depends(require_media_types)]


class NegotiatedContentType:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer_in = negotiate_headers(scope["headers"]).answer_in if scope["type"] == "http" \
            else None
        if answer_in is None or answer_in == V1:  # nothing to relabel (406s stay in v1)
            await self.app(scope, receive, send)
            return
        label = answer_in.encode()

        async def relabel(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, label if k == b"content-type" and v == _V1 else v)
                           for k, v in message["headers"]]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, relabel)
