"""Duplicates dropped on the way to the reader.

At-least-once delivery (a collector that dies after Kafka acknowledged but before its
checkpoint, an indexer that dies after its write but before its commit) can store a line
twice in VictoriaLogs, under the same `lid`. A query's or a live tail's JSON lines pass
through `Dedup`, which lets the first copy of each `lid` through and drops the rest; lines
without a `lid` (a query that keeps only some fields, a stats result) pass unchanged.
"""

from __future__ import annotations

from collections import OrderedDict

import orjson


class Dedup:
    def __init__(self, capacity: int = 1_000_000) -> None:
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.capacity = capacity
        self.dropped = 0

    def admit(self, line: bytes) -> bool:
        if b'"lid"' not in line:
            return True
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            return True
        lid = doc.get("lid") if isinstance(doc, dict) else None
        if not isinstance(lid, str):
            return True
        if lid in self.seen:
            self.dropped += 1
            return False
        self.seen[lid] = None
        if len(self.seen) > self.capacity:  # a live tail runs for hours: remember the recent ones
            self.seen.popitem(last=False)
        return True
