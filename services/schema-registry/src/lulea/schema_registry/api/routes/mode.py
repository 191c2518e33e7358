"""/mode and /mode/{subject}: READWRITE, READONLY, READONLY_OVERRIDE, IMPORT."""

from __future__ import annotations

from fastapi import APIRouter, Request

from lulea.schema_registry.api.deps import (
    MODE_BODY,
    AuthorizerDep,
    PrincipalDep,
    ReadSubjectDep,
    RegistryDep,
    SubjectDep,
    read_json,
)
from lulea.schema_registry.api.params import Flag
from lulea.schema_registry.api.routes.config import require_global_rights
from lulea.schema_registry.domain.errors import ErrorCode, RegistryError
from lulea.schema_registry.domain.policy import Mode, parse_mode

router = APIRouter(tags=["mode"])


async def _read_mode(request: Request) -> Mode:
    body = await read_json(request, 64 * 1024)
    if not isinstance(body, dict):
        raise RegistryError(ErrorCode.UNPROCESSABLE, "The request body must be a JSON object")
    return parse_mode(body.get("mode"))


@router.get("/mode")
async def get_global_mode(registry: RegistryDep) -> dict[str, str]:
    return {"mode": (await registry.policy.global_mode()).value}


@router.put("/mode", openapi_extra=MODE_BODY)
async def put_global_mode(request: Request, registry: RegistryDep, principal: PrincipalDep,
                          authorizer: AuthorizerDep, force: Flag = False) -> dict[str, str]:
    require_global_rights(principal, authorizer)
    mode = await _read_mode(request)
    await registry.policy.set_mode(None, mode, force=force, subject_is_empty=False)
    return {"mode": mode.value}


@router.delete("/mode")
async def delete_global_mode(registry: RegistryDep, principal: PrincipalDep,
                             authorizer: AuthorizerDep) -> dict[str, str]:
    require_global_rights(principal, authorizer)
    return {"mode": (await registry.policy.delete_mode(None)).value}


@router.get("/mode/{subject}")
async def get_subject_mode(subject: ReadSubjectDep, registry: RegistryDep,
                           defaultToGlobal: Flag = False) -> dict[str, str]:
    mode = await registry.policy.subject_mode(subject)
    if mode is None:
        if not defaultToGlobal:
            raise RegistryError(ErrorCode.SUBJECT_LEVEL_MODE_NOT_CONFIGURED,
                                f"Subject '{subject}' does not have subject-level mode configured")
        mode = await registry.policy.global_mode()
    return {"mode": mode.value}


@router.put("/mode/{subject}", openapi_extra=MODE_BODY)
async def put_subject_mode(subject: SubjectDep, request: Request, registry: RegistryDep,
                           force: Flag = False) -> dict[str, str]:
    mode = await _read_mode(request)
    empty = not any(v.live for v in await registry.store.versions(subject))
    await registry.policy.set_mode(subject, mode, force=force, subject_is_empty=empty)
    return {"mode": mode.value}


@router.delete("/mode/{subject}")
async def delete_subject_mode(subject: SubjectDep, registry: RegistryDep) -> dict[str, str]:
    if await registry.policy.subject_mode(subject) is None:
        raise RegistryError(ErrorCode.SUBJECT_LEVEL_MODE_NOT_CONFIGURED,
                            f"Subject '{subject}' does not have subject-level mode configured")
    return {"mode": (await registry.policy.delete_mode(subject)).value}
