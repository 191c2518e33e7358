"""/config and /config/{subject}: compatibility level, global or per subject."""

from __future__ import annotations

from fastapi import APIRouter, Request

from lulea.schema_registry.api.deps import (
    CONFIG_BODY,
    AuthorizerDep,
    PrincipalDep,
    ReadSubjectDep,
    RegistryDep,
    SubjectDep,
    read_json,
)
from lulea.schema_registry.api.params import Flag
from lulea.schema_registry.domain.errors import ErrorCode, RegistryError
from lulea.schema_registry.domain.policy import parse_level

router = APIRouter(tags=["config"])
MAX_BODY = 64 * 1024


async def _read_level(request: Request) -> tuple[str, bool | None]:
    body = await read_json(request, MAX_BODY)
    if not isinstance(body, dict):
        raise RegistryError(ErrorCode.UNPROCESSABLE, "The request body must be a JSON object")
    level = parse_level(body.get("compatibility", body.get("compatibilityLevel")))
    normalize = body.get("normalize")
    if normalize is not None and not isinstance(normalize, bool):
        raise RegistryError(ErrorCode.UNPROCESSABLE, "'normalize' must be a boolean")
    return level.value, normalize


def require_global_rights(principal: object, authorizer: object) -> None:
    if not authorizer.can_change_global(principal):  # type: ignore[attr-defined]
        raise RegistryError(ErrorCode.FORBIDDEN,
                            "Only platform callers may change the global configuration")


@router.get("/config")
async def get_global_config(registry: RegistryDep) -> dict[str, str]:
    return {"compatibilityLevel": (await registry.policy.global_level()).value}


@router.put("/config", openapi_extra=CONFIG_BODY)
async def put_global_config(request: Request, registry: RegistryDep, principal: PrincipalDep,
                            authorizer: AuthorizerDep) -> dict[str, object]:
    require_global_rights(principal, authorizer)
    level, normalize = await _read_level(request)
    await registry.policy.set_level(None, parse_level(level), normalize)
    body: dict[str, object] = {"compatibility": level}
    if normalize is not None:
        body["normalize"] = normalize
    return body


@router.delete("/config")
async def delete_global_config(registry: RegistryDep, principal: PrincipalDep,
                               authorizer: AuthorizerDep) -> dict[str, str]:
    require_global_rights(principal, authorizer)
    return {"compatibilityLevel": (await registry.policy.delete_level(None)).value}


@router.get("/config/{subject}")
async def get_subject_config(subject: ReadSubjectDep, registry: RegistryDep,
                             defaultToGlobal: Flag = False,
                             ) -> dict[str, str]:
    level = await registry.policy.subject_level(subject)
    if level is None:
        if not defaultToGlobal:
            raise RegistryError(
                ErrorCode.SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED,
                f"Subject '{subject}' does not have subject-level compatibility configured")
        level = await registry.policy.global_level()
    return {"compatibilityLevel": level.value}


@router.put("/config/{subject}", openapi_extra=CONFIG_BODY)
async def put_subject_config(subject: SubjectDep, request: Request,
                             registry: RegistryDep) -> dict[str, object]:
    level, normalize = await _read_level(request)
    await registry.policy.set_level(subject, parse_level(level), normalize)
    body: dict[str, object] = {"compatibility": level}
    if normalize is not None:
        body["normalize"] = normalize
    return body


@router.delete("/config/{subject}")
async def delete_subject_config(subject: SubjectDep, registry: RegistryDep) -> dict[str, str]:
    if await registry.policy.subject_level(subject) is None:
        raise RegistryError(
            ErrorCode.SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED,
            f"Subject '{subject}' does not have subject-level compatibility configured")
    return {"compatibilityLevel": (await registry.policy.delete_level(subject)).value}
