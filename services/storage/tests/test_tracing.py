"""Each request is a server span named after its WebHDFS op, continuing the caller's
traceparent, with method and status on it."""

from __future__ import annotations

from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lulea.storage.main import MetricsMiddleware

EXPORTER = InMemorySpanExporter()


def _provider() -> None:
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):
        current = TracerProvider()
        trace.set_tracer_provider(current)
    current.add_span_processor(SimpleSpanProcessor(EXPORTER))


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    status = 404 if "missing" in scope["path"] else 200
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def test_a_request_is_a_span_that_continues_the_callers_trace() -> None:
    _provider()
    EXPORTER.clear()
    trace_id, parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    transport = httpx.ASGITransport(app=MetricsMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://storage") as client:
        await client.get("/webhdfs/v1/Projects/p/d/x", params={"op": "getfilestatus"},
                         headers={"traceparent": f"00-{trace_id}-{parent}-01"})
        await client.get("/webhdfs/v1/Projects/p/d/missing", params={"op": "OPEN"})
    first, second = EXPORTER.get_finished_spans()
    assert first.name == "WebHDFS GETFILESTATUS"
    assert first.kind == trace.SpanKind.SERVER
    assert f"{first.context.trace_id:032x}" == trace_id
    assert first.parent is not None and f"{first.parent.span_id:016x}" == parent
    assert first.attributes == {"http.request.method": "GET", "http.response.status_code": 200}
    assert second.name == "WebHDFS OPEN" and second.parent is None
    assert second.attributes is not None and second.attributes["http.response.status_code"] == 404
