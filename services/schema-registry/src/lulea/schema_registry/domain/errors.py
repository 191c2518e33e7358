"""Domain errors and the Confluent wire codes they map to at the HTTP edge."""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    """Confluent Schema Registry error codes (`rest/exceptions/Errors.java`)."""

    BAD_REQUEST = 400
    UNAUTHORIZED = 401
    FORBIDDEN = 40301
    NOT_FOUND = 404
    SUBJECT_NOT_FOUND = 40401
    VERSION_NOT_FOUND = 40402
    SCHEMA_NOT_FOUND = 40403
    SUBJECT_SOFT_DELETED = 40404
    SUBJECT_NOT_SOFT_DELETED = 40405
    VERSION_SOFT_DELETED = 40406
    VERSION_NOT_SOFT_DELETED = 40407
    SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED = 40408
    SUBJECT_LEVEL_MODE_NOT_CONFIGURED = 40409
    METHOD_NOT_ALLOWED = 405
    NOT_ACCEPTABLE = 406
    INCOMPATIBLE_SCHEMA = 409
    UNSUPPORTED_MEDIA_TYPE = 415
    UNPROCESSABLE = 422
    INVALID_SCHEMA = 42201
    INVALID_VERSION = 42202
    INVALID_COMPATIBILITY_LEVEL = 42203
    INVALID_MODE = 42204
    OPERATION_NOT_PERMITTED = 42205
    REFERENCE_EXISTS = 42206
    ID_DOES_NOT_MATCH = 42207
    INVALID_SUBJECT = 42208
    SCHEMA_TOO_LARGE = 42209
    STORE_ERROR = 50001
    STORE_TIMEOUT = 50002

    @property
    def http_status(self) -> int:
        return self.value if self.value < 1000 else self.value // 100


class RegistryError(Exception):
    """A failure the caller can act on; carries its wire code and a message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def subject_not_found(subject: str) -> RegistryError:
    return RegistryError(ErrorCode.SUBJECT_NOT_FOUND, f"Subject '{subject}' not found.")


def version_not_found(version: int | str) -> RegistryError:
    return RegistryError(ErrorCode.VERSION_NOT_FOUND, f"Version {version} not found.")


def schema_not_found(schema_id: int | None = None) -> RegistryError:
    text = "Schema not found" if schema_id is None else f"Schema {schema_id} not found"
    return RegistryError(ErrorCode.SCHEMA_NOT_FOUND, text)


def invalid_schema(detail: str) -> RegistryError:
    return RegistryError(ErrorCode.INVALID_SCHEMA, f"Invalid schema: {detail}")


def empty_schema() -> RegistryError:
    """Confluent's text (`KafkaSchemaRegistry.canonicalizeSchema`) for a null or blank schema."""
    return RegistryError(ErrorCode.INVALID_SCHEMA, "Empty schema")
