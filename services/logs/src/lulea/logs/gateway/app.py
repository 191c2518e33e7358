"""The query gateway: VictoriaLogs' own query API, one project at a time.

    /projects/<project>/select/logsql/query     (tail, hits, field_names, field_values, streams, ...)

is VictoriaLogs' `/select/logsql/...` for that project's tenant: so `vlogscli
-datasource.url=https://<gateway>/projects/p1/select/logsql/query` and Grafana's VictoriaLogs
data source with the URL `https://<gateway>/projects/p1` work unchanged. The gateway sets the
tenant headers itself from the path's project; whatever tenant headers (`AccountID`,
`ProjectID`) or other headers the caller sends are not forwarded. A project that does not
exist or is not the caller's answers 404, the same answer either way.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

from lulea.core.tls import peer_certificate
from lulea.logs.gateway.access import Authenticator, Unauthenticated, may_read
from lulea.logs.gateway.dedup import Dedup
from lulea.logs.tenancy import tenant_of

log = logging.getLogger("lulea.logs.gateway")
REQUESTS = Counter("lulea_logs_gateway_requests_total", "Query requests", ["endpoint", "status"])
DROPPED = Counter("lulea_logs_gateway_duplicates_dropped_total", "Duplicate lines not shown")

# VictoriaLogs' per-tenant read endpoints. Not /select/tenant_ids (it lists every tenant), not
# /insert or /delete: those are the platform's.
ENDPOINTS = frozenset({
    "query", "tail", "hits", "facets", "field_names", "field_values", "streams", "stream_ids",
    "stream_field_names", "stream_field_values", "stats_query", "stats_query_range",
    "query_time_range",
})
STREAMED = frozenset({"query", "tail"})  # JSON lines, one log entry each: deduplicated
NOT_FOUND = {"error": "not found"}
FORWARDED_HEADERS = ("accept", "accept-encoding", "content-type")
# A live tail's defaults when the caller does not choose (VictoriaLogs' own: 5 s behind, every
# second). The indexer makes lines searchable within ~200 ms (force_flush), so a tail need not
# wait: lines show within a refresh of being searchable. VictoriaLogs' tail still looks 5 s back
# on each refresh, so a line that reaches it later than that shows in queries, not in the tail.
TAIL_DEFAULTS = (("offset", "0s"), ("refresh_interval", "250ms"))


def upstream_query(endpoint: str, query: str) -> str:
    """The caller's query string, with the tail defaults added where the caller set nothing."""
    if endpoint != "tail":
        return query
    given = {k for k, _ in parse_qsl(query, keep_blank_values=True)}
    extra = [(k, v) for k, v in TAIL_DEFAULTS if k not in given]
    return "&".join(part for part in (query, urlencode(extra)) if part)


def not_found() -> JSONResponse:
    return JSONResponse(NOT_FOUND, status_code=404)


async def deduplicated(lines: AsyncIterator[bytes], dedup: Dedup) -> AsyncIterator[bytes]:
    buffer = b""
    async for chunk in lines:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        out = [line + b"\n" for line in complete if line and dedup.admit(line)]
        if out:
            yield b"".join(out)
    if buffer and dedup.admit(buffer):
        yield buffer
    if dedup.dropped:
        DROPPED.inc(dedup.dropped)


def create_app(authenticator: Authenticator, project: Callable[[str], Mapping[str, Any] | None],
               victorialogs: httpx.AsyncClient, ready: Callable[[], bool] = lambda: True) -> FastAPI:
    """`project`: a Project object by name (the informer's `get`)."""
    app = FastAPI(title="Lulea logs gateway", version="0.1.0", docs_url=None, redoc_url=None,
                  openapi_url=None)


    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        ok = bool(ready())
        return JSONResponse({"status": "ready" if ok else "not ready"}, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.api_route("/projects/{name}/select/logsql/{endpoint}", methods=["GET", "POST"])
    async def select(name: str, endpoint: str, request: Request) -> Response:
        try:
            caller = await authenticator.authenticate(request.headers.get("authorization"),
                                                      peer_certificate(request.scope))
        except Unauthenticated as exc:
            REQUESTS.labels(endpoint if endpoint in ENDPOINTS else "other", "401").inc()
            return JSONResponse({"error": str(exc)}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer realm="lulea-logs"'})
        if endpoint not in ENDPOINTS or not may_read(caller, name, project):
            REQUESTS.labels(endpoint if endpoint in ENDPOINTS else "other", "404").inc()
            return not_found()
        headers = {k: v for k, v in request.headers.items() if k in FORWARDED_HEADERS}
        headers |= tenant_of(name).headers()
        if endpoint in STREAMED:
            # read line by line here (dedup); and VictoriaLogs' gzip writer holds a live tail's
            # response headers back until the first line, which a client takes for a hang
            headers["accept-encoding"] = "identity"
        upstream = victorialogs.build_request(
            request.method, f"/select/logsql/{endpoint}", params=upstream_query(endpoint, request.url.query),
            content=await request.body() if request.method == "POST" else None, headers=headers,
            timeout=None if endpoint == "tail" else 60.0)
        try:
            answer = await victorialogs.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            log.warning("VictoriaLogs unreachable: %s", exc)
            REQUESTS.labels(endpoint, "502").inc()
            return JSONResponse({"error": "the log database is unavailable"}, status_code=502)
        REQUESTS.labels(endpoint, str(answer.status_code)).inc()
        passed = {k: v for k, v in answer.headers.items()
                  if k.lower() in ("content-type", "vl-request-duration-seconds")}
        body: AsyncIterator[bytes] = answer.aiter_raw() if endpoint not in STREAMED else answer.aiter_bytes()
        if endpoint in STREAMED and answer.status_code == 200:
            body = deduplicated(body, Dedup())
        elif "content-encoding" in answer.headers:
            passed["content-encoding"] = answer.headers["content-encoding"]

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in body:
                    yield chunk
            finally:
                await answer.aclose()

        return StreamingResponse(relay(), status_code=answer.status_code, headers=passed)

    return app
