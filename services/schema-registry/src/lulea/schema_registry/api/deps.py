"""Dependencies: the registry, the caller, and subjects the caller may reach."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import unquote

import orjson
from fastapi import Depends, Path, Request

from lulea.core.tls import peer_certificate
from lulea.schema_registry.api.identity import Authenticator
from lulea.schema_registry.api.media_types import negotiate_headers
from lulea.schema_registry.domain.access import Authorizer, Principal
from lulea.schema_registry.domain.errors import (
    ErrorCode,
    RegistryError,
    empty_schema,
    subject_not_found,
)
from lulea.schema_registry.domain.id_cache import IdCache
from lulea.schema_registry.domain.registry import Registry, SchemaRequest
from lulea.schema_registry.store.base import Reference

LOCAL = Principal("local", platform=True)
MAX_SUBJECT_LENGTH = 1024
_UTF8_BOM = b"\xef\xbb\xbf"
SCHEMA_TOO_LARGE = "Register operation failed because schema is too large"  # Confluent's text


async def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


async def get_id_cache(request: Request) -> IdCache:
    cache: IdCache = request.app.state.id_cache
    return cache


async def get_authorizer(request: Request) -> Authorizer:
    authorizer: Authorizer = request.app.state.authorizer
    return authorizer


async def get_principal(request: Request) -> Principal:
    authenticator: Authenticator | None = request.app.state.authenticator
    if authenticator is None:
        return LOCAL
    return await authenticator.authenticate(dict(request.headers), peer=peer_certificate(request.scope),
                                            client_host=request.client.host if request.client else None)


RegistryDep = Annotated[Registry, Depends(get_registry)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
AuthorizerDep = Annotated[Authorizer, Depends(get_authorizer)]


def decode_subject(raw: str) -> str:
    """Subjects arrive still percent-encoded (see RawPathMiddleware), so `a%2Fb` is `a/b`."""
    subject = unquote(raw)
    if not subject or len(subject) > MAX_SUBJECT_LENGTH or any(ord(c) < 32 for c in subject):
        raise RegistryError(ErrorCode.INVALID_SUBJECT,  # RestInvalidSubjectException's text
                            f"The specified subject '{subject[:80]}' is not a valid.")
    return subject


async def get_subject(
    subject: Annotated[str, Path(description="subject name, `/` sent as `%2F`")],
    principal: PrincipalDep,
    authorizer: AuthorizerDep,
) -> str:
    """A subject the caller may change (register, delete, configure)."""
    name = decode_subject(subject)
    if not authorizer.can_access(principal, name):
        if authorizer.can_read(principal, name):  # shared with the caller's project: read-only
            raise RegistryError(ErrorCode.FORBIDDEN,
                                f"User is denied operation Write on Subject: {name}")
        raise subject_not_found(name)  # another project's subject: 404, never 403
    return name


async def get_readable_subject(
    subject: Annotated[str, Path(description="subject name, `/` sent as `%2F`")],
    principal: PrincipalDep,
    authorizer: AuthorizerDep,
) -> str:
    """A subject the caller may read: its own project's, or a topic's shared with it."""
    name = decode_subject(subject)
    if not authorizer.can_read(principal, name):
        raise subject_not_found(name)  # another project's subject: 404, never 403
    return name


SubjectDep = Annotated[str, Depends(get_subject)]
ReadSubjectDep = Annotated[str, Depends(get_readable_subject)]


async def read_json(request: Request, max_bytes: int, too_large: str | None = None) -> object:
    """The JSON body, up to `max_bytes` (else 42209 with `too_large` or a generic text)."""
    refused = RegistryError(ErrorCode.SCHEMA_TOO_LARGE,
                            too_large or f"Request body exceeds the limit of {max_bytes} bytes")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise refused
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise refused
    if not body:
        raise RegistryError(ErrorCode.BAD_REQUEST, "Request body is empty; expected JSON")
    charset = negotiate_headers(request.scope["headers"]).charset
    try:
        return decode_json(bytes(body), charset)
    except (ValueError, UnicodeDecodeError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise RegistryError(ErrorCode.BAD_REQUEST, f"Invalid JSON: {exc}") from None


def decode_json(body: bytes, charset: str | None) -> object:
    """JSON in the declared charset; undeclared, UTF-8 or (as Jackson detects) UTF-16/32."""
    if charset in (None, "utf-8", "utf8") and not body.startswith(_UTF8_BOM):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            if charset is not None or json.detect_encoding(body) == "utf-8":
                raise
    try:
        text = body.decode(charset or json.detect_encoding(body))
    except LookupError:  # a charset Python does not know: read it as Jackson would
        text = body.decode(json.detect_encoding(body))
    return orjson.loads(text.removeprefix("\ufeff"))


def _reference(raw: object) -> Reference:
    if not isinstance(raw, dict):
        raise RegistryError(ErrorCode.UNPROCESSABLE, "Each reference must be an object")
    name, subject, version = raw.get("name"), raw.get("subject"), raw.get("version")
    if not isinstance(name, str) or not isinstance(subject, str) or not name or not subject:
        raise RegistryError(ErrorCode.UNPROCESSABLE, "A reference needs a name and a subject")
    if not isinstance(version, int) or isinstance(version, bool) or not (
        version == -1 or 1 <= version <= 2**31 - 1
    ):
        raise RegistryError(ErrorCode.UNPROCESSABLE,
                            f"Reference {name} needs a version between 1 and 2^31-1 (or -1)")
    return Reference(name, subject, version)


def _optional_int(body: dict[str, object], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 2**31 - 1:
        raise RegistryError(ErrorCode.UNPROCESSABLE, f"'{key}' must be an integer >= 1")
    return value


async def read_schema_request(request: Request) -> SchemaRequest:
    max_bytes: int = request.app.state.settings.max_schema_bytes
    body = await read_json(request, max_bytes, SCHEMA_TOO_LARGE)
    if not isinstance(body, dict):
        raise RegistryError(ErrorCode.UNPROCESSABLE, "The request body must be a JSON object")
    schema = body.get("schema")
    if schema is None or (isinstance(schema, str) and not schema.strip()):
        raise empty_schema()
    if not isinstance(schema, str):
        raise RegistryError(ErrorCode.INVALID_SCHEMA, "Invalid schema: `schema` must be a string")
    schema_type = body.get("schemaType") or "AVRO"
    if not isinstance(schema_type, str):
        raise RegistryError(ErrorCode.UNPROCESSABLE, "'schemaType' must be a string")
    refs = body.get("references") or []
    if not isinstance(refs, list):
        raise RegistryError(ErrorCode.UNPROCESSABLE, "'references' must be a list")
    return SchemaRequest(schema=schema, schema_type=schema_type,
                         references=tuple(_reference(r) for r in refs),
                         id=_optional_int(body, "id"), version=_optional_int(body, "version"))


SchemaRequestDep = Annotated[SchemaRequest, Depends(read_schema_request)]


def json_body(schema: dict[str, object]) -> dict[str, object]:
    """OpenAPI for a body read by hand (so clients and fuzzers know its shape)."""
    media = {"schema": schema}
    return {"requestBody": {"required": True, "content": {
        "application/vnd.schemaregistry.v1+json": media, "application/json": media}}}


SCHEMA_BODY = json_body({
    "type": "object", "required": ["schema"],
    "properties": {
        "schema": {"type": "string"},
        "schemaType": {"type": "string", "enum": ["AVRO"]},
        "references": {"type": "array", "items": {
            "type": "object", "required": ["name", "subject", "version"],
            "properties": {"name": {"type": "string"}, "subject": {"type": "string"},
                           "version": {"type": "integer"}}}},
    }})
CONFIG_BODY = json_body({"type": "object", "properties": {
    "compatibility": {"type": "string"}, "normalize": {"type": "boolean"}}})
MODE_BODY = json_body({"type": "object", "properties": {"mode": {"type": "string"}}})
