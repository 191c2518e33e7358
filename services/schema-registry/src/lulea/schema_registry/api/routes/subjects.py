"""/subjects: list, look up, register, read and delete versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from lulea.schema_registry.api.deps import (
    SCHEMA_BODY,
    AuthorizerDep,
    PrincipalDep,
    ReadSubjectDep,
    RegistryDep,
    SchemaRequestDep,
    SubjectDep,
)
from lulea.schema_registry.api.params import Flag
from lulea.schema_registry.domain.registry import parse_version
from lulea.schema_registry.store.base import SchemaRecord, VersionRecord

router = APIRouter(tags=["subjects"])


def version_body(row: VersionRecord, record: SchemaRecord) -> dict[str, Any]:
    body: dict[str, Any] = {"subject": row.subject, "version": row.version, "id": record.id,
                            "schema": record.schema}
    if record.schema_type != "AVRO":
        body["schemaType"] = record.schema_type
    if record.references:
        body["references"] = [r.as_dict() for r in record.references]
    return body


@router.get("/subjects")
async def list_subjects(registry: RegistryDep, principal: PrincipalDep, authorizer: AuthorizerDep,
                        subjectPrefix: str = "", deleted: Flag = False,
                        deletedOnly: Flag = False) -> list[str]:
    subjects = await registry.list_subjects(deleted, deletedOnly)
    return [s for s in subjects
            if s.startswith(subjectPrefix) and authorizer.can_read(principal, s)]


@router.post("/subjects/{subject}", openapi_extra=SCHEMA_BODY)
async def lookup_schema(subject: ReadSubjectDep, req: SchemaRequestDep, registry: RegistryDep,
                        normalize: Flag = False, deleted: Flag = False) -> dict[str, Any]:
    row, record = await registry.lookup(subject, req, normalize, deleted)
    return version_body(row, record)


@router.delete("/subjects/{subject}")
async def delete_subject(subject: SubjectDep, registry: RegistryDep,
                         permanent: Flag = False) -> list[int]:
    return await registry.delete_subject(subject, permanent)


@router.get("/subjects/{subject}/versions")
async def list_versions(subject: ReadSubjectDep, registry: RegistryDep, deleted: Flag = False,
                        deletedOnly: Flag = False) -> list[int]:
    return await registry.list_versions(subject, deleted, deletedOnly)


@router.post("/subjects/{subject}/versions", openapi_extra=SCHEMA_BODY)
async def register_schema(subject: SubjectDep, req: SchemaRequestDep, registry: RegistryDep,
                          normalize: Flag = False) -> dict[str, int]:
    # the version next to the id, as newer Confluent registries answer (their clients read
    # it when present, older ones ignore it): a caller needs no lookup to learn it
    schema_id, version = await registry.register_version(subject, req, normalize)
    return {"id": schema_id, "version": version}


@router.get("/subjects/{subject}/versions/{version}")
async def get_version(subject: ReadSubjectDep, version: str, registry: RegistryDep,
                      deleted: Flag = False) -> dict[str, Any]:
    row, record = await registry.get_version(subject, parse_version(version), deleted)
    return version_body(row, record)


@router.get("/subjects/{subject}/versions/{version}/schema")
async def get_version_schema(subject: ReadSubjectDep, version: str, registry: RegistryDep,
                             deleted: Flag = False) -> Response:
    _, record = await registry.get_version(subject, parse_version(version), deleted)
    return Response(record.schema, media_type="application/vnd.schemaregistry.v1+json")


@router.get("/subjects/{subject}/versions/{version}/referencedby")
async def referenced_by(subject: ReadSubjectDep, version: str, registry: RegistryDep) -> list[int]:
    return await registry.referenced_by(subject, parse_version(version))


@router.delete("/subjects/{subject}/versions/{version}")
async def delete_version(subject: SubjectDep, version: str, registry: RegistryDep,
                         permanent: Flag = False) -> int:
    return await registry.delete_version(subject, parse_version(version), permanent)
