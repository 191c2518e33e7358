"""A stand-in for the logs gateway's query API (services/logs, not merged yet): the same paths
(`/projects/<project>/select/logsql/query|tail`), JSON lines of VictoriaLogs entries, 404 for a
project that is not the caller's, client certificates required at the TLS handshake. It
understands only the LogsQL the SDK sends: `job:="<name>"`, plain words, `| sort by (_time)`.
It exists so the SDK's client is tested over real HTTPS; the real gateway replaces it in e2e."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from .conftest import ThrowawayCa

LINES = [
    {"_time": "2026-12-02T00:00:03Z", "_msg": "epoch 2 loss 0.1", "job": "train", "pod": "train-0"},
    {"_time": "2026-12-02T00:00:01Z", "_msg": "epoch 1 loss 0.3", "job": "train", "pod": "train-0"},
    {"_time": "2026-12-02T00:00:02Z", "_msg": "ERROR disk full", "job": "etl", "pod": "etl-0"},
]


def matches(entry: dict[str, str], query: str) -> bool:
    query = query.split("|", 1)[0]
    job = re.search(r'job:="([^"]*)"', query)
    if job and entry.get("job") != job.group(1):
        return False
    words = [w for w in re.sub(r'job:="[^"]*"', "", query).split() if w != "*"]
    return all(w.lower() in entry["_msg"].lower() for w in words)


def app(project: str, seen: list[dict[str, str]]) -> FastAPI:
    api = FastAPI()

    @api.get("/projects/{name}/select/logsql/{endpoint}")
    async def select(name: str, endpoint: str, request: Request) -> Response:
        seen.append(dict(request.query_params))
        if name != project or endpoint not in ("query", "tail"):
            return JSONResponse({"error": "not found"}, status_code=404)
        query = request.query_params["query"]
        if "(" in query.split("|", 1)[0]:
            return Response("cannot parse query", status_code=400)
        found = [e for e in LINES if matches(e, query)]
        if "sort by (_time)" in query:
            found.sort(key=lambda e: e["_time"])
        if "limit" in request.query_params:
            found = found[: int(request.query_params["limit"])]
        return StreamingResponse((json.dumps(e) + "\n" for e in found), media_type="application/stream+json")

    return api


@contextmanager
def serve(ca: ThrowawayCa, directory: Path, project: str = "p1"
          ) -> Iterator[tuple[str, list[dict[str, str]]]]:
    cert, key = ca.issue("logs-gateway", server=True)
    (directory / "server.crt").write_bytes(cert)
    (directory / "server.key").write_bytes(key)
    (directory / "clients.crt").write_bytes(ca.pem)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    seen: list[dict[str, str]] = []
    import ssl

    config = uvicorn.Config(app(project, seen), log_level="warning",
                            ssl_certfile=str(directory / "server.crt"),
                            ssl_keyfile=str(directory / "server.key"),
                            ssl_ca_certs=str(directory / "clients.crt"),
                            ssl_cert_reqs=ssl.CERT_REQUIRED)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"https://127.0.0.1:{port}", seen
    finally:
        server.should_exit = True
        thread.join(10)
