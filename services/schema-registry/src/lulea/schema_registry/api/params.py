"""Path and query parameters, read the way Confluent's Jersey resources read them.

- Confluent declares the schema id as a Java `Integer` path parameter, and `offset` and
  `limit` as `int` query parameters. Jersey converts them with `Integer.valueOf`; when that
  fails, JAX-RS answers a plain `404 Not Found` (error code 404), not a validation error.
- Flags are Java `boolean` query parameters, read with `Boolean.valueOf`: "true" in any
  case is true, anything else (including "1" or "maybe") is false, never an error.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Path, Query
from pydantic import BeforeValidator

from lulea.schema_registry.domain.errors import ErrorCode, RegistryError

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_JAVA_INT = re.compile(r"[+-]?[0-9]+")  # what Integer.valueOf accepts: ASCII digits, one sign


def java_int(text: str) -> int | None:
    """`Integer.valueOf(text)`, or None where Java throws NumberFormatException."""
    if not _JAVA_INT.fullmatch(text):
        return None
    value = int(text)
    return value if INT_MIN <= value <= INT_MAX else None


def java_boolean(value: object) -> bool:
    """`Boolean.valueOf(value)`."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


Flag = Annotated[bool, BeforeValidator(java_boolean), Query()]


def route_not_found() -> RegistryError:
    return RegistryError(ErrorCode.NOT_FOUND, "HTTP 404 Not Found")


async def get_schema_id(
    schema_id: Annotated[str, Path(description="global schema id, a 32-bit integer")],
) -> int:
    value = java_int(schema_id)
    if value is None:
        raise route_not_found()
    return value


SchemaIdDep = Annotated[int, Depends(get_schema_id)]


def int_param(text: str) -> int:
    """An `int` query parameter: Jersey's 404 when `Integer.valueOf` refuses it."""
    value = java_int(text)
    if value is None:
        raise route_not_found()
    return value
