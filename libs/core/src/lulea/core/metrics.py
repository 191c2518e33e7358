"""The metrics every component exports the same way (Prometheus, default registry): how its
reconciles go, and what it publishes and consumes on the event bus. Component-specific
metrics live beside the component; these names are the ones the chart's dashboard shows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

RECONCILES = Counter("lulea_reconcile_total", "Reconciles, by kind and outcome (ok, error)",
                     ["kind", "outcome"])
RECONCILE_SECONDS = Histogram("lulea_reconcile_duration_seconds", "Time a reconcile takes, by kind",
                              ["kind"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
PUBLISHED = Counter("lulea_events_published_total", "Platform events published, by topic and type",
                    ["topic", "type"])
CONSUMED = Counter("lulea_events_consumed_total",
                   "Platform events consumed, by topic, type and outcome (handled, duplicate, parked, "
                   "forged, ignored)", ["topic", "type", "outcome"])
CONSUMER_LAG = Gauge("lulea_consumer_lag", "Messages behind the end of each partition, per consumer group",
                     ["group", "topic", "partition"])
LEADER = Gauge("lulea_leader", "1 while this replica holds its Lease (leader election), else 0", ["lease"])


@contextmanager
def reconciling(kind: str) -> Iterator[None]:
    """Count and time one reconcile of `kind`; an exception counts as an error and propagates."""
    start = time.monotonic()
    try:
        yield
    except BaseException:
        RECONCILES.labels(kind, "error").inc()
        raise
    else:
        RECONCILES.labels(kind, "ok").inc()
    finally:
        RECONCILE_SECONDS.labels(kind).observe(time.monotonic() - start)
