"""Keep `%2F` inside subject names: route on the raw path, decode the subject later.

Starlette routes on the decoded path, where `a%2Fb` has become `a/b` and no longer matches
`/subjects/{subject}`. When the raw path holds escapes, this puts it back as the path; the
subject dependency then unquotes the one segment it captured (Karapace does the same).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class RawPathMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path")
            if raw and b"%" in raw:
                scope = dict(scope)
                scope["path"] = raw.split(b"?", 1)[0].decode("latin-1")
        await self.app(scope, receive, send)
