"""Platform events about jobs (JobSubmitted, JobPlaced, JobFinished): on Kafka through
`lulea.core.events.EventPublisher`, or only logged when the operator runs without a broker
(unit tests, a bare cluster). Both have the publisher's shape."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from lulea.core.events import EventType

log = logging.getLogger(__name__)


class JobEvents(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, event_type: EventType, *, subject: str, key: str, data: dict[str, Any],
                      id_parts: Iterable[str]) -> Any: ...


class LoggedJobEvents:
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, event_type: EventType, *, subject: str, key: str, data: dict[str, Any],
                      id_parts: Iterable[str]) -> None:
        log.info("event %s %s %s", event_type.value, subject, data)
