"""The ASGI app: routes plus the one place domain errors become HTTP."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from lulea.ca.api.deps import CaState
from lulea.ca.api.routes import authority, certificates, health
from lulea.ca.domain.errors import CaError, ErrorCode


def create_public_app(state: CaState) -> FastAPI:
    """The plain-HTTP side: only the chain and the CRL, which every verifier may fetch."""
    app = FastAPI(title="Lulea CA (public trust material)", version="0.1.0", openapi_url=None)
    app.state.ca = state
    app.include_router(authority.router)
    return app


def create_app(state: CaState | None = None, **fastapi: object) -> FastAPI:
    app = FastAPI(title="Lulea CA", version="0.1.0", **fastapi)  # type: ignore[arg-type]
    if state is not None:
        app.state.ca = state
    app.include_router(authority.router)
    app.include_router(certificates.router)
    app.include_router(health.router)

    @app.exception_handler(CaError)
    async def ca_error(_: Request, exc: CaError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code.http_status == 401 else None
        return JSONResponse(
            {"error_code": int(exc.code), "message": exc.message},
            status_code=exc.code.http_status,
            headers=headers,
        )

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"error_code": exc.status_code * 100, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:5]
        )
        return JSONResponse(
            {"error_code": int(ErrorCode.INVALID_REQUEST), "message": problems},
            status_code=422,
        )

    return app
