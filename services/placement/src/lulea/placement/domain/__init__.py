"""Pure placement decisions: cluster GPU state, gangs, fit, queue cycle, fragmentation."""

from lulea.placement.domain.cluster import BoundPod, ClusterState, Node, Taint, Toleration
from lulea.placement.domain.fit import NoFit, Placement, never_fits, place, reserve
from lulea.placement.domain.fragmentation import expected_fragmentation, fragmentation
from lulea.placement.domain.gang import Gang
from lulea.placement.domain.queue import CyclePlan, Reservation, plan_cycle, queue_order

__all__ = [
    "BoundPod",
    "ClusterState",
    "CyclePlan",
    "Gang",
    "NoFit",
    "Node",
    "Placement",
    "Reservation",
    "Taint",
    "Toleration",
    "expected_fragmentation",
    "fragmentation",
    "never_fits",
    "place",
    "plan_cycle",
    "queue_order",
    "reserve",
]
