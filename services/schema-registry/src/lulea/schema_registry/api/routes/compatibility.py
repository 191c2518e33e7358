"""/compatibility/subjects/{subject}/versions[/{version}]: would this schema be accepted?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lulea.schema_registry.api.deps import SCHEMA_BODY, ReadSubjectDep, RegistryDep, SchemaRequestDep
from lulea.schema_registry.api.params import Flag
from lulea.schema_registry.domain.registry import parse_version

router = APIRouter(tags=["compatibility"])


def _answer(messages: list[str], verbose: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"is_compatible": not messages}
    if verbose:
        body["messages"] = messages
    return body


@router.post("/compatibility/subjects/{subject}/versions/{version}", openapi_extra=SCHEMA_BODY)
async def check_version(subject: ReadSubjectDep, version: str, req: SchemaRequestDep,
                        registry: RegistryDep, verbose: Flag = False,
                        normalize: Flag = False) -> dict[str, Any]:
    messages = await registry.check_compatibility(subject, parse_version(version), req, normalize)
    return _answer(messages, verbose)


@router.post("/compatibility/subjects/{subject}/versions", openapi_extra=SCHEMA_BODY)
async def check_all(subject: ReadSubjectDep, req: SchemaRequestDep, registry: RegistryDep,
                    verbose: Flag = False, normalize: Flag = False) -> dict[str, Any]:
    messages = await registry.check_compatibility(subject, None, req, normalize)
    return _answer(messages, verbose)
