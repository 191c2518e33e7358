"""Platform events about datasets (DatasetCreated, DatasetShared, DatasetShareAccepted,
DatasetUnshared, DatasetDeleted) on lulea.events.dataset through
`lulea.core.events.EventPublisher`, or only logged without a broker (unit tests)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from lulea.core.events import EventType

log = logging.getLogger(__name__)


class DatasetEvents(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, event_type: EventType, *, subject: str, key: str, data: dict[str, Any],
                      id_parts: Iterable[str]) -> Any: ...


class LoggedDatasetEvents:
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, event_type: EventType, *, subject: str, key: str, data: dict[str, Any],
                      id_parts: Iterable[str]) -> None:
        log.info("event %s %s %s", event_type.value, subject, data)
