"""What /metrics shows: queue, waits, free GPUs, fragmentation, bind outcomes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class PlacementMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.queue = Gauge("lulea_placement_queue_gangs", "Gangs waiting, by reason", ["reason"], registry=r)
        self.wait = Histogram(
            "lulea_placement_wait_seconds",
            "Queue time of placed gangs",
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
            registry=r,
        )
        self.gpus_free = Gauge("lulea_placement_gpus_free", "Free GPUs", registry=r)
        self.gpus_total = Gauge("lulea_placement_gpus_total", "Allocatable GPUs", registry=r)
        self.fragmentation = Gauge(
            "lulea_placement_fragmentation_ratio",
            "Share of free GPUs that no queued gang can use",
            registry=r,
        )
        self.expected_fragmentation = Gauge(
            "lulea_placement_expected_fragmentation_ratio",
            "Share of free GPUs a queued gang drawn at random cannot use, averaged over the queue",
            registry=r,
        )
        self.leader = Gauge(
            "lulea_placement_leader", "1 while this replica holds the Lease and schedules", registry=r
        )
        self.gangs = Counter("lulea_placement_gangs_total", "Gang decisions", ["decision"], registry=r)
        self.pods_bound = Counter("lulea_placement_pods_bound_total", "Pods bound", registry=r)
        self.bind_failures = Counter("lulea_placement_bind_failures_total", "Failed binds", registry=r)
        self.cycle = Histogram(
            "lulea_placement_cycle_seconds",
            "Time to decide one cycle",
            buckets=(0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
            registry=r,
        )
