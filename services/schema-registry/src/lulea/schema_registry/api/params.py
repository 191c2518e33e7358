"""Path and query parameters, read the way Confluent's Jersey resources read them.

Confluent declares the schema id as a Java `Integer` path parameter. Jersey converts it
with `Integer.valueOf`, and when that fails the route does not match: the answer is a plain
`404 Not Found` (error code 404), not a validation error.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Path

from lulea.schema_registry.domain.errors import ErrorCode, RegistryError

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_JAVA_INT = re.compile(r"[+-]?[0-9]+")  # what Integer.valueOf accepts: ASCII digits, one sign


def java_int(text: str) -> int | None:
    """`Integer.valueOf(text)`, or None where Java throws NumberFormatException."""
    if not _JAVA_INT.fullmatch(text):
        return None
    value = int(text)
    return value if INT_MIN <= value <= INT_MAX else None


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
