"""/schemas: global ids. GET /schemas/ids/{id} is the hot path of every consumer."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from lulea.schema_registry.api.deps import (
    AuthorizerDep,
    PrincipalDep,
    RegistryDep,
    get_id_cache,
)
from lulea.schema_registry.api.params import Flag, SchemaIdDep, int_param
from lulea.schema_registry.api.responses import MEDIA_TYPE
from lulea.schema_registry.domain.access import Authorizer, Principal
from lulea.schema_registry.domain.errors import ErrorCode, RegistryError, schema_not_found
from lulea.schema_registry.domain.id_cache import CachedSchema, IdCache
from lulea.schema_registry.domain.registry import schema_body

router = APIRouter(tags=["schemas"])
MAX_ID = 2**31 - 1


async def _visible_rows(schema_id: int, registry: Any, principal: Any, authorizer: Any, *,
                        cite_id: bool = True) -> tuple[Any, list[Any]]:
    """The schema and the versions the caller may see; 40403 (naming the id or not) if none."""
    missing = schema_not_found(schema_id if cite_id else None)
    if not 0 < schema_id <= MAX_ID:
        raise missing
    try:
        record, rows = await registry.schema_by_id(schema_id)
    except RegistryError as exc:
        if exc.code is ErrorCode.SCHEMA_NOT_FOUND:
            raise missing from None
        raise
    rows = [r for r in rows if authorizer.can_read(principal, r.subject)]
    if not rows:
        raise missing
    return record, rows


@router.get("/schemas/ids/{schema_id}")
async def get_schema(schema_id: SchemaIdDep, registry: RegistryDep, principal: PrincipalDep,
                     authorizer: AuthorizerDep,
                     cache: Annotated[IdCache, Depends(get_id_cache)],
                     fetchMaxId: Flag = False,
                     subject: str | None = None, format: str | None = None) -> Response:
    if not 0 < schema_id <= MAX_ID:
        raise schema_not_found(schema_id)
    entry = cache.get(schema_id)
    if entry is None or entry.stale or not _visible(entry, principal, authorizer):
        entry = await registry.cached_schema(schema_id)  # subjects may have changed: re-read
    if not _visible(entry, principal, authorizer):
        raise schema_not_found(schema_id)
    if not fetchMaxId:
        return Response(entry.body, media_type=MEDIA_TYPE)
    body = orjson.loads(entry.body)
    body["maxId"] = await registry.store.max_schema_id()
    return Response(orjson.dumps(body), media_type=MEDIA_TYPE)


def _visible(entry: CachedSchema, principal: Principal, authorizer: Authorizer) -> bool:
    return any(authorizer.can_read(principal, s) for s in entry.subjects)


@router.get("/schemas/ids/{schema_id}/schema")
async def get_schema_text(schema_id: SchemaIdDep, registry: RegistryDep, principal: PrincipalDep,
                          authorizer: AuthorizerDep) -> Response:
    record, _ = await _visible_rows(schema_id, registry, principal, authorizer)
    return Response(record.schema, media_type=MEDIA_TYPE)


@router.get("/schemas/ids/{schema_id}/subjects")
async def get_schema_subjects(schema_id: SchemaIdDep, registry: RegistryDep, principal: PrincipalDep,
                              authorizer: AuthorizerDep, deleted: Flag = False) -> list[str]:
    # Confluent's getSubjects and getVersions answer "Schema not found", without the id
    _, rows = await _visible_rows(schema_id, registry, principal, authorizer, cite_id=False)
    return sorted({r.subject for r in rows if deleted or not r.deleted})


@router.get("/schemas/ids/{schema_id}/versions")
async def get_schema_versions(schema_id: SchemaIdDep, registry: RegistryDep, principal: PrincipalDep,
                              authorizer: AuthorizerDep,
                              deleted: Flag = False) -> list[dict[str, Any]]:
    _, rows = await _visible_rows(schema_id, registry, principal, authorizer, cite_id=False)
    return [{"subject": r.subject, "version": r.version} for r in rows if deleted or not r.deleted]


@router.get("/schemas")
async def list_schemas(registry: RegistryDep, principal: PrincipalDep, authorizer: AuthorizerDep,
                       subjectPrefix: str = "", deleted: Flag = False,
                       latestOnly: Flag = False,
                       offset: Annotated[str, Query(description="an int")] = "0",
                       limit: Annotated[str, Query(description="an int; <= 0: all")] = "-1",
                       ) -> list[dict[str, Any]]:
    """Subject versions with their schemas, in subject then version order."""
    start, size = max(int_param(offset), 0), int_param(limit)
    out: list[dict[str, Any]] = []
    for subject in await registry.list_subjects(deleted, False):
        if not subject.startswith(subjectPrefix) or not authorizer.can_read(principal, subject):
            continue
        rows = [v for v in await registry.store.versions(subject)
                if not v.purged and (deleted or not v.deleted)]
        for row in rows[-1:] if latestOnly else rows:
            _, record = await registry.get_version(subject, row.version, include_deleted=True)
            out.append({"subject": subject, "version": row.version, "id": record.id,
                        **schema_body(record)})
    return out[start:] if size <= 0 else out[start:start + size]


@router.get("/schemas/types")
async def schema_types() -> list[str]:
    return ["AVRO"]
