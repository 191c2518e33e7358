"""Platform events about jobs (JobSubmitted, JobPlaced, JobFinished) on Kafka, or nowhere
when the operator runs without a broker (unit tests, a bare cluster)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from lulea.core.events import EventPublisher, EventType

log = logging.getLogger(__name__)


class JobEvents(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(
        self,
        event_type: EventType,
        *,
        subject: str,
        key: str,
        data: dict[str, Any],
        id_parts: tuple[str, ...],
    ) -> None: ...


class KafkaJobEvents:
    def __init__(self, bootstrap: str) -> None:
        self.publisher = EventPublisher(bootstrap, source="lulea/operator-gpujob")

    async def start(self) -> None:
        await self.publisher.start()

    async def stop(self) -> None:
        await self.publisher.stop()

    async def publish(
        self,
        event_type: EventType,
        *,
        subject: str,
        key: str,
        data: dict[str, Any],
        id_parts: tuple[str, ...],
    ) -> None:
        await self.publisher.publish(event_type, subject=subject, key=key, data=data, id_parts=id_parts)


class LoggedJobEvents:
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(
        self,
        event_type: EventType,
        *,
        subject: str,
        key: str,
        data: dict[str, Any],
        id_parts: tuple[str, ...],
    ) -> None:
        log.info("event %s %s %s", event_type.value, subject, data)
