"""/healthz, /readyz and /metrics on a bare asyncio server, for the indexer and the collector.

lulea.core.probes would do, but it imports the Kubernetes client (for its Lease), which costs
the indexer seconds of CPU at every start and it talks to no API server; a restart after a
crash should be quick.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

Readiness = Callable[[], tuple[bool, str]]


def _response(status: str, body: bytes, content_type: str) -> bytes:
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode() + body


async def serve_probes(host: str, port: int, ready: Readiness) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            path = request.split(b" ")[1].split(b"?")[0] if request.count(b" ") >= 2 else b""
            if path == b"/healthz":
                out = _response("200 OK", b'{"status":"ok"}', "application/json")
            elif path == b"/readyz":
                ok, role = ready()
                body = json.dumps({"status": "ready" if ok else "not ready", "role": role}).encode()
                out = _response("200 OK" if ok else "503 Service Unavailable", body, "application/json")
            elif path == b"/metrics":
                out = _response("200 OK", generate_latest(), CONTENT_TYPE_LATEST)
            else:
                out = _response("404 Not Found", b'{"error":"not found"}', "application/json")
            writer.write(out)
            await writer.drain()
        except (TimeoutError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, port)
    async with server:
        await server.serve_forever()
