"""The small root resources Confluent clients call on start."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["root"])


@router.get("/")
async def root() -> dict[str, str]:
    return {}


@router.get("/contexts")
async def contexts() -> list[str]:
    return ["."]
