"""The FastAPI application: namespace, identity, directory of projects, WebHDFS routes, probes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pymongo import AsyncMongoClient
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lulea.core.auth.crl import CrlWatcher
from lulea.storage.api.directory import KubeDirectory, OpenDirectory
from lulea.storage.api.identity import Authenticator, KubernetesTokenReviewer
from lulea.storage.api.webhdfs import JSON
from lulea.storage.api.webhdfs import router as webhdfs_router
from lulea.storage.namespace.errors import Hadoop, StorageError
from lulea.storage.namespace.store import Namespace
from lulea.storage.namespace.tokens import DelegationTokens, Signer
from lulea.storage.postgres_indexes import make_namespace_indexes, make_namespace_indexes_until_done
from lulea.storage.settings import Settings

REQUESTS = Counter("storage_requests_total", "WebHDFS requests", ["method", "status"])
LATENCY = Histogram("storage_request_seconds", "WebHDFS request latency")
log = logging.getLogger("lulea.storage")
TRACER = trace.get_tracer("lulea.storage")


def _op_of(scope: Scope) -> str:
    query = (scope.get("query_string") or b"").decode("latin-1")
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name.lower() == "op":
            return value.upper()[:40] or "?"
    return "?"


class MetricsMiddleware:
    """Per request: the Prometheus counters, and a server span named after the WebHDFS op that
    continues the caller's `traceparent` (W3C), with the method, op and status on it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        path = str(scope.get("path") or "")
        name = f"WebHDFS {_op_of(scope)}" if path.startswith("/webhdfs/") else f"{scope['method']} {path}"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        with TRACER.start_as_current_span(name, context=propagate.extract(headers),
                                          kind=SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", str(scope["method"]))
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                span.set_attribute("http.response.status_code", status[0])
                if status[0] >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                REQUESTS.labels(scope["method"], str(status[0])).inc()
                LATENCY.observe(time.perf_counter() - start)


def install_error_handlers(app: FastAPI) -> None:
    async def storage_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StorageError)
        return JSON(exc.remote_exception(), status_code=exc.kind.status)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        kind = Hadoop.FILE_NOT_FOUND if exc.status_code == 404 else Hadoop.ILLEGAL_ARGUMENT
        return JSON(StorageError(kind, str(exc.detail)).remote_exception(), status_code=kind.status)

    async def unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        error = StorageError(Hadoop.RETRIABLE, f"{type(exc).__name__}: the request may be retried")
        return JSON(error.remote_exception(), status_code=503)

    app.add_exception_handler(StorageError, storage_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, http_error)
    app.add_exception_handler(Exception, unexpected)


async def _kube_api(settings: Settings) -> Any:
    from lulea.core.kube import connect

    return await connect(settings.kubeconfig)


def create_app(settings: Settings, crl: CrlWatcher | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            settings.mongo_uri, serverSelectionTimeoutMS=5000, tz_aware=True)
        db = client[settings.mongo_database]
        tasks: list[asyncio.Task[Any]] = []
        if settings.every_caller_is_platform:
            directory: KubeDirectory | OpenDirectory = OpenDirectory()
            reviewer = None
        else:
            from lulea.core.kube.raw import Kube

            api = await _kube_api(settings)
            directory = KubeDirectory(Kube(api))
            tasks.append(asyncio.create_task(directory.run()))
            reviewer = KubernetesTokenReviewer(api, settings.token_audiences)
        namespace = Namespace(db, project_quota=directory.project_quota, block_bytes=settings.block_bytes)
        await namespace.create_indexes()
        dsn = settings.postgres_dsn.get_secret_value() if settings.postgres_dsn else None
        if not await make_namespace_indexes(db, dsn):  # PostgreSQL away: served meanwhile, slower
            tasks.append(asyncio.create_task(make_namespace_indexes_until_done(db, dsn)))
        signer = await Signer.from_database(db)
        tokens = DelegationTokens(db, signer)
        app.state.namespace, app.state.signer, app.state.tokens = namespace, signer, tokens
        app.state.directory = directory
        app.state.authenticator = Authenticator(
            reviewer, tokens, platform_namespace=settings.platform_namespace, crl=crl,
            cache_seconds=settings.token_cache_seconds, open_access=settings.every_caller_is_platform)
        tasks.append(asyncio.create_task(namespace.reclaim_forever(settings.reclaim_seconds)))
        if crl is not None:
            tasks.append(asyncio.create_task(crl.run()))
        log.info("storage ready (database=%s, every caller is platform: %s)",
                 settings.mongo_database, settings.every_caller_is_platform)
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        await client.close()

    app = FastAPI(title="Lulea storage (WebHDFS)", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)
    app.include_router(webhdfs_router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return JSON({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        state = request.app.state
        try:
            await state.namespace.ping()
        except Exception as exc:  # any database failure means not ready
            return JSON({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
        if not state.directory.synced:
            return JSON({"status": "unavailable", "reason": "projects not listed yet"}, status_code=503)
        return JSON({"status": "ok"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(MetricsMiddleware)
    return app
