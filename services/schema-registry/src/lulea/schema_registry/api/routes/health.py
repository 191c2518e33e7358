"""Probes and metrics (not Confluent resources: no content negotiation)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from lulea.schema_registry.api.deps import RegistryDep
from lulea.schema_registry.api.responses import RegistryResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(registry: RegistryDep) -> Response:
    try:
        await registry.store.ping()
    except Exception as exc:  # any store failure means not ready
        return RegistryResponse({"status": "unavailable", "reason": type(exc).__name__},
                                status_code=503)
    return RegistryResponse({"status": "ok"})


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
