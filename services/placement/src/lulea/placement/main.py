"""The placement service: the scheduler loop plus /healthz, /readyz and /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from lulea.core.kube import Kube, connect
from lulea.core.logs import setup_json_logging
from lulea.core.platform import PlatformSettings
from lulea.core.tls import serve_app
from lulea.placement.metrics import PlacementMetrics
from lulea.placement.scheduler import Scheduler
from lulea.placement.settings import PlacementSettings


def create_app(settings: PlacementSettings) -> FastAPI:
    metrics = PlacementMetrics()
    holder: dict[str, Scheduler] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        api = await connect(settings.kubeconfig, pool=settings.bind_concurrency + 8)
        scheduler = Scheduler(Kube(api), settings, metrics)
        holder["scheduler"] = scheduler
        task = asyncio.create_task(scheduler.run())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await api.close()

    app = FastAPI(title="lulea-placement", lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(response: Response) -> dict[str, str]:
        s = holder.get("scheduler")
        if s is None or not s.ready:
            response.status_code = 503
            return {"status": "syncing"}
        return {"status": "ready", "role": "leader" if s.leader else "standby"}

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def main() -> None:
    settings = PlacementSettings()
    platform = PlatformSettings()
    setup_json_logging(settings.log_level)
    asyncio.run(serve_app(create_app(settings), settings.host, settings.port, platform, access_log=False))
