"""Retrying a write the database refused only because another write held its lock.

FerretDB on SQLite answers concurrent writers `database is locked (SQLITE_BUSY)` at once
instead of waiting (a read transaction cannot be upgraded while another writes). Such an
operation did nothing, so it is safe to send again; every other error goes to the caller."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, cast

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

ATTEMPTS = 200
_RETRIED = {"insert_one", "update_one", "update_many", "delete_one", "delete_many", "find_one", "replace_one",
            "find_one_and_update", "find_one_and_delete", "count_documents", "create_index"}


def busy(exc: OperationFailure) -> bool:
    return "SQLITE_BUSY" in str(exc) or "database is locked" in str(exc)


async def retry(call: Callable[[], Awaitable[Any]]) -> Any:
    for attempt in range(ATTEMPTS):
        try:
            return await call()
        except OperationFailure as exc:
            if not busy(exc) or attempt == ATTEMPTS - 1:
                raise
            await asyncio.sleep(random.uniform(0.001, min(0.05, 0.002 * (attempt + 1))))
    raise AssertionError("unreachable")


class _Retrying:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._collection, name)
        if name not in _RETRIED:
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await retry(lambda: target(*args, **kwargs))
        return call


def retrying(collection: AsyncCollection[dict[str, Any]]) -> AsyncCollection[dict[str, Any]]:
    """`collection`, its single-document operations retried while the database is busy."""
    return cast(AsyncCollection[dict[str, Any]], _Retrying(collection))
