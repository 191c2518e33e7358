"""Responses in the registry's media type, and errors as `{"error_code", "message"}`."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pymongo.errors import ExecutionTimeout, NetworkTimeout, PyMongoError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from lulea.schema_registry.domain.errors import ErrorCode, RegistryError

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
log = logging.getLogger("lulea.schema_registry")


class RegistryResponse(Response):
    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(code: int, message: str, status: int | None = None) -> RegistryResponse:
    status = status or (code if code < 1000 else code // 100)
    return RegistryResponse({"error_code": code, "message": message}, status_code=status)


async def _registry_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RegistryError)
    return error_response(exc.code, exc.message, exc.code.http_status)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return error_response(ErrorCode.UNPROCESSABLE, "; ".join(parts) or "Unprocessable request")


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, f"HTTP {exc.status_code} {exc.detail}",
                          exc.status_code)


async def _store_error(_: Request, exc: Exception) -> Response:
    log.error("store error: %s", exc)
    if isinstance(exc, NetworkTimeout | ExecutionTimeout):
        return error_response(ErrorCode.STORE_TIMEOUT, "Timed out talking to the schema store")
    return error_response(ErrorCode.STORE_ERROR, "Error while talking to the schema store")


async def _client_gone(request: Request, _: Exception) -> Response:
    """The caller went away while sending its body: nothing of it was stored, and no one reads
    the answer; a line in the log, not a traceback (a client's timeout is not a server fault)."""
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return error_response(ErrorCode.BAD_REQUEST, "Client disconnected before sending the whole request")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(RegistryError, _registry_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(PyMongoError, _store_error)
