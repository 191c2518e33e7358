"""Which projects may read a subject because its topic is shared with them, from the Topic
CRs in the API server (the source of truth; the Topic operator acts on the same objects).

An informer keeps every Topic in memory (list, then watch); `projects(subject)` answers
from it without a call. Subject `<project>.<topic>-value` (or `-key`) belongs to the Topic
`<topic>` in namespace `<project>`; a Topic being deleted shares nothing, and until the
first listing arrives nothing is shared (refusing is the safe side).
"""

from __future__ import annotations

import asyncio
from typing import Any

from lulea.core.kube import Kube
from lulea.core.kube.informer import Informer

TOPICS = "/apis/lulea.io/v1alpha1/topics"
SUFFIXES = ("-value", "-key")


def topic_key(subject: str) -> str | None:
    """`p1.clicks-value` -> `p1/clicks` (the Topic's namespace/name), else None."""
    for suffix in SUFFIXES:
        if subject.endswith(suffix):
            project, sep, name = subject[: -len(suffix)].partition(".")
            if sep and project and name:
                return f"{project}/{name}"
    return None


def shared_with(topic: dict[str, Any] | None) -> frozenset[str]:
    if topic is None or (topic.get("metadata") or {}).get("deletionTimestamp"):
        return frozenset()
    owner = (topic.get("metadata") or {}).get("namespace")
    return frozenset(str(s["project"]) for s in (topic.get("spec") or {}).get("shares") or []
                     if isinstance(s, dict) and s.get("project") and s["project"] != owner)


class TopicShares:
    def __init__(self) -> None:
        self.informer: Informer | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self, kube: Kube) -> None:
        self.informer = Informer(kube, TOPICS)
        self.task = asyncio.create_task(self.informer.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    def projects(self, subject: str) -> frozenset[str]:
        key = topic_key(subject)
        if key is None or self.informer is None:
            return frozenset()
        return shared_with(self.informer.get(key))
