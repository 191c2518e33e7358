"""A caller that goes away mid-body is answered (and logged) as a client fault, not a traceback."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI, Request
from starlette.requests import ClientDisconnect

from lulea.schema_registry.api.responses import install_error_handlers


async def test_a_client_disconnect_is_a_log_line_and_a_400(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/subjects/x/versions")
    async def register(request: Request) -> None:
        raise ClientDisconnect()

    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/subjects/x/versions",
             "raw_path": b"/subjects/x/versions", "query_string": b"", "headers": [],
             "http_version": "1.1", "scheme": "http",
             "server": ("t", 80), "client": ("c", 1), "root_path": ""}
    with caplog.at_level(logging.INFO, logger="lulea.schema_registry"):
        await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    assert "client disconnected" in caplog.text
    assert "Traceback" not in caplog.text
