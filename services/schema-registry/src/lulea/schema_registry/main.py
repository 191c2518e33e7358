"""The FastAPI application: wiring of store, registry, identity and routes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lulea.core.auth.crl import CrlWatcher
from lulea.core.kube import Kube, connect
from lulea.core.logs import setup_json_logging
from lulea.schema_registry.api.fast_path import SchemaByIdFastPath
from lulea.schema_registry.api.identity import Authenticator, KubernetesTokenReviewer, TokenReviewer
from lulea.schema_registry.api.negotiation import NEGOTIATED, NegotiatedContentType
from lulea.schema_registry.api.raw_path import RawPathMiddleware
from lulea.schema_registry.api.responses import RegistryResponse, install_error_handlers
from lulea.schema_registry.api.routes import (
    compatibility,
    config,
    health,
    mode,
    root,
    schemas,
    subjects,
)
from lulea.schema_registry.domain.access import AllowAll, Authorizer, ProjectAuthorizer
from lulea.schema_registry.domain.id_cache import IdCache
from lulea.schema_registry.domain.policy import Policy
from lulea.schema_registry.domain.registry import Registry
from lulea.schema_registry.domain.topic_shares import TopicShares
from lulea.schema_registry.settings import Settings
from lulea.schema_registry.store.base import Store

REQUESTS = Counter("schema_registry_requests_total", "HTTP requests", ["method", "status"])
LATENCY = Histogram("schema_registry_request_seconds", "HTTP request latency")
log = logging.getLogger("lulea.schema_registry")


def configure_logging(level: str) -> None:
    setup_json_logging(level)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            REQUESTS.labels(scope["method"], str(status[0])).inc()
            LATENCY.observe(time.perf_counter() - start)


async def _mongo_store(settings: Settings) -> Store:
    from pymongo import AsyncMongoClient

    from lulea.schema_registry.store.mongo import MongoStore

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        settings.mongo_uri, serverSelectionTimeoutMS=5000, tz_aware=True)
    store = MongoStore(client, settings.mongo_database)
    await store.create_indexes()
    return store


def create_app(settings: Settings, store: Store | None = None,
               reviewer: TokenReviewer | None = None, crl: CrlWatcher | None = None,
               shares: Callable[[str], Iterable[str]] | None = None) -> FastAPI:
    """`shares(subject)`: the projects whose members may read the subject (its topic shared
    with them); unset with authentication on: the Topic CRs of the API server."""
    topic_shares: TopicShares | None = None
    def attach(app: FastAPI, chosen: Store) -> None:
        cache = IdCache(settings.id_cache_seconds)
        policy = Policy(chosen, settings.default_compatibility)
        app.state.registry = Registry(chosen, policy, cache, settings.id_block_size)
        app.state.id_cache = cache

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if store is not None:
            yield
            return
        mongo = await _mongo_store(settings)
        attach(app, mongo)
        kube_api = None
        if topic_shares is not None:
            kube_api = await connect(settings.kubeconfig)
            topic_shares.start(Kube(kube_api))
        crl_task = None
        if crl is not None:
            crl_task = asyncio.create_task(crl.run())
        log.info("schema registry ready (every caller is platform: %s, database=%s)",
                 settings.every_caller_is_platform, settings.mongo_database)
        yield
        if crl_task is not None:
            crl_task.cancel()
        if topic_shares is not None:
            await topic_shares.stop()
        if kube_api is not None:
            await kube_api.close()
        await mongo.client.close()  # type: ignore[attr-defined]

    app = FastAPI(title="Lulea schema registry", version="0.1.0",
                  default_response_class=RegistryResponse, lifespan=lifespan)
    app.state.settings = settings
    if store is not None:  # tests and fuzzing: ready without a lifespan run
        attach(app, store)
    authorizer: Authorizer
    if settings.every_caller_is_platform:
        app.state.authenticator = None
        authorizer = AllowAll()
    else:
        app.state.authenticator = Authenticator(
            reviewer if reviewer is not None
            else KubernetesTokenReviewer(settings.kubeconfig, settings.token_audiences),
            admins=settings.admins, platform_namespace=settings.platform_namespace,
            xfcc_proxies=tuple(settings.xfcc_proxies), cache_seconds=settings.token_cache_seconds,
            crl=crl)
        if shares is None:
            topic_shares = TopicShares()
            shares = topic_shares.projects
        authorizer = ProjectAuthorizer(shares)
    app.state.authorizer = authorizer
    install_error_handlers(app)
    for module in (schemas, subjects, config, mode, compatibility, root):
        app.include_router(module.router, dependencies=NEGOTIATED)
    app.include_router(health.router)
    app.add_middleware(RawPathMiddleware)
    app.add_middleware(NegotiatedContentType)
    app.add_middleware(SchemaByIdFastPath, state=app.state)
    app.add_middleware(MetricsMiddleware)
    return app
